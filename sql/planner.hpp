#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/expected.hpp>

#include "runtime/job/job_spec.hpp"
#include "sql/logical_plan.hpp"

/// The planner: a bound script's INSERTs into job descriptions, one job per
/// INSERT (see README.md, "The planner").
namespace sluice::sql {

/// What the planner takes besides the bound script.
struct plan_options {
  /// Instances of every parallel stage; 0: SET 'parallelism.default', else 1.
  uint32_t parallelism = 0;
};

/// The jobs of a script and remarks on them (a sub-plan planned twice).
struct planned_script {
  std::vector<job_spec> jobs; ///< in INSERT order, names unique
  std::vector<std::string> notes;
};

/// Plans every INSERT of `script`: scans with their stateless steps fused
/// into `pre`, window and group stages behind hash edges on their keys,
/// window joins behind hash edges on their keys (window columns
/// included), a sink stage per job, and the late-rows sink when
/// `sluice.late-rows.table` is set. Every job passes validate(). A plan
/// shape the planner cannot run is `sql_errc::bad_plan` naming its place
/// in the script; the planner never throws.
caf::expected<planned_script> plan_script(const bound_script& script,
                                          const plan_options& opts);

} // namespace sluice::sql
