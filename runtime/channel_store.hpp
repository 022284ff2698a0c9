#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "runtime/event_batch.hpp"
#include "runtime/lease.hpp"

namespace sluice {

/// Where a channel keeps its events: in memory or in a durable log.
///
/// Owned by one channel actor and called from it only. Batches leave the
/// head in order; a rolled-back lease returns to the head in its original
/// order, before anything taken after it.
class channel_store {
 public:
  virtual ~channel_store() = default;

  /// Recovers what a previous run left (durable stores); idempotent.
  virtual caf::error open() = 0;

  /// Appends a batch at the tail. Not durable until `sync`.
  virtual caf::error append(event_batch&& batch) = 0;

  /// Appends a batch and, right after it, where source `source` resumes
  /// after it (an opaque token of its connector). A durable store writes
  /// both in one go, so a crash keeps the token only with its batch; a
  /// store that does not outlive the process ignores the token.
  virtual caf::error append(event_batch&& batch, const std::string& source,
                            const std::string& token) {
    static_cast<void>(source);
    static_cast<void>(token);
    return append(std::move(batch));
  }

  /// Makes every appended batch durable (one fsync for many appends).
  virtual caf::error sync() = 0;

  /// Leases whole batches from the head, at most `max_events` events but
  /// always at least one batch when any is queued. Returns an empty lease
  /// (id 0) when nothing is queued.
  virtual caf::expected<lease> take(size_t max_events) = 0;

  /// Forgets the leased batches for good.
  virtual caf::error commit(uint64_t lease_id) = 0;

  /// Returns the leased batches to the head, in order.
  virtual caf::error rollback(uint64_t lease_id) = 0;

  /// Events held, queued or leased.
  virtual size_t events() const noexcept = 0;

  /// Events queued and not leased.
  virtual size_t queued_events() const noexcept = 0;

  /// Queued events a `take` may hand out now: a durable store hands out
  /// only what a `sync` made durable, so a sink never writes an event whose
  /// source might read it again after a crash.
  virtual size_t takeable_events() const noexcept { return queued_events(); }

  /// Bytes held (bodies and headers), queued or leased.
  virtual size_t bytes() const noexcept = 0;

  /// True when `bytes` more bytes can be stored; otherwise sets `why` to a
  /// message for the user (disk short, size limit reached).
  virtual bool has_room(size_t bytes, std::string& why) const {
    static_cast<void>(bytes);
    static_cast<void>(why);
    return true;
  }

  /// Frees what can be freed after `has_room` said no (a file store
  /// retires an active segment whose records are all committed).
  virtual void make_room() {}

  /// Events `open` found stored but not committed: a sink may have written
  /// some of them before the process ended.
  virtual size_t recovered_events() const noexcept { return 0; }

  /// Damaged spans `open` found and skipped in a durable log, and their
  /// bytes.
  virtual uint64_t damaged_spans() const noexcept { return 0; }
  virtual uint64_t damaged_bytes() const noexcept { return 0; }

  /// True when the store can no longer be trusted (a failed fdatasync) and
  /// its owner must restart it.
  virtual bool broken() const noexcept { return false; }

  /// The newest token of each source (durable stores; read after `open`).
  virtual std::map<std::string, std::string> recovered_progress() const {
    return {};
  }

  /// Tells runs of the store apart: a batch is named by (epoch, its
  /// sequence number) in leases. A store whose numbers start again at 1
  /// when it is built again (memory) draws a new epoch each time; one whose
  /// numbers never restart (file) keeps the same one.
  virtual uint64_t epoch() const noexcept { return 0; }

  /// Makes everything durable and releases resources; idempotent.
  virtual void close() = 0;
};

using channel_store_ptr = std::unique_ptr<channel_store>;

} // namespace sluice
