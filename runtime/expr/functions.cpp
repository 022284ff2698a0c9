#include "runtime/expr/functions.hpp"

#include <fmt/format.h>

#include "runtime/errors.hpp"
#include "runtime/expr/kernel_util.hpp"
#include "runtime/expr/kernels.hpp"
#include "runtime/expr/type_rules.hpp"

namespace sluice::expr {

caf::error type_error(std::string message) {
  return make_error(sql_errc::invalid_script, std::move(message));
}

caf::error signature_error(std::string_view name, std::string_view expected,
                           std::span<const columnar::data_type> got) {
  std::string list;
  for (auto& t : got) {
    if (!list.empty())
      list += ", ";
    list += columnar::to_string(with_nullable(t, true));
  }
  return type_error(
      fmt::format("{} expects {}, got ({})", name, expected, list));
}

caf::expected<columnar::data_type>
resolve_call(const function_def& f, std::span<const columnar::data_type> args,
             std::span<const scalar* const> constants) {
  if (f.resolve_const)
    return f.resolve_const(args, constants);
  return f.resolve(args);
}

function_registry function_registry::builtin() {
  function_registry r;
  kernels::add_compare(r);
  kernels::add_arith(r);
  kernels::add_conditional(r);
  kernels::add_string(r);
  kernels::add_regex(r);
  kernels::add_time(r);
  return r;
}

void function_registry::add(function_def f) {
  auto name = f.name;
  fns_.insert_or_assign(std::move(name), std::move(f));
}

const function_def* function_registry::find(std::string_view name) const {
  auto i = fns_.find(name);
  return i == fns_.end() ? nullptr : &i->second;
}

std::vector<std::string> function_registry::names() const {
  std::vector<std::string> out;
  for (auto& [name, f] : fns_)
    out.push_back(name);
  return out;
}

void prepare_fixed(columnar::column& out, size_t n) {
  out.clear();
  out.resize(n);
}

string_builder::string_builder(columnar::column& out, size_t n)
    : out_(out), n_(n) {
  out_.clear();
}

string_builder::~string_builder() {
  fill_to(static_cast<uint32_t>(n_));
}

void string_builder::fill_to(uint32_t row) {
  for (; next_ < row; ++next_)
    out_.push_str({});
}

void string_builder::put(uint32_t row, std::string_view s) {
  fill_to(row);
  out_.push_str(s);
  next_ = row + 1;
}

void string_builder::put_null(uint32_t row) {
  fill_to(row);
  out_.push_null();
  next_ = row + 1;
}

namespace detail {

namespace {

std::string param_list(const std::vector<columnar::data_type>& params) {
  std::string s = "(";
  for (size_t i = 0; i < params.size(); ++i) {
    if (i > 0)
      s += ", ";
    s += columnar::to_string(params[i].id);
  }
  return s + ")";
}

bool implicitly_castable(const columnar::data_type& from,
                         const columnar::data_type& to) {
  if (is_null(from) || from.id == to.id)
    return true;
  return is_numeric(from) && is_numeric(to);
}

} // namespace

resolve_fn scalar_resolver(std::string name,
                           std::vector<columnar::data_type> params,
                           columnar::data_type result) {
  return [name, params, result](std::span<const columnar::data_type> got)
             -> caf::expected<columnar::data_type> {
    bool ok = got.size() == params.size();
    for (size_t i = 0; ok && i < got.size(); ++i)
      ok = implicitly_castable(got[i], params[i]);
    if (!ok)
      return signature_error(name, param_list(params), got);
    return with_nullable(result, true);
  };
}

std::vector<columnar::data_type>
scalar_coercion(const std::vector<columnar::data_type>& params,
                std::span<const columnar::data_type> got) {
  std::vector<columnar::data_type> out;
  for (size_t i = 0; i < params.size(); ++i)
    out.push_back(
        with_nullable(params[i], i < got.size() ? got[i].nullable : true));
  return out;
}

} // namespace detail

} // namespace sluice::expr

namespace sluice::expr::util {

namespace {

bool fits_kind(char k, const columnar::data_type& t) {
  if (is_null(t))
    return true;
  switch (k) {
  case 'S':
    return t.id == columnar::type_id::string;
  case 'I':
    return is_integer(t);
  case 'T':
    return t.id == columnar::type_id::timestamp;
  case 'N':
    return is_numeric(t);
  default:
    return true;
  }
}

columnar::data_type kind_type(char k, const columnar::data_type& t) {
  switch (k) {
  case 'S':
    return columnar::string_type(t.nullable);
  case 'I':
    return columnar::int64_type(t.nullable);
  case 'T':
    return columnar::timestamp_type(t.nullable);
  case 'N':
    return columnar::float64_type(t.nullable);
  default:
    return t;
  }
}

char kind_at(const std::string& kinds, size_t i) {
  bool variadic = !kinds.empty() && kinds.back() == '*';
  auto n = variadic ? kinds.size() - 1 : kinds.size();
  if (i < n)
    return kinds[i];
  return variadic && n > 0 ? kinds[n - 1] : 0;
}

} // namespace

function_def simple_def(std::string name, std::string signature,
                        std::string kinds, size_t min_args,
                        columnar::data_type result, kernel_fn kernel) {
  function_def f;
  f.name = name;
  f.resolve = [name, signature, kinds, min_args,
               result](std::span<const columnar::data_type> got)
      -> caf::expected<columnar::data_type> {
    bool ok = got.size() >= min_args;
    for (size_t i = 0; ok && i < got.size(); ++i) {
      auto k = kind_at(kinds, i);
      ok = k != 0 && fits_kind(k, got[i]);
    }
    if (!ok)
      return signature_error(name, signature, got);
    return with_nullable(result, result.nullable || any_nullable(got));
  };
  f.coerce = [kinds](std::span<const columnar::data_type> got) {
    std::vector<columnar::data_type> out;
    for (size_t i = 0; i < got.size(); ++i)
      out.push_back(kind_type(kind_at(kinds, i), got[i]));
    return out;
  };
  f.bind = [kernel](std::span<const columnar::data_type>,
                    const columnar::data_type&) {
    return kernel;
  };
  return f;
}

} // namespace sluice::expr::util
