#include "runtime/option_strings.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <optional>
#include <string_view>

#include "runtime/errors.hpp"
#include "runtime/text.hpp"

namespace sluice {

namespace {

std::string lower(std::string_view s) {
  std::string out{s};
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return out;
}

/// Rewrites Flink's long duration units ("10 seconds", "1 min") into the
/// short ones parse_duration takes ("10s", "1m").
std::string short_duration_units(std::string_view text) {
  auto s = trim_space(text);
  size_t i = 0;
  while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) ||
                          s[i] == '-' || s[i] == '+'))
    ++i;
  auto unit = lower(trim_space(s.substr(i)));
  static const std::pair<const char*, const char*> aliases[] = {
      {"milli", "ms"},        {"millis", "ms"}, {"millisecond", "ms"},
      {"milliseconds", "ms"}, {"sec", "s"},     {"secs", "s"},
      {"second", "s"},        {"seconds", "s"}, {"mins", "m"},
      {"minute", "m"},        {"minutes", "m"}, {"hour", "h"},
      {"hours", "h"},         {"day", "d"},     {"days", "d"},
  };
  for (auto [from, to] : aliases)
    if (unit == from)
      return std::string{s.substr(0, i)} + to;
  return std::string{s};
}

std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> out;
  if (trim_space(s).empty())
    return out;
  for (;;) {
    auto pos = s.find(sep);
    out.emplace_back(trim_space(s.substr(0, pos)));
    if (pos == std::string_view::npos)
      return out;
    s.remove_prefix(pos + 1);
  }
}

/// Stores the typed value of `text` for `spec` in `out`; on failure
/// returns false and `problem` names the option and the value.
bool convert(const option_spec& spec, const std::string& text,
             option_value& out, std::string& problem) {
  auto fail = [&](std::string_view why) {
    problem = "option '" + spec.name + "': '" + text + "' " + std::string{why};
    return false;
  };
  switch (spec.type) {
  case option_type::string:
    out = text;
    return true;
  case option_type::integer: {
    auto s = trim_space(text);
    if (s.size() > 1 && s[0] == '+')
      s.remove_prefix(1);
    int64_t n = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    if (s.empty() || ec != std::errc{} || p != s.data() + s.size())
      return fail("is not an integer");
    out = n;
    return true;
  }
  case option_type::boolean: {
    auto s = lower(trim_space(text));
    if (s != "true" && s != "false")
      return fail("is not a boolean (true or false)");
    out = s == "true";
    return true;
  }
  case option_type::duration: {
    auto n = parse_flink_duration(text);
    if (!n)
      return fail("is not a duration (e.g. '200ms', '10 s', '1 min')");
    out = *n;
    return true;
  }
  case option_type::bytes: {
    auto n = parse_bytes(text);
    if (!n)
      return fail("is not a size (e.g. '64MiB', '1 gb', '4096')");
    out = *n;
    return true;
  }
  case option_type::string_list:
    out = split(text, ';');
    return true;
  case option_type::string_map: {
    string_map m;
    for (auto& entry : split(text, ',')) {
      auto colon = entry.find(':');
      if (colon == std::string::npos)
        return fail("is not a map ('key1:value1,key2:value2')");
      m[std::string{trim_space(std::string_view{entry}.substr(0, colon))}] =
          std::string{trim_space(std::string_view{entry}.substr(colon + 1))};
    }
    out = std::move(m);
    return true;
  }
  }
  return fail("has an unknown option type");
}

} // namespace

caf::expected<options>
options_from_strings(const std::vector<option_spec>& specs,
                     const std::map<std::string, std::string>& values) {
  options result;
  std::vector<std::string> problems;
  for (auto& entry : values) {
    // A named reference, not a structured binding: lambdas capture it.
    const std::string& key = entry.first;
    const std::string& text = entry.second;
    if (std::find(table_level_options.begin(), table_level_options.end(),
                  key) != table_level_options.end())
      continue;
    auto spec =
        std::find_if(specs.begin(), specs.end(),
                     [&](const option_spec& x) { return x.name == key; });
    if (spec == specs.end()) {
      std::string known;
      for (auto& x : specs)
        known += (known.empty() ? "'" : ", '") + x.name + "'";
      problems.push_back("unknown option '" + key + "'" +
                         (known.empty() ? std::string{" (it takes none)"}
                                        : " (known: " + known + ")"));
      continue;
    }
    std::string problem;
    option_value value;
    if (!convert(*spec, text, value, problem)) {
      problems.push_back(std::move(problem));
      continue;
    }
    result.set(key, std::move(value));
  }
  // Ranges, one_of and required options (their messages name the value).
  for (auto& problem : check_options(result, specs))
    problems.push_back(std::move(problem));
  if (!problems.empty()) {
    std::string text;
    for (auto& p : problems)
      text += (text.empty() ? "" : "; ") + p;
    return make_error(config_errc::invalid, std::move(text));
  }
  result.apply_fallbacks(specs);
  return result;
}

caf::expected<int64_t> parse_flink_duration(std::string_view text) {
  return parse_duration(short_duration_units(text));
}

} // namespace sluice
