#include <cmath>
#include <cstdlib>

#include <fmt/format.h>

#include "runtime/expr/decimal.hpp"
#include "runtime/expr/kernel_util.hpp"
#include "runtime/expr/kernels.hpp"

// Integer arithmetic wraps on overflow, as Flink's generated Java does.
// Division and remainder by zero give NULL and count an error (Flink
// raises); so does a DECIMAL result that does not fit its precision.
// MOD and % of integers take the common integer type (Flink takes the
// second argument's type; the values are the same).

namespace sluice::expr::kernels {

namespace {

using namespace util;

constexpr std::string_view numeric_sig = "(NUMERIC, NUMERIC)";

// Unsigned twin of an integer type (__int128 is not integral to the
// standard library in strict mode).
template <class T>
using unsigned_of =
    std::conditional_t<std::is_same_v<T, int128>, unsigned __int128,
                       std::make_unsigned_t<std::conditional_t<
                           std::is_same_v<T, int128>, int64_t, T>>>;

template <class T>
T wrap_add(T a, T b) {
  using U = unsigned_of<T>;
  return static_cast<T>(static_cast<U>(a) + static_cast<U>(b));
}
template <class T>
T wrap_sub(T a, T b) {
  using U = unsigned_of<T>;
  return static_cast<T>(static_cast<U>(a) - static_cast<U>(b));
}
template <class T>
T wrap_mul(T a, T b) {
  using U = unsigned_of<T>;
  return static_cast<T>(static_cast<U>(a) * static_cast<U>(b));
}

struct add_op {
  template <class T>
  static bool apply(T a, T b, T& r, eval_context&) {
    if constexpr (std::is_floating_point_v<T>)
      r = a + b;
    else
      r = wrap_add(a, b);
    return true;
  }
};
struct sub_op {
  template <class T>
  static bool apply(T a, T b, T& r, eval_context&) {
    if constexpr (std::is_floating_point_v<T>)
      r = a - b;
    else
      r = wrap_sub(a, b);
    return true;
  }
};
struct mul_op {
  template <class T>
  static bool apply(T a, T b, T& r, eval_context&) {
    if constexpr (std::is_floating_point_v<T>)
      r = a * b;
    else
      r = wrap_mul(a, b);
    return true;
  }
};
struct div_op {
  template <class T>
  static bool apply(T a, T b, T& r, eval_context& ctx) {
    if (b == 0) {
      ++ctx.errors;
      return false;
    }
    if constexpr (std::is_floating_point_v<T>)
      r = a / b;
    else
      r = b == -1 ? wrap_sub(T{0}, a) : a / b;
    return true;
  }
};
struct mod_op {
  template <class T>
  static bool apply(T a, T b, T& r, eval_context& ctx) {
    if (b == 0) {
      ++ctx.errors;
      return false;
    }
    if constexpr (std::is_floating_point_v<T>)
      r = std::fmod(a, b);
    else
      r = b == -1 ? 0 : a % b;
    return true;
  }
};
struct neg_op {
  template <class T>
  static bool apply(T a, T& r, eval_context&) {
    if constexpr (std::is_floating_point_v<T>)
      r = -a;
    else
      r = wrap_sub(T{0}, a);
    return true;
  }
};
struct abs_op {
  template <class T>
  static bool apply(T a, T& r, eval_context&) {
    if constexpr (std::is_floating_point_v<T>)
      r = std::fabs(a);
    else
      r = a < 0 ? wrap_sub(T{0}, a) : a;
    return true;
  }
};
struct pow_op {
  static bool apply(double a, double b, double& r, eval_context&) {
    r = std::pow(a, b);
    return true;
  }
};

/// A kernel of a binary op for the physical type of `t`.
template <class Op>
kernel_fn numeric_binary(const data_type& t) {
  switch (t.id) {
  case type_id::int32:
    return binary<int32_t, int32_t, int32_t, Op>;
  case type_id::float64:
    return binary<double, double, double, Op>;
  default: // int64, timestamp, interval
    return binary<int64_t, int64_t, int64_t, Op>;
  }
}

template <class Op>
kernel_fn numeric_unary(const data_type& t) {
  switch (t.id) {
  case type_id::int32:
    return unary<int32_t, int32_t, Op>;
  case type_id::float64:
    return unary<double, double, Op>;
  case type_id::decimal:
    return unary<int128, int128, Op>;
  default:
    return unary<int64_t, int64_t, Op>;
  }
}

enum class dec_op { add, sub, mul, div, mod };

/// DECIMAL arithmetic: the operands keep their own scales (read from the
/// argument columns), the result takes out's precision and scale.
kernel_fn decimal_binary(dec_op which) {
  return [which](args_t args, rows_t rows, column& out, eval_context& ctx) {
    prepare_fixed(out, ctx.batch_rows);
    int sa = args[0]->type().scale;
    int sb = args[1]->type().scale;
    int so = out.type().scale;
    int po = out.type().precision;
    auto a = args[0]->values<int128>();
    auto b = args[1]->values<int128>();
    auto o = out.values_mut<int128>();
    int s = std::max(sa, sb);
    auto fa = columnar::pow10_i128(s - sa);
    auto fb = columnar::pow10_i128(s - sb);
    valid_rows(args, rows, out, ctx.batch_rows, [&](uint32_t i) {
      std::optional<int128> r;
      switch (which) {
      case dec_op::add:
        r = decimal::rescale(a[i] * fa + b[i] * fb, s, so);
        break;
      case dec_op::sub:
        r = decimal::rescale(a[i] * fa - b[i] * fb, s, so);
        break;
      case dec_op::mul:
        r = decimal::multiply(a[i], sa, b[i], sb, so);
        break;
      case dec_op::div:
        r = decimal::divide(a[i], sa, b[i], sb, so);
        break;
      case dec_op::mod:
        if (b[i] != 0)
          r = decimal::rescale((a[i] * fa) % (b[i] * fb), s, so);
        break;
      }
      if (r && decimal::fits(*r, po)) {
        o[i] = *r;
      } else {
        ++ctx.errors;
        out.set_null(i);
      }
    });
  };
}

// -- type rules ---------------------------------------------------------------

bool is_time(const data_type& t) {
  return t.id == type_id::timestamp;
}
bool is_interval(const data_type& t) {
  return t.id == type_id::interval_ms;
}

/// Replaces a bare NULL by the other operand's type.
std::pair<data_type, data_type> fill_nulls(std::span<const data_type> got) {
  auto a = got[0];
  auto b = got[1];
  if (is_null(a) && !is_null(b))
    a = with_nullable(b, true);
  if (is_null(b) && !is_null(a))
    b = with_nullable(a, true);
  if (is_null(a) && is_null(b))
    a = b = columnar::int32_type();
  return {a, b};
}

caf::expected<data_type> arith_type(std::string_view name,
                                    std::span<const data_type> got) {
  if (got.size() != 2)
    return signature_error(name, numeric_sig, got);
  auto [a, b] = fill_nulls(got);
  auto nullable = a.nullable || b.nullable;
  if (name == "+" || name == "-") {
    if (is_time(a) && is_interval(b))
      return columnar::timestamp_type(nullable);
    if (name == "+" && is_interval(a) && is_time(b))
      return columnar::timestamp_type(nullable);
    if (is_interval(a) && is_interval(b))
      return columnar::interval_type(nullable);
  }
  if (!is_numeric(a) || !is_numeric(b)) {
    auto sig = (name == "+" || name == "-")
                   ? "(NUMERIC, NUMERIC) or (TIMESTAMP, INTERVAL)"
                   : numeric_sig;
    return signature_error(name, sig, got);
  }
  bool may_fail = name == "/" || name == "%" || name == "MOD";
  if (a.id == type_id::float64 || b.id == type_id::float64)
    return columnar::float64_type(nullable || may_fail);
  if (a.id == type_id::decimal || b.id == type_id::decimal) {
    auto da = *decimal::as_decimal(a);
    auto db = *decimal::as_decimal(b);
    data_type r;
    if (name == "+" || name == "-")
      r = decimal::add_type(da, db);
    else if (name == "*")
      r = decimal::multiply_type(da, db);
    else if (name == "/")
      r = decimal::divide_type(da, db);
    else
      r = decimal::mod_type(da, db);
    return with_nullable(r, nullable || may_fail || r.precision == 38);
  }
  auto common = *common_numeric(a, b);
  return with_nullable(common, nullable || may_fail);
}

std::vector<data_type> arith_coerce(std::span<const data_type> got) {
  auto [a, b] = fill_nulls(got);
  if (!is_numeric(a) || !is_numeric(b))
    return {a, b}; // timestamp and interval: as they are
  auto keep = [&](data_type t, const data_type& orig) {
    return with_nullable(t, orig.nullable);
  };
  if (a.id == type_id::float64 || b.id == type_id::float64)
    return {keep(columnar::float64_type(), got[0]),
            keep(columnar::float64_type(), got[1])};
  if (a.id == type_id::decimal || b.id == type_id::decimal)
    return {keep(*decimal::as_decimal(a), got[0]),
            keep(*decimal::as_decimal(b), got[1])};
  auto common = *common_numeric(a, b);
  return {keep(common, got[0]), keep(common, got[1])};
}

kernel_fn arith_bind(std::string_view name, std::span<const data_type> args,
                     const data_type& result) {
  if (result.id == type_id::decimal) {
    if (name == "+")
      return decimal_binary(dec_op::add);
    if (name == "-")
      return decimal_binary(dec_op::sub);
    if (name == "*")
      return decimal_binary(dec_op::mul);
    if (name == "/")
      return decimal_binary(dec_op::div);
    return decimal_binary(dec_op::mod);
  }
  // TIMESTAMP +- INTERVAL and INTERVAL + TIMESTAMP are int64 arithmetic.
  auto t = result.id == type_id::timestamp ? columnar::int64_type() : args[0];
  if (name == "+")
    return numeric_binary<add_op>(t);
  if (name == "-")
    return numeric_binary<sub_op>(t);
  if (name == "*")
    return numeric_binary<mul_op>(t);
  if (name == "/")
    return numeric_binary<div_op>(t);
  return numeric_binary<mod_op>(t);
}

void add_binary(function_registry& r, std::string name) {
  function_def f;
  f.name = name;
  f.resolve = [name](std::span<const data_type> got) {
    return arith_type(name, got);
  };
  f.coerce = arith_coerce;
  f.bind = [name](std::span<const data_type> args, const data_type& result) {
    return arith_bind(name, args, result);
  };
  r.add(std::move(f));
}

/// A function of one numeric argument keeping its type (NEG, ABS).
template <class Op>
void add_same_type(function_registry& r, std::string name, bool interval_too) {
  function_def f;
  f.name = name;
  f.resolve = [name, interval_too](
                  std::span<const data_type> got) -> caf::expected<data_type> {
    if (got.size() != 1 || !(is_numeric(got[0]) || is_null(got[0]) ||
                             (interval_too && is_interval(got[0]))))
      return signature_error(name, "(NUMERIC)", got);
    if (is_null(got[0]))
      return columnar::int32_type();
    return got[0];
  };
  f.coerce = [](std::span<const data_type> got) {
    if (is_null(got[0]))
      return std::vector<data_type>{columnar::int32_type()};
    return std::vector<data_type>{got[0]};
  };
  f.bind = [](std::span<const data_type> args, const data_type&) {
    return numeric_unary<Op>(args[0]);
  };
  r.add(std::move(f));
}

/// ROUND(x [, r]), FLOOR(x), CEIL(x).
enum class rounding { round, floor, ceil };

caf::expected<data_type> rounding_type(std::string_view name, rounding how,
                                       std::span<const data_type> got,
                                       std::optional<int64_t> digits) {
  bool ok = (got.size() == 1 || (how == rounding::round && got.size() == 2)) &&
            (is_numeric(got[0]) || is_null(got[0]));
  if (ok && got.size() == 2)
    ok = is_integer(got[1]) || is_null(got[1]);
  if (!ok)
    return signature_error(
        name, how == rounding::round ? "(NUMERIC[, INT])" : "(NUMERIC)", got);
  auto nullable = any_nullable(got);
  auto t = is_null(got[0]) ? columnar::int32_type() : got[0];
  if (t.id != type_id::decimal)
    return with_nullable(t, nullable);
  int r = static_cast<int>(
      digits.value_or(how == rounding::round && got.size() == 2 ? t.scale : 0));
  return with_nullable(decimal::round_type(t, r), nullable);
}

// ROUND of a DECIMAL: round to `r` digits HALF_UP, then express at out's
// scale.
void round_decimal(args_t args, rows_t rows, column& out, eval_context& ctx) {
  prepare_fixed(out, ctx.batch_rows);
  int s = args[0]->type().scale;
  int so = out.type().scale;
  auto a = args[0]->values<int128>();
  auto o = out.values_mut<int128>();
  std::span<const int32_t> digits;
  if (args.size() > 1)
    digits = args[1]->values<int32_t>();
  valid_rows(args, rows, out, ctx.batch_rows, [&](uint32_t i) {
    int d = digits.empty() ? 0 : digits[i];
    auto v = decimal::round_to(a[i], s, std::min(d, s));
    // Digits below the result scale are zero now: exact.
    o[i] = *decimal::rescale(v, s, so);
  });
}

template <class T>
T round_int(T v, int d) {
  if (d >= 0)
    return v;
  if (-d > 18)
    return 0;
  T f = 1;
  for (int k = 0; k < -d; ++k)
    f *= 10;
  T q = v / f;
  T rem = v % f;
  if ((rem < 0 ? -rem : rem) * 2 >= f)
    q += v < 0 ? -1 : 1;
  return q * f;
}

template <class T>
void round_plain(args_t args, rows_t rows, column& out, eval_context& ctx) {
  prepare_fixed(out, ctx.batch_rows);
  auto a = args[0]->values<T>();
  auto o = out.values_mut<T>();
  std::span<const int32_t> digits;
  if (args.size() > 1)
    digits = args[1]->values<int32_t>();
  valid_rows(args, rows, out, ctx.batch_rows, [&](uint32_t i) {
    int d = digits.empty() ? 0 : digits[i];
    if constexpr (std::is_floating_point_v<T>) {
      // HALF_UP on the decimal digits, as Flink (BigDecimal) does.
      auto f = std::pow(10.0, d);
      auto v = std::round(a[i] * f) / f;
      o[i] = std::isfinite(v) ? v : a[i];
    } else {
      o[i] = round_int<T>(a[i], d);
    }
  });
}

template <rounding How>
void floor_ceil_decimal(args_t args, rows_t rows, column& out,
                        eval_context& ctx) {
  prepare_fixed(out, ctx.batch_rows);
  int s = args[0]->type().scale;
  int so = out.type().scale;
  auto a = args[0]->values<int128>();
  auto o = out.values_mut<int128>();
  valid_rows(args, rows, out, ctx.batch_rows, [&](uint32_t i) {
    auto v = How == rounding::floor ? decimal::floor_int(a[i], s)
                                    : decimal::ceil_int(a[i], s);
    o[i] = v * columnar::pow10_i128(so);
  });
}

template <rounding How>
void floor_ceil_double(args_t args, rows_t rows, column& out,
                       eval_context& ctx) {
  prepare_fixed(out, ctx.batch_rows);
  auto a = args[0]->values<double>();
  auto o = out.values_mut<double>();
  valid_rows(args, rows, out, ctx.batch_rows, [&](uint32_t i) {
    o[i] = How == rounding::floor ? std::floor(a[i]) : std::ceil(a[i]);
  });
}

/// The integer value of a constant argument, if it is one.
std::optional<int64_t> const_int(std::span<const scalar* const> c, size_t i) {
  if (i >= c.size() || c[i] == nullptr)
    return std::nullopt;
  if (auto* v = std::get_if<int64_t>(c[i]))
    return *v;
  return std::nullopt;
}

template <rounding How>
void add_rounding(function_registry& r, std::string name) {
  function_def f;
  f.name = name;
  f.resolve = [name](std::span<const data_type> got) {
    return rounding_type(name, How, got, std::nullopt);
  };
  f.resolve_const = [name](std::span<const data_type> got,
                           std::span<const scalar* const> c) {
    auto d =
        How == rounding::round ? const_int(c, 1) : std::optional<int64_t>{0};
    if (How == rounding::round && got.size() == 1)
      d = 0;
    return rounding_type(name, How, got, d);
  };
  f.coerce = [](std::span<const data_type> got) {
    std::vector<data_type> out;
    out.push_back(is_null(got[0]) ? columnar::int32_type() : got[0]);
    if (got.size() > 1)
      out.push_back(columnar::int32_type(got[1].nullable));
    return out;
  };
  f.bind = [](std::span<const data_type> args, const data_type&) -> kernel_fn {
    auto id = args[0].id;
    if constexpr (How == rounding::round) {
      switch (id) {
      case type_id::decimal:
        return round_decimal;
      case type_id::float64:
        return round_plain<double>;
      case type_id::int32:
        return round_plain<int32_t>;
      default:
        return round_plain<int64_t>;
      }
    } else {
      switch (id) {
      case type_id::decimal:
        return floor_ceil_decimal<How>;
      case type_id::float64:
        return floor_ceil_double<How>;
      default:
        return [](args_t args, rows_t rows, column& out, eval_context& ctx) {
          // Integers are their own floor and ceiling.
          out.clear();
          out.append_range(*args[0], 0, ctx.batch_rows);
          (void)rows;
        };
      }
    }
  };
  r.add(std::move(f));
}

} // namespace

void add_arith(function_registry& r) {
  for (auto name : {"+", "-", "*", "/", "%"})
    add_binary(r, name);
  add_binary(r, "MOD");
  add_same_type<neg_op>(r, "NEG", true);
  add_same_type<abs_op>(r, "ABS", false);
  add_rounding<rounding::round>(r, "ROUND");
  add_rounding<rounding::floor>(r, "FLOOR");
  add_rounding<rounding::ceil>(r, "CEIL");
  {
    function_def f;
    f.name = "POWER";
    f.resolve = [](std::span<const data_type> got) -> caf::expected<data_type> {
      if (got.size() != 2 || !(is_numeric(got[0]) || is_null(got[0])) ||
          !(is_numeric(got[1]) || is_null(got[1])))
        return signature_error("POWER", numeric_sig, got);
      return columnar::float64_type(any_nullable(got));
    };
    f.coerce = [](std::span<const data_type> got) {
      return std::vector<data_type>{columnar::float64_type(got[0].nullable),
                                    columnar::float64_type(got[1].nullable)};
    };
    f.bind = [](std::span<const data_type>, const data_type&) -> kernel_fn {
      return binary<double, double, double, pow_op>;
    };
    r.add(std::move(f));
  }
}

} // namespace sluice::expr::kernels
