#include "runtime/expr/decimal.hpp"

#include <algorithm>
#include <cmath>

namespace sluice::expr::decimal {

namespace {

constexpr int max_p = columnar::max_decimal_precision;
constexpr int min_adjusted_scale = 6;

data_type adjust(int p, int s) {
  if (p <= max_p)
    return columnar::decimal_type(static_cast<uint8_t>(std::max(p, 1)),
                                  static_cast<uint8_t>(s));
  auto digits = p - s;
  auto min_scale = std::min(s, min_adjusted_scale);
  auto scale = std::max(max_p - digits, min_scale);
  return columnar::decimal_type(max_p, static_cast<uint8_t>(scale));
}

int128 abs128(int128 v) noexcept {
  return v < 0 ? -v : v;
}

} // namespace

std::optional<data_type> as_decimal(const data_type& t) {
  switch (t.id) {
  case columnar::type_id::int32:
    return columnar::decimal_type(10, 0, t.nullable);
  case columnar::type_id::int64:
    return columnar::decimal_type(19, 0, t.nullable);
  case columnar::type_id::decimal:
    return t;
  default:
    return std::nullopt;
  }
}

data_type add_type(const data_type& a, const data_type& b) {
  int s = std::max(a.scale, b.scale);
  int p = std::max(a.precision - a.scale, b.precision - b.scale) + s + 1;
  return adjust(p, s);
}

data_type multiply_type(const data_type& a, const data_type& b) {
  return adjust(a.precision + b.precision + 1, a.scale + b.scale);
}

data_type divide_type(const data_type& a, const data_type& b) {
  int s = std::max(6, a.scale + b.precision + 1);
  int p = a.precision - a.scale + b.scale + s;
  return adjust(p, s);
}

data_type mod_type(const data_type& a, const data_type& b) {
  int s = std::max(a.scale, b.scale);
  int p = std::min(a.precision - a.scale, b.precision - b.scale) + s;
  return adjust(p, s);
}

data_type round_type(const data_type& a, int r) {
  int p = a.precision;
  int s = a.scale;
  if (r >= s)
    return columnar::decimal_type(static_cast<uint8_t>(p),
                                  static_cast<uint8_t>(s));
  if (r < 0)
    return columnar::decimal_type(
        static_cast<uint8_t>(std::min(max_p, 1 + p - s)), 0);
  return columnar::decimal_type(
      static_cast<uint8_t>(std::min(max_p, 1 + p - s + r)),
      static_cast<uint8_t>(r));
}

data_type common_type(const data_type& a, const data_type& b) {
  int s = std::max(a.scale, b.scale);
  int digits = std::max(a.precision - a.scale, b.precision - b.scale);
  if (digits + s > max_p)
    s = std::max(0, max_p - digits);
  return columnar::decimal_type(
      static_cast<uint8_t>(std::min(max_p, digits + s)),
      static_cast<uint8_t>(s));
}

data_type literal_type(std::string_view text) {
  int digits = 0;
  int scale = 0;
  bool after_dot = false;
  bool leading = true;
  for (auto c : text) {
    if (c == '.') {
      after_dot = true;
    } else if (c >= '0' && c <= '9') {
      if (after_dot) {
        ++scale;
        ++digits;
      } else if (!(leading && c == '0')) {
        leading = false;
        ++digits;
      }
    }
  }
  int p = std::max(std::max(digits, scale), 1);
  return columnar::decimal_type(static_cast<uint8_t>(std::min(p, max_p)),
                                static_cast<uint8_t>(std::min(scale, max_p)),
                                false);
}

bool fits(int128 v, int precision) noexcept {
  return abs128(v) < columnar::pow10_i128(precision);
}

std::optional<int128> rescale(int128 v, int from, int to) noexcept {
  if (to == from)
    return v;
  if (to > from) {
    int128 r;
    if (__builtin_mul_overflow(v, columnar::pow10_i128(to - from), &r))
      return std::nullopt;
    return r;
  }
  auto div = columnar::pow10_i128(from - to);
  auto q = v / div;
  auto rem = v % div;
  if (abs128(rem) * 2 >= div)
    q += v < 0 ? -1 : 1;
  return q;
}

std::optional<int128> multiply(int128 a, int sa, int128 b, int sb,
                               int scale) noexcept {
  int128 r;
  if (__builtin_mul_overflow(a, b, &r))
    return std::nullopt;
  return rescale(r, sa + sb, scale);
}

std::optional<int128> divide(int128 a, int sa, int128 b, int sb,
                             int scale) noexcept {
  if (b == 0)
    return std::nullopt;
  // a / b at `scale`: (a * 10^(scale - sa + sb + 1)) / b, then round the
  // extra digit HALF_UP.
  int shift = scale - sa + sb + 1;
  int128 num = a;
  int128 den = b;
  if (shift >= 0) {
    if (shift > max_p ||
        __builtin_mul_overflow(a, columnar::pow10_i128(shift), &num))
      return std::nullopt;
  } else {
    if (-shift > max_p ||
        __builtin_mul_overflow(b, columnar::pow10_i128(-shift), &den))
      return std::nullopt;
  }
  auto q = num / den;
  return rescale(q, 1, 0);
}

int128 round_to(int128 v, int s, int digits) noexcept {
  if (digits >= s)
    return v;
  int drop = s - digits;
  if (drop > max_p)
    return 0;
  auto r = rescale(v, s, s - drop);
  return *r * columnar::pow10_i128(drop);
}

int128 floor_int(int128 v, int s) noexcept {
  auto d = columnar::pow10_i128(s);
  auto q = v / d;
  if (v % d != 0 && v < 0)
    --q;
  return q;
}

int128 ceil_int(int128 v, int s) noexcept {
  auto d = columnar::pow10_i128(s);
  auto q = v / d;
  if (v % d != 0 && v > 0)
    ++q;
  return q;
}

void append(std::string& out, int128 v, int scale) {
  char buf[48];
  int n = 0;
  bool neg = v < 0;
  // Digits from the least significant; -v of the minimum does not occur
  // (|v| < 10^38).
  auto u = static_cast<unsigned __int128>(neg ? -v : v);
  do {
    buf[n++] = static_cast<char>('0' + static_cast<int>(u % 10));
    u /= 10;
  } while (u != 0);
  while (n <= scale)
    buf[n++] = '0';
  if (neg)
    out += '-';
  for (int i = n - 1; i >= 0; --i) {
    out += buf[i];
    if (i == scale && scale > 0)
      out += '.';
  }
}

std::string to_string(int128 v, int scale) {
  std::string out;
  append(out, v, scale);
  return out;
}

std::optional<int128> parse(std::string_view text, int precision,
                            int scale) noexcept {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t'))
    text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t'))
    text.remove_suffix(1);
  if (text.empty())
    return std::nullopt;
  bool neg = false;
  size_t i = 0;
  if (text[0] == '-' || text[0] == '+') {
    neg = text[0] == '-';
    ++i;
  }
  int128 v = 0;
  int frac = 0;
  int digits = 0;
  bool dot = false;
  bool any = false;
  for (; i < text.size(); ++i) {
    auto c = text[i];
    if (c == '.' && !dot) {
      dot = true;
    } else if (c >= '0' && c <= '9') {
      any = true;
      if (v == 0 && c == '0' && !dot)
        continue;
      if (digits >= max_p) {
        if (dot)
          continue; // digits beyond 38 after the point: dropped
        return std::nullopt;
      }
      v = v * 10 + (c - '0');
      ++digits;
      if (dot)
        ++frac;
    } else {
      break;
    }
  }
  if (!any)
    return std::nullopt;
  int exp = 0;
  if (i < text.size()) {
    if (text[i] != 'e' && text[i] != 'E')
      return std::nullopt;
    ++i;
    bool eneg = false;
    if (i < text.size() && (text[i] == '-' || text[i] == '+')) {
      eneg = text[i] == '-';
      ++i;
    }
    if (i == text.size())
      return std::nullopt;
    for (; i < text.size(); ++i) {
      if (text[i] < '0' || text[i] > '9' || exp > 100)
        return std::nullopt;
      exp = exp * 10 + (text[i] - '0');
    }
    if (eneg)
      exp = -exp;
  }
  int from = frac - exp;
  std::optional<int128> r;
  if (from < -max_p)
    r = v == 0 ? std::optional<int128>{0} : std::nullopt;
  else if (from - scale > max_p)
    r = 0;
  else
    r = rescale(v, from, scale);
  if (!r || !fits(*r, precision))
    return std::nullopt;
  return neg ? -*r : *r;
}

double to_double(int128 v, int scale) noexcept {
  return static_cast<double>(v) /
         static_cast<double>(columnar::pow10_i128(scale));
}

std::optional<int128> from_double(double d, int precision, int scale) noexcept {
  if (!std::isfinite(d))
    return std::nullopt;
  auto scaled = std::round(d * std::pow(10.0, scale));
  if (std::fabs(scaled) >= 1e38)
    return std::nullopt;
  auto v = static_cast<int128>(scaled);
  if (!fits(v, precision))
    return std::nullopt;
  return v;
}

} // namespace sluice::expr::decimal
