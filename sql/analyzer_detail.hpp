#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/expr/functions.hpp"
#include "runtime/expr/ir.hpp"
#include "runtime/job/connector_info.hpp"
#include "sql/ast.hpp"
#include "sql/catalog.hpp"
#include "sql/logical_plan.hpp"

/// The analyzer's shared parts (inside sql/ only): scopes, bound relations,
/// the expression binder and the query binder's entry points.
namespace sluice::sql::analysis {

/// The expression IR (`expr` alone names the syntax tree's node here).
namespace ir = ::sluice::expr;
/// The job description's window kinds (`window_kind` alone is the AST's).
using wkind = ::sluice::window_kind;

/// What a column means for windows.
enum class window_role : uint8_t {
  none,
  start, ///< window_start (or a rename of it)
  end,   ///< window_end
  time,  ///< window_time
};

/// One column as expressions see it.
struct column_info {
  std::string qualifier; ///< the table name or alias that reaches it
  std::string name;
  window_role role = window_role::none;
  bool window_source = false; ///< the DESCRIPTOR column of the window below
  bool proctime = false;      ///< a PROCTIME() attribute
  sql_position where;         ///< the SELECT item that made it, if any
};

/// A relation while it is being bound: its plan and what its columns mean.
struct relation {
  std::unique_ptr<rel> plan;
  std::vector<column_info> columns; ///< one per plan->out field
  /// The window of the columns with a window role (sizes and kind only).
  std::optional<window_spec> window;

  /// The type of column `i`.
  const columnar::data_type& type(size_t i) const {
    return plan->out.fields[i].type;
  }
};

/// Everything a binder reports to and reads from.
struct context {
  const ir::function_registry& fns;
  const connector_infos& connectors;
  catalog& cat;
  std::vector<sql_diagnostic>& diags;
  /// Names of views being expanded (a view may not use itself).
  std::vector<std::string> expanding = {};

  void error(const sql_position& where, diag_code code, std::string message) {
    diags.push_back({where, code, std::move(message)});
  }
};

/// The columns an expression may name: relation columns with their types.
struct scope {
  std::vector<column_info> columns;
  std::vector<columnar::data_type> types;
  int32_t rowtime = -1;

  /// The scope of one relation.
  static scope of(const relation& r);
  /// The scope of a join: left's columns then right's.
  static scope of(const relation& left, const relation& right);
};

/// Hooks of a grouped SELECT: group keys and aggregate calls become
/// columns of the aggregate's output (see analyzer_query.cpp).
class grouping_hook {
 public:
  virtual ~grouping_hook() = default;
  /// Binds `e` as a whole when it is a group key, an aggregate or a window
  /// property: a node of `t`, or none when `e` is none of them (then the
  /// binder looks at its parts). Sets `failed` when it reported an error.
  virtual std::optional<uint32_t> intercept(const sql::expr& e, ir::tree& t,
                                            bool& failed) = 0;
  /// A column reference that is neither a key nor inside an aggregate.
  virtual void ungrouped(const sql::expr& e) = 0;
};

/// Binds AST expressions to typed ir::tree nodes over a scope, reporting
/// every problem to the context.
class expr_binder {
 public:
  expr_binder(context& ctx, const scope& in, grouping_hook* group = nullptr)
      : ctx_(ctx), in_(in), group_(group) {}

  /// Binds `e` as a whole tree; none after an error (reported).
  std::optional<ir::tree> bind(const sql::expr& e);

  /// Binds `e` into `t`; the node index, or none after an error.
  std::optional<uint32_t> bind_into(const sql::expr& e, ir::tree& t);

  /// The column `e` (a column_ref) names in the scope, or none (reported
  /// unless `quiet`).
  std::optional<uint32_t> resolve_column(const sql::expr& e, bool quiet);

  /// What an aggregate call is not allowed in ("WHERE", ...); empty: the
  /// binder's hook decides.
  std::string no_aggregates_in;

