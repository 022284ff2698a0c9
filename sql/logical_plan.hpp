#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "runtime/columnar/schema.hpp"
#include "runtime/expr/ir.hpp"
#include "runtime/job/job_spec.hpp"
#include "sql/diagnostics.hpp"

/// The bound plan: what the analyzer makes of a parsed script and the
/// planner turns into job_specs. Every relation is typed and keeps the
/// position it came from, for errors found while planning.
namespace sluice::sql {

/// The kind of a relation.
enum class rel_kind : uint8_t {
  scan,    ///< reads bound_script::tables[table] (physical ++ computed)
  filter,  ///< exprs[0] is the predicate over the input
  project, ///< exprs are the output columns over the input
  /// The input plus window_start, window_end, window_time (TIMESTAMP(3) NOT
  /// NULL; window_time is the new rowtime); `window.time_column` is the
  /// input's DESCRIPTOR column.
  window_tvf,
  /// Output: group_keys, then (windowed: window.kind != none)
  /// window_start, window_end, window_time, then aggs. Keys and arguments
  /// index the input; a windowed one reads `window.time_column` (or, when
  /// `inherited`, the input's `start_column` / `end_column`; its
  /// time_column is then the input's window_time, or window_end).
  aggregate,
  /// A window join: inputs[0] ++ inputs[1]; left_keys / right_keys start
  /// with each side's window_start and window_end; exprs[0], when present,
  /// is the residual condition over both sides' columns. `window` is the
  /// left side's: start/end/time_column index the left input.
  join,
  /// A lookup join: inputs[0] ++ the physical columns of
  /// bound_script::tables[table], read by key (`left_keys` of the input
  /// equal to `right_keys` of the table); exprs[0], when present, is the
  /// rest of ON over both. `outer`: LEFT JOIN (the table's columns are
  /// nullable). Keeps the input's rowtime and row kinds.
  lookup_join,
  union_all, ///< reserved
  values,    ///< reserved
};

/// One relation of a bound query.
struct rel {
  rel_kind kind = rel_kind::scan;
  columnar::schema out;
  sql_position where;
  std::vector<std::unique_ptr<rel>> inputs;
  int32_t table = -1; ///< scan, lookup_join: index into bound_script::tables
  std::vector<::sluice::expr::tree> exprs; ///< see rel_kind
  window_spec window;               ///< window_tvf; windowed aggregate or join
  std::vector<uint32_t> group_keys; ///< aggregate: input columns
  std::vector<agg_call> aggs;       ///< aggregate: over input columns
  /// join: equi-join key columns of each side (window columns included).
  std::vector<uint32_t> left_keys, right_keys;
  bool append_only = true; ///< false once a non-windowed aggregate is below
  bool outer = false;      ///< lookup_join: LEFT JOIN
};

/// One INSERT INTO, bound: its sink table and its query, whose output
/// matches the sink's physical columns (casts inserted).
struct bound_insert {
  table_spec sink;
  std::unique_ptr<rel> query;
  sql_position where;
};

/// A whole script after analysis: its tables (CREATE TABLE, resolved), its
/// INSERTs (one job each) and its settings (SET, then --set).
struct bound_script {
  std::vector<table_spec> tables;
  std::vector<bound_insert> inserts;
  std::map<std::string, std::string> settings;
};

} // namespace sluice::sql
