// GROUP BY, aggregates and HAVING: a grouped SELECT becomes a project over
// an aggregate (windowed when grouped by a window's columns or a legacy
// window function).
#include <fmt/format.h>

#include "runtime/expr/type_rules.hpp"
#include "sql/analyzer_detail.hpp"

namespace sluice::sql::analysis {

using columnar::data_type;
using columnar::type_id;

namespace {

/// One GROUP BY key (not a window column).
struct group_key {
  ir::tree tree;
  std::string text;
  column_info info;
  std::string name;
};

/// One aggregate call found in SELECT or HAVING.
struct found_agg {
  agg_call call;
  std::string text; ///< for de-duplication
};

constexpr uint32_t agg_placeholder = 1u << 30;

/// The grouped SELECT's hook: keys and aggregates become columns of the
/// aggregate's output, laid out as keys, [window_start, window_end,
/// window_time], aggregates.
class grouped : public grouping_hook {
 public:
  grouped(context& ctx, const scope& in, std::vector<group_key>& keys,
          bool windowed, std::optional<window_spec> legacy,
          std::vector<ir::tree>& extras)
      : ctx_(ctx), in_(in), keys_(keys), windowed_(windowed),
        legacy_(std::move(legacy)), extras_(extras) {}

  std::vector<found_agg> aggs;

  std::optional<uint32_t> intercept(const sql::expr& e, ir::tree& t,
                                    bool& failed) override {
    if (e.kind == expr_kind::call && is_aggregate(e.name))
      return aggregate(e, t, failed);
    if (e.kind == expr_kind::call && is_window_property(e.name))
      return property(e, t, failed);
    if (e.kind == expr_kind::literal)
      return std::nullopt;
    // The whole expression may be a key (GROUP BY a + b; SELECT a + b).
    std::vector<sql_diagnostic> scratch;
    context quiet{ctx_.fns, ctx_.connectors, ctx_.cat, scratch};
    expr_binder b{quiet, in_};
    auto tree = b.bind(e);
    if (!tree)
      return std::nullopt;
    auto text = canonical(*tree);
    for (uint32_t k = 0; k < keys_.size(); ++k)
      if (keys_[k].text == text)
        return t.add_column(k, keys_[k].tree.nodes[keys_[k].tree.root].type);
    auto& root = tree->nodes[tree->root];
    if (windowed_ && root.kind == ir::op::column) {
      auto role = in_.columns[root.index].role;
      auto base = static_cast<uint32_t>(keys_.size());
      if (role == window_role::start)
        return t.add_column(base, columnar::timestamp_type(false));
      if (role == window_role::end)
        return t.add_column(base + 1, columnar::timestamp_type(false));
      if (role == window_role::time)
        return t.add_column(base + 2, columnar::timestamp_type(false));
    }
    return std::nullopt;
  }

  void ungrouped(const sql::expr& e) override {
    expr_binder b{ctx_, in_};
    if (b.resolve_column(e, true))
      ctx_.error(e.where, diag_code::not_grouped,
                 fmt::format("column '{}' is neither in GROUP BY nor inside an "
                             "aggregate function",
                             e.qualifier.empty() ? e.name
                                                 : e.qualifier + "." + e.name));
    else
      b.resolve_column(e, false);
  }

