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

/// Runs the collection tier of the scenario: an application writes a log
/// that is rotated twice (by rename and by copy-truncate) while agent1 (this
/// process) tails it into a file channel and sends it through a failover
/// sink group to two relay node processes (agentA, priority 10; agentB,
/// priority 5); agentA is killed midway and restarted later. Then checks
/// that every line landed in the relays' files, in order per relay.
/// Returns the process exit code.
int run_demo(const demo_options& opts, const connector_registry& registry);

} // namespace sluice
