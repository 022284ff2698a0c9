#include "runtime/expr/program.hpp"

#include <optional>

#include <fmt/format.h>

#include "runtime/expr/kernels.hpp"
#include "runtime/expr/type_rules.hpp"

namespace sluice::expr {

namespace {

using columnar::data_type;
using columnar::type_id;

bool boolean_or_null(const data_type& t) {
  return t.id == type_id::boolean || t.id == type_id::null_type;
}

} // namespace

struct program::compiler {
  const tree& t;
  const columnar::schema& in;
  const function_registry& fns;
  program& p;
  std::vector<bool> on_path;

  uint32_t add(step st) {
    st.out = columnar::column{st.type};
    p.steps_.push_back(std::move(st));
    return static_cast<uint32_t>(p.steps_.size() - 1);
  }

  const data_type& type_of(uint32_t s) const { return p.steps_[s].type; }

  /// Step `s` as type `to`: itself when the physical types agree, else a
  /// cast step.
  caf::expected<uint32_t> cast_to(uint32_t s, const data_type& to) {
    auto from = type_of(s);
    if (same_physical(from, to) &&
        (from.id != type_id::decimal || from.precision <= to.precision))
      return s;
    if (!can_cast(from, to))
      return type_error(fmt::format("cannot cast {} to {}",
                                    columnar::to_string(from.id),
                                    columnar::to_string(to)));
    auto k = kernels::cast(from, to);
    if (!k)
      return type_error(fmt::format("cannot cast {} to {}",
                                    columnar::to_string(from.id),
                                    columnar::to_string(to)));
    auto type = with_nullable(to, from.nullable || to.nullable);
    if (p.steps_[s].kind == op::literal)
      if (auto folded = fold(s, k, type))
        return *folded;
    step st;
    st.kind = op::cast;
    st.type = type;
    st.args = {s};
    st.kernel = std::move(k);
    return add(std::move(st));
  }

  /// A cast of a literal, done once here: a literal of the target type.
  /// Not when the cast fails: then each row counts its error.
  std::optional<uint32_t> fold(uint32_t s, const kernel_fn& k,
                               const data_type& type) {
    auto& lit = p.steps_[s];
    columnar::column one{lit.type};
    columnar::column out{type};
    eval_context ctx;
    ctx.batch_rows = 1;
    fill_literal(lit.literal, one, 1);
    const columnar::column* args[] = {&one};
    uint32_t row = 0;
    k(args, std::span<const uint32_t>{&row, 1}, out, ctx);
    if (ctx.errors != 0 || out.size() != 1)
      return std::nullopt;
    step st;
    st.kind = op::literal;
    st.type = type;
    st.literal = read_cell(out, 0);
    return add(std::move(st));
  }

  caf::expected<std::vector<uint32_t>> children(const node& n) {
    std::vector<uint32_t> out;
    for (auto a : n.args) {
      auto s = compile(a);
      if (!s)
        return std::move(s.error());
      out.push_back(*s);
    }
    return out;
  }

  caf::expected<uint32_t> compile(uint32_t idx) {
    if (idx >= t.nodes.size())
      return type_error(fmt::format("expression node {} out of range", idx));
    if (on_path[idx])
      return type_error("expression tree has a cycle");
    on_path[idx] = true;
    auto r = compile_node(t.nodes[idx]);
    on_path[idx] = false;
    return r;
  }

  caf::expected<uint32_t> all_to(std::vector<uint32_t>& args,
                                 const data_type& common, size_t from = 0) {
    for (size_t i = from; i < args.size(); ++i) {
      auto c =
          cast_to(args[i], with_nullable(common, type_of(args[i]).nullable));
      if (!c)
        return std::move(c.error());
      args[i] = *c;
    }
    return 0u;
  }

