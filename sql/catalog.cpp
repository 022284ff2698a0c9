#include "sql/catalog.hpp"

#include <charconv>

#include <fmt/format.h>

#include "runtime/option_strings.hpp"
#include "runtime/options.hpp"
#include "sql/lexer.hpp"

namespace sluice::sql {

bool catalog::add_table(table_entry t) {
  if (declared(t.spec.name))
    return false;
  tables_.push_back(std::move(t));
  return true;
}

bool catalog::add_view(view_entry v) {
  if (declared(v.name))
    return false;
  views_.push_back(std::move(v));
  return true;
}

const table_entry* catalog::table(std::string_view name) const {
  auto i = table_index(name);
  return i < 0 ? nullptr : &tables_[static_cast<size_t>(i)];
}

int32_t catalog::table_index(std::string_view name) const {
  for (size_t i = 0; i < tables_.size(); ++i)
    if (tables_[i].spec.name == name)
      return static_cast<int32_t>(i);
  return -1;
}

const view_entry* catalog::view(std::string_view name) const {
  for (auto& v : views_)
    if (v.name == name)
      return &v;
  return nullptr;
}

std::optional<sql_position> catalog::declared(std::string_view name) const {
  if (auto* t = table(name))
    return t->where;
  if (auto* v = view(name))
    return v->where;
  return std::nullopt;
}

std::string substitute_env(const option_def& o, const getenv_fn& getenv,
                           std::vector<sql_diagnostic>& diags) {
  auto out = o.value;
  // From the last reference back, so earlier offsets stay valid.
  for (auto i = o.env.rbegin(); i != o.env.rend(); ++i) {
    std::optional<std::string> value;
    if (getenv)
      value = getenv(i->name);
    if (!value) {
      diags.push_back(
          {to_position(i->where, o.value_where.file), diag_code::env_missing,
           fmt::format("environment variable {} is not set", i->name)});
      continue;
    }
    out.replace(i->value_offset, i->value_length, *value);
  }
  return out;
}

namespace {

std::string known_names(const connector_info& info) {
  std::string s;
  for (auto& spec : info.options) {
    if (!s.empty())
      s += ", ";
    s += spec.name;
  }
  return s.empty() ? "none" : s;
}

/// Why `value` does not fit `spec`, or empty.
std::string check_value(const option_spec& spec, const std::string& value) {
  auto in_range = [&](int64_t v) -> std::string {
    if (spec.min && v < *spec.min)
      return fmt::format("must be at least {}", *spec.min);
    if (spec.max && v > *spec.max)
      return fmt::format("must be at most {}", *spec.max);
    return {};
  };
  switch (spec.type) {
  case option_type::string:
    if (!spec.one_of.empty()) {
      for (auto& allowed : spec.one_of)
        if (allowed == value)
          return {};
      std::string list;
      for (auto& allowed : spec.one_of)
        list += (list.empty() ? "" : ", ") + allowed;
      return fmt::format("must be one of {}", list);
    }
    return {};
  case option_type::integer: {
    int64_t v = 0;
    auto [p, ec] =
        std::from_chars(value.data(), value.data() + value.size(), v);
    if (ec != std::errc{} || p != value.data() + value.size())
      return "must be an integer";
    return in_range(v);
  }
  case option_type::boolean:
    if (value == "true" || value == "false")
      return {};
    return "must be 'true' or 'false'";
  case option_type::bytes: {
    auto v = parse_bytes(value);
    if (!v)
      return "must be a size such as '64MiB'";
    return in_range(*v);
  }
  case option_type::duration: {
    auto v = parse_flink_duration(value);
    if (!v)
      return "must be a duration such as '30s'";
    return in_range(*v);
  }
  case option_type::string_list:
  case option_type::string_map:
    return {};
  }
  return {};
}

} // namespace

void check_connector_options(const connector_info& info,
                             const std::vector<option_def>& options,
                             const std::map<std::string, std::string>& values,
                             const sql_position& table_where,
                             std::vector<sql_diagnostic>& diags) {
  for (auto& o : options) {
    if (o.key == "connector")
      continue;
    const option_spec* spec = nullptr;
    for (auto& s : info.options)
      if (s.name == o.key)
        spec = &s;
    if (spec == nullptr) {
      // Every source may set its own idle timeout (Flink's option name).
      if (info.source && o.key == "scan.watermark.idle-timeout") {
        if (!parse_flink_duration(values.at(o.key)))
          diags.push_back(
              {o.value_where, diag_code::bad_option,
               fmt::format("option '{}' must be a duration such as '30s'",
                           o.key)});
        continue;
      }
      diags.push_back({o.key_where, diag_code::bad_option,
                       fmt::format("connector '{}' has no option '{}' (it "
                                   "takes: {})",
                                   info.name, o.key, known_names(info))});
      continue;
    }
    auto i = values.find(o.key);
    if (i == values.end() || i->second.find("${env:") != std::string::npos)
      continue; // a missing variable is reported already
    if (auto why = check_value(*spec, i->second); !why.empty())
      diags.push_back({o.value_where, diag_code::bad_option,
                       fmt::format("option '{}' of connector '{}' {}", o.key,
                                   info.name, why)});
  }
  for (auto& spec : info.options)
    if (spec.required && !values.contains(spec.name))
      diags.push_back({table_where, diag_code::bad_option,
                       fmt::format("connector '{}' requires option '{}'",
                                   info.name, spec.name)});
}

} // namespace sluice::sql
