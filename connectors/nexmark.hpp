#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include <caf/expected.hpp>

#include "connectors/nexmark_model.hpp"
#include "runtime/columnar/row_batch.hpp"

namespace sluice::nexmark {

/// One table of one split of a Nexmark source: where it stands, its pacing
/// and the event time it vouches for. The part of the `nexmark` table source
/// that does not depend on the table connector interface; the source polls
/// it. Not thread-safe (one scan task owns it).
class source_cursor {
 public:
  using clock = std::chrono::steady_clock;

  source_cursor(generator gen, event_kind table);

  /// Appends up to `max_rows` rows of the table that are due at `now` (the
  /// pacing clock starts at the first poll); returns how many. Never waits.
  caf::expected<size_t> poll(columnar::row_batch& out, size_t max_rows,
                             clock::time_point now);

  /// True when a bounded source has written all its rows.
  bool done() const noexcept { return next_ == no_event; }

  /// When the next event number is due; `now` or earlier when one is due
  /// already (and always when unpaced or before the first poll).
  clock::time_point next_due() const noexcept;

  /// Events of every kind this split covered so far (the figure Nexmark
  /// results count), not only the table's rows.
  uint64_t events_covered() const noexcept;

  /// The highest event time W such that no later row has dateTime <= W:
  /// the next event's nominal time less the largest delay, less one; the
  /// end of time when done.
  int64_t watermark() const noexcept;

  /// "next=<event number>" (for progress reports and, later, checkpoints).
  std::string progress() const;

  const generator& model() const noexcept { return gen_; }

 private:
  generator gen_;
  event_kind table_;
  uint64_t next_ = 0;
  std::optional<clock::time_point> start_;
};

} // namespace sluice::nexmark
