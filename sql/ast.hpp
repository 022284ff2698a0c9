#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "runtime/columnar/types.hpp"
#include "sql/diagnostics.hpp"
#include "sql/lexer.hpp"

/// The syntax tree of a SQL script, as parsed: no names resolved, no types
/// checked. A tree of plain structs owned through `std::unique_ptr`; every
/// node has `where`, the position of its first token (its length covers
/// that token; an operator node points at its operator).
///
/// Names: identifiers keep the case they were written in (backquotes
/// removed); function names and keyword-like units are upper-cased.
namespace sluice::sql {

struct expr;
struct query;
struct table_ref;

using expr_ptr = std::unique_ptr<expr>;
using query_ptr = std::unique_ptr<query>;
using table_ref_ptr = std::unique_ptr<table_ref>;

/// A name as written, with its position.
struct identifier {
  std::string name;
  sql_position where;
};

/// The kinds of expression nodes; the comment says which fields a kind uses.
enum class expr_kind : uint8_t {
  literal,    ///< literal, text, unit (interval)
  column_ref, ///< qualifier (empty when unqualified), name
  call,       ///< name (upper case), args, distinct, star_arg (COUNT(*));
              ///< SUBSTRING(s FROM a FOR b) is SUBSTRING(s, a, b),
              ///< POSITION(x IN s) is POSITION(x, s), TRIM([BOTH] c FROM s)
              ///< is TRIM(s, c), LEADING: LTRIM(s, c), TRAILING: RTRIM(s, c)
  unary,      ///< op (neg, plus, not_), args[0]
  binary,     ///< op, args[0] op args[1]
  is_null,    ///< args[0] IS [NOT] NULL; negated
  in_list,    ///< args[0] [NOT] IN (args[1..]); negated
  between,    ///< args[0] [NOT] BETWEEN args[1] AND args[2]; negated
  like,       ///< args[0] [NOT] LIKE args[1] [ESCAPE args[2]]; negated
  case_when,  ///< CASE [case_operand] whens... [ELSE else_result] END
  cast,       ///< CAST(args[0] AS type)
  extract,    ///< EXTRACT(unit FROM args[0])
};

/// The kinds of literals.
enum class literal_kind : uint8_t {
  null,      ///< NULL
  boolean,   ///< TRUE / FALSE: text "TRUE" or "FALSE"
  integer,   ///< text: the digits (no sign; a minus is a unary node)
  decimal,   ///< text: "0.908" as written
  real,      ///< text: "1e10" as written
  string,    ///< text: the value ('' already turned into ')
  date,      ///< DATE 'text'
  timestamp, ///< TIMESTAMP 'text'
  interval,  ///< INTERVAL 'text' unit; text without quotes ("10", "-1")
};

/// Time units of INTERVAL literals and EXTRACT.
enum class time_unit : uint8_t {
  none,
  millisecond,
  second,
  minute,
  hour,
  day,
  week,
  month,
  quarter,
  year,
  day_of_week,
  day_of_year,
};

/// "SECOND", "DOW", ... (the SQL word of a unit).
const char* to_string(time_unit u) noexcept;

/// Operators of unary and binary nodes.
enum class op_kind : uint8_t {
  neg,    ///< unary -
  plus,   ///< unary +
  not_,   ///< NOT
  add,    ///< +
  sub,    ///< -
  mul,    ///< *
  div,    ///< /
  mod,    ///< %
  concat, ///< ||
  eq,     ///< =
  ne,     ///< <> or !=
  lt,     ///< <
  le,     ///< <=
  gt,     ///< >
  ge,     ///< >=
  and_,   ///< AND
  or_,    ///< OR
};

/// "+", "AND", ... (the SQL spelling of an operator).
const char* to_string(op_kind o) noexcept;

/// WHEN condition THEN result of a CASE.
struct when_clause {
  expr_ptr condition; ///< the WHEN value (compared to case_operand if set)
  expr_ptr result;
};

/// One expression node; `kind` says which fields are used.
struct expr {
  expr_kind kind = expr_kind::literal;
  sql_position where;
  literal_kind literal = literal_kind::null;
  std::string text; ///< literal text
  time_unit unit = time_unit::none;
  std::string qualifier; ///< column_ref: table or alias, may be empty
  std::string name;      ///< column_ref: column; call: function (upper)
  op_kind op = op_kind::add;
  bool negated = false;     ///< IS NOT NULL, NOT IN, NOT BETWEEN, NOT LIKE
  bool distinct = false;    ///< call: COUNT(DISTINCT x)
  bool star_arg = false;    ///< call: COUNT(*)
  columnar::data_type type; ///< cast: the target type
  sql_position type_where;  ///< cast: where the type is written
  std::vector<expr_ptr> args;
  expr_ptr case_operand; ///< case_when: CASE x WHEN ... (simple form)
  std::vector<when_clause> whens;
  expr_ptr else_result; ///< case_when: may be null
};

/// Calls `f(const expr&)` for each direct child of `e`, in source order.
template <class F>
void for_each_child(const expr& e, F&& f) {
  if (e.case_operand)
    f(*e.case_operand);
  for (auto& a : e.args)
    f(*a);
  for (auto& w : e.whens) {
    f(*w.condition);
    f(*w.result);
  }
  if (e.else_result)
    f(*e.else_result);
}

// -- queries ------------------------------------------------------------------

/// One item of a SELECT list.
struct select_item {
  enum kind_t : uint8_t { value, star, qualified_star } kind = value;
  sql_position where;
  expr_ptr expression;             ///< value
  std::optional<identifier> alias; ///< value: `expr [AS] alias`
  std::string qualifier;           ///< qualified_star: the `t` of `t.*`
};

/// The window table-valued functions.
enum class window_kind : uint8_t { tumble, hop, cumulate, session };

/// "TUMBLE", "HOP", "CUMULATE", "SESSION".
const char* to_string(window_kind k) noexcept;

/// The kinds of FROM items.
enum class table_ref_kind : uint8_t {
  table,    ///< name [FOR SYSTEM_TIME AS OF system_time] [[AS] alias]
  subquery, ///< ( subquery ) [[AS] alias]
  window,   ///< TABLE(TUMBLE(TABLE input, DESCRIPTOR(time_column), args))
  join,     ///< left join_type JOIN right [ON condition]
};

/// Join types (the analyzer refuses what it cannot run).
enum class join_type : uint8_t { inner, left, right, full, cross };

/// One FROM item; `kind` says which fields are used.
struct table_ref {
  table_ref_kind kind = table_ref_kind::table;
  sql_position where;
  identifier name;      ///< table: the table or view
  expr_ptr system_time; ///< table: FOR SYSTEM_TIME AS OF expr, may be null
  query_ptr subquery;   ///< subquery
  window_kind window = window_kind::tumble; ///< window
  identifier input;                         ///< window: TABLE input
  std::vector<identifier> partition_keys;   ///< window: PARTITION BY keys
  identifier time_column;                   ///< window: DESCRIPTOR(time_column)
  std::vector<expr_ptr> window_args; ///< window: size / slide, size / gap ...
  join_type join = join_type::inner; ///< join
  table_ref_ptr left;                ///< join
  table_ref_ptr right;               ///< join
  expr_ptr condition; ///< join: ON condition (null for CROSS / comma)
  std::optional<identifier> alias; ///< table, subquery, window
};

/// SELECT [DISTINCT] items FROM from WHERE ... GROUP BY ... HAVING ...
struct select_core {
  sql_position where; ///< the SELECT keyword
  bool distinct = false;
  std::vector<select_item> items;
  table_ref_ptr from; ///< null without FROM
  expr_ptr where_clause;
  std::vector<expr_ptr> group_by;
  expr_ptr having;
};

/// ORDER BY item.
struct order_item {
  expr_ptr value;
  bool descending = false;
};

/// A query: one SELECT, or several joined by UNION ALL; then ORDER BY and
/// LIMIT (parsed; the analyzer decides what it runs).
struct query {
  sql_position where;
  std::vector<select_core> selects; ///< UNION ALL of these, at least one
  std::vector<order_item> order_by;
  expr_ptr limit; ///< may be null
};

// -- statements ---------------------------------------------------------------

/// A column of CREATE TABLE: physical (`name type`) or computed (`name AS e`).
struct column_def {
  identifier name;
  columnar::data_type type; ///< physical columns
  sql_position type_where;  ///< physical columns
  expr_ptr computed;        ///< computed columns: not null
};

/// WATERMARK FOR column AS strategy.
struct watermark_def {
  sql_position where; ///< the WATERMARK keyword
  identifier column;
  expr_ptr strategy;
};

/// PRIMARY KEY (columns) NOT ENFORCED, at the table or at a column.
struct primary_key_def {
  sql_position where; ///< the PRIMARY keyword
  std::vector<identifier> columns;
};

/// 'key' = 'value' of WITH (...) or SET.
struct option_def {
  std::string key;
  sql_position key_where;
  std::string value;
  sql_position value_where;
  std::vector<env_reference> env; ///< `${env:NAME}` in the value, in order
};

/// CREATE [TEMPORARY] TABLE [IF NOT EXISTS] name (...) WITH (...).
struct create_table_stmt {
  identifier name;
  bool temporary = false;
  bool if_not_exists = false;
  std::vector<column_def> columns;
  std::optional<watermark_def> watermark;
  std::optional<primary_key_def> primary_key;
  std::vector<option_def> options;
};

/// CREATE [TEMPORARY] VIEW [IF NOT EXISTS] name [(columns)] AS query.
struct create_view_stmt {
  identifier name;
  bool temporary = false;
  bool if_not_exists = false;
  std::vector<identifier> columns;
  query_ptr body;
};

/// INSERT INTO table [(columns)] query.
struct insert_stmt {
  identifier table;
  std::vector<identifier> columns;
  query_ptr body;
};

/// SET 'key' = 'value'.
struct set_stmt {
  option_def option;
};

/// A query on its own (Flink's SQL client prints its rows).
struct query_stmt {
  query_ptr body;
};

struct statement;

/// EXPLAIN [PLAN FOR] statement.
struct explain_stmt {
  std::unique_ptr<statement> inner;
};

/// One statement of a script.
struct statement {
  sql_position where; ///< its first token
  std::variant<create_table_stmt, create_view_stmt, insert_stmt, set_stmt,
               query_stmt, explain_stmt>
      body;
};

/// What parse_script returns: the statements that parsed, and every
/// diagnostic (a statement with a syntax error is left out).
struct parsed_script {
  std::vector<statement> statements;
  std::vector<sql_diagnostic> diagnostics;
};

} // namespace sluice::sql
