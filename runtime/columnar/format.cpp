#include "runtime/columnar/format.hpp"

#include <charconv>
#include <cmath>
#include <iterator>
#include <limits>

#include <fmt/format.h>

#include "runtime/errors.hpp"

namespace sluice::columnar {

namespace {

constexpr int64_t ms_per_day = 86'400'000;

bool blank(char c) noexcept {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && blank(s.front()))
    s.remove_prefix(1);
  while (!s.empty() && blank(s.back()))
    s.remove_suffix(1);
  return s;
}

bool is_digit(char c) noexcept {
  return c >= '0' && c <= '9';
}

caf::error bad(std::string_view text, std::string_view what) {
  constexpr size_t max_shown = 64;
  std::string shown{text.substr(0, max_shown)};
  if (text.size() > max_shown)
    shown += "...";
  return make_error(connector_errc::bad_input,
                    fmt::format("'{}' is not a valid {}", shown, what));
}

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size())
    return false;
  for (size_t i = 0; i < a.size(); ++i) {
    auto x = a[i] >= 'A' && a[i] <= 'Z' ? char(a[i] - 'A' + 'a') : a[i];
    if (x != b[i])
      return false;
  }
  return true;
}

template <class T>
caf::expected<T> parse_integer(std::string_view text, std::string_view what) {
  auto s = trim(text);
  if (s.size() > 1 && s[0] == '+' && is_digit(s[1]))
    s.remove_prefix(1);
  T v{};
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc{} || p != s.data() + s.size())
    return bad(text, what);
  return v;
}

/// Reads 1..`max` digits at `s[i]`; advances `i`.
bool read_number(std::string_view s, size_t& i, size_t max,
                 uint32_t& out) noexcept {
  size_t n = 0;
  out = 0;
  while (i < s.size() && is_digit(s[i]) && n < max) {
    out = out * 10 + uint32_t(s[i] - '0');
    ++i;
    ++n;
  }
  return n > 0;
}

uint32_t days_in_month(int64_t y, uint32_t m) noexcept {
  static constexpr uint32_t days[] = {31, 28, 31, 30, 31, 30,
                                      31, 31, 30, 31, 30, 31};
  if (m == 2 && (y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)))
    return 29;
  return days[m - 1];
}

} // namespace

