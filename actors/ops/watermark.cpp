#include "actors/ops/watermark.hpp"

#include <algorithm>

#include "runtime/columnar/chunk.hpp"

namespace sluice::ops {

void watermark_tracker::resize(size_t inputs) {
  input_wm.resize(inputs, columnar::min_timestamp);
  idle.resize(inputs, 0);
  ended.resize(inputs, 0);
}

bool watermark_tracker::update(size_t input, int64_t wm, uint8_t flags) {
  if (input >= input_wm.size())
    resize(input + 1);
  input_wm[input] = std::max(input_wm[input], wm);
  if ((flags & chunk_end) != 0)
    ended[input] = 1;
  idle[input] = (flags & chunk_idle) != 0 && ended[input] == 0 ? 1 : 0;
  auto found = false;
  auto low = columnar::max_timestamp;
  for (size_t i = 0; i < input_wm.size(); ++i) {
    if (idle[i] != 0)
      continue;
    found = true;
    low = std::min(low, ended[i] != 0 ? columnar::max_timestamp : input_wm[i]);
  }
  if (!found) {
    // Every input is idle: as Flink's watermark valve, move to the highest
    // watermark among them, so that what they sent before going quiet
    // fires (two inputs that go idle one after the other would otherwise
    // hold each other's last watermark back for ever).
    low = columnar::min_timestamp;
    for (size_t i = 0; i < input_wm.size(); ++i)
      low = std::max(low, input_wm[i]);
  }
  if (low <= current)
    return false;
  current = low;
  return true;
}

size_t watermark_tracker::active_inputs() const noexcept {
  size_t n = 0;
  for (size_t i = 0; i < input_wm.size(); ++i)
    if (idle[i] == 0 && ended[i] == 0)
      ++n;
  return n;
}

} // namespace sluice::ops
