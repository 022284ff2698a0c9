#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "connectors/table_registry.hpp"
#include "runtime/job/job_spec.hpp"

namespace sluice::test {

/// Compiles the SQL script `text` into its jobs, with `${env:NAME}` taken
/// from `env` and the connectors of `tables`; fails the running test on
/// any diagnostic (printing them).
std::vector<job_spec>
compile_jobs(const std::string& text, std::map<std::string, std::string> env,
             uint32_t parallelism = 0,
             const table_registry& tables = table_registry::builtin());

/// The non-empty lines of every file in `dir`, sorted.
std::vector<std::string> sorted_lines_in(const std::string& dir);

} // namespace sluice::test
