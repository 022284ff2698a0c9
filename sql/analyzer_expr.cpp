// Expressions: names, literals, operators, CASE, CAST, predicates and
// function calls, typed through the function registry.
#include <charconv>
#include <limits>

#include <fmt/format.h>

#include "runtime/errors.hpp"
#include "runtime/expr/decimal.hpp"
#include "runtime/expr/time_util.hpp"
#include "runtime/expr/type_rules.hpp"
#include "sql/analyzer_detail.hpp"

namespace sluice::sql::analysis {

using columnar::data_type;
using columnar::type_id;
using ir::with_nullable;

std::string message_of(const caf::error& err) {
  auto& ctx = err.context();
  if (ctx.size() == 1 && ctx.match_element<std::string>(0))
    return ctx.get_as<std::string>(0);
  return ::sluice::describe(err);
}

bool is_aggregate(std::string_view n) {
  return n == "COUNT" || n == "SUM" || n == "AVG" || n == "MIN" || n == "MAX" ||
         n == "FIRST_VALUE" || n == "LAST_VALUE";
}

bool is_window_property(std::string_view n) {
  for (auto prefix : {"TUMBLE_", "HOP_", "SESSION_"}) {
    std::string_view p{prefix};
    if (n.starts_with(p)) {
      auto rest = n.substr(p.size());
      return rest == "START" || rest == "END" || rest == "ROWTIME";
    }
  }
  return false;
}

std::optional<int64_t> interval_ms(const sql::expr& e) {
  if (e.kind != expr_kind::literal || e.literal != literal_kind::interval)
    return std::nullopt;
  int64_t unit = 0;
  switch (e.unit) {
  case time_unit::millisecond:
    unit = 1;
    break;
  case time_unit::second:
    unit = 1000;
    break;
  case time_unit::minute:
    unit = 60'000;
    break;
  case time_unit::hour:
    unit = 3'600'000;
    break;
  case time_unit::day:
    unit = 86'400'000;
    break;
  default:
    return std::nullopt;
  }
  std::string_view text{e.text};
  while (!text.empty() && text.front() == ' ')
    text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ')
    text.remove_suffix(1);
  bool negative = false;
  if (!text.empty() && (text.front() == '-' || text.front() == '+')) {
    negative = text.front() == '-';
    text.remove_prefix(1);
  }
  auto dot = text.find('.');
  int64_t whole = 0;
  auto int_part = text.substr(0, dot);
  auto [p, ec] = std::from_chars(int_part.data(),
                                 int_part.data() + int_part.size(), whole);
  if (ec != std::errc{} || p != int_part.data() + int_part.size())
    return std::nullopt;
  if (whole > std::numeric_limits<int64_t>::max() / unit)
    return std::nullopt;
  int64_t ms = whole * unit;
  if (dot != std::string_view::npos) {
    // Only SECOND takes a fraction: milliseconds, further digits dropped.
    auto frac = text.substr(dot + 1);
    int64_t scale = 100;
    for (size_t i = 0; i < frac.size() && i < 3; ++i, scale /= 10)
      ms += (frac[i] - '0') * scale;
  }
  return negative ? -ms : ms;
}

scope scope::of(const relation& r) {
  scope s;
  s.columns = r.columns;
  for (auto& f : r.plan->out.fields)
    s.types.push_back(f.type);
  s.rowtime = r.plan->out.rowtime;
  return s;
}

scope scope::of(const relation& left, const relation& right) {
  auto s = of(left);
  auto r = of(right);
  s.columns.insert(s.columns.end(), r.columns.begin(), r.columns.end());
  s.types.insert(s.types.end(), r.types.begin(), r.types.end());
  s.rowtime = -1;
  return s;
}

std::optional<uint32_t> expr_binder::resolve_column(const sql::expr& e,
                                                    bool quiet) {
  std::vector<uint32_t> hits;
  bool qualifier_known = false;
  for (uint32_t i = 0; i < in_.columns.size(); ++i) {
    auto& c = in_.columns[i];
    if (!e.qualifier.empty()) {
      if (c.qualifier != e.qualifier)
        continue;
      qualifier_known = true;
    }
    if (c.name == e.name)
      hits.push_back(i);
  }
  if (hits.size() == 1)
    return hits[0];
  if (quiet)
    return std::nullopt;
  auto full = e.qualifier.empty() ? e.name : e.qualifier + "." + e.name;
  if (hits.size() > 1) {
    std::string where;
    for (auto i : hits)
      if (!in_.columns[i].qualifier.empty())
        where += (where.empty() ? "" : ", ") + in_.columns[i].qualifier;
    ctx_.error(e.where, diag_code::unknown_column,
               fmt::format("column '{}' is ambiguous{}", full,
                           where.empty() ? std::string{}
                                         : " (in " + where + "): qualify it"));
    return std::nullopt;
  }
  if (!e.qualifier.empty() && !qualifier_known) {
    ctx_.error(e.where, diag_code::unknown_column,
               fmt::format("no table or alias '{}' in FROM for column '{}'",
                           e.qualifier, full));
    return std::nullopt;
  }
  // A hint for names that differ in case only (Flink is case-sensitive).
  std::string hint;
  auto lower = [](std::string s) {
    for (auto& ch : s)
      ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    return s;
  };
  for (auto& c : in_.columns)
    if ((e.qualifier.empty() || c.qualifier == e.qualifier) &&
        lower(c.name) == lower(e.name)) {
      hint = fmt::format(" (did you mean '{}'?)", c.name);
      break;
    }
  ctx_.error(e.where, diag_code::unknown_column,
             fmt::format("column '{}' not found{}", full, hint));
  return std::nullopt;
}

std::optional<ir::tree> expr_binder::bind(const sql::expr& e) {
  ir::tree t;
  auto root = bind_into(e, t);
  if (!root)
    return std::nullopt;
  t.root = *root;
  return t;
}

std::optional<uint32_t> expr_binder::bind_into(const sql::expr& e,
                                               ir::tree& t) {
  if (group_ != nullptr) {
    bool failed = false;
    if (auto n = group_->intercept(e, t, failed))
      return n;
    if (failed)
      return std::nullopt;
  }
  return bind_node(e, t);
}

std::optional<std::vector<uint32_t>> expr_binder::bind_args(const sql::expr& e,
                                                            ir::tree& t) {
  std::vector<uint32_t> out;
  bool ok = true;
  for (auto& a : e.args) {
    auto n = bind_into(*a, t);
    if (n)
      out.push_back(*n);
    ok = ok && n.has_value();
  }
  if (!ok)
    return std::nullopt;
  return out;
}

namespace {

const char* symbol(op_kind o) {
  switch (o) {
  case op_kind::add:
    return "+";
  case op_kind::sub:
    return "-";
  case op_kind::mul:
    return "*";
  case op_kind::div:
    return "/";
  case op_kind::mod:
    return "%";
  case op_kind::concat:
    return "||";
  case op_kind::eq:
    return "=";
  case op_kind::ne:
    return "<>";
  case op_kind::lt:
    return "<";
  case op_kind::le:
    return "<=";
  case op_kind::gt:
    return ">";
  case op_kind::ge:
    return ">=";
  default:
    return "";
  }
}

bool boolean_or_null(const data_type& t) {
  return t.id == type_id::boolean || t.id == type_id::null_type;
}

std::string type_list(const std::vector<data_type>& types) {
  std::string s;
  for (auto& t : types)
    s += (s.empty() ? "" : ", ") + columnar::to_string(with_nullable(t, true));
  return s;
}

} // namespace

std::optional<uint32_t> expr_binder::bind_literal(const sql::expr& e,
                                                  ir::tree& t) {
  switch (e.literal) {
  case literal_kind::null:
    return t.add_literal(std::monostate{}, data_type{});
  case literal_kind::boolean:
    return t.add_literal(e.text == "TRUE", columnar::boolean_type(false));
  case literal_kind::integer: {
    uint64_t v = 0;
    auto [p, ec] =
        std::from_chars(e.text.data(), e.text.data() + e.text.size(), v);
    if (ec == std::errc{} && p == e.text.data() + e.text.size()) {
      if (v <= static_cast<uint64_t>(std::numeric_limits<int32_t>::max()))
        return t.add_literal(static_cast<int64_t>(v),
                             columnar::int32_type(false));
      if (v <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
        return t.add_literal(static_cast<int64_t>(v),
                             columnar::int64_type(false));
    }
    if (e.text.size() <= columnar::max_decimal_precision) {
      auto type =
          columnar::decimal_type(static_cast<uint8_t>(e.text.size()), 0, false);
      if (auto d = ir::decimal::parse(e.text, type.precision, 0))
        return t.add_literal(*d, type);
    }
    ctx_.error(e.where, diag_code::type_mismatch,
               fmt::format("integer literal {} is out of range", e.text));
    return std::nullopt;
  }
  case literal_kind::decimal: {
    auto type = with_nullable(ir::decimal::literal_type(e.text), false);
    if (auto d = ir::decimal::parse(e.text, type.precision, type.scale))
      return t.add_literal(*d, type);
    ctx_.error(e.where, diag_code::type_mismatch,
               fmt::format("decimal literal {} is out of range", e.text));
    return std::nullopt;
  }
  case literal_kind::real: {
    double v = 0;
    auto [p, ec] =
        std::from_chars(e.text.data(), e.text.data() + e.text.size(), v);
    if (ec != std::errc{}) {
      ctx_.error(e.where, diag_code::type_mismatch,
                 fmt::format("number {} is out of range", e.text));
      return std::nullopt;
    }
    return t.add_literal(v, columnar::float64_type(false));
  }
  case literal_kind::string:
    return t.add_literal(e.text, columnar::string_type(false));
  case literal_kind::date:
    ctx_.error(e.where, diag_code::unsupported,
               fmt::format("DATE values are not supported: write TIMESTAMP "
                           "'{} 00:00:00'",
                           e.text));
    return std::nullopt;
  case literal_kind::timestamp: {
    auto ms = ir::time::parse_sql(e.text);
    if (!ms) {
      ctx_.error(e.where, diag_code::type_mismatch,
                 fmt::format("'{}' is not a timestamp (yyyy-MM-dd "
                             "HH:mm:ss[.SSS])",
                             e.text));
      return std::nullopt;
    }
    return t.add_literal(*ms, columnar::timestamp_type(false));
  }
  case literal_kind::interval: {
    auto ms = interval_ms(e);
    if (!ms) {
      ctx_.error(e.where, diag_code::unsupported,
                 fmt::format("INTERVAL '{}' {} is not supported: use "
                             "MILLISECOND, SECOND, MINUTE, HOUR or DAY",
                             e.text, to_string(e.unit)));
      return std::nullopt;
    }
    return t.add_literal(*ms, columnar::interval_type(false));
  }
  }
  return std::nullopt;
}

std::optional<uint32_t> expr_binder::bind_call(std::string name,
                                               std::vector<uint32_t> args,
                                               ir::tree& t,
                                               const sql_position& where) {
  auto* f = ctx_.fns.find(name);
  if (f == nullptr) {
    ctx_.error(where, diag_code::unknown_function,
               fmt::format("unknown function {}", name));
    return std::nullopt;
  }
  std::vector<data_type> types;
  std::vector<const ir::scalar*> constants;
  for (auto a : args) {
    auto& n = t.nodes[a];
    types.push_back(n.type);
    constants.push_back(n.kind == ir::op::literal ? &t.literals[n.index]
                                                  : nullptr);
  }
  auto r = ir::resolve_call(*f, types, constants);
  if (!r) {
    ctx_.error(where, diag_code::type_mismatch, message_of(r.error()));
    return std::nullopt;
  }
  return t.add_call(std::move(name), *r, std::move(args));
}

std::optional<uint32_t> expr_binder::bind_case(const sql::expr& e,
                                               ir::tree& t) {
  bool ok = true;
  std::optional<uint32_t> operand;
  if (e.case_operand) {
    operand = bind_into(*e.case_operand, t);
    ok = operand.has_value();
  }
  std::vector<uint32_t> args;
  std::vector<data_type> results;
  for (auto& w : e.whens) {
    auto cond = bind_into(*w.condition, t);
    auto result = bind_into(*w.result, t);
    if (!cond || !result || (e.case_operand && !operand)) {
      ok = false;
      continue;
    }
    if (operand) {
      cond = bind_call("=", {*operand, *cond}, t, w.condition->where);
      if (!cond) {
        ok = false;
        continue;
      }
    } else if (!boolean_or_null(t.nodes[*cond].type)) {
      ctx_.error(w.condition->where, diag_code::type_mismatch,
                 fmt::format("CASE WHEN expects BOOLEAN, got {}",
                             columnar::to_string(t.nodes[*cond].type.id)));
      ok = false;
      continue;
    }
    args.push_back(*cond);
    args.push_back(*result);
    results.push_back(t.nodes[*result].type);
  }
  if (e.else_result) {
    auto r = bind_into(*e.else_result, t);
    if (!r)
      ok = false;
    else {
      args.push_back(*r);
      results.push_back(t.nodes[*r].type);
    }
  }
  if (!ok)
    return std::nullopt;
  auto common = ir::common_type(results);
  if (!common) {
    ctx_.error(e.where, diag_code::type_mismatch,
               fmt::format("CASE branches have types that do not match: {}",
                           type_list(results)));
    return std::nullopt;
  }
  if (!e.else_result)
    common->nullable = true;
  return t.add_op(ir::op::case_when, *common, std::move(args));
}

std::optional<uint32_t> expr_binder::bind_like(const sql::expr& e,
                                               ir::tree& t) {
  auto args = bind_args(e, t);
  if (!args)
    return std::nullopt;
  std::vector<data_type> types;
  for (auto a : *args) {
    auto& ty = t.nodes[a].type;
    types.push_back(ty);
    if (ty.id != type_id::string && ty.id != type_id::null_type) {
      ctx_.error(e.where, diag_code::type_mismatch,
                 fmt::format("LIKE expects STRING operands, got ({})",
                             type_list(types)));
      return std::nullopt;
    }
  }
  auto n =
      t.add_op(ir::op::like, columnar::boolean_type(ir::any_nullable(types)),
               std::move(*args));
  if (e.negated)
    return t.add_op(ir::op::not_, t.nodes[n].type, {n});
  return n;
}

std::optional<uint32_t> expr_binder::bind_node(const sql::expr& e,
                                               ir::tree& t) {
  switch (e.kind) {
  case expr_kind::literal:
    return bind_literal(e, t);
  case expr_kind::column_ref: {
    if (group_ != nullptr) {
      group_->ungrouped(e);
      return std::nullopt;
    }
    auto i = resolve_column(e, false);
    if (!i)
      return std::nullopt;
    return t.add_column(*i, in_.types[*i]);
  }
  case expr_kind::call: {
    if (is_aggregate(e.name) || is_window_property(e.name)) {
      // A grouped SELECT's hook takes these before they get here.
      auto where = no_aggregates_in.empty() ? std::string{"here"}
                                            : "in " + no_aggregates_in;
      if (is_aggregate(e.name))
        ctx_.error(e.where, diag_code::syntax,
                   fmt::format("aggregate function {} is not allowed {}",
                               e.name, where));
      else
        ctx_.error(e.where, diag_code::bad_window,
                   fmt::format("{} needs a GROUP BY {}(...) window", e.name,
                               e.name.substr(0, e.name.find('_'))));
      return std::nullopt;
    }
    if (e.star_arg) {
      ctx_.error(e.where, diag_code::syntax,
                 fmt::format("{}(*) is not a function call", e.name));
      return std::nullopt;
    }
    if (e.distinct) {
      ctx_.error(e.where, diag_code::syntax,
                 fmt::format("DISTINCT in {}(...) is only allowed in an "
                             "aggregate",
                             e.name));
      return std::nullopt;
    }
    auto args = bind_args(e, t);
    if (!args)
      return std::nullopt;
    return bind_call(e.name, std::move(*args), t, e.where);
  }
  case expr_kind::unary: {
    auto args = bind_args(e, t);
    if (!args)
      return std::nullopt;
    auto a = (*args)[0];
    if (e.op == op_kind::plus)
      return a;
    if (e.op == op_kind::neg)
      return bind_call("NEG", {a}, t, e.where);
    auto& ty = t.nodes[a].type;
    if (!boolean_or_null(ty)) {
      ctx_.error(e.where, diag_code::type_mismatch,
                 fmt::format("NOT expects BOOLEAN, got {}",
                             columnar::to_string(ty.id)));
      return std::nullopt;
    }
    return t.add_op(ir::op::not_, columnar::boolean_type(ty.nullable), {a});
  }
  case expr_kind::binary: {
    auto args = bind_args(e, t);
    if (!args)
      return std::nullopt;
    if (e.op == op_kind::and_ || e.op == op_kind::or_) {
      auto& l = t.nodes[(*args)[0]].type;
      auto& r = t.nodes[(*args)[1]].type;
      if (!boolean_or_null(l) || !boolean_or_null(r)) {
        ctx_.error(e.where, diag_code::type_mismatch,
                   fmt::format("{} expects BOOLEAN operands, got ({})",
                               to_string(e.op), type_list({l, r})));
        return std::nullopt;
      }
      auto k = e.op == op_kind::and_ ? ir::op::and_ : ir::op::or_;
      return t.add_op(k, columnar::boolean_type(l.nullable || r.nullable),
                      std::move(*args));
    }
    return bind_call(symbol(e.op), std::move(*args), t, e.where);
  }
  case expr_kind::is_null: {
    auto args = bind_args(e, t);
    if (!args)
      return std::nullopt;
    return t.add_op(e.negated ? ir::op::is_not_null : ir::op::is_null,
                    columnar::boolean_type(false), std::move(*args));
  }
  case expr_kind::in_list:
  case expr_kind::between: {
    auto args = bind_args(e, t);
    if (!args)
      return std::nullopt;
    std::vector<data_type> types;
    for (auto a : *args)
      types.push_back(t.nodes[a].type);
    auto what = e.kind == expr_kind::in_list ? "IN" : "BETWEEN";
    auto common = ir::common_type(types);
    if (!common) {
      ctx_.error(e.where, diag_code::type_mismatch,
                 fmt::format("{} operands cannot be compared: {}", what,
                             type_list(types)));
      return std::nullopt;
    }
    auto k = e.kind == expr_kind::in_list ? ir::op::in_list : ir::op::between;
    auto n = t.add_op(k, columnar::boolean_type(ir::any_nullable(types)),
                      std::move(*args));
    if (e.negated)
      return t.add_op(ir::op::not_, t.nodes[n].type, {n});
    return n;
  }
  case expr_kind::like:
    return bind_like(e, t);
  case expr_kind::case_when:
    return bind_case(e, t);
  case expr_kind::cast: {
    auto args = bind_args(e, t);
    if (!args)
      return std::nullopt;
    auto from = t.nodes[(*args)[0]].type;
    if (!ir::can_cast(from, e.type)) {
      ctx_.error(e.where, diag_code::type_mismatch,
                 fmt::format("cannot cast {} to {}",
                             columnar::to_string(with_nullable(from, true)),
                             columnar::to_string(with_nullable(e.type, true))));
      return std::nullopt;
    }
    // A string that does not parse becomes NULL (counted), so stays nullable.
    auto to =
        with_nullable(e.type, from.nullable || (from.id == type_id::string &&
                                                e.type.id != type_id::string));
    return t.add_op(ir::op::cast, to, std::move(*args));
  }
  case expr_kind::extract: {
    auto args = bind_args(e, t);
    if (!args)
      return std::nullopt;
    auto unit = t.add_literal(std::string{to_string(e.unit)},
                              columnar::string_type(false));
    return bind_call("EXTRACT", {unit, (*args)[0]}, t, e.where);
  }
  }
  return std::nullopt;
}

} // namespace sluice::sql::analysis
