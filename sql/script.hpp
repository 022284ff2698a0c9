#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <caf/expected.hpp>

#include "runtime/expr/functions.hpp"
#include "runtime/job/connector_info.hpp"
#include "runtime/job/job_spec.hpp"
#include "sql/diagnostics.hpp"
#include "sql/sample.hpp"

/// The whole SQL pipeline: script text to job descriptions.
namespace sluice::sql {

/// What `sluice sql` and `sluice check` pass besides the script.
struct compile_options {
  uint32_t parallelism = 0; ///< --parallelism; 0: from SET or 1
  /// --set key=value: overrides the script's SET statements.
  std::map<std::string, std::string> settings;
  /// Looks up `${env:NAME}` in WITH and SET values (tests inject one);
  /// empty: every reference is missing.
  std::function<std::optional<std::string>(std::string_view)> getenv;
  /// --sample TABLE=FILE: the script is checked as written, then run on
  /// these files with its written tables printed (apply_samples).
  std::optional<sample_options> sample;
};

/// The jobs of a script (one per INSERT, in order) and remarks on them.
struct compiled_script {
  std::vector<job_spec> jobs;
  std::vector<std::string> notes;
};

/// Lexes, parses, analyzes and plans the whole script. Every diagnostic
/// goes to `diags`, not only the first; with any, the result is
/// `sql_errc::invalid_script` and there is no job. A plan the planner
/// cannot make is `sql_errc::bad_plan`.
caf::expected<compiled_script>
compile_script(std::string_view text, const std::string& file,
               const ::sluice::expr::function_registry& fns,
               const connector_infos& tables, const compile_options& opts,
               std::vector<sql_diagnostic>& diags);

} // namespace sluice::sql
