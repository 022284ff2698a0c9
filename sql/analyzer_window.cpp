// Windows: the window TVFs in FROM, the legacy GROUP BY TUMBLE(...) form,
// and window joins.
#include <fmt/format.h>

#include "runtime/expr/type_rules.hpp"
#include "sql/analyzer_detail.hpp"

namespace sluice::sql::analysis {

using columnar::data_type;
using columnar::type_id;

namespace {

/// The milliseconds of a window argument that must be a positive INTERVAL
/// literal (an offset may be zero or negative), or none (reported).
std::optional<int64_t> window_interval(context& ctx, const sql::expr& e,
                                       const char* what, bool positive) {
  auto ms = interval_ms(e);
  if (!ms) {
    ctx.error(e.where, diag_code::bad_window,
              fmt::format("the window {} must be an INTERVAL literal such as "
                          "INTERVAL '10' SECOND",
                          what));
    return std::nullopt;
  }
  if (positive && *ms <= 0) {
    ctx.error(
        e.where, diag_code::bad_window,
        fmt::format("the window {} must be positive, got {} ms", what, *ms));
    return std::nullopt;
  }
  return ms;
}

/// Fills the sizes of `w` from a window function's interval arguments (as
/// in TUMBLE(..., size [, offset]), HOP(..., slide, size [, offset]),
/// CUMULATE(..., step, size [, offset]), SESSION(..., gap)); false after
/// an error (reported).
bool window_sizes(context& ctx, window_spec& w,
                  const std::vector<const sql::expr*>& args) {
  bool ok = true;
  auto arg = [&](size_t i, const char* what,
                 bool positive) -> std::optional<int64_t> {
    if (i >= args.size())
      return std::nullopt;
    auto v = window_interval(ctx, *args[i], what, positive);
    ok = ok && v.has_value();
    return v;
  };
  switch (w.kind) {
  case wkind::tumble: {
    w.size_ms = arg(0, "size", true).value_or(0);
    w.offset_ms = arg(1, "offset", false).value_or(0);
    break;
  }
  case wkind::hop: {
    w.slide_ms = arg(0, "slide", true).value_or(0);
    w.size_ms = arg(1, "size", true).value_or(0);
    w.offset_ms = arg(2, "offset", false).value_or(0);
    if (ok && args.size() > 1 && w.size_ms % w.slide_ms != 0) {
      ctx.error(args[1]->where, diag_code::bad_window,
                fmt::format("HOP size ({} ms) must be a multiple of its slide "
                            "({} ms)",
                            w.size_ms, w.slide_ms));
      ok = false;
    }
    break;
  }
  case wkind::cumulate: {
    w.step_ms = arg(0, "step", true).value_or(0);
    w.size_ms = arg(1, "size", true).value_or(0);
    w.offset_ms = arg(2, "offset", false).value_or(0);
    if (ok && args.size() > 1 && w.size_ms % w.step_ms != 0) {
      ctx.error(args[1]->where, diag_code::bad_window,
                fmt::format("CUMULATE size ({} ms) must be a multiple of its "
                            "step ({} ms)",
                            w.size_ms, w.step_ms));
      ok = false;
    }
    break;
  }
  case wkind::session:
    w.gap_ms = arg(0, "gap", true).value_or(0);
    break;
  default:
    break;
  }
  return ok;
}

wkind kind_of(sql::window_kind k) {
  switch (k) {
  case sql::window_kind::tumble:
    return wkind::tumble;
  case sql::window_kind::hop:
    return wkind::hop;
  case sql::window_kind::cumulate:
    return wkind::cumulate;
  case sql::window_kind::session:
    return wkind::session;
  }
  return wkind::none;
}

/// Checks that column `i` of `in` can drive a window.
bool time_attribute(context& ctx, const scope& in, uint32_t i,
                    const sql_position& where, const std::string& name) {
  auto& t = in.types[i];
  if (t.id != type_id::timestamp) {
    ctx.error(where, diag_code::bad_window,
              fmt::format("the window's time column '{}' must be TIMESTAMP(3), "
                          "it is {}",
                          name,
                          columnar::to_string(ir::with_nullable(t, true))));
    return false;
  }
  if (in.columns[i].proctime) {
    if (in.rowtime >= 0) {
      ctx.error(where, diag_code::bad_window,
                fmt::format("the window's time column '{}' is a PROCTIME() "
                            "attribute, but its input also has an event-time "
                            "WATERMARK: a job keeps one clock, so window by "
                            "the event time or drop the WATERMARK",
                            name));
      return false;
    }
    return true;
  }
  if (static_cast<int32_t>(i) != in.rowtime) {
    ctx.error(where, diag_code::bad_window,
              fmt::format("the window's time column '{}' is not a time "
                          "attribute: declare WATERMARK FOR {} in its table, "
                          "or window by a PROCTIME() column",
                          name, name));
    return false;
  }
  return true;
}

} // namespace

std::optional<relation> bind_window_tvf(context& ctx, const table_ref& t) {
  auto input = bind_named(ctx, t.input, t.input.name);
  if (!input)
    return std::nullopt;
  auto in = scope::of(*input);
  window_spec w;
  w.kind = kind_of(t.window);
  bool ok = true;
  sql::expr ref;
  ref.kind = expr_kind::column_ref;
  ref.name = t.time_column.name;
  ref.where = t.time_column.where;
  expr_binder b{ctx, in};
  auto time = b.resolve_column(ref, false);
  if (!time)
    ok = false;
  else {
    ok =
        time_attribute(ctx, in, *time, t.time_column.where, t.time_column.name);
    w.time_column = *time;
  }
  std::vector<const sql::expr*> args;
  for (auto& a : t.window_args)
    args.push_back(a.get());
  ok = window_sizes(ctx, w, args) && ok;
  if (!t.partition_keys.empty() && w.kind != wkind::session) {
    ctx.error(t.partition_keys[0].where, diag_code::bad_window,
              fmt::format("PARTITION BY is only allowed in SESSION windows"));
    ok = false;
  }
  for (auto& k : t.partition_keys) {
    sql::expr kref;
    kref.kind = expr_kind::column_ref;
    kref.name = k.name;
    kref.where = k.where;
    auto i = b.resolve_column(kref, false);
    if (!i)
      ok = false;
    else
      w.partition_by.push_back(*i);
  }
  if (!ok)
    return std::nullopt;
  auto r = std::make_unique<rel>();
  r->kind = rel_kind::window_tvf;
  r->where = t.where;
  r->window = w;
  r->out = input->plan->out;
  r->append_only = input->plan->append_only;
  relation out;
  out.columns = input->columns;
  out.columns[w.time_column].window_source = true;
  auto qualifier = t.alias ? t.alias->name : t.input.name;
  for (auto [name, role] : {std::pair{"window_start", window_role::start},
                            std::pair{"window_end", window_role::end},
                            std::pair{"window_time", window_role::time}}) {
    r->out.fields.push_back({name, columnar::timestamp_type(false)});
    column_info c;
    c.qualifier = qualifier;
    c.name = name;
    c.role = role;
    out.columns.push_back(c);
  }
  r->out.rowtime = static_cast<int32_t>(r->out.fields.size() - 1);
  r->inputs.push_back(std::move(input->plan));
  out.plan = std::move(r);
  out.window = w;
  return out;
}

std::optional<window_spec> bind_group_window(context& ctx, const sql::expr& e,
                                             const scope& in,
                                             std::string_view name) {
  if (name.empty())
    name = e.name;
  window_spec w;
  if (name == "TUMBLE")
    w.kind = wkind::tumble;
  else if (name == "HOP")
    w.kind = wkind::hop;
  else if (name == "SESSION")
    w.kind = wkind::session;
  else {
    ctx.error(e.where, diag_code::bad_window,
              fmt::format("GROUP BY {}(...) is not a window: use the "
                          "CUMULATE window TVF in FROM",
                          e.name));
    return std::nullopt;
  }
  size_t want = w.kind == wkind::hop ? 3 : 2;
  if (e.args.size() < want || e.args.size() > want + 1 ||
      (w.kind != wkind::tumble && e.args.size() != want)) {
    ctx.error(e.where, diag_code::bad_window,
              fmt::format("{} takes a time column and {}", name,
                          w.kind == wkind::hop ? "a slide and a size"
                          : w.kind == wkind::session
                              ? "a gap"
                              : "a size [and an offset]"));
    return std::nullopt;
  }
  bool ok = true;
  auto& ts = *e.args[0];
  if (ts.kind != expr_kind::column_ref) {
    ctx.error(
        ts.where, diag_code::bad_window,
        fmt::format("the first argument of {} must be a time column", e.name));
    ok = false;
  } else {
    scope copy = in;
    expr_binder b{ctx, copy};
    auto i = b.resolve_column(ts, false);
    if (!i)
      ok = false;
    else {
      ok = time_attribute(ctx, in, *i, ts.where, ts.name);
      w.time_column = *i;
    }
  }
  std::vector<const sql::expr*> args;
  for (size_t i = 1; i < e.args.size(); ++i)
    args.push_back(e.args[i].get());
  ok = window_sizes(ctx, w, args) && ok;
  if (!ok)
    return std::nullopt;
  return w;
}

namespace {

/// Collects the columns an expression names (quietly resolved).
void referenced(const sql::expr& e, expr_binder& b,
                std::vector<uint32_t>& out) {
  if (e.kind == expr_kind::column_ref) {
    if (auto i = b.resolve_column(e, true))
      out.push_back(*i);
    return;
  }
  for_each_child(e, [&](const sql::expr& c) { referenced(c, b, out); });
}

/// True when some conjunct compares a TIMESTAMP of each side: an interval
/// join's time bound.
bool looks_like_interval_join(const std::vector<const sql::expr*>& parts,
                              expr_binder& b, const scope& both, size_t nl) {
  for (auto* p : parts) {
    std::vector<uint32_t> cols;
    referenced(*p, b, cols);
    bool left = false, right = false;
    for (auto c : cols) {
      if (both.types[c].id != type_id::timestamp)
        continue;
      (c < nl ? left : right) = true;
    }
    if (left && right)
      return true;
  }
  return false;
}

} // namespace

void conjuncts(const sql::expr& e, std::vector<const sql::expr*>& out) {
  if (e.kind == expr_kind::binary && e.op == op_kind::and_) {
    conjuncts(*e.args[0], out);
    conjuncts(*e.args[1], out);
    return;
  }
  out.push_back(&e);
}

std::optional<ir::tree>
bind_on_condition(context& ctx, expr_binder& b,
                  const std::vector<const sql::expr*>& parts, bool& ok) {
  if (parts.empty())
    return std::nullopt;
  ir::tree tree;
  std::optional<uint32_t> acc;
  for (auto* p : parts) {
    auto n = b.bind_into(*p, tree);
    if (!n) {
      ok = false;
      continue;
    }
    auto& ty = tree.nodes[*n].type;
    if (ty.id != type_id::boolean) {
      ctx.error(p->where, diag_code::type_mismatch,
                fmt::format("ON expects BOOLEAN, got {}",
                            columnar::to_string(ty.id)));
      ok = false;
      continue;
    }
    if (!acc)
      acc = n;
    else
      acc = tree.add_op(
          ir::op::and_,
          columnar::boolean_type(tree.nodes[*acc].type.nullable || ty.nullable),
          {*acc, *n});
  }
  if (!acc)
    return std::nullopt;
  tree.root = *acc;
  return tree;
}

std::optional<relation> bind_join(context& ctx, const table_ref& t,
                                  const sql::expr* where_clause) {
  if (t.right && t.right->kind == table_ref_kind::table && t.right->system_time)
    return bind_lookup_join(ctx, t);
  if (t.join != join_type::inner) {
    auto name = t.join == join_type::left    ? "LEFT JOIN"
                : t.join == join_type::right ? "RIGHT JOIN"
                : t.join == join_type::full  ? "FULL JOIN"
                                             : "a join without ON";
    ctx.error(t.where, diag_code::unsupported,
              fmt::format("{} is not supported: sluice runs inner window "
                          "joins",
                          name));
    return std::nullopt;
  }
  auto left = bind_from(ctx, *t.left);
  auto right = bind_from(ctx, *t.right);
  if (!left || !right)
    return std::nullopt;
  if (!t.condition) {
    ctx.error(t.where, diag_code::unsupported,
              "a join without ON is not supported: sluice runs window joins");
    return std::nullopt;
  }
  auto both = scope::of(*left, *right);
  auto nl = static_cast<uint32_t>(left->columns.size());
  expr_binder b{ctx, both};
  b.no_aggregates_in = "ON";
  std::vector<const sql::expr*> parts;
  conjuncts(*t.condition, parts);
  std::optional<std::pair<uint32_t, uint32_t>> starts, ends;
  std::vector<uint32_t> left_keys, right_keys;
  std::vector<const sql::expr*> residual;
  bool ok = true;
  for (auto* p : parts) {
    if (p->kind == expr_kind::binary && p->op == op_kind::eq &&
        p->args[0]->kind == expr_kind::column_ref &&
        p->args[1]->kind == expr_kind::column_ref) {
      auto a = b.resolve_column(*p->args[0], false);
      auto c = b.resolve_column(*p->args[1], false);
      if (!a || !c) {
        ok = false;
        continue;
      }
      if (*a >= nl && *c < nl)
        std::swap(a, c);
      if (*a < nl && *c >= nl &&
          ir::same_physical(both.types[*a], both.types[*c])) {
        auto ra = both.columns[*a].role;
        auto rc = both.columns[*c].role;
        std::pair<uint32_t, uint32_t> pair{*a, *c - nl};
        if (ra == window_role::start && rc == window_role::start && !starts)
          starts = pair;
        else if (ra == window_role::end && rc == window_role::end && !ends)
          ends = pair;
        else {
          left_keys.push_back(pair.first);
          right_keys.push_back(pair.second);
        }
        continue;
      }
    }
    residual.push_back(p);
  }
  if (!ok)
    return std::nullopt;
  if (!starts || !ends || !left->window || !right->window) {
    std::vector<const sql::expr*> all = parts;
    if (where_clause)
      conjuncts(*where_clause, all);
    std::vector<sql_diagnostic> scratch;
    context quiet{ctx.fns, ctx.connectors, ctx.cat, scratch};
    expr_binder qb{quiet, both};
    if (looks_like_interval_join(all, qb, both, nl))
      ctx.error(t.where, diag_code::unsupported,
                "an interval join (a time range between the two sides) is "
                "not supported: write it as a window join of two window "
                "TVFs, ON L.window_start = R.window_start AND L.window_end "
                "= R.window_end");
    else
      ctx.error(t.where, diag_code::unsupported,
                "a regular join is not supported: sluice runs window joins, "
                "ON L.window_start = R.window_start AND L.window_end = "
                "R.window_end [AND keys] over two windowed inputs");
    return std::nullopt;
  }
  auto lw = *left->window;
  auto rw = *right->window;
  if (lw.kind != rw.kind || lw.size_ms != rw.size_ms ||
      lw.slide_ms != rw.slide_ms || lw.step_ms != rw.step_ms ||
      lw.gap_ms != rw.gap_ms || lw.offset_ms != rw.offset_ms) {
    ctx.error(t.where, diag_code::bad_window,
              fmt::format("a window join needs the same window on both sides "
                          "({} and {})",
                          to_string(lw.kind), to_string(rw.kind)));
    return std::nullopt;
  }
  if (!left->plan->append_only || !right->plan->append_only) {
    ctx.error(t.where, diag_code::unsupported,
              "a window join of an updating input is not supported");
    return std::nullopt;
  }
  auto cond = bind_on_condition(ctx, b, residual, ok);
  if (!ok)
    return std::nullopt;
  auto j = std::make_unique<rel>();
  j->kind = rel_kind::join;
  j->where = t.where;
  j->window = lw;
  j->window.start_column = starts->first;
  j->window.end_column = ends->first;
  // The left side's window_time if it has one, else its window_end.
  j->window.time_column = ends->first;
  for (uint32_t i = 0; i < nl; ++i)
    if (both.columns[i].role == window_role::time)
      j->window.time_column = i;
  j->left_keys = {starts->first, ends->first};
  j->right_keys = {starts->second, ends->second};
  j->left_keys.insert(j->left_keys.end(), left_keys.begin(), left_keys.end());
  j->right_keys.insert(j->right_keys.end(), right_keys.begin(),
                       right_keys.end());
  if (cond)
    j->exprs.push_back(std::move(*cond));
  j->out.fields = left->plan->out.fields;
  for (auto& f : right->plan->out.fields)
    j->out.fields.push_back(f);
  relation out;
  out.columns = both.columns;
  for (auto& c : out.columns)
    c.window_source = false;
  out.window = lw;
  j->inputs.push_back(std::move(left->plan));
  j->inputs.push_back(std::move(right->plan));
  out.plan = std::move(j);
  return out;
}

} // namespace sluice::sql::analysis
