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

/// Runs the scenario: an application writes a log that is rotated twice (by
/// rename and by copy-truncate) while agent1 (this process) tails it into a
/// file channel and sends it through a failover sink group to two relay node
/// processes (agentA, priority 10; agentB, priority 5), which append it to
/// the topic `lines` on a fourth node process, `store`; the store archives
/// the topic (a topic source, group `archive`, into an archive sink).
/// agentA is killed midway and restarted later. A fifth node process,
/// `compute`, runs the SQL job `per_region` of the topology
/// (demo_sql.hpp): it reads the topic, looks regions up in a private
/// MariaDB server and upserts orders and revenue per region there. Then
/// checks, from the stopped store's directories, that the topic holds every
/// line exactly once and the archive every line, and that the MariaDB
/// table and the printed update stream hold the exact totals. Returns the
/// process exit code.
int run_demo(const demo_options& opts, const connector_registry& registry);

} // namespace sluice
