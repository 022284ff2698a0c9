#include "runtime/expr/ir.hpp"

#include <fmt/format.h>

#include "runtime/expr/decimal.hpp"

namespace sluice::expr {

const char* to_string(op x) noexcept {
  switch (x) {
  case op::column:
    return "column";
  case op::literal:
    return "literal";
  case op::call:
    return "call";
  case op::cast:
    return "CAST";
  case op::case_when:
    return "CASE";
  case op::and_:
    return "AND";
  case op::or_:
    return "OR";
  case op::not_:
    return "NOT";
  case op::is_null:
    return "IS NULL";
  case op::is_not_null:
    return "IS NOT NULL";
  case op::in_list:
    return "IN";
  case op::between:
    return "BETWEEN";
  case op::like:
    return "LIKE";
  }
  return "?";
}

literal_wire to_wire(const scalar& x) {
  literal_wire w;
  w.tag = static_cast<uint8_t>(x.index());
  std::visit(
      [&](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, bool>) {
          w.i = v ? 1 : 0;
        } else if constexpr (std::is_same_v<T, int64_t>) {
          w.i = v;
        } else if constexpr (std::is_same_v<T, double>) {
          w.d = v;
        } else if constexpr (std::is_same_v<T, columnar::int128>) {
          auto u = static_cast<unsigned __int128>(v);
          w.i = static_cast<int64_t>(static_cast<uint64_t>(u));
          w.hi = static_cast<int64_t>(static_cast<uint64_t>(u >> 64));
        } else if constexpr (std::is_same_v<T, std::string>) {
          w.s = v;
        }
      },
      x);
  return w;
}

scalar from_wire(const literal_wire& w) {
  switch (w.tag) {
  case 1:
    return w.i != 0;
  case 2:
    return w.i;
  case 3:
    return w.d;
  case 4: {
    auto u =
        (static_cast<unsigned __int128>(static_cast<uint64_t>(w.hi)) << 64) |
        static_cast<uint64_t>(w.i);
    return static_cast<columnar::int128>(u);
  }
  case 5:
    return w.s;
  default:
    return std::monostate{};
  }
}

namespace {

std::string literal_text(const scalar& v, const columnar::data_type& t) {
  return std::visit(
      [&](const auto& x) -> std::string {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::monostate>)
          return "NULL";
        else if constexpr (std::is_same_v<T, bool>)
          return x ? "TRUE" : "FALSE";
        else if constexpr (std::is_same_v<T, int64_t>)
          return t.id == columnar::type_id::interval_ms
                     ? fmt::format("INTERVAL '{}' MILLISECOND", x)
                     : std::to_string(x);
        else if constexpr (std::is_same_v<T, double>)
          return fmt::format("{}", x);
        else if constexpr (std::is_same_v<T, columnar::int128>)
          return decimal::to_string(x, t.scale);
        else
          return fmt::format("'{}'", x);
      },
      v);
}

bool is_operator(const std::string& f) {
  return !f.empty() && !(f[0] >= 'A' && f[0] <= 'Z');
}

void render(const tree& t, uint32_t idx, const std::vector<std::string>& names,
            std::string& out, int depth) {
  if (idx >= t.nodes.size() || depth > 256) {
    out += "?";
    return;
  }
  auto& n = t.nodes[idx];
  auto arg = [&](size_t k) {
    if (k < n.args.size())
      render(t, n.args[k], names, out, depth + 1);
    else
      out += "?";
  };
  auto list = [&](size_t from) {
    for (size_t k = from; k < n.args.size(); ++k) {
      if (k > from)
        out += ", ";
      arg(k);
    }
  };
  switch (n.kind) {
  case op::column:
    if (n.index < names.size())
      out += names[n.index];
    else
      out += fmt::format("${}", n.index);
    return;
  case op::literal:
    out += n.index < t.literals.size()
               ? literal_text(t.literals[n.index], n.type)
               : "?";
    return;
  case op::call:
    if (n.function == "NEG" && n.args.size() == 1) {
      out += "-";
      arg(0);
    } else if (is_operator(n.function) && n.args.size() == 2) {
      out += "(";
      arg(0);
      out += fmt::format(" {} ", n.function);
      arg(1);
      out += ")";
    } else {
      out += n.function;
      out += "(";
      list(0);
      out += ")";
    }
    return;
  case op::cast:
    out += "CAST(";
    arg(0);
    out += fmt::format(" AS {})", columnar::to_string(n.type));
    return;
  case op::case_when:
    out += "CASE";
    for (size_t k = 0; k + 1 < n.args.size(); k += 2) {
      out += " WHEN ";
      arg(k);
      out += " THEN ";
      arg(k + 1);
    }
    if (n.args.size() % 2 == 1) {
      out += " ELSE ";
      arg(n.args.size() - 1);
    }
    out += " END";
    return;
  case op::and_:
  case op::or_:
    out += "(";
    arg(0);
    out += n.kind == op::and_ ? " AND " : " OR ";
    arg(1);
    out += ")";
    return;
  case op::not_:
    out += "NOT ";
    arg(0);
    return;
  case op::is_null:
  case op::is_not_null:
    arg(0);
    out += n.kind == op::is_null ? " IS NULL" : " IS NOT NULL";
    return;
  case op::in_list:
    arg(0);
    out += " IN (";
    list(1);
    out += ")";
    return;
  case op::between:
    arg(0);
    out += " BETWEEN ";
    arg(1);
    out += " AND ";
    arg(2);
    return;
  case op::like:
    arg(0);
    out += " LIKE ";
    arg(1);
    if (n.args.size() > 2) {
      out += " ESCAPE ";
      arg(2);
    }
    return;
  }
}

bool check(const tree& t, uint32_t idx, std::vector<uint8_t>& state) {
  if (idx >= t.nodes.size() || state[idx] == 1)
    return false;
  if (state[idx] == 2)
    return true;
  state[idx] = 1;
  auto& n = t.nodes[idx];
  if (static_cast<uint8_t>(n.kind) > max_op)
    return false;
  if (n.kind == op::literal && n.index >= t.literals.size())
    return false;
  auto count = n.args.size();
  switch (n.kind) {
  case op::column:
  case op::literal:
    if (count != 0)
      return false;
    break;
  case op::cast:
  case op::not_:
  case op::is_null:
  case op::is_not_null:
    if (count != 1)
      return false;
    break;
  case op::and_:
  case op::or_:
    if (count != 2)
      return false;
    break;
  case op::between:
    if (count != 3)
      return false;
    break;
  case op::like:
    if (count < 2 || count > 3)
      return false;
    break;
  case op::in_list:
  case op::case_when:
    if (count < 2)
      return false;
    break;
  case op::call:
    if (n.function.empty())
      return false;
    break;
  }
  for (auto a : n.args)
    if (!check(t, a, state))
      return false;
  state[idx] = 2;
  return true;
}

} // namespace

std::string to_string(const tree& t, const std::vector<std::string>& names) {
  std::string out;
  render(t, t.root, names, out, 0);
  return out;
}

std::string to_string(const tree& t, const columnar::schema& in) {
  std::vector<std::string> names;
  for (auto& f : in.fields)
    names.push_back(f.name);
  return to_string(t, names);
}

bool well_formed(const tree& t) noexcept {
  if (t.root >= t.nodes.size())
    return false;
  std::vector<uint8_t> state(t.nodes.size(), 0);
  return check(t, t.root, state);
}

} // namespace sluice::expr
