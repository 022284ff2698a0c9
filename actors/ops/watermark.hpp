#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "runtime/columnar/types.hpp"

/// Operator kernels of the SQL engine: plain state and functions over row
/// batches, no actors. Each operator actor owns one state and drives it;
/// everything a checkpoint needs sits in the state's members.
namespace sluice::ops {

/// The watermark of an operator with several inputs (producers on one or
/// two ports): the minimum of its inputs' watermarks, as Flink's
/// StatusWatermarkValve. An idle input is left out of the minimum until it
/// sends again; when every input is idle the watermark moves to the highest
/// of theirs (as the valve does). An ended input counts as the end of time.
/// The combined watermark never goes down.
struct watermark_tracker {
  std::vector<int64_t> input_wm; ///< per input; never decreases
  std::vector<uint8_t> idle;     ///< 1: left out of the minimum
  std::vector<uint8_t> ended;    ///< 1: its last chunk arrived
  int64_t current = columnar::min_timestamp;

  /// Sets the number of inputs; new inputs start at min_timestamp, active.
  void resize(size_t inputs);

  /// Input `input` reports watermark `wm` with chunk flags `flags`
  /// (chunk_idle, chunk_end). A lower `wm` than the input had is ignored;
  /// a chunk without chunk_idle makes an idle input active again; an input
  /// stays ended. Returns true when `current` advanced.
  bool update(size_t input, int64_t wm, uint8_t flags);

  /// The number of inputs neither idle nor ended.
  size_t active_inputs() const noexcept;
};

} // namespace sluice::ops
