#include <algorithm>
#include <cctype>
#include <filesystem>
#include <functional>
#include <map>
#include <set>

#include <unistd.h>

#include "config/tls_files.hpp"
#include "config/topology.hpp"
#include "config/topology_detail.hpp"
#include "connectors/registry.hpp"
#include "connectors/topic.hpp"
#include "runtime/errors.hpp"
#include "runtime/paths.hpp"

namespace sluice {

namespace {

using detail::message_of;

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

std::vector<option_spec> make_topic_options() {
  return {
      {"directory", option_type::string,
       "directory of the topic's metadata and shard logs", true},
      {"shards", option_type::integer, "number of shards, fixed at creation",
       false, option_value{int64_t{1}}, 1, 1024},
      {"segment_size", option_type::bytes, "size of one shard log segment",
       false, option_value{int64_t{256} << 20}, 64 << 10, int64_t{1} << 30},
      {"retention_time", option_type::duration,
       "a segment whose newest record is older goes (0: keep for ever)", false,
       option_value{int64_t{0}}, 0},
      {"retention_size", option_type::bytes,
       "oldest segments of a shard go while it holds more (0: no limit)", false,
       option_value{int64_t{0}}, 0},
      {"max_disk_bytes", option_type::bytes,
       "disk one shard may use (0: only the disk's limit)", false,
       option_value{int64_t{0}}, 0},
      {"min_free_space", option_type::bytes,
       "free space the topic leaves on the file system", false,
       option_value{int64_t{256} << 20}, 0},
  };
}

std::vector<option_spec> failover_group_options() {
  return {
      {"penalty", option_type::duration,
       "penalty of a member's first failure, doubled per consecutive failure",
       false, option_value{int64_t{1'000}}, 1, 86'400'000},
      {"maxpenalty", option_type::duration, "longest penalty", false,
       option_value{int64_t{30'000}}, 1, 86'400'000},
  };
}

std::vector<option_spec> load_balance_group_options() {
  return {
      {"selector",
       option_type::string,
       "how members are picked",
       false,
       option_value{std::string{"round_robin"}},
       std::nullopt,
       std::nullopt,
       {"round_robin", "random"}},
      {"backoff", option_type::boolean,
       "a failed member waits longer after each consecutive failure", false,
       option_value{false}},
      {"max_timeout", option_type::duration, "longest back-off", false,
       option_value{int64_t{30'000}}, 1'000, 86'400'000},
  };
}

std::string string_option(const options& opts, const std::string& key) {
  if (!opts.contains(key))
    return {};
  if (auto* x = std::get_if<std::string>(&opts.values().at(key)))
    return *x;
  return {};
}

int64_t int_option(const options& opts, const std::string& key,
                   int64_t fallback) {
  if (!opts.contains(key))
    return fallback;
  if (auto* x = std::get_if<int64_t>(&opts.values().at(key)))
    return *x;
  return fallback;
}

/// Members, priorities and options of every sink group.
void validate_sink_groups(const topology_spec& spec,
                          const detail::position_lookup& where,
                          bool check_types, std::vector<diagnostic>& problems) {
  auto error = [&](const std::string& component, const std::string& key,
                   std::string msg) {
    problems.push_back({where(component, key), std::move(msg)});
  };
  std::map<std::string, const sink_spec*> sinks;
  std::vector<std::string> sink_names;
  for (auto& s : spec.sinks) {
    sinks.emplace(s.name, &s);
    sink_names.push_back(s.name);
  }
  std::map<std::string, std::string> group_of; // sink -> group
  for (auto& g : spec.sink_groups) {
    auto what = "sink_group '" + g.name + "'";
    bool failover = g.type == "failover";
    if (check_types && g.type.empty())
      error(g.name, "type", what + " needs a type (failover or load_balance)");
    else if (check_types && !failover && g.type != "load_balance")
      error(g.name, "type",
            "unknown sink group type '" + g.type +
                "'; known types: failover, load_balance");
    if (g.sinks.empty())
      error(g.name, "sinks",
            what + " needs at least one sink (sinks = [\"a\", ...])");
    std::set<std::string> seen;
    const sink_spec* first = nullptr;
    for (auto& m : g.sinks) {
      auto key = "sinks." + m;
      if (!seen.insert(m).second) {
        error(g.name, key, what + " names sink '" + m + "' twice");
        continue;
      }
      auto i = sinks.find(m);
      if (i == sinks.end()) {
        error(g.name, key,
              what + " names an undeclared sink '" + m + "'" +
                  detail::suggestion(m, sink_names));
        continue;
      }
      auto [other, fresh] = group_of.emplace(m, g.name);
      if (!fresh)
        error(g.name, key,
              "sink '" + m + "' is in sink groups '" + other->second +
                  "' and '" + g.name + "'; a sink belongs to one group");
      if (!first) {
        first = i->second;
        continue;
      }
      if (i->second->channel != first->channel)
        error(g.name, key,
              "members of " + what + " must drain one channel: '" +
                  first->name + "' drains '" + first->channel + "', '" + m +
                  "' drains '" + i->second->channel + "'");
      auto node = [](const sink_spec& x) {
        return x.node.empty() ? std::string{"the default node"}
                              : "'" + x.node + "'";
      };
      if (i->second->node != first->node)
        error(g.name, key,
              "members of " + what + " must run on one node: '" + first->name +
                  "' is on " + node(*first) + ", '" + m + "' on " +
                  node(*i->second));
    }
    if (!failover) {
      if (!g.priorities.empty() && !g.type.empty())
        error(g.name, "priority",
              "'priority' applies only to failover groups; " + what + " is " +
                  g.type);
      continue;
    }
    std::map<int64_t, std::string> by_priority;
    for (auto& [m, p] : g.priorities) {
      if (seen.count(m) == 0) {
        error(g.name, "priority." + m,
              what + " gives a priority to '" + m +
                  "', which is not one of its sinks" +
                  detail::suggestion(m, g.sinks));
        continue;
      }
      auto [other, fresh] = by_priority.emplace(p, m);
      if (!fresh)
        error(g.name, "priority." + m,
              "priority " + std::to_string(p) + " of '" + m + "' in " + what +
                  " is also the priority of '" + other->second +
                  "'; priorities must differ");
    }
    for (auto& m : seen)
      if (sinks.count(m) > 0 && g.priorities.count(m) == 0)
        error(g.name, g.priorities.empty() ? "" : "priority",
              "sink '" + m + "' of failover " + what +
                  " needs a priority (priority = { " + m +
                  " = N }, higher "
                  "wins)");
    if (int_option(g.opts, "maxpenalty", 30'000) <
        int_option(g.opts, "penalty", 1'000))
      error(g.name, "maxpenalty",
            "maxpenalty of " + what + " is below its penalty");
  }
}

using error_fn = std::function<void(const std::string& component,
                                    const std::string& key, std::string msg)>;

/// The TLS files are checked here, before any actor system starts: CAF
/// aborts the process on an SSL endpoint it cannot set up.
void check_tls(const tls_spec& tls, const error_fn& error) {
  for (auto& p : check_tls_files(tls))
    error("cluster.tls", p.key, std::move(p.message));
}

/// Nodes, the cluster's timing, and where each component runs.
void check_cluster(const topology_spec& spec, const error_fn& error) {
  auto& cluster = spec.cluster;
  std::map<std::string, const node_spec*> nodes;
  std::map<std::pair<std::string, int64_t>, std::string> ports; // -> user
  auto claim_port = [&](const std::string& host, int64_t port,
                        const std::string& component, const std::string& key,
                        const std::string& what) {
    auto [i, fresh] = ports.emplace(std::pair{host, port}, what);
    if (!fresh)
      error(component, key,
            what + " uses port " + std::to_string(port) + " of " + host +
                ", already used by " + i->second);
  };
  for (auto& n : cluster.nodes) {
    auto component = "nodes." + n.name;
    if (!valid_name(n.name))
      error(component, "",
            "node name '" + n.name +
                "' may use only letters, digits, '_', '-' and '.'");
    if (!nodes.emplace(n.name, &n).second)
      error(component, "", "node '" + n.name + "' is declared twice");
    if (n.port == 0)
      error(component, "port", "node '" + n.name + "' needs a control port");
    else
      claim_port(n.host, n.port, component, "port",
                 "the control port of node '" + n.name + "'");
  }
  if (cluster.heartbeat_interval_ms >= cluster.peer_timeout_ms)
    error("cluster", "peer_timeout",
          "peer_timeout of [cluster] (" +
              std::to_string(cluster.peer_timeout_ms) +
              " ms) must be longer than its heartbeat_interval (" +
              std::to_string(cluster.heartbeat_interval_ms) + " ms)");
  check_tls(cluster.tls, error);
  std::vector<std::string> names;
  for (auto& [n, _] : nodes)
    names.push_back(n);
  // Where each component runs: a declared node, or (without nodes) none.
  // `component` finds the position; `name` is what messages call it.
  auto placed_as = [&](const std::string& component, const std::string& name,
                       const std::string& kind, const std::string& node) {
    if (nodes.empty()) {
      if (!node.empty())
        error(component, "node",
              kind + " '" + name + "' names node '" + node +
                  "', but the topology declares no nodes; declare it as "
                  "[nodes." +
                  node + "]");
      return;
    }
    if (node.empty())
      error(component, "",
            kind + " '" + name +
                "' must name the node it runs on (node = \"NAME\"); "
                "declared nodes: " +
                detail::join(names));
    else if (nodes.count(node) == 0)
      error(component, "node",
            kind + " '" + name + "' names an undeclared node '" + node + "'" +
                detail::suggestion(node, names) +
                "; declared nodes: " + detail::join(names));
  };
  auto placed = [&](const std::string& name, const std::string& kind,
                    const std::string& node) {
    placed_as(name, name, kind, node);
  };
  for (auto& j : spec.jobs)
    placed_as("jobs." + j.name, j.name, "job", j.node);
  std::map<std::string, std::string> channel_node;
  for (auto& c : spec.channels) {
    placed(c.name, "channel", c.node);
    channel_node[c.name] = c.node;
  }
  auto same_node = [&](const std::string& name, const std::string& kind,
                       const std::string& node, const std::string& channel) {
    auto i = channel_node.find(channel);
    if (nodes.empty() || node.empty() || nodes.count(node) == 0 ||
        i == channel_node.end() || i->second.empty() || i->second == node)
      return;
    error(name, "node",
          kind + " '" + name + "' runs on node '" + node +
              "' but its channel '" + channel + "' runs on node '" + i->second +
              "'; a channel's sources and sinks run on its node (a forward "
              "sink and a forward source cross nodes)");
  };
  auto host_of = [&](const std::string& node) {
    auto i = nodes.find(node);
    return i == nodes.end() ? std::string{"127.0.0.1"} : i->second->host;
  };
  for (auto& s : spec.sources) {
    placed(s.name, "source", s.node);
    same_node(s.name, "source", s.node, s.channel);
    if (s.type == "forward" && s.opts.contains("port"))
      if (auto port = int_option(s.opts, "port", 0); port > 0)
        claim_port(host_of(s.node), port, s.name, "port",
                   "forward source '" + s.name + "'");
  }
  for (auto& s : spec.sinks) {
    placed(s.name, "sink", s.node);
    same_node(s.name, "sink", s.node, s.channel);
  }
}

/// An error's message without the code that `describe` puts first.
/// "DIR" normalized, without a trailing '/'.
std::string normal_path(const std::string& path) {
  auto normal = std::filesystem::path{path}.lexically_normal().string();
  while (normal.size() > 1 && normal.ends_with('/'))
    normal.pop_back();
  return normal;
}

/// True when `inner` is `outer` or lies under it.
bool within(const std::string& inner, const std::string& outer) {
  return inner == outer || (inner.size() > outer.size() &&
                            inner.compare(0, outer.size(), outer) == 0 &&
                            (outer == "/" || inner[outer.size()] == '/'));
}

/// Each topic's values, directory and node.
void check_topics(const topology_spec& spec, const error_fn& error,
                  bool check_types) {
  std::set<std::string> node_names;
  for (auto& n : spec.cluster.nodes)
    node_names.insert(n.name);
  std::vector<std::string> declared(node_names.begin(), node_names.end());
  // Directories of file channels and of topics: none may hold another.
  std::vector<std::pair<std::string, std::string>> dirs; // path -> owner
  for (auto& c : spec.channels)
    if (c.type == "file")
      if (auto path = string_option(c.opts, "directory"); !path.empty())
        dirs.emplace_back(normal_path(path), "channel '" + c.name + "'");
  std::set<std::string> names;
  for (auto& t : spec.topics) {
    auto component = "topics." + t.name;
    auto what = "topic '" + t.name + "'";
    if (!valid_name(t.name))
      error(component, "",
            "topic name '" + t.name +
                "' may use only letters, digits, '_', '-' and '.'");
    if (!names.insert(t.name).second)
      error(component, "", what + " is declared twice");
    if (t.shards < 1 || t.shards > 1024)
      error(component, "shards",
            "shards of " + what + " must be from 1 to 1024, got " +
                std::to_string(t.shards));
    if (t.fsync_ms < 0 || t.fsync_ms > max_fsync_interval_ms)
      error(component, "fsync",
            "fsync of " + what + " must be \"batch\" (0) or 1 to " +
                std::to_string(max_fsync_interval_ms) + " ms, got " +
                std::to_string(t.fsync_ms));
    if (t.segment_size < (64 << 10) || t.segment_size > (int64_t{1} << 30))
      error(component, "segment_size",
            "segment_size of " + what + " must be from 64 KiB to 1 GiB, got " +
                std::to_string(t.segment_size));
    auto not_negative = [&](int64_t x, const std::string& key) {
      if (x < 0)
        error(component, key,
              key + " of " + what + " must not be negative, got " +
                  std::to_string(x));
    };
    not_negative(t.retention_time_ms, "retention_time");
    not_negative(t.retention_size, "retention_size");
    not_negative(t.max_disk_bytes, "max_disk_bytes");
    not_negative(t.min_free_space, "min_free_space");
    // Where it lives.
    if (node_names.empty()) {
      if (!t.node.empty())
        error(component, "node",
              what + " names node '" + t.node +
                  "', but the topology declares no nodes; declare it as "
                  "[nodes." +
                  t.node + "]");
    } else if (t.node.empty()) {
      error(component, "",
            what +
                " must name the node holding it (node = \"NAME\"); "
                "declared nodes: " +
                detail::join(declared));
    } else if (node_names.count(t.node) == 0) {
      error(component, "node",
            what + " names an undeclared node '" + t.node + "'" +
                detail::suggestion(t.node, declared) +
                "; declared nodes: " + detail::join(declared));
    }
    // Parsing reports a missing or empty directory itself.
    if (t.directory.empty()) {
      if (check_types)
        error(component, "directory", what + " needs a directory");
      continue;
    }
    auto path = normal_path(t.directory);
    for (auto& [other, owner] : dirs) {
      if (path == other)
        error(component, "directory",
              "directory '" + t.directory + "' of " + what +
                  " is also the directory of " + owner +
                  "; each needs its own");
      else if (within(path, other) || within(other, path))
        error(component, "directory",
              "directory '" + t.directory + "' of " + what + " and '" + other +
                  "' of " + owner + " lie inside one another; each needs " +
                  "a directory of its own");
    }
    if (auto file = blocking_file(t.directory); !file.empty())
      error(component, "directory",
            "directory '" + t.directory + "' of " + what +
                " cannot be used: '" + file.string() +
                "' exists and is not a directory");
    dirs.emplace_back(path, what);
  }
}

/// The topic a topic sink or source names: declared here, or reached at
/// `address`; and a source's `start`.
void check_topic_links(const topology_spec& spec, const error_fn& error) {
  std::map<std::string, const topic_spec*> topics;
  std::vector<std::string> names;
  for (auto& t : spec.topics) {
    topics.emplace(t.name, &t);
    names.push_back(t.name);
  }
  auto check = [&](const std::string& name, const std::string& kind,
                   const options& opts) {
    auto what = "topic " + kind + " '" + name + "'";
    auto topic = string_option(opts, "topic");
    auto address = string_option(opts, "address");
    if (topic.empty()) {
      if (opts.contains("topic"))
        error(name, "topic", "'topic' of " + what + " must not be empty");
      return;
    }
    if (!address.empty()) {
      if (auto parsed = parse_topic_address(address); !parsed)
        error(name, "address", what + ": " + message_of(parsed.error()));
      else if (auto i = topics.find(topic); i != topics.end())
        error(name, "address",
              what + " names topic '" + topic +
                  "', which this topology declares; 'address' is only for a "
                  "topic on a node outside it");
      return;
    }
    if (topics.count(topic) == 0)
      error(name, "topic",
            what + " names topic '" + topic +
                "', which this topology does not declare" +
                detail::suggestion(topic, names) + "; declare it as [topics." +
                topic +
                "] or give the address of the node holding it: address = "
                "\"HOST:PORT\"");
  };
  for (auto& s : spec.sinks) {
    if (!is_topic_type(s.type))
      continue;
    check(s.name, "sink", s.opts);
    auto topic = topics.find(string_option(s.opts, "topic"));
    auto expected = int_option(s.opts, "shards", 0);
    if (expected > 0 && topic != topics.end() &&
        static_cast<int64_t>(topic->second->shards) != expected)
      error(s.name, "shards",
            "topic sink '" + s.name + "' expects " + std::to_string(expected) +
                " shards, but topic '" + topic->first + "' has " +
                std::to_string(topic->second->shards));
    // A shard answers an append after its group commit: a sink that waits
    // no longer than the fsync interval times out on every append.
    if (topic != topics.end() && topic->second->fsync_ms > 0) {
      auto timeout = int_option(s.opts, "timeout", 10'000);
      if (timeout <= topic->second->fsync_ms)
        error(s.name, "timeout",
              "timeout of topic sink '" + s.name + "' (" +
                  std::to_string(timeout) +
                  " ms) must be longer than the "
                  "fsync interval of topic '" +
                  topic->first + "' (" +
                  std::to_string(topic->second->fsync_ms) +
                  " ms): the topic answers an append only after its sync");
    }
    if (s.opts.contains("fields") && s.opts.contains("delimiter")) {
      auto* fields =
          std::get_if<std::vector<std::string>>(&s.opts.values().at("fields"));
      if (fields && !fields->empty() &&
          string_option(s.opts, "delimiter").empty())
        error(s.name, "delimiter",
              "topic sink '" + s.name +
                  "' names fields, so its delimiter must not be empty");
    }
  }
  for (auto& s : spec.sources) {
    if (!is_topic_type(s.type))
      continue;
    check(s.name, "source", s.opts);
    if (auto start = string_option(s.opts, "start"); !start.empty())
      if (auto parsed = parse_topic_start(start); !parsed)
        error(s.name, "start",
              "topic source '" + s.name + "': " + message_of(parsed.error()));
    if (s.opts.contains("group") && string_option(s.opts, "group").empty())
      error(s.name, "group",
            "'group' of topic source '" + s.name + "' must not be empty");
  }
}

} // namespace

namespace detail {

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
  // Two components writing the same state would corrupt it.
  std::map<std::string, std::string> state_paths; // path -> component
  auto claim = [&](const std::string& name, const options& opts,
                   const std::string& key) {
    auto path = string_option(opts, key);
    if (path.empty())
      return;
    auto normal = std::filesystem::path{path}.lexically_normal().string();
    while (normal.size() > 1 && normal.ends_with('/'))
      normal.pop_back();
    auto [i, fresh] = state_paths.emplace(normal, name);
    if (!fresh)
      error(name, key,
            key + " '" + path + "' of '" + name + "' is already used by '" +
                i->second + "'; each needs its own");
  };
  // A file where a directory must be fails every start: say so now (this
  // only looks, it creates nothing).
  auto directory_usable = [&](const std::string& name, const options& opts,
                              const std::string& key, bool parent_only) {
    auto path = string_option(opts, key);
    if (path.empty())
      return;
    std::filesystem::path dir{path};
    std::error_code ec;
    if (parent_only && std::filesystem::is_directory(dir, ec)) {
      error(name, key,
            key + " '" + path + "' of '" + name +
                "' is a directory; it must name a file");
      return;
    }
    if (parent_only)
      dir = dir.parent_path();
    if (auto file = blocking_file(dir); !file.empty())
      error(name, key,
            key + " '" + path + "' of '" + name + "' cannot be used: '" +
                file.string() + "' exists and is not a directory");
  };
  std::map<std::string, const channel_spec*> channels;
  for (auto& c : spec.channels) {
    name_check(c.name, "channel");
    channels.emplace(c.name, &c);
    if (c.type == "file") {
      claim(c.name, c.opts, "directory");
      directory_usable(c.name, c.opts, "directory", false);
    }
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
  if (spec.sources.empty() && spec.sinks.empty() && spec.channels.empty() &&
      spec.attached_channels.empty() && spec.topics.empty() &&
      spec.jobs.empty())
    error("", "",
          "the topology declares no sources, channels, sinks, topics or "
          "jobs; see [sources.NAME], [channels.NAME], [sinks.NAME], "
          "[topics.NAME] and [jobs.NAME]");
  std::set<std::string> job_names;
  for (auto& j : spec.jobs) {
    auto component = "jobs." + j.name;
    if (!valid_name(j.name))
      error(component, "",
            "job name '" + j.name +
                "' may use only letters, digits, '_', '-' and '.'");
    if (!job_names.insert(j.name).second)
      error(component, "", "job '" + j.name + "' is declared twice");
    // The parser reports a missing `script`; one written empty, or a spec
    // built in code, is reported here.
    if (j.script.empty() && (check_types || j.script_where.line > 0))
      error(component, "script",
            "job '" + j.name + "' needs 'script', the SQL script it runs");
    if (j.parallelism > 1024)
      error(component, "parallelism",
            "parallelism of job '" + j.name + "' must be from 1 to 1024, got " +
                std::to_string(j.parallelism));
  }
  // Parsing reports a missing type or channel itself; a spec built in code
  // is checked here.
  auto needs = [&](const std::string& name, const std::string& kind,
                   const std::string& key, const std::string& value) {
    if (check_types && value.empty())
      error(name, key, kind + " '" + name + "' needs a " + key);
  };
  for (auto& c : spec.channels)
    needs(c.name, "channel", "type", c.type);
  for (auto& s : spec.sources) {
    name_check(s.name, "source");
    needs(s.name, "source", "type", s.type);
    needs(s.name, "source", "channel", s.channel);
    if (s.type == "taildir") {
      claim(s.name, s.opts, "position_file");
      directory_usable(s.name, s.opts, "position_file", true);
    }
    if (check_types && !s.type.empty() && !registry.find_source(s.type))
      error(s.name, "type", "unknown source type '" + s.type + "'");
    check_link(s.name, "source", s.channel, s.batch_size);
    fed.insert(s.channel);
  }
  for (auto& s : spec.sinks) {
    name_check(s.name, "sink");
    needs(s.name, "sink", "type", s.type);
    needs(s.name, "sink", "channel", s.channel);
    if (check_types && !s.type.empty() && !registry.find_sink(s.type))
      error(s.name, "type", "unknown sink type '" + s.type + "'");
    check_link(s.name, "sink", s.channel, s.batch_size);
    drained.insert(s.channel);
    if (s.type == "file" || s.type == "archive")
      directory_usable(s.name, s.opts, "directory", false);
  }
  for (auto& g : spec.sink_groups)
    name_check(g.name, "sink group");
  validate_sink_groups(spec, where, check_types, problems);
  for (auto& c : spec.channels) {
    if (fed.count(c.name) == 0)
      error(c.name, "", "channel '" + c.name + "' has no source feeding it");
    if (drained.count(c.name) == 0)
      error(c.name, "", "channel '" + c.name + "' has no sink draining it");
  }
  check_cluster(spec, error);
  check_topics(spec, error, check_types);
  check_topic_links(spec, error);
  return problems;
}

} // namespace detail

std::string to_string(const diagnostic& x) {
  std::string result = x.where.file.empty() ? "<topology>" : x.where.file;
  if (x.where.line > 0)
    result += ":" + std::to_string(x.where.line) + ":" +
              std::to_string(x.where.column);
  return result + ": error: " + x.message;
}

const std::vector<option_spec>& sink_group_options(const std::string& type) {
  static const auto failover = failover_group_options();
  static const auto load_balance = load_balance_group_options();
  return type == "failover" ? failover : load_balance;
}

const std::vector<option_spec>& topic_options() {
  static const auto specs = make_topic_options();
  return specs;
}

const std::vector<option_spec>& sql_job_options() {
  static const std::vector<option_spec> specs = {
      {"script", option_type::string,
       "the SQL script whose INSERT INTO statements the job runs", true},
      {"parallelism", option_type::integer,
       "instances of each stage, as sluice sql --parallelism (unset: the "
       "script's SET 'parallelism.default', or 1)",
       false, std::nullopt, 1, 1024},
  };
  return specs;
}

caf::expected<int64_t> parse_fsync(std::string_view text) {
  if (text == "batch")
    return int64_t{0};
  auto ms = parse_duration(text);
  if (!ms || *ms < 1 || *ms > max_fsync_interval_ms)
    return make_error(config_errc::invalid,
                      "fsync '" + std::string{text} +
                          "' must be \"batch\" or a duration from 1ms to " +
                          std::to_string(max_fsync_interval_ms / 1000) + "s");
  return *ms;
}

const std::vector<option_spec>& channel_options(const std::string& type) {
  static const auto memory = memory_channel_options();
  static const auto file = file_channel_options();
  return type == "file" ? file : memory;
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
  for (auto& g : spec.sink_groups)
    where[g.name] = g.where;
  for (auto& n : spec.cluster.nodes)
    where["nodes." + n.name] = n.where;
  for (auto& t : spec.topics)
    where["topics." + t.name] = t.where;
  for (auto& j : spec.jobs)
    where["jobs." + j.name] = j.where;
  where["cluster.tls"] = spec.cluster.tls.where;
  auto problems = detail::validate_impl(
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
  for (auto& g : spec.sink_groups)
    if (g.type == "failover" || g.type == "load_balance")
      check("sink_group '" + g.name + "'", g.where, g.opts,
            sink_group_options(g.type));
  return problems;
}

} // namespace sluice
