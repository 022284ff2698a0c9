#include "runtime/options.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <stdexcept>

#include "runtime/errors.hpp"
#include "runtime/text.hpp"

namespace sluice {

namespace {

template <class T>
const T& get_as(const std::map<std::string, option_value>& values,
                const std::string& name) {
  auto i = values.find(name);
  if (i == values.end())
    throw std::logic_error("option '" + name + "' has no value");
  if (auto* x = std::get_if<T>(&i->second))
    return *x;
  throw std::logic_error("option '" + name + "' has another type");
}

/// Splits "64MiB" into 64 and "mib" (lowercase).
caf::expected<std::pair<int64_t, std::string>>
split_number(std::string_view text) {
  text = trim_space(text);
  int64_t n = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc{} || ptr == text.data())
    return make_error(config_errc::invalid,
                      "expected a number, got '" + std::string{text} + "'");
  if (n < 0)
    return make_error(config_errc::invalid,
                      "must not be negative, got '" + std::string{text} + "'");
  std::string unit{
      trim_space(std::string_view{ptr, text.data() + text.size()})};
  std::transform(unit.begin(), unit.end(), unit.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return std::make_pair(n, unit);
}

/// A limit in the unit the option is written in: "1ms", "64KiB (65536
/// bytes)", "16".
std::string in_unit(int64_t n, option_type type) {
  if (type == option_type::duration)
    return std::to_string(n) + "ms";
  if (type != option_type::bytes)
    return std::to_string(n);
  for (auto [scale, unit] :
       {std::pair<int64_t, const char*>{int64_t{1} << 30, "GiB"},
        {int64_t{1} << 20, "MiB"},
        {int64_t{1} << 10, "KiB"}})
    if (n >= scale && n % scale == 0)
      return std::to_string(n / scale) + unit + " (" + std::to_string(n) +
             " bytes)";
  return std::to_string(n) + " bytes";
}

} // namespace

std::string to_string(option_type x) {
  switch (x) {
  case option_type::string:
    return "string";
  case option_type::integer:
    return "integer";
  case option_type::boolean:
    return "boolean";
  case option_type::bytes:
    return "size (e.g. \"64MiB\")";
  case option_type::duration:
    return "duration (e.g. \"500ms\", \"30s\")";
  case option_type::string_list:
    return "array of strings";
  case option_type::string_map:
    return "table of strings";
  }
  return "?";
}

void options::set(std::string name, option_value value) {
  values_[std::move(name)] = std::move(value);
}

bool options::contains(const std::string& name) const {
  return values_.count(name) > 0;
}

const std::string& options::get_string(const std::string& name) const {
  return get_as<std::string>(values_, name);
}

int64_t options::get_int(const std::string& name) const {
  return get_as<int64_t>(values_, name);
}

bool options::get_bool(const std::string& name) const {
  return get_as<bool>(values_, name);
}

const std::vector<std::string>&
options::get_list(const std::string& name) const {
  return get_as<std::vector<std::string>>(values_, name);
}

const string_map& options::get_map(const std::string& name) const {
  return get_as<string_map>(values_, name);
}

void options::apply_fallbacks(const std::vector<option_spec>& specs) {
  for (auto& spec : specs)
    if (!contains(spec.name) && spec.fallback)
      values_[spec.name] = *spec.fallback;
}

caf::expected<int64_t> parse_bytes(std::string_view text) {
  auto parts = split_number(text);
  if (!parts)
    return parts.error();
  auto [n, unit] = *parts;
  int64_t scale = 0;
  if (unit.empty() || unit == "b")
    scale = 1;
  else if (unit == "k" || unit == "kb")
    scale = 1000;
  else if (unit == "kib")
    scale = 1024;
  else if (unit == "m" || unit == "mb")
    scale = 1000 * 1000;
  else if (unit == "mib")
    scale = 1024 * 1024;
  else if (unit == "g" || unit == "gb")
    scale = 1000 * 1000 * 1000;
  else if (unit == "gib")
    scale = int64_t{1024} * 1024 * 1024;
  else if (unit == "tb")
    scale = int64_t{1000} * 1000 * 1000 * 1000;
  else if (unit == "tib")
    scale = int64_t{1024} * 1024 * 1024 * 1024;
  else
    return make_error(config_errc::invalid,
                      "unknown size unit '" + unit +
                          "' (use B, KB, KiB, MB, MiB, GB, GiB, TB, TiB)");
  if (n > INT64_MAX / scale)
    return make_error(config_errc::invalid, "size too large");
  return n * scale;
}

caf::expected<int64_t> parse_duration(std::string_view text) {
  auto parts = split_number(text);
  if (!parts)
    return parts.error();
  auto [n, unit] = *parts;
  int64_t scale = 0;
  if (unit.empty() || unit == "ms")
    scale = 1;
  else if (unit == "s")
    scale = 1000;
  else if (unit == "m" || unit == "min")
    scale = 60 * 1000;
  else if (unit == "h")
    scale = 3600 * 1000;
  else if (unit == "d")
    scale = 24 * 3600 * 1000;
  else
    return make_error(config_errc::invalid, "unknown duration unit '" + unit +
                                                "' (use ms, s, m, h or d)");
  if (n > INT64_MAX / scale)
    return make_error(config_errc::invalid, "duration too large");
  return n * scale;
}

std::vector<std::string> check_options(const options& opts,
                                       const std::vector<option_spec>& specs) {
  std::vector<std::string> problems;
  for (auto& spec : specs) {
    if (!opts.contains(spec.name)) {
      if (spec.required)
        problems.push_back("missing required option '" + spec.name + "' (" +
                           spec.help + ")");
      continue;
    }
    auto& value = opts.values().at(spec.name);
    switch (spec.type) {
    case option_type::integer:
    case option_type::bytes:
    case option_type::duration:
      if (auto* n = std::get_if<int64_t>(&value)) {
        if (spec.min && *n < *spec.min)
          problems.push_back("option '" + spec.name + "' must be at least " +
                             in_unit(*spec.min, spec.type) + ", got " +
                             in_unit(*n, spec.type));
        if (spec.max && *n > *spec.max)
          problems.push_back("option '" + spec.name + "' must be at most " +
                             in_unit(*spec.max, spec.type) + ", got " +
                             in_unit(*n, spec.type));
      }
      break;
    case option_type::string:
      if (auto* s = std::get_if<std::string>(&value);
          s && spec.required && s->empty())
        problems.push_back("option '" + spec.name + "' must not be empty");
      else if (s && !spec.one_of.empty() &&
               std::find(spec.one_of.begin(), spec.one_of.end(), *s) ==
                   spec.one_of.end()) {
        std::string allowed;
        for (auto& x : spec.one_of)
          allowed += (allowed.empty() ? "\"" : ", \"") + x + "\"";
        problems.push_back("option '" + spec.name + "' must be one of " +
                           allowed + ", got \"" + *s + "\"");
      }
      break;
    default:
      break;
    }
  }
  return problems;
}

} // namespace sluice
