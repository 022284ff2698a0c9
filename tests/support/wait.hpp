#pragma once

#include <chrono>
#include <thread>

namespace sluice::test {

/// Polls `pred` every 20 ms until it holds (true) or `timeout` passed
/// (false, by default after 60 s): a test waits for a condition, never a
/// fixed time.
template <class Predicate>
bool wait_for(Predicate pred,
              std::chrono::milliseconds timeout = std::chrono::seconds{60}) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= deadline)
      return false;
    std::this_thread::sleep_for(std::chrono::milliseconds{20});
  }
  return true;
}

} // namespace sluice::test