 private:
  std::optional<uint32_t> bind_node(const sql::expr& e, ir::tree& t);
  std::optional<uint32_t> bind_literal(const sql::expr& e, ir::tree& t);
  std::optional<uint32_t> bind_call(std::string name,
                                    std::vector<uint32_t> args, ir::tree& t,
                                    const sql_position& where);
  std::optional<uint32_t> bind_case(const sql::expr& e, ir::tree& t);
  std::optional<uint32_t> bind_like(const sql::expr& e, ir::tree& t);
  std::optional<std::vector<uint32_t>> bind_args(const sql::expr& e,
                                                 ir::tree& t);

  context& ctx_;
  const scope& in_;
  grouping_hook* group_;
};

/// The text of a caf::error's message (its context string), for diagnostics.
std::string message_of(const caf::error& err);

/// True for COUNT, SUM, AVG, MIN, MAX, FIRST_VALUE, LAST_VALUE.
bool is_aggregate(std::string_view upper_name);

/// True for TUMBLE_START, HOP_END, SESSION_ROWTIME, ... (legacy windows).
bool is_window_property(std::string_view upper_name);

/// The milliseconds of an INTERVAL literal (day-time units), or none.
std::optional<int64_t> interval_ms(const sql::expr& e);

/// A relation of one column list over `in`: a project rel with `exprs`.
relation make_project(relation in, std::vector<ir::tree> exprs,
                      std::vector<column_info> cols,
                      std::vector<columnar::field> fields, sql_position where);

/// Binds a SELECT with GROUP BY, HAVING or aggregates over its FROM (and
/// WHERE) relation `input` (analyzer_group.cpp); none after an error.
std::optional<relation> bind_grouped(context& ctx, const select_core& s,
                                     relation input);

/// Flink's name of SELECT item `i`: its alias, its column, or EXPR$i.
std::string item_name(const select_item& item, size_t i);

/// A canonical text of an expression tree (column indices, not names):
/// equal texts, equal expressions over the same input.
std::string canonical(const ir::tree& t);

/// Binds a query (SELECT ... UNION ALL ...) into a relation; none after an
/// error (reported).
std::optional<relation> bind_query(context& ctx, const query& q);

/// Binds a FROM item; none after an error (reported).
std::optional<relation> bind_from(context& ctx, const table_ref& t);

/// Binds a window TVF in FROM (analyzer_window.cpp).
std::optional<relation> bind_window_tvf(context& ctx, const table_ref& t);

/// Binds a JOIN in FROM: window joins only (analyzer_window.cpp).
std::optional<relation> bind_join(context& ctx, const table_ref& t,
                                  const sql::expr* where_clause);

/// Binds `left JOIN dim FOR SYSTEM_TIME AS OF left.proc_time ON ...`, a
/// lookup join (analyzer_lookup.cpp).
std::optional<relation> bind_lookup_join(context& ctx, const table_ref& t);

/// Splits `a AND b AND c` into its conjuncts.
void conjuncts(const sql::expr& e, std::vector<const sql::expr*>& out);

/// Binds conjuncts of an ON condition into one BOOLEAN tree (`a AND b`);
/// none when `parts` is empty. A conjunct that does not bind, or is not
/// BOOLEAN, is reported and clears `ok`.
std::optional<ir::tree>
bind_on_condition(context& ctx, expr_binder& b,
                  const std::vector<const sql::expr*>& parts, bool& ok);

/// The scan of a catalog table or the expansion of a view, under `alias`.
std::optional<relation> bind_named(context& ctx, const identifier& name,
                                   const std::string& alias);

/// Binds GROUP BY window functions of the legacy form, TUMBLE(ts, size),
/// HOP(ts, slide, size), SESSION(ts, gap): the window over `in`'s column
/// `ts` (time_column set), or none (reported).
/// `name` replaces e.name (TUMBLE_START(ts, size) is read as TUMBLE).
std::optional<window_spec> bind_group_window(context& ctx, const sql::expr& e,
                                             const scope& in,
                                             std::string_view name = {});

} // namespace sluice::sql::analysis
