#include "config/topology.hpp"

#include <algorithm>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <tuple>

#include <toml++/toml.h>

#include "connectors/registry.hpp"
#include "runtime/errors.hpp"

namespace sluice {

namespace {

/// Finds where a key of a component was written, for messages.
using position_lookup = std::function<source_position(
    const std::string& component, const std::string& key)>;

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j)
    prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1,
                         prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string suggestion(const std::string& key,
                       const std::vector<std::string>& known) {
  std::string best;
  size_t best_d = 3;
  for (auto& k : known) {
    auto d = edit_distance(key, k);
    if (d < best_d) {
      best_d = d;
      best = k;
    }
  }
  return best.empty() ? std::string{} : "; did you mean '" + best + "'?";
}

std::string join(const std::vector<std::string>& xs) {
  std::string result;
  for (auto& x : xs)
    result += (result.empty() ? "" : ", ") + x;
  return result;
}

bool valid_name(const std::string& name) {
  return !name.empty() &&
         std::all_of(name.begin(), name.end(), [](unsigned char c) {
           return std::isalnum(c) || c == '_' || c == '-' || c == '.';
         });
}

std::vector<option_spec> memory_channel_options() {
  return {
      {"capacity", option_type::integer, "events held", false,
       option_value{int64_t{10'000}}, 1},
      {"transaction_capacity", option_type::integer, "most events per batch",
       false, option_value{int64_t{1'000}}, 1},
      {"byte_capacity", option_type::bytes, "bytes held", false,
       option_value{int64_t{256} << 20}, 1024},
  };
}

std::vector<option_spec> file_channel_options() {
  return {
      {"directory", option_type::string, "directory of the channel's log",
       true},
      {"capacity", option_type::integer, "events held", false,
       option_value{int64_t{1'000'000}}, 1},
      {"transaction_capacity", option_type::integer, "most events per batch",
       false, option_value{int64_t{10'000}}, 1},
      {"segment_size", option_type::bytes, "size of one log segment", false,
       option_value{int64_t{64} << 20}, 64 << 10},
      {"max_disk_bytes", option_type::bytes, "disk the channel may use", false,
       option_value{int64_t{2} << 30}, 1 << 20},
      {"min_free_space", option_type::bytes,
       "free space the channel leaves on the file system", false,
       option_value{int64_t{256} << 20}, 0},
  };
}

class parser {
 public:
  parser(std::string file, const connector_registry& registry,
         std::vector<diagnostic>& problems)
      : file_(std::move(file)), registry_(registry), problems_(problems) {}

  source_position at(const toml::source_region& r) const {
    return {file_, static_cast<uint32_t>(r.begin.line),
            static_cast<uint32_t>(r.begin.column)};
  }

  void error(const source_position& where, std::string msg) {
    problems_.push_back({where, std::move(msg)});
  }

  void error(const toml::source_region& r, std::string msg) {
    error(at(r), std::move(msg));
  }

  source_position key_position(const std::string& component,
                               const std::string& key) const {
    if (auto i = keys_.find(component + "\n" + key); i != keys_.end())
      return i->second;
    if (auto i = keys_.find(component + "\n"); i != keys_.end())
      return i->second;
    return {file_, 0, 0};
  }

  topology_spec parse(const toml::table& root);

 private:
  bool convert(const toml::node& node, const option_spec& spec,
               const std::string& what, option_value& out);
  void parse_options(const toml::table& tbl, const std::string& what,
                     const std::string& component,
                     const std::vector<option_spec>& specs,
                     const std::set<std::string>& common, options& out);
  std::string string_key(const toml::table& tbl, const std::string& key,
                         const std::string& what, bool required);
  size_t batch_size(const toml::table& tbl, const std::string& what);
  void parse_supervision(const toml::table& tbl, supervision_spec& out);
  void parse_engine(const toml::table& tbl, topology_spec& out);
  void parse_sources(const toml::table& tbl, topology_spec& out);
  void parse_channels(const toml::table& tbl, topology_spec& out);
  void parse_sinks(const toml::table& tbl, topology_spec& out);
  std::vector<interceptor_spec> parse_interceptors(const toml::node& node,
                                                   const std::string& what);
  const toml::table* component_table(const toml::node& node,
                                     const std::string& what);

  std::string file_;
  const connector_registry& registry_;
  std::vector<diagnostic>& problems_;
  std::map<std::string, source_position> keys_;
};

std::string type_name(const toml::node& node) {
  switch (node.type()) {
  case toml::node_type::string:
    return "a string";
  case toml::node_type::integer:
    return "an integer";
  case toml::node_type::floating_point:
    return "a float";
  case toml::node_type::boolean:
    return "a boolean";
  case toml::node_type::array:
    return "an array";
  case toml::node_type::table:
    return "a table";
  default:
    return "a date or time";
  }
}

bool parser::convert(const toml::node& node, const option_spec& spec,
                     const std::string& what, option_value& out) {
  auto mismatch = [&] {
    error(node.source(), "option '" + spec.name + "' of " + what + " must be " +
                             to_string(spec.type) + ", got " + type_name(node));
    return false;
  };
  switch (spec.type) {
  case option_type::string:
    if (auto s = node.value<std::string>(); s && node.is_string()) {
      out = *s;
      return true;
    }
    return mismatch();
  case option_type::integer:
    if (node.is_integer()) {
      out = *node.value<int64_t>();
      return true;
    }
    return mismatch();
  case option_type::boolean:
    if (node.is_boolean()) {
      out = *node.value<bool>();
      return true;
    }
    return mismatch();
  case option_type::bytes:
  case option_type::duration: {
    if (node.is_integer()) {
      out = *node.value<int64_t>();
      return true;
    }
    if (!node.is_string())
      return mismatch();
    auto text = *node.value<std::string>();
    auto parsed = spec.type == option_type::bytes ? parse_bytes(text)
                                                  : parse_duration(text);
    if (!parsed) {
      auto text = describe(parsed.error());
      if (auto colon = text.find(": "); colon != std::string::npos)
        text.erase(0, colon + 2);
      error(node.source(),
            "option '" + spec.name + "' of " + what + ": " + text);
      return false;
    }
    out = *parsed;
    return true;
  }
  case option_type::string_list: {
    auto* arr = node.as_array();
    if (!arr)
      return mismatch();
    std::vector<std::string> xs;
    for (auto& x : *arr) {
      if (!x.is_string()) {
        error(x.source(), "option '" + spec.name + "' of " + what +
                              " must hold strings, got " + type_name(x));
        return false;
      }
      xs.push_back(*x.value<std::string>());
    }
    out = std::move(xs);
    return true;
  }
  case option_type::string_map: {
    auto* tbl = node.as_table();
    if (!tbl)
      return mismatch();
    string_map m;
    for (auto& [k, v] : *tbl) {
      if (!v.is_string()) {
        error(v.source(), "option '" + spec.name + "' of " + what +
                              " must map names to strings, got " +
                              type_name(v) + " for '" + std::string{k.str()} +
                              "'");
        return false;
      }
      m[std::string{k.str()}] = *v.value<std::string>();
    }
    out = std::move(m);
    return true;
  }
  }
  return mismatch();
}

void parser::parse_options(const toml::table& tbl, const std::string& what,
                           const std::string& component,
                           const std::vector<option_spec>& specs,
                           const std::set<std::string>& common, options& out) {
  std::vector<std::string> known(common.begin(), common.end());
  for (auto& s : specs)
    known.push_back(s.name);
  for (auto& [k, v] : tbl) {
    std::string key{k.str()};
    keys_[component + "\n" + key] = at(v.source());
    if (common.count(key) > 0)
      continue;
    auto spec = std::find_if(specs.begin(), specs.end(),
                             [&](auto& s) { return s.name == key; });
    if (spec == specs.end()) {
      error(k.source(), "unknown option '" + key + "' for " + what +
                            suggestion(key, known));
      continue;
    }
    option_value value;
    if (convert(v, *spec, what, value))
      out.set(key, std::move(value));
  }
  for (auto& spec : specs)
    if (spec.required && !out.contains(spec.name) && !tbl.contains(spec.name))
      error(tbl.source(),
            what + " needs option '" + spec.name + "' (" + spec.help + ")");
  out.apply_fallbacks(specs);
  for (auto& msg : check_options(out, specs))
    if (msg.rfind("missing required", 0) != 0)
      error(tbl.source(), what + ": " + msg);
}

std::string parser::string_key(const toml::table& tbl, const std::string& key,
                               const std::string& what, bool required) {
  auto* node = tbl.get(key);
  if (!node) {
    if (required)
      error(tbl.source(), what + " needs '" + key + "'");
    return {};
  }
  if (!node->is_string()) {
    error(node->source(), "'" + key + "' of " + what +
                              " must be a string, got " + type_name(*node));
    return {};
  }
  return *node->value<std::string>();
}

size_t parser::batch_size(const toml::table& tbl, const std::string& what) {
  auto* node = tbl.get("batch_size");
  if (!node)
    return 1000;
  if (!node->is_integer()) {
    error(node->source(), "'batch_size' of " + what +
                              " must be an integer, got " + type_name(*node));
    return 1000;
  }
  auto n = *node->value<int64_t>();
  if (n < 1 || n > 1'000'000) {
    error(node->source(), "'batch_size' of " + what +
                              " must be between 1 and 1000000, got " +
                              std::to_string(n));
    return 1000;
  }
  return static_cast<size_t>(n);
}

const toml::table* parser::component_table(const toml::node& node,
                                           const std::string& what) {
  auto* tbl = node.as_table();
  if (!tbl)
    error(node.source(), what + " must be a table, got " + type_name(node));
  return tbl;
}

std::vector<interceptor_spec>
parser::parse_interceptors(const toml::node& node, const std::string& what) {
  std::vector<interceptor_spec> result;
  auto* arr = node.as_array();
  if (!arr) {
    error(node.source(), "'interceptors' of " + what +
                             " must be an array of tables "
                             "([[sources.NAME.interceptors]])");
    return result;
  }
  size_t index = 0;
  for (auto& x : *arr) {
    ++index;
    auto iwhat = "interceptor " + std::to_string(index) + " of " + what;
    auto* tbl = x.as_table();
    if (!tbl) {
      error(x.source(), iwhat + " must be a table");
      continue;
    }
    interceptor_spec spec;
    spec.where = at(tbl->source());
    spec.type = string_key(*tbl, "type", iwhat, true);
    if (spec.type.empty())
      continue;
    auto* type = registry_.find_interceptor(spec.type);
    if (!type) {
      error(tbl->get("type")->source(),
            "unknown interceptor type '" + spec.type +
                "'; known types: " + join(registry_.interceptor_names()));
      continue;
    }
    auto before = problems_.size();
    parse_options(*tbl, spec.type + " " + iwhat, iwhat, type->options, {"type"},
                  spec.opts);
    // Building it checks what only the type knows (a regex compiles).
    if (problems_.size() == before) {
      if (auto made = type->make(spec.opts); !made) {
        auto text = describe(made.error());
        if (auto colon = text.find(": "); colon != std::string::npos)
          text.erase(0, colon + 2);
        auto* at_node = tbl->get("regex");
        error(at_node ? at_node->source() : tbl->source(),
              spec.type + " " + iwhat + ": " + text);
      }
    }
    result.push_back(std::move(spec));
  }
  return result;
}

void parser::parse_supervision(const toml::table& tbl, supervision_spec& out) {
  static const std::vector<option_spec> specs = {
      {"max_restarts", option_type::integer, "", false, std::nullopt, 0},
      {"restart_window", option_type::duration, "", false, std::nullopt, 1},
      {"initial_backoff", option_type::duration, "", false, std::nullopt, 1},
      {"max_backoff", option_type::duration, "", false, std::nullopt, 1},
  };
  options opts;
  parse_options(tbl, "[supervision]", "supervision", specs, {}, opts);
  if (opts.contains("max_restarts"))
    out.max_restarts = opts.get_int("max_restarts");
  if (opts.contains("restart_window"))
    out.restart_window_ms = opts.get_int("restart_window");
  if (opts.contains("initial_backoff"))
    out.initial_backoff_ms = opts.get_int("initial_backoff");
  if (opts.contains("max_backoff"))
    out.max_backoff_ms = opts.get_int("max_backoff");
}

void parser::parse_engine(const toml::table& tbl, topology_spec& out) {
  static const std::vector<option_spec> specs = {
      {"drain_timeout", option_type::duration, "", false, std::nullopt, 0},
  };
  options opts;
  parse_options(tbl, "[engine]", "engine", specs, {}, opts);
  if (opts.contains("drain_timeout"))
    out.drain_timeout_ms = opts.get_int("drain_timeout");
}

void parser::parse_sources(const toml::table& tbl, topology_spec& out) {
  for (auto& [k, v] : tbl) {
    std::string name{k.str()};
    auto what = "source '" + name + "'";
    auto* t = component_table(v, what);
    if (!t)
      continue;
    source_spec spec;
    spec.name = name;
    spec.where = at(k.source());
    keys_[name + "\n"] = spec.where;
    spec.type = string_key(*t, "type", what, true);
    spec.channel = string_key(*t, "channel", what, true);
    spec.batch_size = batch_size(*t, what);
    if (auto* i = t->get("interceptors"))
      spec.interceptors = parse_interceptors(*i, what);
    auto* type = spec.type.empty() ? nullptr : registry_.find_source(spec.type);
    if (!spec.type.empty() && !type)
      error(t->get("type")->source(),
            "unknown source type '" + spec.type +
                "'; known types: " + join(registry_.source_names()));
    static const std::vector<option_spec> none;
    parse_options(*t, (spec.type.empty() ? "" : spec.type + " ") + what, name,
                  type ? type->options : none,
                  {"type", "channel", "batch_size", "interceptors"}, spec.opts);
    out.sources.push_back(std::move(spec));
  }
}

void parser::parse_channels(const toml::table& tbl, topology_spec& out) {
  for (auto& [k, v] : tbl) {
    std::string name{k.str()};
    auto what = "channel '" + name + "'";
    auto* t = component_table(v, what);
    if (!t)
      continue;
    channel_spec spec;
    spec.name = name;
    spec.where = at(k.source());
    keys_[name + "\n"] = spec.where;
    spec.type = string_key(*t, "type", what, true);
    if (!spec.type.empty() && spec.type != "memory" && spec.type != "file") {
      error(t->get("type")->source(), "unknown channel type '" + spec.type +
                                          "'; known types: file, memory");
      spec.type.clear();
    }
    static const std::vector<option_spec> none;
    parse_options(*t, (spec.type.empty() ? "" : spec.type + " ") + what, name,
                  spec.type.empty() ? none : channel_options(spec.type),
                  {"type"}, spec.opts);
    out.channels.push_back(std::move(spec));
  }
}

void parser::parse_sinks(const toml::table& tbl, topology_spec& out) {
  for (auto& [k, v] : tbl) {
    std::string name{k.str()};
    auto what = "sink '" + name + "'";
    auto* t = component_table(v, what);
    if (!t)
      continue;
    sink_spec spec;
    spec.name = name;
    spec.where = at(k.source());
    keys_[name + "\n"] = spec.where;
    spec.type = string_key(*t, "type", what, true);
    spec.channel = string_key(*t, "channel", what, true);
    spec.batch_size = batch_size(*t, what);
    auto* type = spec.type.empty() ? nullptr : registry_.find_sink(spec.type);
    if (!spec.type.empty() && !type)
      error(t->get("type")->source(),
            "unknown sink type '" + spec.type +
                "'; known types: " + join(registry_.sink_names()));
    static const std::vector<option_spec> none;
    parse_options(*t, (spec.type.empty() ? "" : spec.type + " ") + what, name,
                  type ? type->options : none,
                  {"type", "channel", "batch_size"}, spec.opts);
    out.sinks.push_back(std::move(spec));
  }
}

topology_spec parser::parse(const toml::table& root) {
  topology_spec spec;
  static const std::set<std::string> future = {"nodes", "sink_groups", "topics",
                                               "jobs"};
  for (auto& [k, v] : root) {
    std::string key{k.str()};
    if (future.count(key) > 0) {
      error(k.source(), "'" + key + "' is not supported yet in this version");
      continue;
    }
    auto* t = v.as_table();
    if (key != "supervision" && key != "engine" && key != "sources" &&
        key != "channels" && key != "sinks") {
      error(k.source(), "unknown section '" + key +
                            "'; allowed: sources, channels, sinks, "
                            "supervision, engine" +
                            suggestion(key, {"sources", "channels", "sinks",
                                             "supervision", "engine"}));
      continue;
    }
    if (!t) {
      error(v.source(), "'" + key + "' must be a table");
      continue;
    }
    if (key == "supervision")
      parse_supervision(*t, spec.supervision);
    else if (key == "engine")
      parse_engine(*t, spec);
    else if (key == "sources")
      parse_sources(*t, spec);
    else if (key == "channels")
      parse_channels(*t, spec);
    else
      parse_sinks(*t, spec);
  }
  return spec;
}

int64_t int_option(const options& opts, const std::string& key,
                   int64_t fallback) {
  if (!opts.contains(key))
    return fallback;
  if (auto* x = std::get_if<int64_t>(&opts.values().at(key)))
    return *x;
  return fallback;
}

std::vector<diagnostic> validate_impl(topology_spec& spec,
                                      const connector_registry& registry,
                                      const position_lookup& where,
                                      bool check_types) {
  std::vector<diagnostic> problems;
  auto error = [&](const std::string& component, const std::string& key,
                   std::string msg) {
    problems.push_back({where(component, key), std::move(msg)});
  };
  std::map<std::string, std::string> kinds;
  auto name_check = [&](const std::string& name, const std::string& kind) {
    if (!valid_name(name))
      error(name, "",
            kind + " name '" + name +
                "' may use only letters, digits, '_', '-' and '.'");
    auto [i, fresh] = kinds.emplace(name, kind);
    if (!fresh)
      error(name, "",
            "the name '" + name + "' is used by a " + i->second + " and a " +
                kind + "; names must be unique");
  };
  std::map<std::string, const channel_spec*> channels;
  for (auto& c : spec.channels) {
    name_check(c.name, "channel");
    channels.emplace(c.name, &c);
    if (c.type == "memory" && int_option(c.opts, "transaction_capacity", 1000) >
                                  int_option(c.opts, "capacity", 10000))
      error(c.name, "transaction_capacity",
            "transaction_capacity of channel '" + c.name +
                "' exceeds its capacity");
  }
  std::set<std::string> fed, drained;
  for (auto& a : spec.attached_channels) {
    fed.insert(a);
    drained.insert(a);
  }
  auto check_link = [&](const std::string& name, const std::string& kind,
                        const std::string& channel, size_t batch) {
    if (channel.empty())
      return;
    auto i = channels.find(channel);
    if (i == channels.end()) {
      error(name, "channel",
            kind + " '" + name + "' refers to an undeclared channel '" +
                channel + "'" + suggestion(channel, [&] {
                  std::vector<std::string> xs;
                  for (auto& [n, _] : channels)
                    xs.push_back(n);
                  return xs;
                }()));
      return;
    }
    auto tx = int_option(i->second->opts, "transaction_capacity",
                         i->second->type == "file" ? 10'000 : 1'000);
    if (static_cast<int64_t>(batch) > tx)
      error(name, "batch_size",
            "batch_size " + std::to_string(batch) + " of " + kind + " '" +
                name + "' exceeds transaction_capacity " + std::to_string(tx) +
                " of channel '" + channel + "'");
  };
  for (auto& s : spec.sources) {
    name_check(s.name, "source");
    if (check_types && !s.type.empty() && !registry.find_source(s.type))
      error(s.name, "type", "unknown source type '" + s.type + "'");
    check_link(s.name, "source", s.channel, s.batch_size);
    fed.insert(s.channel);
  }
  for (auto& s : spec.sinks) {
    name_check(s.name, "sink");
    if (check_types && !s.type.empty() && !registry.find_sink(s.type))
      error(s.name, "type", "unknown sink type '" + s.type + "'");
    check_link(s.name, "sink", s.channel, s.batch_size);
    drained.insert(s.channel);
  }
  for (auto& c : spec.channels) {
    if (fed.count(c.name) == 0)
      error(c.name, "", "channel '" + c.name + "' has no source feeding it");
    if (drained.count(c.name) == 0)
      error(c.name, "", "channel '" + c.name + "' has no sink draining it");
  }
  return problems;
}

} // namespace

std::string to_string(const diagnostic& x) {
  std::string result = x.where.file.empty() ? "<topology>" : x.where.file;
  if (x.where.line > 0)
    result += ":" + std::to_string(x.where.line) + ":" +
              std::to_string(x.where.column);
  return result + ": error: " + x.message;
}

const std::vector<option_spec>& channel_options(const std::string& type) {
  static const auto memory = memory_channel_options();
  static const auto file = file_channel_options();
  return type == "file" ? file : memory;
}

caf::expected<topology_spec> parse_topology(std::string_view text,
                                            const std::string& file_name,
                                            const connector_registry& registry,
                                            std::vector<diagnostic>& problems) {
  auto before = problems.size();
  toml::table root;
  try {
    root = toml::parse(text, file_name);
  } catch (const toml::parse_error& e) {
    problems.push_back(
        {{file_name, static_cast<uint32_t>(e.source().begin.line),
          static_cast<uint32_t>(e.source().begin.column)},
         std::string{e.description()}});
    return make_error(config_errc::invalid, to_string(problems.back()));
  }
  parser p{file_name, registry, problems};
  auto spec = p.parse(root);
  for (auto& d : validate_impl(
           spec, registry,
           [&](auto&component, auto&key) {
             return p.key_position(component, key);
           },
           false))
    problems.push_back(std::move(d));
  std::stable_sort(problems.begin() + static_cast<ptrdiff_t>(before),
                   problems.end(), [](auto& x, auto& y) {
                     return std::tie(x.where.line, x.where.column) <
                            std::tie(y.where.line, y.where.column);
                   });
  if (problems.size() > before)
    return make_error(config_errc::invalid,
                      std::to_string(problems.size() - before) +
                          " error(s) in " + file_name);
  return spec;
}

caf::expected<topology_spec> load_topology(const std::string& path,
                                           const connector_registry& registry,
                                           std::vector<diagnostic>& problems) {
  std::ifstream in{path};
  if (!in) {
    problems.push_back({{path, 0, 0}, "cannot read the topology file"});
    return make_error(config_errc::not_found, path);
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_topology(ss.str(), path, registry, problems);
}

std::vector<diagnostic> validate(topology_spec& spec,
                                 const connector_registry& registry) {
  std::map<std::string, source_position> where;
  for (auto& s : spec.sources)
    where[s.name] = s.where;
  for (auto& c : spec.channels)
    where[c.name] = c.where;
  for (auto& s : spec.sinks)
    where[s.name] = s.where;
  auto problems = validate_impl(
      spec, registry, [&](auto& component, auto&) { return where[component]; },
      true);
  // Specs built in code may leave options out: fill in and check them.
  auto check = [&](const std::string& name, const source_position& pos,
                   options& opts, const std::vector<option_spec>& specs) {
    opts.apply_fallbacks(specs);
    for (auto& msg : check_options(opts, specs))
      problems.push_back({pos, name + ": " + msg});
  };
  for (auto& s : spec.sources)
    if (auto* t = registry.find_source(s.type))
      check("source '" + s.name + "'", s.where, s.opts, t->options);
  for (auto& c : spec.channels)
    check("channel '" + c.name + "'", c.where, c.opts, channel_options(c.type));
  for (auto& s : spec.sinks)
    if (auto* t = registry.find_sink(s.type))
      check("sink '" + s.name + "'", s.where, s.opts, t->options);
  return problems;
}

} // namespace sluice
