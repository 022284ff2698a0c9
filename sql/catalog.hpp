#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/columnar/schema.hpp"
#include "runtime/job/connector_info.hpp"
#include "runtime/job/job_spec.hpp"
#include "sql/ast.hpp"
#include "sql/diagnostics.hpp"

/// The tables and views a script declares, as the analyzer sees them.
namespace sluice::sql {

/// A declared table: its resolved spec and what queries see of it.
struct table_entry {
  table_spec spec;
  /// Physical then computed columns, the rowtime (WATERMARK FOR) marked.
  columnar::schema schema;
  int32_t proctime = -1; ///< the PROCTIME() computed column, -1 none
  sql_position where;    ///< the table's name in CREATE TABLE
  const connector_info* info = nullptr;
};

/// A declared view: its query, bound again where it is used (so each use
/// gets its own copy of the plan). `body` points into the parsed script,
/// which outlives the analysis.
struct view_entry {
  std::string name;
  sql_position where;
  const query* body = nullptr;
  std::vector<identifier> columns; ///< CREATE VIEW v (a, b): renames
  bool ok = true; ///< false: its body had errors (reported once)
};

/// Tables and views by name (case-sensitive, as Flink's identifiers).
class catalog {
 public:
  /// Adds a table; false when a table or view of that name exists.
  bool add_table(table_entry t);

  /// Adds a view; false when a table or view of that name exists.
  bool add_view(view_entry v);

  /// The table called `name`, or null.
  const table_entry* table(std::string_view name) const;

  /// The index of table `name` in tables(), or -1.
  int32_t table_index(std::string_view name) const;

  /// The view called `name`, or null.
  const view_entry* view(std::string_view name) const;

  /// Where the table or view `name` is declared, if it is.
  std::optional<sql_position> declared(std::string_view name) const;

  /// Every table in declaration order.
  const std::vector<table_entry>& tables() const noexcept { return tables_; }

 private:
  std::vector<table_entry> tables_;
  std::vector<view_entry> views_;
};

/// Looks up environment variables for `${env:NAME}`.
using getenv_fn = std::function<std::optional<std::string>(std::string_view)>;

/// `o.value` with every `${env:NAME}` replaced; a missing variable is an
/// `env_missing` diagnostic at its reference (the value keeps the text).
std::string substitute_env(const option_def& o, const getenv_fn& getenv,
                           std::vector<sql_diagnostic>& diags);

/// Checks WITH options against a connector (`connector` itself excluded):
/// every key known to the connector, every required one present, every
/// value of the option's type. Problems are `bad_option` diagnostics at
/// the key or value; `table_where` stands for a missing option.
void check_connector_options(const connector_info& info,
                             const std::vector<option_def>& options,
                             const std::map<std::string, std::string>& values,
                             const sql_position& table_where,
                             std::vector<sql_diagnostic>& diags);

} // namespace sluice::sql
