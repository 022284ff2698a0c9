// Statements: CREATE TABLE (the catalog), CREATE VIEW, SET and INSERT INTO.
#include "sql/analyzer.hpp"

#include <charconv>

#include <fmt/format.h>

#include "runtime/expr/type_rules.hpp"
#include "runtime/option_strings.hpp"
#include "runtime/options.hpp"
#include "sql/analyzer_detail.hpp"
#include "sql/restart_settings.hpp"

namespace sluice::sql {

namespace {

namespace ir = ::sluice::expr;
using analysis::column_info;
using analysis::context;
using analysis::expr_binder;
using analysis::relation;
using analysis::scope;
using columnar::data_type;
using columnar::type_id;

std::string type_text(const data_type& t) {
  return columnar::to_string(ir::with_nullable(t, true));
}

/// The columns of a table for expressions in its own DDL.
scope table_scope(const std::string& name, const columnar::schema& s) {
  scope out;
  for (auto& f : s.fields) {
    column_info c;
    c.qualifier = name;
    c.name = f.name;
    out.columns.push_back(std::move(c));
    out.types.push_back(f.type);
  }
  return out;
}

void bind_create_table(context& ctx, const create_table_stmt& ct,
                       const analyze_options& opts) {
  if (auto at = ctx.cat.declared(ct.name.name)) {
    if (!ct.if_not_exists)
      ctx.error(ct.name.where, diag_code::unknown_table,
                fmt::format("table '{}' is already declared (at line {})",
                            ct.name.name, at->line));
    return;
  }
  table_entry e;
  e.where = ct.name.where;
  e.spec.name = ct.name.name;
  // Physical columns first, then computed ones in declaration order.
  for (auto& c : ct.columns) {
    for (auto& f : e.schema.fields)
      if (f.name == c.name.name)
        ctx.error(c.name.where, diag_code::syntax,
                  fmt::format("column '{}' is declared twice", c.name.name));
    if (!c.computed)
      e.spec.physical.fields.push_back({c.name.name, c.type});
    e.schema.fields.push_back({c.name.name, c.type});
  }
  e.schema.fields = e.spec.physical.fields;
  for (auto& c : ct.columns) {
    if (!c.computed)
      continue;
    auto sc = table_scope(ct.name.name, e.schema);
    expr_binder b{ctx, sc};
    b.no_aggregates_in = "a computed column";
    auto tree = b.bind(*c.computed);
    data_type type;
    if (tree) {
      auto& root = tree->nodes[tree->root];
      type = root.type;
      if (root.kind == ir::op::call && root.function == "PROCTIME") {
        type = columnar::timestamp_type(false);
        root.type = type;
        e.proctime = static_cast<int32_t>(e.schema.fields.size());
      }
      e.spec.computed.emplace_back(c.name.name, std::move(*tree));
    }
    e.schema.fields.push_back({c.name.name, type});
  }
  if (ct.watermark) {
    auto& wm = *ct.watermark;
    auto i = e.schema.find(wm.column.name);
    if (!i) {
      ctx.error(wm.column.where, diag_code::unknown_column,
                fmt::format("WATERMARK FOR '{}': table '{}' has no such "
                            "column",
                            wm.column.name, ct.name.name));
    } else if (e.schema.fields[*i].type.id != type_id::timestamp) {
      ctx.error(wm.column.where, diag_code::type_mismatch,
                fmt::format("WATERMARK FOR '{}': the column must be "
                            "TIMESTAMP(3), it is {}",
                            wm.column.name,
                            type_text(e.schema.fields[*i].type)));
    } else {
      auto sc = table_scope(ct.name.name, e.schema);
      expr_binder b{ctx, sc};
      b.no_aggregates_in = "a WATERMARK";
      if (auto tree = b.bind(*wm.strategy)) {
        auto& ty = tree->nodes[tree->root].type;
        if (ty.id != type_id::timestamp)
          ctx.error(wm.strategy->where, diag_code::type_mismatch,
                    fmt::format("the WATERMARK expression must be a "
                                "TIMESTAMP(3), it is {}",
                                type_text(ty)));
        else {
          e.spec.watermark = std::move(*tree);
          e.schema.rowtime = static_cast<int32_t>(*i);
        }
      }
    }
  }
  if (ct.primary_key) {
    for (auto& k : ct.primary_key->columns) {
      auto i = e.spec.physical.find(k.name);
      if (!i) {
        ctx.error(k.where, diag_code::unknown_column,
                  fmt::format("PRIMARY KEY column '{}' is not a physical "
                              "column of '{}'",
                              k.name, ct.name.name));
        continue;
      }
      e.spec.primary_key.push_back(static_cast<uint32_t>(*i));
      e.spec.physical.fields[*i].type.nullable = false;
      e.schema.fields[*i].type.nullable = false;
    }
  }
  // WITH options: `connector` names a known connector, whose option specs
  // check the rest.
  const option_def* connector = nullptr;
  std::string connector_name; ///< after ${env:NAME} substitution
  for (auto& o : ct.options) {
    auto value = substitute_env(o, opts.getenv, ctx.diags);
    if (o.key == "connector") {
      connector = &o;
      connector_name = std::move(value);
    } else {
      e.spec.options[o.key] = std::move(value);
    }
  }
  if (connector == nullptr) {
    ctx.error(ct.name.where, diag_code::bad_option,
              fmt::format("table '{}' has no 'connector' option in WITH",
                          ct.name.name));
  } else if (auto it = ctx.connectors.find(connector_name);
             it == ctx.connectors.end()) {
    std::string known;
    for (auto& [name, info] : ctx.connectors)
      known += (known.empty() ? "" : ", ") + name;
    ctx.error(connector->value_where, diag_code::bad_option,
              fmt::format("unknown connector '{}' (known: {})", connector_name,
                          known));
  } else {
    e.info = &it->second;
    e.spec.connector = it->first;
    check_connector_options(it->second, ct.options, e.spec.options,
                            connector->key_where, ctx.diags);
  }
  ctx.cat.add_table(std::move(e));
}

void bind_create_view(context& ctx, const create_view_stmt& cv) {
  if (auto at = ctx.cat.declared(cv.name.name)) {
    if (!cv.if_not_exists)
      ctx.error(cv.name.where, diag_code::unknown_table,
                fmt::format("view '{}' is already declared (at line {})",
                            cv.name.name, at->line));
    return;
  }
  auto before = ctx.diags.size();
  auto r = analysis::bind_query(ctx, *cv.body);
  if (r && !cv.columns.empty() && cv.columns.size() != r->columns.size())
    ctx.error(cv.name.where, diag_code::type_mismatch,
              fmt::format("view '{}' names {} columns, its query has {}",
                          cv.name.name, cv.columns.size(), r->columns.size()));
  view_entry v;
  v.name = cv.name.name;
  v.where = cv.name.where;
  v.body = cv.body.get();
  v.columns = cv.columns;
  v.ok = r.has_value() && ctx.diags.size() == before;
  ctx.cat.add_view(std::move(v));
}

/// True when a query column of type `from` may go into a sink column of
/// type `to` (Flink's implicit casts: the same type, or a numeric
/// widening; NULL into anything).
bool insertable(const data_type& from, const data_type& to) {
  if (from.id == type_id::null_type || ir::same_physical(from, to))
    return from.id != type_id::decimal || from.precision <= to.precision ||
           from.id == type_id::null_type;
  auto rank = [](const data_type& t) {
    switch (t.id) {
    case type_id::int32:
      return 1;
    case type_id::int64:
      return 2;
    case type_id::decimal:
      return 3;
    case type_id::float64:
      return 4;
    default:
      return 0;
    }
  };
  if (rank(from) == 0 || rank(to) == 0)
    return false;
  if (to.id == type_id::decimal && from.id != type_id::decimal) {
    auto need = from.id == type_id::int32 ? 10 : 19;
    return to.precision - to.scale >= need;
  }
  if (from.id == type_id::decimal && to.id == type_id::decimal)
    return to.precision - to.scale >= from.precision - from.scale &&
           to.scale >= from.scale;
  return rank(from) < rank(to);
}

/// INSERT INTO t (columns): the query's columns placed at the listed
/// columns of `sink`, NULL in the others (which must be nullable).
bool reorder(context& ctx, const insert_stmt& ins, const table_entry& sink,
             relation& r) {
  auto& phys = sink.spec.physical;
  std::vector<int32_t> from(phys.fields.size(), -1);
  bool ok = true;
  for (size_t p = 0; p < ins.columns.size(); ++p) {
    auto& c = ins.columns[p];
    auto i = phys.find(c.name);
    if (!i) {
      ctx.error(
          c.where, diag_code::unknown_column,
          fmt::format("table '{}' has no column '{}'", sink.spec.name, c.name));
      ok = false;
    } else if (from[*i] >= 0) {
      ctx.error(c.where, diag_code::syntax,
                fmt::format("column '{}' is listed twice", c.name));
      ok = false;
    } else {
      from[*i] = static_cast<int32_t>(p);
    }
  }
  if (ok && ins.columns.size() != r.columns.size()) {
    ctx.error(ins.body->where, diag_code::type_mismatch,
              fmt::format("INSERT INTO {}: the query has {} columns, the "
                          "column list {}",
                          sink.spec.name, r.columns.size(),
                          ins.columns.size()));
    ok = false;
  }
  for (size_t i = 0; ok && i < from.size(); ++i)
    if (from[i] < 0 && !phys.fields[i].type.nullable) {
      ctx.error(ins.table.where, diag_code::type_mismatch,
                fmt::format("INSERT INTO {}: column '{}' is NOT NULL and not "
                            "in the column list",
                            sink.spec.name, phys.fields[i].name));
      ok = false;
    }
  if (!ok)
    return false;
  std::vector<ir::tree> exprs;
  std::vector<columnar::field> fields;
  std::vector<column_info> cols;
  for (size_t i = 0; i < from.size(); ++i) {
    ir::tree t;
    if (from[i] < 0) {
      t.root = t.add_literal(std::monostate{}, data_type{});
      fields.push_back({phys.fields[i].name, data_type{}});
      cols.push_back(column_info{});
    } else {
      auto src = static_cast<uint32_t>(from[i]);
      t.root = t.add_column(src, r.type(src));
      fields.push_back({phys.fields[i].name, r.type(src)});
      cols.push_back(r.columns[src]);
    }
    exprs.push_back(std::move(t));
  }
  auto where = r.plan->where;
  r = analysis::make_project(std::move(r), std::move(exprs), std::move(cols),
                             std::move(fields), where);
  return true;
}

void bind_insert(context& ctx, const statement& st, const insert_stmt& ins,
                 bound_script& out) {
  const table_entry* sink = ctx.cat.table(ins.table.name);
  auto before = ctx.diags.size();
  if (sink == nullptr) {
    if (ctx.cat.view(ins.table.name))
      ctx.error(ins.table.where, diag_code::unsupported,
                fmt::format("cannot INSERT INTO view '{}'", ins.table.name));
    else
      ctx.error(ins.table.where, diag_code::unknown_table,
                fmt::format("table '{}' not found", ins.table.name));
  } else if (sink->info != nullptr && !sink->info->sink) {
    ctx.error(ins.table.where, diag_code::unsupported,
              fmt::format("table '{}' cannot be written: connector '{}' only "
                          "reads",
                          ins.table.name, sink->spec.connector));
  }
  auto r = analysis::bind_query(ctx, *ins.body);
  if (!r || sink == nullptr || ctx.diags.size() != before)
    return;
  if (!ins.columns.empty() && !reorder(ctx, ins, *sink, *r))
    return;
  auto& want = sink->spec.physical.fields;
  auto& got = r->plan->out.fields;
  if (want.size() != got.size()) {
    ctx.error(ins.body->where, diag_code::type_mismatch,
              fmt::format("INSERT INTO {}: the query has {} columns, the "
                          "table has {} ({})",
                          ins.table.name, got.size(), want.size(),
                          columnar::to_string(sink->spec.physical)));
    return;
  }
  bool cast = false;
  bool ok = true;
  for (size_t i = 0; i < want.size(); ++i) {
    auto& from = got[i].type;
    auto& to = want[i].type;
    if (!insertable(from, to)) {
      auto where =
          r->columns[i].where.line > 0 ? r->columns[i].where : ins.body->where;
      ctx.error(where, diag_code::type_mismatch,
                fmt::format("INSERT INTO {}: column {} '{}' is {} in the "
                            "query but {} '{}' in the table",
                            ins.table.name, i + 1, got[i].name, type_text(from),
                            type_text(to), want[i].name));
      ok = false;
      continue;
    }
    if (!(from.id == to.id && from.precision == to.precision &&
          from.scale == to.scale))
      cast = true;
  }
  if (!ok)
    return;
  if (!r->plan->append_only && sink->info != nullptr &&
      !sink->info->accepts_updates) {
    ctx.error(ins.table.where, diag_code::sink_no_updates,
              fmt::format("table '{}' (connector '{}') takes inserts only, "
                          "but the query updates its rows (a GROUP BY "
                          "without a window): use a window or a sink that "
                          "takes updates",
                          ins.table.name, sink->spec.connector));
    return;
  }
  if (!r->plan->append_only && sink->info != nullptr &&
      sink->info->updates_need_key && sink->spec.primary_key.empty()) {
    ctx.error(ins.table.where, diag_code::sink_no_updates,
              fmt::format("table '{}' (connector '{}') has no PRIMARY KEY, "
                          "so it takes inserts only, but the query updates "
                          "its rows (a GROUP BY without a window): declare "
                          "PRIMARY KEY (...) NOT ENFORCED on the grouping "
                          "columns",
                          ins.table.name, sink->spec.connector));
    return;
  }
  if (cast) {
    std::vector<ir::tree> exprs;
    std::vector<columnar::field> fields;
    std::vector<column_info> cols;
    for (size_t i = 0; i < want.size(); ++i) {
      ir::tree t;
      auto c = t.add_column(static_cast<uint32_t>(i), got[i].type);
      auto to = ir::with_nullable(want[i].type, got[i].type.nullable);
      t.root = got[i].type.id == to.id &&
                       got[i].type.precision == to.precision &&
                       got[i].type.scale == to.scale
                   ? c
                   : t.add_op(ir::op::cast, to, {c});
      exprs.push_back(std::move(t));
      fields.push_back({want[i].name, to});
      cols.push_back(r->columns[i]);
    }
    *r = analysis::make_project(std::move(*r), std::move(exprs),
                                std::move(cols), std::move(fields), st.where);
  }
  bound_insert b;
  b.sink = sink->spec;
  b.query = std::move(r->plan);
  b.where = st.where;
  out.inserts.push_back(std::move(b));
}

/// Checks the settings the engine reads (Flink's names where Flink has one)
/// and the late-rows table; `where` says where each value was set.
void check_settings(context& ctx, const std::map<std::string, std::string>& set,
                    const std::map<std::string, sql_position>& where) {
  auto at = [&](const std::string& key) {
    auto i = where.find(key);
    return i != where.end() ? i->second : sql_position{"--set " + key, 0, 0};
  };
  auto bad = [&](const std::string& key, std::string why) {
    ctx.error(at(key), diag_code::bad_option,
              fmt::format("setting '{}' {}", key, why));
  };
  restart_strategy_of(
      set, [&](const std::string& key, std::string why) { bad(key, why); });
  for (auto& [key, value] : set) {
    if (key == "parallelism.default" || key == "sluice.batch-rows") {
      int64_t n = 0;
      auto [p, ec] =
          std::from_chars(value.data(), value.data() + value.size(), n);
      if (ec != std::errc{} || p != value.data() + value.size() || n <= 0)
        bad(key, fmt::format("must be a positive integer, got '{}'", value));
    } else if (key == "table.exec.source.idle-timeout" ||
               key == "table.exec.state.ttl") {
      if (!parse_flink_duration(value))
        bad(key,
            fmt::format("must be a duration such as '10 s', got '{}'", value));
    } else if (key == "sluice.state.max-bytes") {
      if (!parse_bytes(value))
        bad(key, fmt::format("must be a size such as '1GiB', got '{}'", value));
    } else if (key == "table.local-time-zone") {
      if (value != "UTC")
        bad(key, "supports 'UTC' only");
    } else if (key == "sluice.late-rows.table") {
      auto* t = ctx.cat.table(value);
      if (t == nullptr) {
        bad(key, fmt::format("names table '{}', which is not declared", value));
        continue;
      }
      auto want = columnar::schema{{{"stage", columnar::string_type()},
                                    {"event_time", columnar::timestamp_type()},
                                    {"watermark", columnar::timestamp_type()},
                                    {"row_text", columnar::string_type()}}};
      bool same = t->spec.physical.fields.size() == want.fields.size();
      for (size_t i = 0; same && i < want.fields.size(); ++i)
        same = t->spec.physical.fields[i].name == want.fields[i].name &&
               ir::same_physical(t->spec.physical.fields[i].type,
                                 want.fields[i].type);
      if (!same)
        bad(key, fmt::format("names table '{}', which must be declared as ({})",
                             value, columnar::to_string(want)));
      else if (t->info != nullptr && !t->info->sink)
        bad(key,
            fmt::format("names table '{}', which cannot be written", value));
    }
  }
}

} // namespace

bound_script analyze(const parsed_script& parsed,
                     const ir::function_registry& fns,
                     const connector_infos& connectors,
                     const analyze_options& opts,
                     std::vector<sql_diagnostic>& diags) {
  bound_script out;
  catalog cat;
  context ctx{fns, connectors, cat, diags};
  std::map<std::string, sql_position> set_at;
  for (auto& st : parsed.statements) {
    std::visit(
        [&](auto& s) {
          using T = std::decay_t<decltype(s)>;
          if constexpr (std::is_same_v<T, create_table_stmt>) {
            bind_create_table(ctx, s, opts);
          } else if constexpr (std::is_same_v<T, create_view_stmt>) {
            bind_create_view(ctx, s);
          } else if constexpr (std::is_same_v<T, insert_stmt>) {
            bind_insert(ctx, st, s, out);
          } else if constexpr (std::is_same_v<T, set_stmt>) {
            out.settings[s.option.key] =
                substitute_env(s.option, opts.getenv, diags);
            set_at[s.option.key] = s.option.value_where;
          } else if constexpr (std::is_same_v<T, query_stmt>) {
            if (analysis::bind_query(ctx, *s.body))
              ctx.error(st.where, diag_code::unsupported,
                        "a query without INSERT INTO has no sink: write "
                        "INSERT INTO a table (a 'print' table shows rows)");
          } else if constexpr (std::is_same_v<T, explain_stmt>) {
            // Checked as the statement it explains; --explain prints plans.
            if (auto* ins = std::get_if<insert_stmt>(&s.inner->body)) {
              bound_script scratch;
              bind_insert(ctx, *s.inner, *ins, scratch);
            } else if (auto* q = std::get_if<query_stmt>(&s.inner->body)) {
              analysis::bind_query(ctx, *q->body);
            }
          }
        },
        st.body);
  }
  for (auto& t : cat.tables())
    out.tables.push_back(t.spec);
  for (auto& [k, v] : opts.settings) {
    out.settings[k] = v;
    set_at.erase(k);
  }
  check_settings(ctx, out.settings, set_at);
  return out;
}

} // namespace sluice::sql
