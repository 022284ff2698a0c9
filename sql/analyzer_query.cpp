// Queries: FROM items, WHERE, the SELECT list, GROUP BY and HAVING.
#include <fmt/format.h>

#include "runtime/expr/type_rules.hpp"
#include "sql/analyzer_detail.hpp"

namespace sluice::sql::analysis {

using columnar::data_type;
using columnar::type_id;

namespace {

/// Gives every column of `r` the qualifier `q`.
void requalify(relation& r, const std::string& q) {
  for (auto& c : r.columns)
    c.qualifier = q;
}

bool contains_aggregate(const sql::expr& e) {
  if (e.kind == expr_kind::call && is_aggregate(e.name))
    return true;
  bool found = false;
  for_each_child(
      e, [&](const sql::expr& c) { found = found || contains_aggregate(c); });
  return found;
}

/// A deep copy of an expression.
expr_ptr clone(const sql::expr& e) {
  auto c = std::make_unique<sql::expr>();
  c->kind = e.kind;
  c->where = e.where;
  c->literal = e.literal;
  c->text = e.text;
  c->unit = e.unit;
  c->qualifier = e.qualifier;
  c->name = e.name;
  c->op = e.op;
  c->negated = e.negated;
  c->distinct = e.distinct;
  c->star_arg = e.star_arg;
  c->type = e.type;
  c->type_where = e.type_where;
  for (auto& a : e.args)
    c->args.push_back(clone(*a));
  if (e.case_operand)
    c->case_operand = clone(*e.case_operand);
  for (auto& w : e.whens)
    c->whens.push_back({clone(*w.condition), clone(*w.result)});
  if (e.else_result)
    c->else_result = clone(*e.else_result);
  return c;
}

} // namespace

/// Flink's name of an unnamed SELECT item.
std::string item_name(const select_item& item, size_t i) {
  if (item.alias)
    return item.alias->name;
  if (item.expression->kind == expr_kind::column_ref)
    return item.expression->name;
  return fmt::format("EXPR${}", i);
}

/// A canonical text of an expression tree (column indices, not names).
std::string canonical(const ir::tree& t) {
  return ir::to_string(t, std::vector<std::string>{});
}

relation make_project(relation in, std::vector<ir::tree> exprs,
                      std::vector<column_info> cols,
                      std::vector<columnar::field> fields, sql_position where) {
  auto p = std::make_unique<rel>();
  p->kind = rel_kind::project;
  p->where = where;
  p->append_only = in.plan->append_only;
  p->out.fields = std::move(fields);
  for (size_t i = 0; i < exprs.size(); ++i) {
    auto& root = exprs[i].nodes[exprs[i].root];
    if (root.kind == ir::op::column && in.plan->out.rowtime >= 0 &&
        root.index == static_cast<uint32_t>(in.plan->out.rowtime) &&
        p->out.rowtime < 0)
      p->out.rowtime = static_cast<int32_t>(i);
  }
  p->exprs = std::move(exprs);
  relation out;
  out.window = in.window;
  p->inputs.push_back(std::move(in.plan));
  out.plan = std::move(p);
  out.columns = std::move(cols);
  return out;
}

std::optional<relation> bind_named(context& ctx, const identifier& name,
                                   const std::string& alias) {
  auto q = alias.empty() ? name.name : alias;
  if (auto* t = ctx.cat.table(name.name)) {
    if (t->info != nullptr && !t->info->source) {
      ctx.error(name.where, diag_code::unsupported,
                fmt::format("table '{}' cannot be read: connector '{}' only "
                            "writes",
                            name.name, t->spec.connector));
      return std::nullopt;
    }
    auto r = std::make_unique<rel>();
    r->kind = rel_kind::scan;
    r->where = name.where;
    r->out = t->schema;
    r->table = ctx.cat.table_index(name.name);
    relation out;
    for (size_t i = 0; i < t->schema.fields.size(); ++i) {
      column_info c;
      c.qualifier = q;
      c.name = t->schema.fields[i].name;
      c.proctime = static_cast<int32_t>(i) == t->proctime;
      out.columns.push_back(std::move(c));
    }
    out.plan = std::move(r);
    return out;
  }
  if (auto* v = ctx.cat.view(name.name)) {
    if (!v->ok)
      return std::nullopt; // its errors were reported at CREATE VIEW
    for (auto& e : ctx.expanding)
      if (e == v->name) {
        ctx.error(name.where, diag_code::unsupported,
                  fmt::format("view '{}' refers to itself", v->name));
        return std::nullopt;
      }
    // Bound again for this use; its errors were reported once already.
    std::vector<sql_diagnostic> scratch;
    context inner{ctx.fns, ctx.connectors, ctx.cat, scratch, ctx.expanding};
    inner.expanding.push_back(v->name);
    auto r = bind_query(inner, *v->body);
    if (!r)
      return std::nullopt;
    requalify(*r, q);
    for (size_t i = 0; i < v->columns.size() && i < r->columns.size(); ++i) {
      r->columns[i].name = v->columns[i].name;
      r->plan->out.fields[i].name = v->columns[i].name;
    }
    return r;
  }
  ctx.error(name.where, diag_code::unknown_table,
            fmt::format("table or view '{}' not found", name.name));
  return std::nullopt;
}

std::optional<relation> bind_from(context& ctx, const table_ref& t) {
  auto alias = t.alias ? t.alias->name : std::string{};
  switch (t.kind) {
  case table_ref_kind::table: {
    if (t.system_time) {
      ctx.error(t.system_time->where, diag_code::unsupported,
                "FOR SYSTEM_TIME AS OF belongs to the right side of a JOIN "
                "(a lookup join: FROM orders AS o JOIN dim FOR SYSTEM_TIME "
                "AS OF o.proc_time AS d ON o.id = d.id)");
      return std::nullopt;
    }
    return bind_named(ctx, t.name, alias);
  }
  case table_ref_kind::subquery: {
    auto r = bind_query(ctx, *t.subquery);
    if (r)
      requalify(*r, alias);
    return r;
  }
  case table_ref_kind::window: {
    auto r = bind_window_tvf(ctx, t);
    if (r && !alias.empty())
      requalify(*r, alias);
    return r;
  }
  case table_ref_kind::join:
    return bind_join(ctx, t, nullptr);
  }
  return std::nullopt;
}

namespace {

std::optional<relation> bind_select(context& ctx, const select_core& s) {
  if (!s.from) {
    ctx.error(s.where, diag_code::unsupported,
              "SELECT without FROM is not supported");
    return std::nullopt;
  }
  if (s.distinct) {
    for (auto& item : s.items)
      if (item.kind != select_item::value ||
          contains_aggregate(*item.expression) || !s.group_by.empty() ||
          s.having) {
        ctx.error(s.where, diag_code::unsupported,
                  "SELECT DISTINCT is supported over named values only "
                  "(no *, aggregates or GROUP BY): use GROUP BY");
        return std::nullopt;
      }
  }
  auto input = s.from->kind == table_ref_kind::join
                   ? bind_join(ctx, *s.from, s.where_clause.get())
                   : bind_from(ctx, *s.from);
  if (!input)
    return std::nullopt;
  bool ok = true;
  if (s.where_clause) {
    auto in = scope::of(*input);
    expr_binder b{ctx, in};
    b.no_aggregates_in = "WHERE";
    auto pred = b.bind(*s.where_clause);
    if (!pred) {
      ok = false;
    } else if (auto& ty = pred->nodes[pred->root].type;
               ty.id != type_id::boolean) {
      ctx.error(s.where_clause->where, diag_code::type_mismatch,
                fmt::format("WHERE expects BOOLEAN, got {}",
                            columnar::to_string(ty.id)));
      ok = false;
    } else {
      auto f = std::make_unique<rel>();
      f->kind = rel_kind::filter;
      f->where = s.where_clause->where;
      f->out = input->plan->out;
      f->append_only = input->plan->append_only;
      f->exprs.push_back(std::move(*pred));
      f->inputs.push_back(std::move(input->plan));
      input->plan = std::move(f);
    }
  }
  bool aggregated = !s.group_by.empty() || s.having != nullptr;
  for (auto& item : s.items)
    if (item.kind == select_item::value && contains_aggregate(*item.expression))
      aggregated = true;
  if (aggregated) {
    if (!ok)
      return std::nullopt;
    return bind_grouped(ctx, s, std::move(*input));
  }
  if (s.distinct) {
    // SELECT DISTINCT a, b is SELECT a, b ... GROUP BY a, b.
    if (!ok)
      return std::nullopt;
    select_core g;
    g.where = s.where;
    for (auto& item : s.items) {
      select_item copy;
      copy.where = item.where;
      copy.expression = clone(*item.expression);
      copy.alias = item.alias;
      if (!copy.alias && item.expression->kind != expr_kind::column_ref)
        copy.alias = identifier{item_name(item, g.items.size()), item.where};
      g.group_by.push_back(clone(*item.expression));
      g.items.push_back(std::move(copy));
    }
    return bind_grouped(ctx, g, std::move(*input));
  }
  auto in = scope::of(*input);
  std::vector<ir::tree> exprs;
  std::vector<columnar::field> fields;
  std::vector<column_info> cols;
  bool identity = true;
  auto add_column = [&](uint32_t i, const sql_position& where) {
    ir::tree t;
    t.root = t.add_column(i, in.types[i]);
    identity = identity && i == exprs.size();
    exprs.push_back(std::move(t));
    fields.push_back(input->plan->out.fields[i]);
    auto c = input->columns[i];
    c.where = where;
    cols.push_back(std::move(c));
  };
  for (size_t i = 0; i < s.items.size(); ++i) {
    auto& item = s.items[i];
    if (item.kind == select_item::star) {
      for (uint32_t c = 0; c < in.columns.size(); ++c)
        add_column(c, item.where);
      continue;
    }
    if (item.kind == select_item::qualified_star) {
      bool any = false;
      for (uint32_t c = 0; c < in.columns.size(); ++c)
        if (in.columns[c].qualifier == item.qualifier) {
          add_column(c, item.where);
          any = true;
        }
      if (!any) {
        ctx.error(
            item.where, diag_code::unknown_column,
            fmt::format("no table or alias '{}' in FROM", item.qualifier));
        ok = false;
      }
      continue;
    }
    expr_binder b{ctx, in};
    b.no_aggregates_in = "SELECT";
    auto tree = b.bind(*item.expression);
    if (!tree) {
      ok = false;
      continue;
    }
    auto& root = tree->nodes[tree->root];
    auto name = item_name(item, i);
    if (root.kind == ir::op::column) {
      add_column(root.index, item.where);
      fields.back().name = name;
      cols.back().name = name;
      identity = identity && name == input->plan->out.fields[root.index].name;
      continue;
    }
    identity = false;
    fields.push_back({name, root.type});
    column_info c;
    c.name = name;
    c.where = item.where;
    cols.push_back(std::move(c));
    exprs.push_back(std::move(*tree));
  }
  if (!ok)
    return std::nullopt;
  if (identity && exprs.size() == in.columns.size()) {
    for (size_t i = 0; i < cols.size(); ++i)
      input->columns[i].where = cols[i].where;
    return input;
  }
  return make_project(std::move(*input), std::move(exprs), std::move(cols),
                      std::move(fields), s.where);
}

} // namespace

std::optional<relation> bind_query(context& ctx, const query& q) {
  bool ok = true;
  if (!q.order_by.empty()) {
    ctx.error(q.order_by[0].value->where, diag_code::unsupported,
              "ORDER BY is not supported on a stream");
    ok = false;
  }
  if (q.limit) {
    ctx.error(q.limit->where, diag_code::unsupported,
              "LIMIT is not supported on a stream");
    ok = false;
  }
  if (q.selects.size() > 1) {
    ctx.error(q.selects[1].where, diag_code::unsupported,
              "UNION ALL is not supported yet");
    ok = false;
  }
  auto r = bind_select(ctx, q.selects[0]);
  if (!ok)
    return std::nullopt;
  return r;
}

} // namespace sluice::sql::analysis