 private:
  std::optional<uint32_t> aggregate(const sql::expr& e, ir::tree& t,
                                    bool& failed) {
    failed = true;
    agg_call call;
    call.distinct = e.distinct;
    if (e.name == "COUNT")
      call.kind = e.star_arg ? agg_kind::count_star : agg_kind::count;
    else if (e.name == "SUM")
      call.kind = agg_kind::sum;
    else if (e.name == "AVG")
      call.kind = agg_kind::avg;
    else if (e.name == "MIN")
      call.kind = agg_kind::min;
    else if (e.name == "MAX")
      call.kind = agg_kind::max;
    else if (e.name == "FIRST_VALUE")
      call.kind = agg_kind::first_value;
    else
      call.kind = agg_kind::last_value;
    if (e.distinct && call.kind != agg_kind::count) {
      ctx_.error(e.where, diag_code::unsupported,
                 fmt::format("{}(DISTINCT ...) is not supported: only "
                             "COUNT(DISTINCT ...)",
                             e.name));
      return std::nullopt;
    }
    auto want = call.kind == agg_kind::count_star ? 0u : 1u;
    if (e.star_arg && call.kind != agg_kind::count_star) {
      ctx_.error(e.where, diag_code::syntax,
                 fmt::format("{}(*) is not allowed", e.name));
      return std::nullopt;
    }
    if (e.args.size() != want) {
      ctx_.error(
          e.where, diag_code::type_mismatch,
          fmt::format("{} takes one argument, got {}", e.name, e.args.size()));
      return std::nullopt;
    }
    std::string text = e.name + (e.distinct ? " DISTINCT" : "");
    data_type arg_type;
    if (want == 1) {
      expr_binder b{ctx_, in_};
      b.no_aggregates_in = "an aggregate's argument";
      auto arg = b.bind(*e.args[0]);
      if (!arg)
        return std::nullopt;
      auto& root = arg->nodes[arg->root];
      arg_type = root.type;
      auto arg_text = canonical(*arg);
      text += "(" + arg_text + ")";
      if (root.kind == ir::op::column) {
        call.arg = static_cast<int32_t>(root.index);
      } else {
        // Computed arguments become extra columns after the input's.
        int32_t found = -1;
        for (size_t i = 0; i < extras_.size(); ++i)
          if (canonical(extras_[i]) == arg_text)
            found = static_cast<int32_t>(i);
        if (found < 0) {
          found = static_cast<int32_t>(extras_.size());
          extras_.push_back(std::move(*arg));
        }
        call.arg = static_cast<int32_t>(in_.columns.size()) + found;
      }
    }
    auto out = result_type(e, call.kind, arg_type);
    if (!out)
      return std::nullopt;
    call.out = *out;
    failed = false;
    for (uint32_t i = 0; i < aggs.size(); ++i)
      if (aggs[i].text == text)
        return t.add_column(agg_placeholder + i, aggs[i].call.out);
    aggs.push_back({call, text});
    return t.add_column(
        agg_placeholder + static_cast<uint32_t>(aggs.size() - 1), call.out);
  }

  /// Flink's result types: COUNT is BIGINT NOT NULL, SUM and AVG keep an
  /// integer type, SUM of DECIMAL(p, s) is DECIMAL(38, s), AVG of
  /// DECIMAL(p, s) is DECIMAL(38, max(s, 6)); the rest the argument's type.
  std::optional<data_type> result_type(const sql::expr& e, agg_kind k,
                                       const data_type& arg) {
    switch (k) {
    case agg_kind::count_star:
    case agg_kind::count:
      return columnar::int64_type(false);
    case agg_kind::sum:
    case agg_kind::avg:
      if (!ir::is_numeric(arg)) {
        ctx_.error(e.args[0]->where, diag_code::type_mismatch,
                   fmt::format("{} expects a numeric argument, got {}", e.name,
                               columnar::to_string(arg.id)));
        return std::nullopt;
      }
      if (arg.id == type_id::decimal) {
        auto scale =
            k == agg_kind::sum ? arg.scale : std::max<uint8_t>(arg.scale, 6);
        return columnar::decimal_type(columnar::max_decimal_precision, scale);
      }
      return ir::with_nullable(arg, true);
    default:
      if (arg.id == type_id::null_type) {
        ctx_.error(e.args[0]->where, diag_code::type_mismatch,
                   fmt::format("{} of NULL has no type", e.name));
        return std::nullopt;
      }
      return ir::with_nullable(arg, true);
    }
  }

  std::optional<uint32_t> property(const sql::expr& e, ir::tree& t,
                                   bool& failed) {
    failed = true;
    auto kind = e.name.substr(0, e.name.find('_'));
    if (!legacy_ || to_string(legacy_->kind) != lower(kind)) {
      ctx_.error(e.where, diag_code::bad_window,
                 fmt::format("{} needs GROUP BY {}(...)", e.name, kind));
      return std::nullopt;
    }
    // Its arguments must name the GROUP BY window, as in Flink.
    std::vector<sql_diagnostic> scratch;
    context quiet{ctx_.fns, ctx_.connectors, ctx_.cat, scratch};
    auto same = bind_group_window(quiet, e, in_, kind);
    if (!same || same->kind != legacy_->kind ||
        same->time_column != legacy_->time_column ||
        same->size_ms != legacy_->size_ms ||
        same->slide_ms != legacy_->slide_ms ||
        same->gap_ms != legacy_->gap_ms ||
        same->offset_ms != legacy_->offset_ms) {
      ctx_.error(e.where, diag_code::bad_window,
                 fmt::format("the arguments of {} must be those of the GROUP "
                             "BY {}(...) window",
                             e.name, kind));
      return std::nullopt;
    }
    failed = false;
    auto base = static_cast<uint32_t>(keys_.size());
    if (e.name.ends_with("_START"))
      return t.add_column(base, columnar::timestamp_type(false));
    if (e.name.ends_with("_END"))
      return t.add_column(base + 1, columnar::timestamp_type(false));
    return t.add_column(base + 2, columnar::timestamp_type(false));
  }

  static std::string lower(std::string s) {
    for (auto& c : s)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  }

