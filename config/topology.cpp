#include "config/topology.hpp"

#include <algorithm>
#include <functional>
#include <map>
#include <set>
#include <tuple>

#include <toml++/toml.h>

#include "config/topology_detail.hpp"
#include "connectors/registry.hpp"
#include "runtime/errors.hpp"

namespace sluice {

namespace {

using detail::join;
using detail::message_of;
using detail::suggestion;

/// An error's message without the code that `describe` puts first.
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
    return {file_, 1, 1};
  }

  topology_spec parse(const toml::table& root);

 private:
  bool convert(const toml::node& node, const option_spec& spec,
               const std::string& what, option_value& out);
  void parse_options(const toml::table& tbl, const std::string& what,
                     const std::string& component,
                     const std::vector<option_spec>& specs,
                     const std::set<std::string>& common, options& out);
  /// Parses a source's or sink's options, then builds the connector from
  /// them when they are valid: that runs the checks only the type knows
  /// (nothing is opened) and reports what they find at the table.
  template <class Type, class Spec>
  void parse_connector(const toml::table& tbl, const Type& type,
                       const std::string& kind, const std::string& what,
                       Spec& spec, const std::set<std::string>& common) {
    auto before = problems_.size();
    parse_options(tbl, described(spec.type, what), spec.name, type.options,
                  common, spec.opts);
    if (problems_.size() != before)
      return;
    connector_context ctx{spec.name,
                          std::make_shared<component_metrics>(spec.name, kind)};
    if (auto made = type.make(ctx, spec.opts); !made)
      error(tbl.source(),
            described(spec.type, what) + ": " + message_of(made.error()));
  }

