#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "connectors/interceptor.hpp"
#include "runtime/metrics.hpp"

namespace sluice {

/// What a connector learns about the component it serves.
struct connector_context {
  std::string name;                           ///< the component's name
  std::shared_ptr<component_metrics> metrics; ///< never null
};

/// What a `poll` found.
enum class poll_status {
  more,     ///< appended events and more are ready now
  idle,     ///< nothing more right now; poll again after a pause
  finished, ///< the source is exhausted and will never produce again
};

/// The outside world behind a source actor.
///
/// The source actor calls `poll` whenever it has credit, never from two
/// threads at once. `poll` must not block for more than a few milliseconds.
/// After each batch it calls `seal(seq)`: the connector remembers the
/// position reached at the end of that batch. When the channel has
/// committed batch `seq` (acks arrive in order), the actor calls
/// `commit(seq)`: the connector may now persist that position. A restarted
/// connector resumes from the last committed position, so a batch lost in
/// flight is read again.
///
/// A connector that can resume exactly also says, after each batch, where
/// it stands (`progress`): an opaque token the channel keeps with the
/// batch. A restarted source asks its channel for the token of its newest
/// stored batch and hands it to `resume` before `open`. It then starts right
/// after what the channel holds, which may be newer than its own committed
/// position (the channel kept a batch whose ack the source never saw), so
/// nothing is read twice.
class source_connector {
 public:
  virtual ~source_connector() = default;

  /// Called before `open` with the token the channel holds for this
  /// source; `open` then resumes from it instead of its own committed
  /// position. A token it cannot read is an error.
  virtual caf::error resume(const std::string& token) {
    static_cast<void>(token);
    return {};
  }

  /// Where the connector stands after the batch just sealed; empty when it
  /// cannot resume from a token.
  virtual std::string progress() const { return {}; }

  /// Acquires resources and restores the committed position.
  virtual caf::error open() = 0;

  /// Appends at most `max_events` events through `out`.
  virtual caf::expected<poll_status> poll(batch_builder& out,
                                          size_t max_events) = 0;

  /// Remembers the position at the end of the batch numbered `seq`.
  virtual void seal(uint64_t seq) { static_cast<void>(seq); }

  /// Batch `seq` (and every one before it) is in the channel.
  virtual caf::error commit(uint64_t seq) {
    static_cast<void>(seq);
    return {};
  }

  /// Releases resources; persists the committed position. Idempotent.
  virtual void close() {}
};

using source_connector_ptr = std::unique_ptr<source_connector>;

} // namespace sluice
