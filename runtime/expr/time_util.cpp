#include "runtime/expr/time_util.hpp"

#include <array>

namespace sluice::expr::time {

namespace {

constexpr int64_t ms_per_day = 86'400'000;

constexpr std::array<const char*, 7> day_names = {
    "Monday", "Tuesday",  "Wednesday", "Thursday",
    "Friday", "Saturday", "Sunday"};
constexpr std::array<const char*, 12> month_names = {
    "January", "February", "March",     "April",   "May",      "June",
    "July",    "August",   "September", "October", "November", "December"};

void append_num(std::string& out, int64_t v, int width) {
  if (v < 0) {
    out += '-';
    v = -v;
  }
  char buf[24];
  int n = 0;
  do {
    buf[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  for (int i = n; i < width; ++i)
    out += '0';
  while (n > 0)
    out += buf[--n];
}

bool is_letter(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

bool known_letter(char c) {
  switch (c) {
  case 'y':
  case 'M':
  case 'd':
  case 'H':
  case 'h':
  case 'm':
  case 's':
  case 'S':
  case 'a':
  case 'E':
  case 'D':
    return true;
  default:
    return false;
  }
}

// Reads up to `max` digits (at least one) from text at pos.
std::optional<int64_t> read_digits(std::string_view text, size_t& pos,
                                   int max) {
  int64_t v = 0;
  int n = 0;
  while (pos < text.size() && n < max && text[pos] >= '0' && text[pos] <= '9') {
    v = v * 10 + (text[pos] - '0');
    ++pos;
    ++n;
  }
  if (n == 0)
    return std::nullopt;
  return v;
}

} // namespace

civil civil_from_days(int64_t z) noexcept {
  // Eras of 400 years (146097 days) starting on 0000-03-01, so the leap
  // day is the last day of a "year".
  z += 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  civil c;
  c.day = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  c.month = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  c.year = yoe + era * 400 + (c.month <= 2 ? 1 : 0);
  return c;
}

int64_t days_from_civil(int64_t y, int m, int d) noexcept {
  y -= m <= 2 ? 1 : 0;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;
  int64_t mp = m > 2 ? m - 3 : m + 9;
  int64_t doy = (153 * mp + 2) / 5 + d - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

civil to_civil(int64_t ms) noexcept {
  auto days = floor_div(ms, ms_per_day);
  auto rest = ms - days * ms_per_day;
  auto c = civil_from_days(days);
  c.hour = static_cast<int>(rest / 3'600'000);
  c.minute = static_cast<int>(rest / 60'000 % 60);
  c.second = static_cast<int>(rest / 1000 % 60);
  c.millis = static_cast<int>(rest % 1000);
  return c;
}

int64_t from_civil(const civil& c) noexcept {
  return days_from_civil(c.year, c.month, c.day) * ms_per_day +
         c.hour * 3'600'000LL + c.minute * 60'000LL + c.second * 1000LL +
         c.millis;
}

int weekday(int64_t days) noexcept {
  // 1970-01-01 was a Thursday (3).
  auto w = (days + 3) % 7;
  return static_cast<int>(w < 0 ? w + 7 : w);
}

std::optional<pattern> compile(std::string_view text) {
  pattern p;
  p.source = std::string{text};
  size_t i = 0;
  auto add_text = [&](std::string s) {
    if (!p.tokens.empty() && p.tokens.back().letter == 0)
      p.tokens.back().text += s;
    else
      p.tokens.push_back(pattern_token{0, 0, std::move(s)});
  };
  while (i < text.size()) {
    auto c = text[i];
    if (c == '\'') {
      if (i + 1 < text.size() && text[i + 1] == '\'') {
        add_text("'");
        i += 2;
        continue;
      }
      std::string lit;
      ++i;
      for (;;) {
        if (i >= text.size())
          return std::nullopt;
        if (text[i] == '\'') {
          if (i + 1 < text.size() && text[i + 1] == '\'') {
            lit += '\'';
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        lit += text[i++];
      }
      add_text(std::move(lit));
    } else if (is_letter(c)) {
      if (!known_letter(c))
        return std::nullopt;
      int n = 0;
      while (i < text.size() && text[i] == c) {
        ++n;
        ++i;
      }
      p.tokens.push_back(pattern_token{c, n, {}});
    } else {
      add_text(std::string(1, c));
      ++i;
    }
  }
  return p;
}

void format(int64_t ms, const pattern& p, std::string& out) {
  auto c = to_civil(ms);
  for (auto& t : p.tokens) {
    switch (t.letter) {
    case 0:
      out += t.text;
      break;
    case 'y':
      if (t.width == 2)
        append_num(out, (c.year % 100 + 100) % 100, 2);
      else
        append_num(out, c.year, t.width);
      break;
    case 'M':
      if (t.width >= 4)
        out += month_names[c.month - 1];
      else if (t.width == 3)
        out.append(month_names[c.month - 1], 3);
      else
        append_num(out, c.month, t.width);
      break;
    case 'd':
      append_num(out, c.day, t.width);
      break;
    case 'D':
      append_num(out,
                 days_from_civil(c.year, c.month, c.day) -
                     days_from_civil(c.year, 1, 1) + 1,
                 t.width);
      break;
    case 'H':
      append_num(out, c.hour, t.width);
      break;
    case 'h':
      append_num(out, c.hour % 12 == 0 ? 12 : c.hour % 12, t.width);
      break;
    case 'm':
      append_num(out, c.minute, t.width);
      break;
    case 's':
      append_num(out, c.second, t.width);
      break;
    case 'S': {
      // Java prints the milliseconds as a number; SSS is the usual form.
      append_num(out, c.millis, t.width);
      break;
    }
    case 'a':
      out += c.hour < 12 ? "AM" : "PM";
      break;
    case 'E': {
      auto name = day_names[weekday(floor_div(ms, ms_per_day))];
      if (t.width >= 4)
        out += name;
      else
        out.append(name, 3);
      break;
    }
    }
  }
}

std::optional<int64_t> parse(std::string_view text, const pattern& p) {
  civil c;
  size_t pos = 0;
  bool pm = false;
  bool has_ampm = false;
  for (size_t k = 0; k < p.tokens.size(); ++k) {
    auto& t = p.tokens[k];
    // A number followed directly by another number takes exactly its
    // width ("yyyyMMdd"); otherwise as many digits as there are.
    bool adjacent = k + 1 < p.tokens.size() && p.tokens[k + 1].letter != 0;
    int max = adjacent ? t.width : 18;
    std::optional<int64_t> v;
    switch (t.letter) {
    case 0:
      if (text.substr(pos, t.text.size()) != t.text)
        return std::nullopt;
      pos += t.text.size();
      continue;
    case 'a':
      if (text.substr(pos, 2) == "AM" || text.substr(pos, 2) == "am") {
        has_ampm = true;
      } else if (text.substr(pos, 2) == "PM" || text.substr(pos, 2) == "pm") {
        has_ampm = pm = true;
      } else {
        return std::nullopt;
      }
      pos += 2;
      continue;
    case 'E':
    case 'D':
      return std::nullopt; // not parsed
    default:
      break;
    }
    if (t.letter == 'M' && t.width >= 3) {
      bool found = false;
      for (int m = 0; m < 12 && !found; ++m) {
        std::string_view name = month_names[m];
        auto len = t.width == 3 ? 3 : name.size();
        if (text.substr(pos, len) == name.substr(0, len)) {
          c.month = m + 1;
          pos += len;
          found = true;
        }
      }
      if (!found)
        return std::nullopt;
      continue;
    }
    v = read_digits(text, pos, max);
    if (!v)
      return std::nullopt;
    switch (t.letter) {
    case 'y':
      c.year = t.width == 2 ? 2000 + *v : *v;
      break;
    case 'M':
      c.month = static_cast<int>(*v);
      break;
    case 'd':
      c.day = static_cast<int>(*v);
      break;
    case 'H':
    case 'h':
      c.hour = static_cast<int>(*v);
      break;
    case 'm':
      c.minute = static_cast<int>(*v);
      break;
    case 's':
      c.second = static_cast<int>(*v);
      break;
    case 'S':
      c.millis = static_cast<int>(*v);
      break;
    }
  }
  if (pos != text.size())
    return std::nullopt;
  if (has_ampm) {
    if (c.hour < 1 || c.hour > 12)
      return std::nullopt;
    c.hour = c.hour % 12 + (pm ? 12 : 0);
  }
  if (c.month < 1 || c.month > 12 || c.day < 1 || c.day > 31 || c.hour > 23 ||
      c.minute > 59 || c.second > 59 || c.millis > 999)
    return std::nullopt;
  if (civil_from_days(days_from_civil(c.year, c.month, c.day)).day != c.day)
    return std::nullopt; // 2023-02-30
  return from_civil(c);
}

std::optional<int64_t> parse_sql(std::string_view text) {
  while (!text.empty() && text.back() == ' ')
    text.remove_suffix(1);
  while (!text.empty() && text.front() == ' ')
    text.remove_prefix(1);
  if (!text.empty() && text.back() == 'Z')
    text.remove_suffix(1);
  civil c;
  size_t pos = 0;
  auto num = [&](int digits, int64_t& out) {
    auto start = pos;
    auto v = read_digits(text, pos, digits);
    if (!v || (pos - start != static_cast<size_t>(digits) && digits != 4))
      return false;
    out = *v;
    return true;
  };
  auto expect = [&](char ch) {
    if (pos < text.size() && text[pos] == ch) {
      ++pos;
      return true;
    }
    return false;
  };
  int64_t y, mo, d, h = 0, mi = 0, s = 0;
  if (!num(4, y) || !expect('-') || !num(2, mo) || !expect('-') || !num(2, d))
    return std::nullopt;
  int64_t millis = 0;
  if (pos < text.size()) {
    if (!expect(' ') && !expect('T'))
      return std::nullopt;
    if (!num(2, h) || !expect(':') || !num(2, mi))
      return std::nullopt;
    if (expect(':')) {
      if (!num(2, s))
        return std::nullopt;
      if (expect('.')) {
        int n = 0;
        while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
          if (n < 3)
            millis = millis * 10 + (text[pos] - '0');
          ++n;
          ++pos;
        }
        if (n == 0)
          return std::nullopt;
        for (; n < 3; ++n)
          millis *= 10;
      }
    }
    if (pos != text.size())
      return std::nullopt;
  }
  c.year = y;
  c.month = static_cast<int>(mo);
  c.day = static_cast<int>(d);
  c.hour = static_cast<int>(h);
  c.minute = static_cast<int>(mi);
  c.second = static_cast<int>(s);
  c.millis = static_cast<int>(millis);
  if (c.month < 1 || c.month > 12 || c.day < 1 || c.hour > 23 ||
      c.minute > 59 || c.second > 59)
    return std::nullopt;
  if (civil_from_days(days_from_civil(c.year, c.month, c.day)).day != c.day)
    return std::nullopt;
  return from_civil(c);
}

void append_sql(int64_t ms, std::string& out) {
  static const auto p = *compile("yyyy-MM-dd HH:mm:ss.SSS");
  format(ms, p, out);
}

std::optional<field> parse_field(std::string_view u) {
  static constexpr std::array<std::pair<std::string_view, field>, 12> names = {
      {{"YEAR", field::year},
       {"QUARTER", field::quarter},
       {"MONTH", field::month},
       {"WEEK", field::week},
       {"DAY", field::day},
       {"DOY", field::doy},
       {"DOW", field::dow},
       {"HOUR", field::hour},
       {"MINUTE", field::minute},
       {"SECOND", field::second},
       {"MILLISECOND", field::millisecond},
       {"EPOCH", field::epoch}}};
  for (auto& [name, f] : names)
    if (name == u)
      return f;
  return std::nullopt;
}

int64_t extract(field f, int64_t ms) noexcept {
  auto days = floor_div(ms, ms_per_day);
  auto c = to_civil(ms);
  switch (f) {
  case field::year:
    return c.year;
  case field::quarter:
    return (c.month - 1) / 3 + 1;
  case field::month:
    return c.month;
  case field::week: {
    // ISO 8601: the week with the year's first Thursday is week 1.
    auto wd = weekday(days); // 0 = Monday
    auto thursday = days - wd + 3;
    auto ty = civil_from_days(thursday).year;
    return (thursday - days_from_civil(ty, 1, 1)) / 7 + 1;
  }
  case field::day:
    return c.day;
  case field::doy:
    return days - days_from_civil(c.year, 1, 1) + 1;
  case field::dow:
    return (weekday(days) + 1) % 7 + 1;
  case field::hour:
    return c.hour;
  case field::minute:
    return c.minute;
  case field::second:
    return c.second;
  case field::millisecond:
    return c.second * 1000 + c.millis;
  case field::epoch:
    return floor_div(ms, 1000);
  }
  return 0;
}

} // namespace sluice::expr::time