  std::string string_key(const toml::table& tbl, const std::string& key,
                         const std::string& what, bool required);
  size_t batch_size(const toml::table& tbl, const std::string& what);
  void parse_supervision(const toml::table& tbl, supervision_spec& out);
  void parse_engine(const toml::table& tbl, topology_spec& out);
  void parse_sources(const toml::table& tbl, topology_spec& out);
  void parse_channels(const toml::table& tbl, topology_spec& out);
  void parse_sinks(const toml::table& tbl, topology_spec& out);
  void parse_sink_groups(const toml::table& tbl, topology_spec& out);
  void parse_group_members(const toml::table& t, const std::string& what,
                           sink_group_spec& spec);
  void parse_priorities(const toml::table& t, const std::string& what,
                        sink_group_spec& spec);
  void parse_nodes(const toml::table& tbl, cluster_spec& out);
  void parse_topics(const toml::table& tbl, topology_spec& out);
  void parse_jobs(const toml::table& tbl, topology_spec& out);
  void parse_job_settings(const toml::node& node, const std::string& what,
                          sql_job_spec& out);
  void parse_fsync_key(const toml::node& node, const std::string& what,
                       topic_spec& out);
  void parse_cluster(const toml::table& tbl, cluster_spec& out);
  void parse_tls(const toml::table& tbl, tls_spec& out);
  std::vector<interceptor_spec> parse_interceptors(const toml::node& node,
                                                   const std::string& what);
  const toml::table* component_table(const toml::node& node,
                                     const std::string& kind,
                                     const std::string& what);
  /// Parses each component table of a section: its name, position and
  /// type, then what `finish` reads for its kind.
  template <class Spec, class Finish>
  void parse_each(const toml::table& tbl, const std::string& kind,
                  std::vector<Spec>& out, Finish finish);
  void unknown_type(const toml::table& t, const std::string& kind,
                    const std::string& type,
                    const std::vector<std::string>& known);
  static std::string described(const std::string& type,
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
      error(node.source(), "option '" + spec.name + "' of " + what + ": " +
                               message_of(parsed.error()));
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
  for (auto& msg : check_options(out, specs)) {
    if (msg.rfind("missing required", 0) == 0)
      continue;
    // "option 'NAME' ...": point at that key when the file has it.
    const toml::node* node = nullptr;
    if (auto open = msg.find('\''); open != std::string::npos)
      if (auto close = msg.find('\'', open + 1); close != std::string::npos)
        node = tbl.get(msg.substr(open + 1, close - open - 1));
    error(node ? node->source() : tbl.source(), what + ": " + msg);
  }
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
  auto value = *node->value<std::string>();
  if (required && value.empty())
    error(node->source(), "'" + key + "' of " + what + " must not be empty");
  return value;
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
                                           const std::string& kind,
                                           const std::string& what) {
  auto* tbl = node.as_table();
  // `[sources]` then `type = "tcp"` reads as a source named 'type'.
  if (!tbl)
    error(node.source(), what + " must be a table, got " + type_name(node) +
                             " (each " + kind + " is a table of its own: [" +
                             kind + "s.NAME])");
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
        auto text = message_of(made.error());
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

template <class Spec, class Finish>
void parser::parse_each(const toml::table& tbl, const std::string& kind,
                        std::vector<Spec>& out, Finish finish) {
  for (auto& [k, v] : tbl) {
    std::string name{k.str()};
    auto what = kind + " '" + name + "'";
    auto* t = component_table(v, kind, what);
    if (!t)
      continue;
    Spec spec;
    spec.name = name;
    spec.where = at(k.source());
    keys_[name + "\n"] = spec.where;
    spec.type = string_key(*t, "type", what, true);
    finish(*t, what, spec);
    out.push_back(std::move(spec));
  }
}

void parser::unknown_type(const toml::table& t, const std::string& kind,
                          const std::string& type,
                          const std::vector<std::string>& known) {
  error(t.get("type")->source(), "unknown " + kind + " type '" + type +
                                     "'; known types: " + join(known));
}

std::string parser::described(const std::string& type,
                              const std::string& what) {
  return (type.empty() ? "" : type + " ") + what;
}

void parser::parse_sources(const toml::table& tbl, topology_spec& out) {
  parse_each(
      tbl, "source", out.sources,
      [this](const toml::table& t, const std::string& what, source_spec& spec) {
        spec.channel = string_key(t, "channel", what, true);
        spec.node = string_key(t, "node", what, false);
        spec.batch_size = batch_size(t, what);
        if (auto* i = t.get("interceptors"))
          spec.interceptors = parse_interceptors(*i, what);
        auto* type = registry_.find_source(spec.type);
        if (!spec.type.empty() && !type)
          unknown_type(t, "source", spec.type, registry_.source_names());
        // Without a known type its options cannot be judged.
        if (!type)
          return;
        parse_connector(
            t, *type, "source", what, spec,
            {"type", "channel", "batch_size", "interceptors", "node"});
      });
}

void parser::parse_channels(const toml::table& tbl, topology_spec& out) {
  parse_each(tbl, "channel", out.channels,
             [this](const toml::table& t, const std::string& what,
                    channel_spec& spec) {
               if (!spec.type.empty() && spec.type != "memory" &&
                   spec.type != "file") {
                 unknown_type(t, "channel", spec.type, {"file", "memory"});
                 spec.type.clear();
               }
               spec.node = string_key(t, "node", what, false);
               if (spec.type.empty())
                 return;
               parse_options(t, described(spec.type, what), spec.name,
                             channel_options(spec.type), {"type", "node"},
                             spec.opts);
             });
}

void parser::parse_sinks(const toml::table& tbl, topology_spec& out) {
  parse_each(
      tbl, "sink", out.sinks,
      [this](const toml::table& t, const std::string& what, sink_spec& spec) {
        spec.channel = string_key(t, "channel", what, true);
        spec.node = string_key(t, "node", what, false);
        spec.batch_size = batch_size(t, what);
        auto* type = registry_.find_sink(spec.type);
        if (!spec.type.empty() && !type)
          unknown_type(t, "sink", spec.type, registry_.sink_names());
        if (!type)
          return;
        parse_connector(t, *type, "sink", what, spec,
                        {"type", "channel", "batch_size", "node"});
      });
}

void parser::parse_group_members(const toml::table& t, const std::string& what,
                                 sink_group_spec& spec) {
  auto* sinks = t.get("sinks");
  // Without any, validation says so.
  if (!sinks)
    return parse_priorities(t, what, spec);
  if (auto* arr = sinks->as_array(); !arr) {
    error(sinks->source(), "'sinks' of " + what +
                               " must be an array of sink names, got " +
                               type_name(*sinks));
  } else {
    for (auto& x : *arr) {
      if (!x.is_string()) {
        error(x.source(), "'sinks' of " + what + " must hold sink names, got " +
                              type_name(x));
        continue;
      }
      auto member = *x.value<std::string>();
      keys_.emplace(spec.name + "\nsinks." + member, at(x.source()));
      spec.sinks.push_back(std::move(member));
    }
  }
  parse_priorities(t, what, spec);
}

void parser::parse_priorities(const toml::table& t, const std::string& what,
                              sink_group_spec& spec) {
  // Kept for any type: validation says where a priority does not belong.
  if (auto* prio = t.get("priority")) {
    auto* tbl = prio->as_table();
    if (!tbl) {
      error(prio->source(), "'priority' of " + what +
                                " must map sink names to integers, such as "
                                "priority = { a = 10, b = 5 }");
      return;
    }
    for (auto& [k, v] : *tbl) {
      std::string member{k.str()};
      if (!v.is_integer()) {
        error(v.source(), "priority of '" + member + "' in " + what +
                              " must be an integer, got " + type_name(v));
        continue;
      }
      keys_[spec.name + "\npriority." + member] = at(k.source());
      spec.priorities[member] = *v.value<int64_t>();
    }
  }
}

void parser::parse_sink_groups(const toml::table& tbl, topology_spec& out) {
  parse_each(tbl, "sink_group", out.sink_groups,
             [this](const toml::table& t, const std::string& what,
                    sink_group_spec& spec) {
               parse_group_members(t, what, spec);
               if (!spec.type.empty() && spec.type != "failover" &&
                   spec.type != "load_balance") {
                 unknown_type(t, "sink group", spec.type,
                              {"failover", "load_balance"});
                 spec.type.clear();
               }
               if (spec.type.empty())
                 return;
               parse_options(t, described(spec.type, what), spec.name,
                             sink_group_options(spec.type),
                             {"type", "sinks", "priority"}, spec.opts);
             });
}

void parser::parse_nodes(const toml::table& tbl, cluster_spec& out) {
  static const std::vector<option_spec> specs = {
      {"host", option_type::string, "where peers reach the node", false,
       option_value{std::string{"127.0.0.1"}}},
      {"port", option_type::integer, "the node's control port", true,
       std::nullopt, 1, 65535},
      {"bind", option_type::string, "the address the node listens on", false,
       option_value{std::string{"127.0.0.1"}}},
  };
  for (auto& [k, v] : tbl) {
    std::string name{k.str()};
    auto what = "node '" + name + "'";
    auto* t = component_table(v, "node", what);
    if (!t)
      continue;
    node_spec node;
    node.name = name;
    node.where = at(k.source());
    auto component = "nodes." + name;
    keys_[component + "\n"] = node.where;
    options opts;
    auto before = problems_.size();
    parse_options(*t, what, component, specs, {}, opts);
    if (problems_.size() == before) {
      node.host = opts.get_string("host");
      node.bind = opts.get_string("bind");
      node.port = static_cast<uint16_t>(opts.get_int("port"));
    }
    out.nodes.push_back(std::move(node));
  }
}

void parser::parse_fsync_key(const toml::node& node, const std::string& what,
                             topic_spec& out) {
  if (node.is_integer()) {
    auto ms = *node.value<int64_t>();
    if (ms < 1 || ms > max_fsync_interval_ms)
      error(node.source(), "'fsync' of " + what + " must be \"batch\" or " +
                               "an interval from 1 ms to " +
                               std::to_string(max_fsync_interval_ms) +
                               " ms, got " + std::to_string(ms));
    else
      out.fsync_ms = ms;
    return;
  }
  if (!node.is_string()) {
    error(node.source(), "'fsync' of " + what +
                             " must be \"batch\" or a duration such as "
                             "\"10ms\", got " +
                             type_name(node));
    return;
  }
  if (auto ms = parse_fsync(*node.value<std::string>()))
    out.fsync_ms = *ms;
  else
    error(node.source(), "'fsync' of " + what + ": " + message_of(ms.error()));
}

void parser::parse_topics(const toml::table& tbl, topology_spec& out) {
  for (auto& [k, v] : tbl) {
    std::string name{k.str()};
    auto what = "topic '" + name + "'";
    auto* t = component_table(v, "topic", what);
    if (!t)
      continue;
    topic_spec topic;
    topic.name = name;
    topic.where = at(k.source());
    auto component = "topics." + name;
    keys_[component + "\n"] = topic.where;
    topic.node = string_key(*t, "node", what, false);
    options opts;
    auto before = problems_.size();
    parse_options(*t, what, component, topic_options(), {"node", "fsync"},
                  opts);
    // Values are taken only when all are valid (the defaults stand in
    // otherwise), so that validation does not report them again.
    if (problems_.size() == before) {
      topic.shards = static_cast<uint32_t>(opts.get_int("shards"));
      topic.segment_size = opts.get_int("segment_size");
      topic.retention_time_ms = opts.get_int("retention_time");
      topic.retention_size = opts.get_int("retention_size");
      topic.max_disk_bytes = opts.get_int("max_disk_bytes");
      topic.min_free_space = opts.get_int("min_free_space");
    }
    // An empty one is reported by the option checks.
    if (opts.contains("directory"))
      topic.directory = opts.get_string("directory");
    if (auto* fsync = t->get("fsync"))
      parse_fsync_key(*fsync, what, topic);
    out.topics.push_back(std::move(topic));
  }
}

void parser::parse_job_settings(const toml::node& node, const std::string& what,
                                sql_job_spec& out) {
  auto* t = node.as_table();
  if (!t) {
    error(node.source(), "'set' of " + what +
                             " must be a table of settings, such as set = "
                             "{ \"table.exec.state.ttl\" = \"1 h\" }, got " +
                             type_name(node));
    return;
  }
  for (auto& [k, v] : *t) {
    std::string key{k.str()};
    if (auto text = v.value<std::string>())
      out.settings[key] = *text;
    else if (auto n = v.value<int64_t>(); n && v.is_integer())
      out.settings[key] = std::to_string(*n);
    else if (auto b = v.value<bool>(); b && v.is_boolean())
      out.settings[key] = *b ? "true" : "false";
    else
      error(v.source(), "setting '" + key + "' of " + what +
                            " must be a string, an integer or a boolean, "
                            "got " +
                            type_name(v));
  }
}

void parser::parse_jobs(const toml::table& tbl, topology_spec& out) {
  for (auto& [k, v] : tbl) {
    std::string name{k.str()};
    auto what = "job '" + name + "'";
    auto* t = component_table(v, "job", what);
    if (!t)
      continue;
    sql_job_spec job;
    job.name = name;
    job.where = at(k.source());
    auto component = "jobs." + name;
    keys_[component + "\n"] = job.where;
    job.node = string_key(*t, "node", what, false);
    options opts;
    auto before = problems_.size();
    parse_options(*t, what, component, sql_job_options(), {"node", "set"},
                  opts);
    if (problems_.size() == before && opts.contains("parallelism"))
      job.parallelism = static_cast<uint32_t>(opts.get_int("parallelism"));
    // An empty one is reported by validation.
    if (opts.contains("script"))
      job.script = opts.get_string("script");
    if (auto* script = t->get("script"))
      job.script_where = at(script->source());
    if (auto* set = t->get("set"))
      parse_job_settings(*set, what, job);
    out.jobs.push_back(std::move(job));
  }
}

void parser::parse_tls(const toml::table& tbl, tls_spec& out) {
  static const std::vector<option_spec> specs = {
      {"certificate", option_type::string,
       "PEM file of this node's certificate", true},
      {"key", option_type::string, "PEM file of its private key", true},
      {"ca_file", option_type::string,
       "PEM file of the CA that signs every node", true},
  };
  out.where = at(tbl.source());
  keys_["cluster.tls\n"] = out.where;
  options opts;
  parse_options(tbl, "[cluster.tls]", "cluster.tls", specs, {}, opts);
  for (auto* key : {"certificate", "key", "ca_file"})
    if (opts.contains(key)) {
      auto& value = opts.get_string(key);
      if (value.empty())
        error(tbl.get(key)->source(),
              std::string{"'"} + key + "' of [cluster.tls] must not be empty");
    }
  if (opts.contains("certificate"))
    out.certificate = opts.get_string("certificate");
  if (opts.contains("key"))
    out.key = opts.get_string("key");
  if (opts.contains("ca_file"))
    out.ca_file = opts.get_string("ca_file");
}

void parser::parse_cluster(const toml::table& tbl, cluster_spec& out) {
  static const std::vector<option_spec> specs = {
      {"heartbeat_interval", option_type::duration,
       "how often links send a heartbeat", false, option_value{int64_t{100}}, 1,
       60'000},
      {"peer_timeout", option_type::duration,
       "a peer silent this long is taken for hung", false,
       option_value{int64_t{500}}, 1, 3'600'000},
  };
  options opts;
  auto before = problems_.size();
  parse_options(tbl, "[cluster]", "cluster", specs, {"tls"}, opts);
  if (problems_.size() == before) {
    out.heartbeat_interval_ms = opts.get_int("heartbeat_interval");
    out.peer_timeout_ms = opts.get_int("peer_timeout");
  }
  if (auto* t = tbl.get("tls")) {
    if (auto* tls = t->as_table())
      parse_tls(*tls, out.tls);
    else
      error(t->source(), "'tls' of [cluster] must be a table ([cluster.tls])");
  }
}

topology_spec parser::parse(const toml::table& root) {
  topology_spec spec;
  for (auto& [k, v] : root) {
    std::string key{k.str()};
    auto* t = v.as_table();
    if (key != "supervision" && key != "engine" && key != "sources" &&
        key != "channels" && key != "sinks" && key != "sink_groups" &&
        key != "nodes" && key != "cluster" && key != "topics" &&
        key != "jobs") {
      // `type = "tcp"` before any [table] header is a key, not a section.
      if (!t) {
        error(k.source(), "'" + key +
                              "' is set before any [table] header: an "
                              "option belongs under its component's header, "
                              "such as [sources.NAME]");
        continue;
      }
      error(k.source(),
            "unknown section '" + key +
                "'; allowed: sources, channels, sinks, "
                "sink_groups, supervision, engine, nodes, cluster, topics, "
                "jobs" +
                suggestion(key, {"sources", "channels", "sinks", "sink_groups",
                                 "supervision", "engine", "nodes", "cluster",
                                 "topics", "jobs"}));
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
    else if (key == "sink_groups")
      parse_sink_groups(*t, spec);
    else if (key == "nodes")
      parse_nodes(*t, spec.cluster);
    else if (key == "cluster")
      parse_cluster(*t, spec.cluster);
    else if (key == "topics")
      parse_topics(*t, spec);
    else if (key == "jobs")
      parse_jobs(*t, spec);
    else
      parse_sinks(*t, spec);
  }
  return spec;
}
} // namespace

caf::expected<topology_spec> parse_topology(std::string_view text,
                                            const std::string& file_name,
                                            const connector_registry& registry,
                                            std::vector<diagnostic>& problems) {
  auto before = problems.size();
  if (text.size() > max_topology_bytes) {
    problems.push_back({{file_name, 0, 0},
                        "the text is " + std::to_string(text.size()) +
                            " bytes, more than the " +
                            std::to_string(max_topology_bytes >> 20) +
                            " MiB a topology may hold"});
    return make_error(config_errc::invalid, to_string(problems.back()));
  }
  if (auto deep = detail::check_nesting(text, file_name)) {
    problems.push_back(std::move(*deep));
    return make_error(config_errc::invalid, to_string(problems.back()));
  }
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
  // With nothing declared, validating says only that, which misleads when
  // the parser has already said why (a misspelt section, `[sources]`
  // holding options instead of [sources.NAME]).
  bool nothing = spec.sources.empty() && spec.channels.empty() &&
                 spec.sinks.empty() && spec.topics.empty() && spec.jobs.empty();
  if (!nothing || problems.size() == before)
    for (auto& d : detail::validate_impl(
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
  auto text = detail::read_topology_file(path, problems);
  if (!text)
    return std::move(text.error());
  return parse_topology(*text, path, registry, problems);
}

} // namespace sluice

namespace sluice::detail {

std::string message_of(const caf::error& err) {
  return ::sluice::message_of(err);
}

} // namespace sluice::detail
