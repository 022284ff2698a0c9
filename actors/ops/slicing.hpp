#pragma once

#include <cstdint>

#include <caf/expected.hpp>

#include "runtime/job/job_spec.hpp"

namespace sluice::ops {

/// Slices of TUMBLE, HOP and CUMULATE windows (Flink's slicing assigners):
/// every row goes to exactly one slice, and every window is a run of
/// consecutive slices, so a row is aggregated once whatever the number of
/// windows it belongs to. Slices are named by their end (exclusive).
///
///   TUMBLE(size, offset): slice = window.
///   HOP(slide, size, offset): slice = slide; window ending at E holds the
///     size/slide slices ending in (E - size, E].
///   CUMULATE(step, size, offset): slice = step; window ending at E starts at
///     the start of E's size-aligned period.
///   inherited: the input's window_end is the slice (no slicing).
struct slicing {
  window_kind kind = window_kind::none;
  int64_t size = 0;   ///< the window size (inherited: 0)
  int64_t slice = 0;  ///< the slice size (inherited: 0)
  int64_t offset = 0; ///< shifts slice and window starts

  /// The slicing of `w`, or sql_errc::bad_plan for sizes that are not
  /// positive or not multiples of the slide/step, and for SESSION/none.
  static caf::expected<slicing> make(const window_spec& w);

  /// The end of the slice holding event time `ts`.
  int64_t slice_end(int64_t ts) const noexcept {
    return ts - floor_mod(ts - offset, slice) + slice;
  }

  /// The start of the window that ends at `end`.
  int64_t window_start(int64_t end) const noexcept;

  /// The end of the last window that holds the slice ending at `end`.
  int64_t last_window_end(int64_t end) const noexcept;

  /// The end of the window after the one that ends at `end` (+1 for
  /// inherited windows: any later end).
  int64_t next_window_end(int64_t end) const noexcept {
    return kind == window_kind::inherited ? end + 1 : end + slice;
  }

  static int64_t floor_mod(int64_t a, int64_t b) noexcept {
    auto m = a % b;
    return m < 0 ? m + b : m;
  }
};

} // namespace sluice::ops
