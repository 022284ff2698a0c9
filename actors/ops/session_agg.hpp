#pragma once

#include <cstddef>
#include <cstdint>
#include <set>
#include <utility>
#include <vector>

#include <caf/expected.hpp>

#include "actors/ops/accumulators.hpp"
#include "actors/ops/group_table.hpp"
#include "runtime/columnar/row_batch.hpp"
#include "runtime/job/job_spec.hpp"

namespace sluice::ops {

/// SESSION windows per key: a row at `ts` opens the window [ts, ts + gap);
/// windows of one key that overlap or touch merge (Flink's TimeWindow
/// rules), so a row between two sessions bridges them into one. A session
/// fires when `end - 1 <= watermark` (end = last ts + gap). Output rows as
/// a window aggregate's: keys, window_start, window_end, window_time,
/// aggregates.
///
/// Late rows (appended to `late`, counted in `late_rows`): a row that falls
/// into an already fired session's range of its key (`ts <` the end of the
/// key's last fired session), or one whose own window has passed the
/// watermark (`ts + gap - 1 <= watermark`) and that joins no open session.
/// NULL times go to `late` too, counted in `null_time_rows`.
struct session_agg_state {
  window_spec window;
  std::vector<uint32_t> keys; ///< GROUP BY columns (the partition keys)
  std::vector<agg_call> aggs;
  group_table key_groups; ///< key -> key id
  /// One session: an accumulator slot (its index in `sessions`).
  struct session {
    int64_t start = 0;
    int64_t end = 0; ///< exclusive: last ts + gap
    uint32_t key = 0;
    bool alive = false;
  };
  std::vector<session> sessions;                 ///< by slot
  std::vector<uint32_t> free_slots;              ///< dead slots to reuse
  std::vector<std::vector<uint32_t>> by_key;     ///< open slots, by start
  std::vector<int64_t> fired_until;              ///< by key: last fired end
  std::set<std::pair<int64_t, uint32_t>> by_end; ///< (end, slot): fire order
  accumulators accs;                             ///< by slot
  columnar::schema_ptr out_schema;
  uint64_t late_rows = 0;
  uint64_t null_time_rows = 0;
  uint64_t sessions_fired = 0;
  uint64_t rows_out = 0;

  /// Reused buffers of one call (not state).
  struct scratch_buffers {
    std::vector<uint32_t> rows, late, kids, one, fired, fired_keys;
    std::vector<uint64_t> hashes;
  } scratch;

  /// Checks the gap, keys and aggregates (sql_errc::bad_plan).
  static caf::expected<session_agg_state> make(window_spec window,
                                               std::vector<uint32_t> keys,
                                               std::vector<agg_call> aggs,
                                               const columnar::schema& in);

  /// Open sessions (the `state_keys` gauge).
  size_t num_keys() const noexcept { return by_end.size(); }

  /// Bytes held (the `state_bytes` gauge).
  size_t byte_size() const noexcept;
};

/// Adds the active rows of `in` to their keys' sessions (merging those a
/// row bridges); late rows go to `late` (given `in`'s schema if needed).
void accumulate(session_agg_state& st, const columnar::row_batch& in,
                int64_t watermark, columnar::row_batch& late);

/// Emits and forgets every session with `end - 1 <= wm`, in end order.
void fire(session_agg_state& st, int64_t wm, columnar::row_batch& out);

} // namespace sluice::ops
