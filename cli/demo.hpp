#pragma once

#include <atomic>
#include <cstdint>
#include <string>

namespace sluice {

class connector_registry;

/// Settings of `sluice demo`.
struct demo_options {
  std::string directory; ///< empty: a new temporary directory
  int64_t lines = 300;
  int64_t interval_ms = 10;
  /// Set (by a signal) to end the demo early: the application stops
  /// writing, the pipeline stops cleanly and what was written is checked.
  const std::atomic<bool>* interrupted = nullptr;
};

/// Runs the collection scenario: an application writes a log that is
/// rotated twice (by rename and by copy-truncate) while a taildir source
/// feeds a file channel and a rolling file sink; then checks that every
/// line landed once, in order. Returns the process exit code.
int run_demo(const demo_options& opts, const connector_registry& registry);

} // namespace sluice
