#include <charconv>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "runtime/expr/decimal.hpp"
#include "runtime/expr/kernel_util.hpp"
#include "runtime/expr/kernels.hpp"
#include "runtime/expr/time_util.hpp"

// CAST gives NULL and counts an error for a string that does not parse as
// the target type and for a value that does not fit a DECIMAL. Narrowing
// integers wrap and DOUBLE -> integer truncates toward zero (saturating),
// as Java's casts in Flink's generated code.

namespace sluice::expr::util {

bool equal_at(const column& a, const column& b, uint32_t i) noexcept {
  if (a.type().id == type_id::string)
    return a.str(i) == b.str(i);
  if (a.type().id == type_id::float64)
    return a.values<double>()[i] == b.values<double>()[i];
  auto w = columnar::fixed_width(a.type().id);
  return std::memcmp(a.data().data() + i * w, b.data().data() + i * w, w) == 0;
}

} // namespace sluice::expr::util

namespace sluice::expr::kernels {

namespace {

using namespace util;

/// A cast between fixed-width types: conv(from, to&) -> false = error.
template <class From, class To, class Conv>
kernel_fn fixed(Conv conv) {
  return [conv](args_t args, rows_t rows, column& out, eval_context& ctx) {
    prepare_fixed(out, ctx.batch_rows);
    auto a = args[0]->values<From>();
    auto o = out.values_mut<To>();
    valid_rows(args, rows, out, ctx.batch_rows, [&](uint32_t i) {
      if (!conv(a[i], o[i])) {
        ++ctx.errors;
        out.set_null(i);
      }
    });
  };
}

/// A cast from STRING: conv(text, to&) -> false = error.
template <class To, class Conv>
kernel_fn from_string(Conv conv) {
  return [conv](args_t args, rows_t rows, column& out, eval_context& ctx) {
    prepare_fixed(out, ctx.batch_rows);
    auto o = out.values_mut<To>();
    auto& a = *args[0];
    valid_rows(args, rows, out, ctx.batch_rows, [&](uint32_t i) {
      if (!conv(a.str(i), o[i])) {
        ++ctx.errors;
        out.set_null(i);
      }
    });
  };
}

/// A cast to STRING: fmt(from, std::string&) appends the text.
template <class From, class Fmt>
kernel_fn to_string(Fmt fmt) {
  return [fmt](args_t args, rows_t rows, column& out, eval_context& ctx) {
    string_builder b{out, ctx.batch_rows};
    auto a = args[0]->values<From>();
    auto& c = *args[0];
    std::string buf;
    for (auto i : rows) {
      if (!c.valid(i)) {
        b.put_null(i);
        continue;
      }
      buf.clear();
      fmt(a[i], buf);
      b.put(i, buf);
    }
  };
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

template <class T>
bool parse_int(std::string_view s, T& out) {
  s = trim(s);
  if (!s.empty() && s.front() == '+')
    s.remove_prefix(1);
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc{} && p == s.data() + s.size() && !s.empty();
}

bool parse_double(std::string_view s, double& out) {
  s = trim(s);
  if (!s.empty() && s.front() == '+')
    s.remove_prefix(1);
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc{} && p == s.data() + s.size() && !s.empty();
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size())
    return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

/// Java's Double.toString for the common cases: "1.0", "0.5", "1.0E10".
void append_double(double d, std::string& out) {
  if (std::isnan(d)) {
    out += "NaN";
    return;
  }
  if (std::isinf(d)) {
    out += d < 0 ? "-Infinity" : "Infinity";
    return;
  }
  auto a = std::fabs(d);
  char buf[64];
  if (a != 0 && (a >= 1e7 || a < 1e-3)) {
    auto [p, ec] =
        std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
    std::string s{buf, p};
    auto e = s.find('e');
    auto mant = s.substr(0, e);
    auto exp = std::stoi(s.substr(e + 1));
    if (mant.find('.') == std::string::npos)
      mant += ".0";
    out += mant;
    out += 'E';
    out += std::to_string(exp);
    return;
  }
  auto [p, ec] =
      std::to_chars(buf, buf + sizeof buf, d, std::chars_format::fixed);
  std::string_view s{buf, static_cast<size_t>(p - buf)};
  out += s;
  if (s.find('.') == std::string_view::npos)
    out += ".0";
}

void append_interval(int64_t ms, std::string& out) {
  out += ms < 0 ? '-' : '+';
  auto u = ms < 0 ? -static_cast<uint64_t>(ms) : static_cast<uint64_t>(ms);
  out +=
      fmt::format("{} {:02}:{:02}:{:02}.{:03}", u / 86'400'000,
                  u / 3'600'000 % 24, u / 60'000 % 60, u / 1000 % 60, u % 1000);
}

template <class To>
bool double_to_int(double d, To& out) {
  if (std::isnan(d))
    return false;
  if (d >= static_cast<double>(std::numeric_limits<To>::max()))
    out = std::numeric_limits<To>::max();
  else if (d <= static_cast<double>(std::numeric_limits<To>::min()))
    out = std::numeric_limits<To>::min();
  else
    out = static_cast<To>(d);
  return true;
}

/// Reads a fixed-width integer-like column as int64 for a cast.
template <class From>
kernel_fn int_to(const data_type& to) {
  switch (to.id) {
  case type_id::boolean:
    return fixed<From, uint8_t>([](From v, uint8_t& r) {
      r = v != 0;
      return true;
    });
  case type_id::int32:
    return fixed<From, int32_t>([](From v, int32_t& r) {
      r = static_cast<int32_t>(static_cast<int64_t>(v));
      return true;
    });
  case type_id::int64:
    return fixed<From, int64_t>([](From v, int64_t& r) {
      r = static_cast<int64_t>(v);
      return true;
    });
  case type_id::timestamp:
    return fixed<From, int64_t>([](From v, int64_t& r) {
      r = static_cast<int64_t>(v) * 1000;
      return true;
    });
  case type_id::float64:
    return fixed<From, double>([](From v, double& r) {
      r = static_cast<double>(v);
      return true;
    });
  case type_id::decimal: {
    int s = to.scale;
    int p = to.precision;
    return fixed<From, int128>([s, p](From v, int128& r) {
      r = static_cast<int128>(static_cast<int64_t>(v)) *
          columnar::pow10_i128(s);
      return decimal::fits(r, p);
    });
  }
  case type_id::string:
    return to_string<From>([](From v, std::string& out) {
      if constexpr (std::is_same_v<From, uint8_t>)
        out += v ? "TRUE" : "FALSE";
      else
        out += std::to_string(static_cast<int64_t>(v));
    });
  default:
    return nullptr;
  }
}

kernel_fn all_null() {
  return [](args_t, rows_t rows, column& out, eval_context& ctx) {
    if (out.type().id == type_id::string) {
      string_builder b{out, ctx.batch_rows};
      for (auto i : rows)
        b.put_null(i);
      return;
    }
    prepare_fixed(out, ctx.batch_rows);
    for (auto i : rows)
      out.set_null(i);
  };
}

kernel_fn copy() {
  return [](args_t args, rows_t, column& out, eval_context& ctx) {
    out.clear();
    out.append_range(*args[0], 0, ctx.batch_rows);
  };
}

kernel_fn from_decimal(const data_type& from, const data_type& to) {
  int s = from.scale;
  switch (to.id) {
  case type_id::boolean:
    return fixed<int128, uint8_t>([](int128 v, uint8_t& r) {
      r = v != 0;
      return true;
    });
  case type_id::int32:
  case type_id::int64: {
    auto d = columnar::pow10_i128(s);
    if (to.id == type_id::int32)
      return fixed<int128, int32_t>([d](int128 v, int32_t& r) {
        r = static_cast<int32_t>(static_cast<int64_t>(v / d));
        return true;
      });
    return fixed<int128, int64_t>([d](int128 v, int64_t& r) {
      r = static_cast<int64_t>(v / d);
      return true;
    });
  }
  case type_id::float64:
    return fixed<int128, double>([s](int128 v, double& r) {
      r = decimal::to_double(v, s);
      return true;
    });
  case type_id::decimal: {
    int so = to.scale;
    int p = to.precision;
    return fixed<int128, int128>([s, so, p](int128 v, int128& r) {
      auto x = decimal::rescale(v, s, so);
      if (!x || !decimal::fits(*x, p))
        return false;
      r = *x;
      return true;
    });
  }
  case type_id::string:
    return to_string<int128>(
        [s](int128 v, std::string& out) { decimal::append(out, v, s); });
  default:
    return nullptr;
  }
}

kernel_fn from_double(const data_type& to) {
  switch (to.id) {
  case type_id::boolean:
    return fixed<double, uint8_t>([](double v, uint8_t& r) {
      r = v != 0;
      return true;
    });
  case type_id::int32:
    return fixed<double, int32_t>(double_to_int<int32_t>);
  case type_id::int64:
    return fixed<double, int64_t>(double_to_int<int64_t>);
  case type_id::decimal: {
    int s = to.scale;
    int p = to.precision;
    return fixed<double, int128>([s, p](double v, int128& r) {
      auto x = decimal::from_double(v, p, s);
      if (!x)
        return false;
      r = *x;
      return true;
    });
  }
  case type_id::string:
    return to_string<double>(append_double);
  default:
    return nullptr;
  }
}

kernel_fn string_to(const data_type& to) {
  switch (to.id) {
  case type_id::boolean:
    return from_string<uint8_t>([](std::string_view s, uint8_t& r) {
      s = trim(s);
      if (iequals(s, "true") || s == "1") {
        r = 1;
        return true;
      }
      if (iequals(s, "false") || s == "0") {
        r = 0;
        return true;
      }
      return false;
    });
  case type_id::int32:
    return from_string<int32_t>(parse_int<int32_t>);
  case type_id::int64:
    return from_string<int64_t>(parse_int<int64_t>);
  case type_id::float64:
    return from_string<double>(parse_double);
  case type_id::decimal: {
    int s = to.scale;
    int p = to.precision;
    return from_string<int128>([s, p](std::string_view t, int128& r) {
      auto x = decimal::parse(t, p, s);
      if (!x)
        return false;
      r = *x;
      return true;
    });
  }
  case type_id::timestamp:
    return from_string<int64_t>([](std::string_view t, int64_t& r) {
      auto x = time::parse_sql(t);
      if (!x)
        return false;
      r = *x;
      return true;
    });
  case type_id::interval_ms:
    return from_string<int64_t>(parse_int<int64_t>);
  default:
    return nullptr;
  }
}

} // namespace

kernel_fn cast(const data_type& from, const data_type& to) {
  if (from.id == type_id::null_type)
    return all_null();
  if (from.id == to.id && from.id != type_id::decimal)
    return copy();
  switch (from.id) {
  case type_id::boolean:
    return int_to<uint8_t>(to);
  case type_id::int32:
    return int_to<int32_t>(to);
  case type_id::int64:
    return int_to<int64_t>(to);
  case type_id::float64:
    return from_double(to);
  case type_id::decimal:
    if (to.id == type_id::decimal && from.scale == to.scale &&
        from.precision <= to.precision)
      return copy();
    return from_decimal(from, to);
  case type_id::string:
    return string_to(to);
  case type_id::timestamp:
    if (to.id == type_id::string)
      return to_string<int64_t>(time::append_sql);
    if (to.id == type_id::int64)
      return fixed<int64_t, int64_t>([](int64_t v, int64_t& r) {
        r = time::floor_div(v, 1000);
        return true;
      });
    return nullptr;
  case type_id::interval_ms:
    if (to.id == type_id::string)
      return to_string<int64_t>(append_interval);
    return nullptr;
  case type_id::null_type:
    break;
  }
  return nullptr;
}

// -- COALESCE, IF, NULLIF -----------------------------------------------------

namespace {

/// Picks, per row, the value of the argument `pick(i)` returns (-1: NULL).
template <class Pick>
void pick_rows(args_t args, rows_t rows, column& out, eval_context& ctx,
               Pick pick) {
  if (out.type().id == type_id::string) {
    string_builder b{out, ctx.batch_rows};
    for (auto i : rows) {
      auto k = pick(i);
      if (k < 0 || !args[k]->valid(i))
        b.put_null(i);
      else
        b.put(i, args[k]->str(i));
    }
    return;
  }
  prepare_fixed(out, ctx.batch_rows);
  for (auto i : rows) {
    auto k = pick(i);
    if (k < 0)
      out.set_null(i);
    else
      copy_fixed(*args[k], i, out);
  }
}

void coalesce(args_t args, rows_t rows, column& out, eval_context& ctx) {
  pick_rows(args, rows, out, ctx, [&](uint32_t i) {
    for (size_t k = 0; k < args.size(); ++k)
      if (args[k]->valid(i))
        return static_cast<int>(k);
    return -1;
  });
}

void if_kernel(args_t args, rows_t rows, column& out, eval_context& ctx) {
  auto c = args[0]->values<uint8_t>();
  pick_rows(args, rows, out, ctx,
            [&](uint32_t i) { return args[0]->valid(i) && c[i] ? 1 : 2; });
}

void nullif(args_t args, rows_t rows, column& out, eval_context& ctx) {
  pick_rows(args, rows, out, ctx, [&](uint32_t i) {
    if (args[0]->valid(i) && args[1]->valid(i) &&
        equal_at(*args[0], *args[1], i))
      return -1;
    return 0;
  });
}

std::string type_list(std::span<const data_type> got) {
  std::string s;
  for (auto& t : got) {
    if (!s.empty())
      s += ", ";
    s += columnar::to_string(t.id);
  }
  return s;
}

} // namespace

void add_conditional(function_registry& r) {
  {
    function_def f;
    f.name = "COALESCE";
    f.resolve = [](std::span<const data_type> got) -> caf::expected<data_type> {
      auto t = got.empty() ? std::nullopt : common_type(got);
      if (!t)
        return type_error(
            fmt::format("COALESCE expects arguments of one type, got ({})",
                        type_list(got)));
      bool nullable = true;
      for (auto& g : got)
        nullable = nullable && g.nullable;
      return with_nullable(*t, nullable);
    };
    f.coerce = [](std::span<const data_type> got) {
      auto t = *common_type(got);
      std::vector<data_type> out;
      for (auto& g : got)
        out.push_back(with_nullable(t, g.nullable));
      return out;
    };
    f.bind = [](std::span<const data_type>, const data_type&) -> kernel_fn {
      return coalesce;
    };
    r.add(std::move(f));
  }
  {
    function_def f;
    f.name = "IF";
    f.resolve = [](std::span<const data_type> got) -> caf::expected<data_type> {
      if (got.size() != 3 ||
          (got[0].id != type_id::boolean && !is_null(got[0])))
        return signature_error("IF", "(BOOLEAN, T, T)", got);
      auto t = common_type(got.subspan(1));
      if (!t)
        return type_error(
            fmt::format("IF expects two results of one type, got ({})",
                        type_list(got.subspan(1))));
      return *t;
    };
    f.coerce = [](std::span<const data_type> got) {
      auto t = *common_type(got.subspan(1));
      return std::vector<data_type>{columnar::boolean_type(got[0].nullable),
                                    with_nullable(t, got[1].nullable),
                                    with_nullable(t, got[2].nullable)};
    };
    f.bind = [](std::span<const data_type>, const data_type&) -> kernel_fn {
      return if_kernel;
    };
    r.add(std::move(f));
  }
  {
    function_def f;
    f.name = "NULLIF";
    f.resolve = [](std::span<const data_type> got) -> caf::expected<data_type> {
      if (got.size() != 2)
        return signature_error("NULLIF", "(T, T)", got);
      auto t = common_type(got);
      if (!t)
        return type_error(
            fmt::format("NULLIF expects two arguments of one type, got ({})",
                        type_list(got)));
      return with_nullable(*t, true);
    };
    f.coerce = [](std::span<const data_type> got) {
      auto t = *common_type(got);
      return std::vector<data_type>{with_nullable(t, got[0].nullable),
                                    with_nullable(t, got[1].nullable)};
    };
    f.bind = [](std::span<const data_type>, const data_type&) -> kernel_fn {
      return nullif;
    };
    r.add(std::move(f));
  }
}

} // namespace sluice::expr::kernels
