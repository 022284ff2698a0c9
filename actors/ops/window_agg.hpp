#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <vector>

#include <caf/expected.hpp>
#include <tsl/robin_map.h>

#include "actors/ops/accumulators.hpp"
#include "actors/ops/group_table.hpp"
#include "actors/ops/slicing.hpp"
#include "runtime/columnar/row_batch.hpp"
#include "runtime/job/job_spec.hpp"

namespace sluice::ops {

/// The groups and aggregates of one slice.
struct window_slice {
  group_table groups;
  accumulators accs;
};

/// A window aggregate over TUMBLE, HOP, CUMULATE or inherited windows
/// (the input carries window_start / window_end, as q5's second aggregate):
/// rows are aggregated once into their slice; a window is the merge of its
/// slices when it fires. Output rows: the key columns, window_start,
/// window_end, window_time (= window_end - 1), then the aggregates.
///
/// Late rows: a row whose slice has fired (`slice_end - 1 <= watermark`)
/// is late, as in Flink's slicing window operator; `accumulate` appends it
/// to its `late` batch and counts it in `late_rows`. A row with a NULL
/// event time (or a NULL window_start / window_end when inherited) goes to
/// `late` too and is counted in `null_time_rows`, not in `late_rows`.
struct window_agg_state {
  window_spec window;
  std::vector<uint32_t> keys; ///< GROUP BY columns of the input
  std::vector<agg_call> aggs;
  slicing assign;
  std::vector<uint32_t> group_cols; ///< keys (+ window_start if inherited)
  columnar::schema_ptr out_schema;
  accumulators proto; ///< the calls, no groups: copied into new slices
  std::map<int64_t, window_slice> slices;          ///< by slice end
  int64_t next_fire_end = columnar::min_timestamp; ///< windows before: fired
  uint64_t late_rows = 0;
  uint64_t null_time_rows = 0;
  uint64_t windows_fired = 0;
  uint64_t rows_out = 0;

  /// Reused buffers of one call (not state: empty between calls).
  struct scratch_buffers {
    std::vector<uint32_t> rows, late, bucket_of, offsets, pos, sorted, gids;
    std::vector<uint64_t> hashes, sorted_hashes;
    std::vector<int64_t> ends;
    tsl::robin_map<int64_t, uint32_t> bucket_by_end;
  } scratch;

  /// Checks the window, keys and aggregates against the input schema `in`
  /// (sql_errc::bad_plan).
  static caf::expected<window_agg_state> make(window_spec window,
                                              std::vector<uint32_t> keys,
                                              std::vector<agg_call> aggs,
                                              const columnar::schema& in);

  /// Groups held over all slices (the `state_keys` gauge).
  size_t num_keys() const noexcept;

  /// Bytes held by all slices (the `state_bytes` gauge).
  size_t byte_size() const noexcept;
};

/// Aggregates the active rows of `in` into their slices; late rows (see
/// window_agg_state) are appended to `late` (given `in`'s schema if it has
/// none). `watermark` is the operator's watermark before these rows.
void accumulate(window_agg_state& st, const columnar::row_batch& in,
                int64_t watermark, columnar::row_batch& late);

/// Emits every window with `window_end - 1 <= wm` into `out` (given the
/// state's output schema if it has none), in window-end order, and drops
/// the slices no later window needs. `out` may grow past
/// row_batch::max_rows: the caller splits it.
void fire(window_agg_state& st, int64_t wm, columnar::row_batch& out);

/// The output schema of a window aggregate: keys of `in`, window_start,
/// window_end, window_time (TIMESTAMP(3) NOT NULL; window_time the rowtime),
/// the aggregates ("agg0", ...).
columnar::schema_ptr window_output_schema(const std::vector<uint32_t>& keys,
                                          const std::vector<agg_call>& aggs,
                                          const columnar::schema& in);

} // namespace sluice::ops
