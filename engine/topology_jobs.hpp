#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/expected.hpp>
#include <caf/fwd.hpp>

#include "actors/supervisor.hpp"
#include "config/topology.hpp"
#include "connectors/table_registry.hpp"
#include "runtime/expr/functions.hpp"
#include "runtime/job/job_spec.hpp"
#include "runtime/metrics.hpp"

namespace sluice {

// The assembly's part for SQL jobs in a topology file (`[jobs.NAME]`):
// each script is read and compiled when its node starts (and by `sluice
// check`), and each of its INSERT INTO statements runs as one job actor,
// a supervisor child named `jobs.JOB` in stop phase 0 with the sources.
// A job restarts by its own restart strategy first (the script's
// `restart-strategy.*`); when that gives up, or fails permanently, the
// supervisor sees the failure like any component's: a restart after its
// back-off, or escalation. The jobs' `topic` tables find the topology's
// topics without an `address`.

/// The largest SQL script a job reads, in bytes.
inline constexpr size_t max_script_bytes = size_t{4} << 20;

/// One `[jobs.NAME]`, compiled.
struct topology_job {
  std::string name; ///< NAME
  /// One per INSERT INTO, in script order: named NAME when there is one,
  /// NAME.TABLE (the planner's name) when there are several.
  std::vector<job_spec> jobs;
};

/// Reads and compiles the script of every job of `spec` with its
/// `parallelism` and `set`, and checks each plan against `tables` and each
/// `topic` table without `address` against the topics `spec` declares
/// (pass the whole topology's spec, not one node's part). With
/// any problem, none is returned: the error's text holds every one, a
/// line "FILE:LINE:COLUMN: error: ..." each (the script's position for
/// SQL, the topology's `script` key for a file that cannot be read), SQL
/// ones followed by their source line and a caret.
caf::expected<std::vector<topology_job>>
compile_topology_jobs(const topology_spec& spec, const table_registry& tables,
                      const expr::function_registry& fns);

/// The supervisor child name and metrics name of job `name`.
std::string job_child_name(const std::string& name);

/// Whether metrics snapshot `name` belongs to job declaration `decl` (its
/// children `jobs.DECL...` and its operators `DECL/...`, `DECL.TABLE/...`).
bool belongs_to_job(const std::string& name, const std::string& decl);

/// What a node's jobs share: the registries, the metrics and how topics
/// are found.
struct job_child_context {
  std::shared_ptr<const table_registry> tables;
  std::shared_ptr<const expr::function_registry> fns;
  metrics_registry* metrics = nullptr; ///< outlives the supervisor
  topic_finder find_topic;
};

/// The supervisor child that runs `job`.
child_spec job_child(const job_spec& job, const job_child_context& ctx);

/// How a node's jobs find topic NAME: one this node runs through the
/// supervisor (`topics.NAME`, the handle it runs now), one of another node
/// of the topology through that node's control port. `topics` and
/// `cluster` are the whole topology's; `supervisor` returns the running
/// supervisor (thread-safe); `sys` outlives every call.
topic_finder make_topic_finder(caf::actor_system& sys,
                               std::vector<topic_spec> topics,
                               cluster_spec cluster, std::string node,
                               std::function<caf::actor()> supervisor);

} // namespace sluice
