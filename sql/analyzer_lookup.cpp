// Lookup joins: `FROM o JOIN dim FOR SYSTEM_TIME AS OF o.proc_time AS d ON
// o.k = d.k`, as Flink joins a stream with a table read by key.
#include <fmt/format.h>

#include "sql/analyzer_detail.hpp"

namespace sluice::sql::analysis {

using columnar::data_type;
using columnar::type_id;

namespace {

bool integral(type_id t) {
  return t == type_id::int32 || t == type_id::int64;
}

/// True when values of `a` and `b` can be compared as keys: the same type
/// (a DECIMAL of the same scale), or two integers.
bool comparable(const data_type& a, const data_type& b) {
  if (integral(a.id) && integral(b.id))
    return true;
  if (a.id != b.id)
    return false;
  return a.id != type_id::decimal || a.scale == b.scale;
}

std::string type_text(const data_type& t) {
  auto copy = t;
  copy.nullable = true;
  return columnar::to_string(copy);
}

} // namespace

std::optional<relation> bind_lookup_join(context& ctx, const table_ref& t) {
  auto& rt = *t.right;
  auto& name = rt.name;
  if (t.join != join_type::inner && t.join != join_type::left) {
    ctx.error(t.where, diag_code::unsupported,
              "a lookup join is an inner JOIN or a LEFT JOIN: the table is "
              "read by the keys of the rows that arrive");
    return std::nullopt;
  }
  auto left = bind_from(ctx, *t.left);
  if (!left)
    return std::nullopt;
  auto* tab = ctx.cat.table(name.name);
  if (tab == nullptr) {
    if (ctx.cat.view(name.name) != nullptr)
      ctx.error(name.where, diag_code::unsupported,
                fmt::format("'{}' is a view: a lookup join reads a table "
                            "(FOR SYSTEM_TIME AS OF)",
                            name.name));
    else
      ctx.error(name.where, diag_code::unknown_table,
                fmt::format("table '{}' not found", name.name));
    return std::nullopt;
  }
  bool ok = true;
  if (tab->info != nullptr && !tab->info->lookup) {
    std::string can;
    for (auto& [n, info] : ctx.connectors)
      if (info.lookup)
        can += fmt::format("{}'{}'", can.empty() ? "" : ", ", n);
    ctx.error(name.where, diag_code::unsupported,
              fmt::format("table '{}' cannot be looked up: connector '{}' "
                          "has no lookup (connectors that have one: {})",
                          name.name, tab->spec.connector,
                          can.empty() ? "none" : can));
    ok = false;
  }
  if (!tab->spec.computed.empty() || tab->spec.watermark) {
    ctx.error(name.where, diag_code::unsupported,
              fmt::format("lookup table '{}' has computed columns or a "
                          "WATERMARK: a lookup table has stored columns only",
                          name.name));
    ok = false;
  }
  // FOR SYSTEM_TIME AS OF: the left side's processing time.
  auto& st = *rt.system_time;
  auto lscope = scope::of(*left);
  if (st.kind != expr_kind::column_ref) {
    ctx.error(st.where, diag_code::unsupported,
              "FOR SYSTEM_TIME AS OF takes the other side's PROCTIME() "
              "column: a lookup join reads the table as it is when each row "
              "arrives");
    ok = false;
  } else {
    expr_binder lb{ctx, lscope};
    auto pt = lb.resolve_column(st, false);
    if (!pt) {
      ok = false;
    } else if (!left->columns[*pt].proctime) {
      ctx.error(st.where, diag_code::unsupported,
                fmt::format("FOR SYSTEM_TIME AS OF '{}': not a PROCTIME() "
                            "attribute. A lookup join reads the table as it "
                            "is when each row arrives; a join with a "
                            "table's past versions (event time) is not "
                            "supported",
                            st.name));
      ok = false;
    }
  }
  if (!t.condition) {
    ctx.error(t.where, diag_code::unsupported,
              fmt::format("a lookup join needs ON with an equality between "
                          "a column of '{}' and a column of the other side",
                          name.name));
    return std::nullopt;
  }
  if (!ok)
    return std::nullopt;
  bool outer = t.join == join_type::left;
  // The table's side: its stored columns, nullable in a LEFT JOIN.
  relation right;
  right.plan = std::make_unique<rel>();
  right.plan->out = tab->spec.physical;
  if (outer)
    for (auto& f : right.plan->out.fields)
      f.type.nullable = true;
  auto q = rt.alias ? rt.alias->name : name.name;
  for (auto& f : right.plan->out.fields) {
    column_info c;
    c.qualifier = q;
    c.name = f.name;
    right.columns.push_back(std::move(c));
  }
  auto both = scope::of(*left, right);
  auto nl = static_cast<uint32_t>(left->columns.size());
  expr_binder b{ctx, both};
  b.no_aggregates_in = "ON";
  std::vector<const sql::expr*> parts;
  conjuncts(*t.condition, parts);
  std::vector<uint32_t> left_keys, right_keys;
  std::vector<const sql::expr*> residual;
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
      if (*a < nl && *c >= nl) {
        auto& lt = both.types[*a];
        auto& rtype = both.types[*c];
        if (!comparable(lt, rtype)) {
          ctx.error(p->where, diag_code::type_mismatch,
                    fmt::format("a lookup key compares {} with {}: declare "
                                "the table's column with the other side's "
                                "type",
                                type_text(lt), type_text(rtype)));
          ok = false;
          continue;
        }
        left_keys.push_back(*a);
        right_keys.push_back(*c - nl);
        continue;
      }
    }
    residual.push_back(p);
  }
  if (!ok)
    return std::nullopt;
  if (left_keys.empty()) {
    ctx.error(t.condition->where, diag_code::unsupported,
              fmt::format("a lookup join needs ON with an equality between "
                          "a column of '{}' and a column of the other side "
                          "(the key the table is read by)",
                          name.name));
    return std::nullopt;
  }
  auto cond = bind_on_condition(ctx, b, residual, ok);
  if (!ok)
    return std::nullopt;
  auto j = std::make_unique<rel>();
  j->kind = rel_kind::lookup_join;
  j->where = name.where; // the table it reads
  j->table = ctx.cat.table_index(name.name);
  j->outer = outer;
  j->left_keys = std::move(left_keys);
  j->right_keys = std::move(right_keys);
  if (cond)
    j->exprs.push_back(std::move(*cond));
  j->out.fields = left->plan->out.fields;
  for (auto& f : right.plan->out.fields)
    j->out.fields.push_back(f);
  j->out.rowtime = left->plan->out.rowtime;
  j->append_only = left->plan->append_only;
  relation out;
  out.columns = left->columns;
  for (auto& c : right.columns)
    out.columns.push_back(c);
  out.window = left->window;
  j->inputs.push_back(std::move(left->plan));
  out.plan = std::move(j);
  return out;
}

} // namespace sluice::sql::analysis
