#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/expr/functions.hpp"
#include "runtime/job/connector_info.hpp"
#include "sql/ast.hpp"
#include "sql/diagnostics.hpp"
#include "sql/logical_plan.hpp"

/// The analyzer: names, types, aggregates and windows of a parsed script,
/// into the bound plan the planner reads.
namespace sluice::sql {

/// What the analyzer takes besides the script.
struct analyze_options {
  /// --set key=value: overrides the script's SET statements.
  std::map<std::string, std::string> settings;
  /// Looks up `${env:NAME}` in WITH and SET values (tests inject one);
  /// empty: every reference is missing.
  std::function<std::optional<std::string>(std::string_view)> getenv;
};

/// Binds every statement of `parsed`: CREATE TABLE into the catalog (types,
/// computed columns, watermark, primary key, connector options checked
/// against `connectors`), CREATE VIEW, SET, and each INSERT INTO into a
/// bound_insert whose query matches its sink. Appends every diagnostic
/// found (all of them, never only the first) to `diags`: the script is
/// good when `diags` stayed empty. An INSERT with an error is left out; a
/// table stays declared despite errors in its options, so that the
/// statements using it are still checked. EXPLAIN is checked as the
/// statement it explains and produces no insert; a bare query is an error
/// (it has no sink).
bound_script analyze(const parsed_script& parsed,
                     const ::sluice::expr::function_registry& fns,
                     const connector_infos& connectors,
                     const analyze_options& opts,
                     std::vector<sql_diagnostic>& diags);

} // namespace sluice::sql