int64_t days_from_civil(int64_t y, uint32_t m, uint32_t d) noexcept {
  y -= m <= 2;
  auto era = (y >= 0 ? y : y - 399) / 400;
  auto yoe = static_cast<uint64_t>(y - era * 400);
  uint64_t mp = m > 2 ? m - 3 : m + 9;
  auto doy = (153 * mp + 2) / 5 + d - 1;
  auto doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

civil_time to_civil(int64_t ms) noexcept {
  // Division first: days * ms_per_day would overflow near INT64_MIN.
  auto days = ms / ms_per_day;
  auto r = ms % ms_per_day;
  if (r < 0) {
    r += ms_per_day;
    --days;
  }
  auto rem = static_cast<uint64_t>(r);
  auto z = days + 719468;
  auto era = (z >= 0 ? z : z - 146096) / 146097;
  auto doe = static_cast<uint64_t>(z - era * 146097);
  auto yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  auto doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  auto mp = (5 * doy + 2) / 153;
  civil_time t;
  t.day = static_cast<uint32_t>(doy - (153 * mp + 2) / 5 + 1);
  t.month = static_cast<uint32_t>(mp < 10 ? mp + 3 : mp - 9);
  t.year = static_cast<int64_t>(yoe) + era * 400 + (t.month <= 2);
  t.hour = static_cast<uint32_t>(rem / 3'600'000);
  t.minute = static_cast<uint32_t>(rem / 60'000 % 60);
  t.second = static_cast<uint32_t>(rem / 1000 % 60);
  t.millis = static_cast<uint32_t>(rem % 1000);
  return t;
}

int64_t from_civil(const civil_time& t) noexcept {
  return days_from_civil(t.year, t.month, t.day) * ms_per_day +
         int64_t{t.hour} * 3'600'000 + int64_t{t.minute} * 60'000 +
         int64_t{t.second} * 1000 + t.millis;
}

// -- rendering ---------------------------------------------------------------

void append_bool(bool v, std::string& out) {
  out += v ? "true" : "false";
}

void append_double(double v, std::string& out) {
  if (std::isnan(v)) {
    out += "NaN";
    return;
  }
  if (std::isinf(v)) {
    out += v < 0 ? "-Infinity" : "Infinity";
    return;
  }
  char buf[64];
  auto [p, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  std::string_view s{buf, static_cast<size_t>(p - buf)};
  out += s;
  if (s.find_first_not_of("-0123456789") == std::string_view::npos)
    out += ".0";
}

void append_decimal(int128 v, uint8_t scale, std::string& out) {
  char buf[48];
  auto* end = buf + sizeof(buf);
  auto* p = end;
  auto neg = v < 0;
  auto mag = neg ? -static_cast<unsigned __int128>(v)
                 : static_cast<unsigned __int128>(v);
  int digits = 0;
  while (mag != 0 || digits <= scale) {
    *--p = char('0' + static_cast<int>(mag % 10));
    mag /= 10;
    ++digits;
  }
  if (neg)
    out += '-';
  auto n = static_cast<size_t>(end - p);
  out.append(p, n - scale);
  if (scale > 0) {
    out += '.';
    out.append(end - scale, scale);
  }
}

void append_timestamp(int64_t ms, std::string& out, uint8_t precision) {
  auto t = to_civil(ms);
  auto it = std::back_inserter(out);
  fmt::format_to(it, "{:04}-{:02}-{:02} {:02}:{:02}:{:02}", t.year, t.month,
                 t.day, t.hour, t.minute, t.second);
  if (precision > 0)
    fmt::format_to(it, ".{:03}", t.millis);
}

void append_interval(int64_t ms, std::string& out) {
  auto neg = ms < 0;
  auto mag =
      neg ? uint64_t(0) - static_cast<uint64_t>(ms) : static_cast<uint64_t>(ms);
  fmt::format_to(std::back_inserter(out), "{}{} {:02}:{:02}:{:02}.{:03}",
                 neg ? '-' : '+', mag / ms_per_day, mag / 3'600'000 % 24,
                 mag / 60'000 % 60, mag / 1000 % 60, mag % 1000);
}

void append_value(const column& c, size_t row, std::string& out,
                  std::string_view null_text) {
  if (!c.valid(row) || c.type().id == type_id::null_type) {
    out += null_text;
    return;
  }
  auto& t = c.type();
  switch (t.id) {
  case type_id::null_type:
    break;
  case type_id::boolean:
    append_bool(c.value<uint8_t>(row) != 0, out);
    break;
  case type_id::int32:
    fmt::format_to(std::back_inserter(out), "{}", c.value<int32_t>(row));
    break;
  case type_id::int64:
    fmt::format_to(std::back_inserter(out), "{}", c.value<int64_t>(row));
    break;
  case type_id::float64:
    append_double(c.value<double>(row), out);
    break;
  case type_id::decimal:
    append_decimal(c.value<int128>(row), t.scale, out);
    break;
  case type_id::string:
    out += c.str(row);
    break;
  case type_id::timestamp:
    append_timestamp(c.value<int64_t>(row), out, t.precision);
    break;
  case type_id::interval_ms:
    append_interval(c.value<int64_t>(row), out);
    break;
  }
}

std::string value_text(const column& c, size_t row,
                       std::string_view null_text) {
  std::string out;
  append_value(c, row, out, null_text);
  return out;
}

void append_csv_field(std::string_view text, std::string& out, char delimiter,
                      char quote) {
  bool needs = !text.empty() && (blank(text.front()) || blank(text.back()));
  for (auto ch : text)
    if (ch == delimiter || ch == quote || ch == '\n' || ch == '\r') {
      needs = true;
      break;
    }
  if (!needs) {
    out += text;
    return;
  }
  out += quote;
  for (auto ch : text) {
    if (ch == quote)
      out += quote;
    out += ch;
  }
  out += quote;
}

void append_csv_row(const row_batch& b, size_t row, std::string& out,
                    char delimiter, char quote) {
  for (size_t i = 0; i < b.num_columns(); ++i) {
    if (i > 0)
      out += delimiter;
    auto& c = b.col(i);
    if (!c.valid(row) || c.type().id == type_id::null_type)
      continue;
    if (c.type().id == type_id::string) {
      auto s = c.str(row);
      if (s.empty()) {
        out += quote;
        out += quote;
      } else {
        append_csv_field(s, out, delimiter, quote);
      }
      continue;
    }
    auto start = out.size();
    append_value(c, row, out);
    if (out.find(delimiter, start) != std::string::npos) {
      std::string text = out.substr(start);
      out.resize(start);
      append_csv_field(text, out, delimiter, quote);
    }
  }
}

void append_json_value(const column& c, size_t row, std::string& out) {
  if (!c.valid(row) || c.type().id == type_id::null_type) {
    out += "null";
    return;
  }
  switch (c.type().id) {
  case type_id::string:
    append_json_string(c.str(row), out);
    return;
  case type_id::timestamp:
  case type_id::interval_ms: {
    out += '"';
    append_value(c, row, out);
    out += '"';
    return;
  }
  case type_id::float64: {
    auto v = c.value<double>(row);
    if (!std::isfinite(v)) {
      out += '"';
      append_double(v, out);
      out += '"';
      return;
    }
    break;
  }
  default:
    break;
  }
  append_value(c, row, out);
}

// -- parsing -----------------------------------------------------------------

caf::expected<bool> parse_bool(std::string_view text) {
  auto s = trim(text);
  if (iequals(s, "true") || s == "1")
    return true;
  if (iequals(s, "false") || s == "0")
    return false;
  return bad(text, "BOOLEAN");
}

caf::expected<int32_t> parse_int32(std::string_view text) {
  return parse_integer<int32_t>(text, "INT");
}

caf::expected<int64_t> parse_int64(std::string_view text) {
  return parse_integer<int64_t>(text, "BIGINT");
}

caf::expected<double> parse_double(std::string_view text) {
  auto s = trim(text);
  if (s.size() > 1 && s[0] == '+' && s[1] != '-')
    s.remove_prefix(1);
  double v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || p != s.data() + s.size())
    return bad(text, "DOUBLE");
  if (ec == std::errc::result_out_of_range) {
    // Too small rounds to zero, too large to infinity (as Java parses).
    auto neg = s[0] == '-';
    auto e = s.find_first_of("eE");
    auto tiny =
        e != std::string_view::npos && e + 1 < s.size() && s[e + 1] == '-';
    if (tiny)
      return neg ? -0.0 : 0.0;
    return neg ? -std::numeric_limits<double>::infinity()
               : std::numeric_limits<double>::infinity();
  }
  if (ec != std::errc{})
    return bad(text, "DOUBLE");
  return v;
}

caf::expected<int128> parse_decimal(std::string_view text, uint8_t precision,
                                    uint8_t scale) {
  auto what = [&] {
    return fmt::format("DECIMAL({}, {})", precision, scale);
  };
  if (precision < 1 || precision > max_decimal_precision || scale > precision)
    return bad(text, what());
  auto s = trim(text);
  size_t i = 0;
  bool neg = false;
  if (i < s.size() && (s[i] == '+' || s[i] == '-'))
    neg = s[i++] == '-';
  auto int_start = i;
  while (i < s.size() && is_digit(s[i]))
    ++i;
  auto int_digits = i - int_start;
  size_t frac_start = i;
  size_t frac_digits = 0;
  if (i < s.size() && s[i] == '.') {
    frac_start = ++i;
    while (i < s.size() && is_digit(s[i]))
      ++i;
    frac_digits = i - frac_start;
  }
  if (int_digits + frac_digits == 0)
    return bad(text, what());
  int64_t exp = 0;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    bool eneg = false;
    if (i < s.size() && (s[i] == '+' || s[i] == '-'))
      eneg = s[i++] == '-';
    if (i == s.size() || !is_digit(s[i]))
      return bad(text, what());
    while (i < s.size() && is_digit(s[i])) {
      if (exp < 100000)
        exp = exp * 10 + (s[i] - '0');
      ++i;
    }
    if (eneg)
      exp = -exp;
  }
  if (i != s.size())
    return bad(text, what());
  auto n = static_cast<int64_t>(int_digits + frac_digits);
  auto digit = [&](int64_t k) -> int {
    if (k < 0 || k >= n)
      return 0;
    auto u = static_cast<size_t>(k);
    return u < int_digits ? s[int_start + u] - '0'
                          : s[frac_start + u - int_digits] - '0';
  };
  // The value is sum(digit(k) * 10^(point - 1 - k)).
  auto point = static_cast<int64_t>(int_digits) + exp;
  int64_t first = 0;
  while (first < n && digit(first) == 0)
    ++first;
  auto integer_digits = first < point ? point - first : 0;
  if (integer_digits > precision - scale)
    return make_error(connector_errc::bad_input,
                      fmt::format("'{}' is out of range for {}",
                                  std::string{s.substr(0, 64)}, what()));
  auto last = point + scale; // digits [first, last) form the scaled value
  int128 v = 0;
  for (auto k = std::max(first, last - int64_t{max_decimal_precision} - 1);
       k < last; ++k)
    v = v * 10 + digit(k);
  if (digit(last) >= 5)
    ++v;
  if (v >= pow10_i128(precision))
    return make_error(connector_errc::bad_input,
                      fmt::format("'{}' is out of range for {}",
                                  std::string{s.substr(0, 64)}, what()));
  return neg ? -v : v;
}

caf::expected<int64_t> parse_timestamp(std::string_view text) {
  auto s = trim(text);
  size_t i = 0;
  civil_time t;
  uint32_t year = 0;
  auto ystart = i;
  if (!read_number(s, i, 4, year) || i - ystart != 4 || i >= s.size() ||
      s[i++] != '-' || !read_number(s, i, 2, t.month) || i >= s.size() ||
      s[i++] != '-' || !read_number(s, i, 2, t.day))
    return bad(text, "TIMESTAMP");
  t.year = year;
  if (i < s.size() && (s[i] == ' ' || s[i] == 'T')) {
    ++i;
    if (!read_number(s, i, 2, t.hour) || i >= s.size() || s[i++] != ':' ||
        !read_number(s, i, 2, t.minute))
      return bad(text, "TIMESTAMP");
    if (i < s.size() && s[i] == ':') {
      ++i;
      if (!read_number(s, i, 2, t.second))
        return bad(text, "TIMESTAMP");
      if (i < s.size() && s[i] == '.') {
        ++i;
        size_t digits = 0;
        while (i < s.size() && is_digit(s[i])) {
          if (digits < 3)
            t.millis = t.millis * 10 + uint32_t(s[i] - '0');
          ++digits;
          ++i;
        }
        if (digits == 0 || digits > 9)
          return bad(text, "TIMESTAMP");
        for (; digits < 3; ++digits)
          t.millis *= 10;
      }
    }
  }
  if (i < s.size() && s[i] == 'Z')
    ++i;
  if (i != s.size() || t.month < 1 || t.month > 12 || t.day < 1 ||
      t.day > days_in_month(t.year, t.month) || t.hour > 23 || t.minute > 59 ||
      t.second > 59)
    return bad(text, "TIMESTAMP");
  return from_civil(t);
}

caf::expected<int64_t> parse_interval(std::string_view text) {
  auto s = trim(text);
  if (s.find(' ') == std::string_view::npos)
    return parse_integer<int64_t>(text, "INTERVAL");
  size_t i = 0;
  bool neg = false;
  if (i < s.size() && (s[i] == '+' || s[i] == '-'))
    neg = s[i++] == '-';
  uint32_t days = 0, h = 0, m = 0, sec = 0, ms = 0;
  if (!read_number(s, i, 9, days) || i >= s.size() || s[i++] != ' ' ||
      !read_number(s, i, 2, h) || i >= s.size() || s[i++] != ':' ||
      !read_number(s, i, 2, m) || i >= s.size() || s[i++] != ':' ||
      !read_number(s, i, 2, sec))
    return bad(text, "INTERVAL");
  if (i < s.size() && s[i] == '.') {
    ++i;
    auto start = i;
    if (!read_number(s, i, 3, ms))
      return bad(text, "INTERVAL");
    for (auto d = i - start; d < 3; ++d)
      ms *= 10;
  }
  if (i != s.size() || h > 23 || m > 59 || sec > 59)
    return bad(text, "INTERVAL");
  auto v = int64_t{days} * ms_per_day + int64_t{h} * 3'600'000 +
           int64_t{m} * 60'000 + int64_t{sec} * 1000 + ms;
  return neg ? -v : v;
}

caf::error push_parsed(column& c, std::string_view text) {
  auto& t = c.type();
  auto push = [&c](auto&& r) -> caf::error {
    if (!r)
      return std::move(r.error());
    c.push(*r);
    return {};
  };
  switch (t.id) {
  case type_id::null_type:
    return bad(text, "NULL");
  case type_id::boolean: {
    auto r = parse_bool(text);
    if (!r)
      return std::move(r.error());
    c.push<uint8_t>(*r ? 1 : 0);
    return {};
  }
  case type_id::int32:
    return push(parse_int32(text));
  case type_id::int64:
    return push(parse_int64(text));
  case type_id::float64:
    return push(parse_double(text));
  case type_id::decimal:
    return push(parse_decimal(text, t.precision, t.scale));
  case type_id::string:
    c.push_str(text);
    return {};
  case type_id::timestamp:
    return push(parse_timestamp(text));
  case type_id::interval_ms:
    return push(parse_interval(text));
  }
  return bad(text, "value");
}

} // namespace sluice::columnar
