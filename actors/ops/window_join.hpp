#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <utility>
#include <vector>

#include <caf/expected.hpp>

#include "runtime/columnar/row_batch.hpp"
#include "runtime/expr/program.hpp"
#include "runtime/job/job_spec.hpp"

namespace sluice::ops {

/// A window join (inner): both inputs carry window_start / window_end
/// columns (the same window TVF on both sides); rows are buffered per
/// window and side, and when the watermark reaches `window_end - 1` the
/// window is joined on the key columns (plus an optional residual
/// predicate over left ++ right columns) and purged. Output rows: left
/// columns ++ right columns, per window in window-end order, pairs in
/// (left row, right row) order. NULL keys match nothing (SQL equality).
///
/// Late rows: a row of a window that fired (`window_end - 1 <= watermark`,
/// or a window ending no later than one that fired) goes to `late` and
/// counts in `late_rows`; NULL window columns count in `null_time_rows`.
struct window_join_state {
  window_spec window;
  std::vector<uint32_t> left_keys;
  std::vector<uint32_t> right_keys;
  std::array<uint32_t, 2> start_col{}; ///< window_start, by port
  std::array<uint32_t, 2> end_col{};   ///< window_end, by port
  std::array<columnar::schema_ptr, 2> inputs;
  columnar::schema_ptr out_schema;
  /// The buffered rows of one window, by port.
  struct side {
    columnar::row_batch rows;
  };
  std::map<std::pair<int64_t, int64_t>, std::array<side, 2>>
      windows;                                 ///< by (end, start)
  int64_t fired_end = columnar::min_timestamp; ///< the last fired end
  uint64_t late_rows = 0;
  uint64_t null_time_rows = 0;
  uint64_t windows_fired = 0;
  uint64_t rows_out = 0;

  /// Reused buffers of one call (not state).
  struct scratch_buffers {
    std::vector<uint32_t> rows, late, next, pairs_l, pairs_r;
    std::vector<uint64_t> build_hashes, probe_hashes;
  } scratch;

  /// Checks keys (same count and types on both sides) and the window
  /// columns (`left_window` / `right_window`: the (window_start,
  /// window_end) columns of each input) (sql_errc::bad_plan).
  static caf::expected<window_join_state>
  make(window_spec window, std::vector<uint32_t> left_keys,
       std::vector<uint32_t> right_keys, columnar::schema_ptr left,
       columnar::schema_ptr right, std::pair<uint32_t, uint32_t> left_window,
       std::pair<uint32_t, uint32_t> right_window);

  /// Buffered rows, both sides (the `state_keys` gauge).
  size_t num_keys() const noexcept;

  /// Bytes held (the `state_bytes` gauge).
  size_t byte_size() const noexcept;
};

/// Buffers the active rows of `in` (input `port`: 0 left, 1 right) in
/// their windows; late rows go to `late` (given `in`'s schema if needed).
void add(window_join_state& st, uint8_t port, const columnar::row_batch& in,
         int64_t watermark, columnar::row_batch& late);

/// Joins and purges every window with `end - 1 <= wm`: hash build on the
/// smaller side, probe with the other, then `residual` (compiled over the
/// output schema; may be null) keeps the pairs where it is TRUE.
void fire(window_join_state& st, int64_t wm, expr::program* residual,
          expr::eval_context& ctx, columnar::row_batch& out);

} // namespace sluice::ops