  context& ctx_;
  const scope& in_;
  std::vector<group_key>& keys_;
  bool windowed_;
  std::optional<window_spec> legacy_;
  std::vector<ir::tree>& extras_;
};

/// Replaces aggregate placeholders by their output columns.
void fix_placeholders(ir::tree& t, uint32_t agg_base) {
  for (auto& n : t.nodes)
    if (n.kind == ir::op::column && n.index >= agg_placeholder)
      n.index = n.index - agg_placeholder + agg_base;
}

} // namespace

std::optional<relation> bind_grouped(context& ctx, const select_core& s,
                                     relation input) {
  auto in = scope::of(input);
  bool ok = true;
  std::vector<group_key> keys;
  std::optional<window_spec> legacy;
  std::optional<uint32_t> win_start, win_end;
  for (auto& g : s.group_by) {
    if (g->kind == expr_kind::call &&
        (g->name == "TUMBLE" || g->name == "HOP" || g->name == "SESSION" ||
         g->name == "CUMULATE")) {
      if (legacy) {
        ctx.error(g->where, diag_code::bad_window,
                  "GROUP BY takes one window function");
        ok = false;
        continue;
      }
      legacy = bind_group_window(ctx, *g, in);
      ok = ok && legacy.has_value();
      continue;
    }
    expr_binder b{ctx, in};
    b.no_aggregates_in = "GROUP BY";
    auto tree = b.bind(*g);
    if (!tree) {
      ok = false;
      continue;
    }
    auto& root = tree->nodes[tree->root];
    group_key k;
    if (root.kind == ir::op::column) {
      auto& c = input.columns[root.index];
      if (c.role == window_role::start && input.window) {
        win_start = root.index;
        continue;
      }
      if (c.role == window_role::end && input.window) {
        win_end = root.index;
        continue;
      }
      if (c.role == window_role::time && input.window)
        continue; // window_time follows from window_start and window_end
      k.info = c;
      k.info.role = window_role::none;
      k.info.window_source = false;
      k.name = c.name;
    } else {
      k.name = fmt::format("EXPR${}", keys.size());
    }
    k.text = canonical(*tree);
    k.tree = std::move(*tree);
    keys.push_back(std::move(k));
  }
  bool tvf_window = win_start && win_end;
  if ((win_start || win_end) && !tvf_window) {
    // Only one of them: an ordinary key after all (Flink does the same).
    for (auto idx : {win_start, win_end})
      if (idx) {
        group_key k;
        k.tree.root = k.tree.add_column(*idx, input.type(*idx));
        k.text = canonical(k.tree);
        k.info = input.columns[*idx];
        k.info.role = window_role::none;
        k.name = k.info.name;
        keys.push_back(std::move(k));
      }
  }
  if (tvf_window && legacy) {
    ctx.error(s.group_by[0]->where, diag_code::bad_window,
              "GROUP BY mixes a window TVF's columns and a window function");
    return std::nullopt;
  }
  bool windowed = tvf_window || legacy.has_value();
  std::vector<ir::tree> extras;
  grouped hook{ctx, in, keys, windowed, legacy, extras};
  // SELECT list and HAVING over the aggregate's output.
  std::vector<ir::tree> items;
  std::vector<columnar::field> fields;
  std::vector<column_info> cols;
  for (size_t i = 0; i < s.items.size(); ++i) {
    auto& item = s.items[i];
    if (item.kind != select_item::value) {
      ctx.error(item.where, diag_code::not_grouped,
                "* is not allowed in a SELECT with GROUP BY or aggregates: "
                "name the columns");
      ok = false;
      continue;
    }
    scope dummy;
    expr_binder b{ctx, dummy, &hook};
    auto tree = b.bind(*item.expression);
    if (!tree) {
      ok = false;
      continue;
    }
    column_info c;
    c.name = item_name(item, i);
    c.where = item.where;
    fields.push_back({c.name, tree->nodes[tree->root].type});
    items.push_back(std::move(*tree));
    cols.push_back(std::move(c));
  }
  std::optional<ir::tree> having;
  if (s.having) {
    scope dummy;
    expr_binder b{ctx, dummy, &hook};
    having = b.bind(*s.having);
    if (!having)
      ok = false;
    else if (auto& ty = having->nodes[having->root].type;
             ty.id != type_id::boolean) {
      ctx.error(s.having->where, diag_code::type_mismatch,
                fmt::format("HAVING expects BOOLEAN, got {}",
                            columnar::to_string(ty.id)));
      ok = false;
    }
  }
  if (!input.plan->append_only) {
    ctx.error(s.where, diag_code::unsupported,
              "an aggregate over an updating input (a GROUP BY without a "
              "window below) is not supported");
    ok = false;
  }
  if (!ok)
    return std::nullopt;
  // Computed keys and arguments: a projection of every input column plus
  // them, so that the input's column indices (and time columns) hold.
  std::vector<uint32_t> key_cols;
  for (auto& k : keys)
    if (k.tree.nodes[k.tree.root].kind != ir::op::column)
      extras.push_back(k.tree);
  auto width = static_cast<uint32_t>(input.columns.size());
  {
    uint32_t next_extra = width + static_cast<uint32_t>(extras.size());
    for (auto it = keys.rbegin(); it != keys.rend(); ++it) {
      auto& root = it->tree.nodes[it->tree.root];
      key_cols.insert(key_cols.begin(),
                      root.kind == ir::op::column ? root.index : --next_extra);
    }
  }
  auto agg = std::make_unique<rel>();
  agg->kind = rel_kind::aggregate;
  agg->where = s.where;
  agg->group_keys = key_cols;
  for (auto& a : hook.aggs)
    agg->aggs.push_back(a.call);
  relation below = std::move(input);
  if (!extras.empty()) {
    std::vector<ir::tree> exprs;
    std::vector<columnar::field> pf = below.plan->out.fields;
    auto pc = below.columns;
    for (uint32_t i = 0; i < width; ++i) {
      ir::tree t;
      t.root = t.add_column(i, below.type(i));
      exprs.push_back(std::move(t));
    }
    for (size_t i = 0; i < extras.size(); ++i) {
      pf.push_back({fmt::format("EXPR${}", width + i),
                    extras[i].nodes[extras[i].root].type});
      pc.push_back(column_info{});
      exprs.push_back(extras[i]);
    }
    below = make_project(std::move(below), std::move(exprs), std::move(pc),
                         std::move(pf), s.where);
  }
  for (auto k : key_cols)
    agg->out.fields.push_back(below.plan->out.fields[k]);
  for (size_t i = 0; i < keys.size(); ++i)
    agg->out.fields[i].name = keys[i].name;
  relation out;
  for (auto& k : keys)
    out.columns.push_back(k.info);
  if (windowed) {
    window_spec w;
    if (legacy) {
      w = *legacy;
    } else {
      w = *below.window;
      w.start_column = *win_start;
      w.end_column = *win_end;
      w.kind = wkind::inherited;
      for (uint32_t i = 0; i < below.columns.size(); ++i)
        if (below.columns[i].window_source) {
          w.kind = below.window->kind;
          w.time_column = i;
        }
      if (w.kind == wkind::inherited) {
        // No column assigns windows: the input's window_time (or, when a
        // projection dropped it, window_end) is the time.
        w.time_column = w.end_column;
        for (uint32_t i = 0; i < below.columns.size(); ++i)
          if (below.columns[i].role == window_role::time)
            w.time_column = i;
      }
    }
    if (w.kind == wkind::session)
      w.partition_by = key_cols; // sessions are per group
    agg->window = w;
    auto base = static_cast<int32_t>(agg->out.fields.size());
    for (auto [name, role] : {std::pair{"window_start", window_role::start},
                              std::pair{"window_end", window_role::end},
                              std::pair{"window_time", window_role::time}}) {
      agg->out.fields.push_back({name, columnar::timestamp_type(false)});
      column_info c;
      c.name = name;
      c.role = role;
      out.columns.push_back(c);
    }
    agg->out.rowtime = base + 2;
    agg->append_only = below.plan->append_only;
    // The output's window columns keep the window they came from.
    out.window = w;
    if (w.kind == wkind::inherited)
      out.window = below.window;
  } else {
    agg->append_only = false;
  }
  auto agg_base = static_cast<uint32_t>(agg->out.fields.size());
  for (size_t i = 0; i < hook.aggs.size(); ++i) {
    agg->out.fields.push_back(
        {fmt::format("EXPR$AGG{}", i), hook.aggs[i].call.out});
    out.columns.push_back(column_info{});
  }
  agg->inputs.push_back(std::move(below.plan));
  out.plan = std::move(agg);
  if (having) {
    fix_placeholders(*having, agg_base);
    auto f = std::make_unique<rel>();
    f->kind = rel_kind::filter;
    f->where = s.having->where;
    f->out = out.plan->out;
    f->append_only = out.plan->append_only;
    f->exprs.push_back(std::move(*having));
    f->inputs.push_back(std::move(out.plan));
    out.plan = std::move(f);
  }
  for (size_t i = 0; i < items.size(); ++i) {
    fix_placeholders(items[i], agg_base);
    auto& root = items[i].nodes[items[i].root];
    if (root.kind == ir::op::column) {
      auto src = out.columns[root.index];
      src.name = cols[i].name;
      src.where = cols[i].where;
      cols[i] = src;
    }
  }
  return make_project(std::move(out), std::move(items), std::move(cols),
                      std::move(fields), s.where);
}

} // namespace sluice::sql::analysis