  caf::expected<uint32_t> compile_node(const node& n) {
    auto kids = children(n);
    if (!kids)
      return std::move(kids.error());
    auto& args = *kids;
    std::vector<data_type> types;
    for (auto a : args)
      types.push_back(type_of(a));
    auto arity = [&](size_t lo, size_t hi) -> caf::error {
      if (args.size() < lo || args.size() > hi)
        return type_error(fmt::format("{} takes {} to {} arguments, got {}",
                                      to_string(n.kind), lo, hi, args.size()));
      return caf::none;
    };
    step st;
    st.kind = n.kind;
    switch (n.kind) {
    case op::column: {
      if (n.index >= in.fields.size())
        return type_error(fmt::format("column {} out of range ({} columns)",
                                      n.index, in.fields.size()));
      st.input = n.index;
      st.type = in.fields[n.index].type;
      return add(std::move(st));
    }
    case op::literal: {
      if (n.index >= t.literals.size())
        return type_error(fmt::format("literal {} out of range", n.index));
      st.literal = t.literals[n.index];
      st.type = n.type;
      if (std::holds_alternative<std::monostate>(st.literal))
        st.type.nullable = true;
      return add(std::move(st));
    }
    case op::call:
      return compile_call(n, args, types);
    case op::cast: {
      if (auto err = arity(1, 1))
        return err;
      return cast_to(args[0], n.type);
    }
    case op::and_:
    case op::or_:
    case op::not_: {
      auto want = n.kind == op::not_ ? 1u : 2u;
      if (auto err = arity(want, want))
        return err;
      for (auto& ty : types)
        if (!boolean_or_null(ty))
          return type_error(fmt::format("{} expects BOOLEAN, got {}",
                                        to_string(n.kind),
                                        columnar::to_string(ty.id)));
      if (auto c = all_to(args, columnar::boolean_type()); !c)
        return std::move(c.error());
      st.type = columnar::boolean_type(any_nullable(types));
      st.args = args;
      return add(std::move(st));
    }
    case op::is_null:
    case op::is_not_null: {
      if (auto err = arity(1, 1))
        return err;
      st.type = columnar::boolean_type(false);
      st.args = args;
      return add(std::move(st));
    }
    case op::in_list:
    case op::between: {
      if (n.kind == op::between) {
        if (auto err = arity(3, 3))
          return err;
      } else if (auto err = arity(2, SIZE_MAX)) {
        return err;
      }
      auto common = common_type(types);
      if (!common)
        return type_error(
            fmt::format("{} expects comparable types", to_string(n.kind)));
      if (is_null(*common))
        *common = columnar::int32_type();
      if (auto c = all_to(args, *common); !c)
        return std::move(c.error());
      st.type = columnar::boolean_type(any_nullable(types));
      st.args = args;
      if (n.kind == op::between) {
        st.more.push_back(kernels::comparison(">=", *common));
        st.more.push_back(kernels::comparison("<=", *common));
      } else {
        for (size_t i = 1; i < args.size(); ++i)
          st.more.push_back(kernels::comparison("=", *common));
      }
      for (size_t i = 0; i < st.more.size(); ++i)
        st.tmp.emplace_back(columnar::boolean_type());
      return add(std::move(st));
    }
    case op::like: {
      if (auto err = arity(2, 3))
        return err;
      for (auto& ty : types)
        if (ty.id != type_id::string && !is_null(ty))
          return signature_error("LIKE", "(STRING, STRING[, STRING])", types);
      if (auto c = all_to(args, columnar::string_type()); !c)
        return std::move(c.error());
      st.type = columnar::boolean_type(any_nullable(types));
      st.args = args;
      st.kernel = kernels::like;
      return add(std::move(st));
    }
    case op::case_when:
      return compile_case(n.type, args, types);
    }
    return type_error("unknown expression node");
  }

