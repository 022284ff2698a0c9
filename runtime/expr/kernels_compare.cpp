#include <functional>
#include <string_view>

#include <fmt/format.h>

#include "runtime/expr/kernel_util.hpp"
#include "runtime/expr/kernels.hpp"

namespace sluice::expr::kernels {

namespace {

using namespace util;

template <class Cmp>
struct cmp_op {
  template <class T>
  static bool apply(T a, T b, uint8_t& r, eval_context&) {
    r = Cmp{}(a, b) ? 1 : 0;
    return true;
  }
};

template <class Cmp>
void compare_strings(args_t args, rows_t rows, column& out, eval_context& ctx) {
  prepare_fixed(out, ctx.batch_rows);
  auto o = out.values_mut<uint8_t>();
  auto& a = *args[0];
  auto& b = *args[1];
  valid_rows(args, rows, out, ctx.batch_rows,
             [&](uint32_t i) { o[i] = Cmp{}(a.str(i), b.str(i)) ? 1 : 0; });
}

template <class Cmp>
kernel_fn typed(const columnar::data_type& t) {
  switch (t.id) {
  case type_id::boolean:
    return binary<uint8_t, uint8_t, bool, cmp_op<Cmp>>;
  case type_id::int32:
    return binary<int32_t, int32_t, bool, cmp_op<Cmp>>;
  case type_id::int64:
  case type_id::timestamp:
  case type_id::interval_ms:
    return binary<int64_t, int64_t, bool, cmp_op<Cmp>>;
  case type_id::float64:
    return binary<double, double, bool, cmp_op<Cmp>>;
  case type_id::decimal:
    return binary<int128, int128, bool, cmp_op<Cmp>>;
  case type_id::string:
    return compare_strings<Cmp>;
  case type_id::null_type:
    break;
  }
  return [](args_t, rows_t rows, column& out, eval_context& ctx) {
    prepare_fixed(out, ctx.batch_rows);
    for (auto i : rows)
      out.set_null(i);
  };
}

void add_one(function_registry& r, std::string name) {
  function_def f;
  f.name = name;
  f.resolve =
      [name](std::span<const data_type> got) -> caf::expected<data_type> {
    if (got.size() != 2)
      return signature_error(name, "(x, y) of comparable types", got);
    auto common = common_type(got);
    if (!common)
      return type_error(fmt::format("cannot compare {} with {}",
                                    columnar::to_string(got[0].id),
                                    columnar::to_string(got[1].id)));
    return columnar::boolean_type(any_nullable(got));
  };
  f.coerce = [](std::span<const data_type> got) {
    auto common = *common_type(got);
    return std::vector<data_type>{with_nullable(common, got[0].nullable),
                                  with_nullable(common, got[1].nullable)};
  };
  f.bind = [name](std::span<const data_type> args, const data_type&) {
    return comparison(name, args[0]);
  };
  r.add(std::move(f));
}

} // namespace

kernel_fn comparison(std::string_view name, const columnar::data_type& t) {
  if (name == "=")
    return typed<std::equal_to<>>(t);
  if (name == "<>" || name == "!=")
    return typed<std::not_equal_to<>>(t);
  if (name == "<")
    return typed<std::less<>>(t);
  if (name == "<=")
    return typed<std::less_equal<>>(t);
  if (name == ">")
    return typed<std::greater<>>(t);
  return typed<std::greater_equal<>>(t);
}

void add_compare(function_registry& r) {
  for (auto name : {"=", "<>", "!=", "<", "<=", ">", ">="})
    add_one(r, name);
}

} // namespace sluice::expr::kernels