  // CASE WHEN w1 THEN t1 ... [ELSE e] END: args alternate when/then.
  caf::expected<uint32_t> compile_case(data_type result,
                                       std::vector<uint32_t>& args,
                                       const std::vector<data_type>& types) {
    if (args.size() < 2)
      return type_error("CASE needs at least one WHEN ... THEN");
    std::vector<data_type> results;
    for (size_t i = 0; i < args.size(); ++i) {
      bool is_when = i % 2 == 0 && i + 1 < args.size();
      if (is_when) {
        if (!boolean_or_null(types[i]))
          return type_error(fmt::format("CASE WHEN expects BOOLEAN, got {}",
                                        columnar::to_string(types[i].id)));
        auto c = cast_to(args[i], columnar::boolean_type());
        if (!c)
          return std::move(c.error());
        args[i] = *c;
      } else {
        results.push_back(types[i]);
      }
    }
    auto common = common_type(results);
    if (!common)
      return type_error("CASE branches have different types");
    if (result.id == type_id::null_type)
      result = *common;
    if (args.size() % 2 == 0)
      result.nullable = true; // no ELSE: NULL
    for (size_t i = 1; i < args.size(); i += 2) {
      auto c = cast_to(args[i], with_nullable(result, true));
      if (!c)
        return std::move(c.error());
      args[i] = *c;
    }
    if (args.size() % 2 == 1) {
      auto c = cast_to(args.back(), with_nullable(result, true));
      if (!c)
        return std::move(c.error());
      args.back() = *c;
    }
    step st;
    st.kind = op::case_when;
    st.type = result;
    st.args = args;
    return add(std::move(st));
  }

  caf::expected<uint32_t> compile_call(const node& n,
                                       std::vector<uint32_t>& args,
                                       std::vector<data_type>& types) {
    auto* f = fns.find(n.function);
    if (f == nullptr)
      return type_error(fmt::format("unknown function {}", n.function));
    std::vector<const scalar*> constants;
    for (auto a : args)
      constants.push_back(p.steps_[a].kind == op::literal ? &p.steps_[a].literal
                                                          : nullptr);
    auto resolved = resolve_call(*f, types, constants);
    if (!resolved)
      return std::move(resolved.error());
    if (!f->deterministic)
      p.deterministic_ = false;
    // The analyzer's type wins when it names the same logical type (ROUND
    // of a DECIMAL resolved without its constant); another type is a cast.
    auto result = *resolved;
    if (n.type.id == result.id)
      result = n.type;
    std::vector<data_type> want = types;
    if (f->coerce)
      want = f->coerce(types);
    for (size_t i = 0; i < args.size() && i < want.size(); ++i) {
      auto c = cast_to(args[i], want[i]);
      if (!c)
        return std::move(c.error());
      args[i] = *c;
      want[i] = type_of(args[i]);
    }
    if (n.function == "IF") {
      // Lazy, as CASE WHEN c THEN a ELSE b END.
      step st;
      st.kind = op::case_when;
      st.type = result;
      st.args = args;
      auto s = add(std::move(st));
      return finish(s, n.type);
    }
    step st;
    st.kind = op::call;
    st.type = result;
    st.args = args;
    st.kernel = f->bind(want, result);
    if (!st.kernel)
      return type_error(
          fmt::format("{} has no kernel for these types", n.function));
    auto s = add(std::move(st));
    return finish(s, n.type);
  }

  caf::expected<uint32_t> finish(uint32_t s, const data_type& declared) {
    if (declared.id == type_id::null_type || declared.id == type_of(s).id)
      return s;
    return cast_to(s, declared);
  }
};

caf::expected<program> program::compile(const tree& t,
                                        const columnar::schema& in,
                                        const function_registry& fns) {
  program p;
  compiler c{t, in, fns, p, std::vector<bool>(t.nodes.size(), false)};
  auto root = c.compile(t.root);
  if (!root)
    return std::move(root.error());
  p.root_ = *root;
  for (auto& st : p.steps_)
    st.arg_cols.resize(st.args.size());
  return p;
}

} // namespace sluice::expr
