#include "engine/cluster.hpp"

#include <algorithm>
#include <map>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/send.hpp>

#include "actors/forward_sink.hpp"
#include "actors/forward_source.hpp"
#include "connectors/forward.hpp"
#include "engine/node.hpp"
#include "runtime/atoms.hpp"
#include "runtime/cluster_link.hpp"
#include "runtime/errors.hpp"
#include "runtime/log.hpp"

namespace sluice {

bool needs_cluster(const topology_spec& spec) {
  // A job's topic table may name a node's `address`.
  if (!spec.cluster.nodes.empty() || !spec.jobs.empty())
    return true;
  for (auto& s : spec.sources)
    if (is_forward_type(s.type))
      return true;
  for (auto& s : spec.sinks)
    if (is_forward_type(s.type))
      return true;
  // Topics: a topic sink or source reaching a node outside this file.
  auto remote_topic = [](const std::string& type, const options& opts) {
    return type == "topic" && opts.contains("address") &&
           !opts.get_string("address").empty();
  };
  for (auto& s : spec.sources)
    if (remote_topic(s.type, s.opts))
      return true;
  for (auto& s : spec.sinks)
    if (remote_topic(s.type, s.opts))
      return true;
  return false;
}

void configure_cluster(caf::actor_system_config& cfg,
                       const cluster_spec& cluster) {
  cluster_link_settings settings;
  settings.heartbeat_interval_ms = cluster.heartbeat_interval_ms;
  settings.peer_timeout_ms = cluster.peer_timeout_ms;
  // validate() checked the TLS files before the actor system starts.
  settings.certificate = cluster.tls.certificate;
  settings.key = cluster.tls.key;
  settings.ca_file = cluster.tls.ca_file;
  configure_cluster(cfg, settings);
  if (settings.tls())
    log().info("links between nodes use TLS: certificate {}, CA {}",
               settings.certificate, settings.ca_file);
}

caf::expected<topology_spec> select_node(const topology_spec& spec,
                                         const std::string& node) {
  if (node.empty())
    return spec;
  bool known = false;
  std::string names;
  for (auto& n : spec.cluster.nodes) {
    known |= n.name == node;
    names += (names.empty() ? "" : ", ") + n.name;
  }
  if (!known)
    return make_error(config_errc::invalid,
                      "the topology declares no node '" + node + "'" +
                          (names.empty() ? std::string{"; it declares none"}
                                         : "; its nodes: " + names));
  auto result = spec;
  auto keep = [&](auto& xs) {
    std::erase_if(xs, [&](auto& x) { return x.node != node; });
  };
  keep(result.sources);
  keep(result.channels);
  keep(result.sinks);
  keep(result.jobs);
  // Topics: a topic without a node belongs to the only node.
  std::erase_if(result.topics, [&](const topic_spec& t) {
    return !t.node.empty() && t.node != node;
  });
  // A group runs where its members run (validation puts them on one node).
  std::erase_if(result.sink_groups, [&](const sink_group_spec& g) {
    return std::none_of(g.sinks.begin(), g.sinks.end(), [&](auto& member) {
      return std::any_of(result.sinks.begin(), result.sinks.end(),
                         [&](auto& s) { return s.name == member; });
    });
  });
  return result;
}

caf::expected<std::vector<caf::actor>>
publish_nodes(caf::actor_system& sys, const cluster_spec& cluster,
              const std::string& node, const topology_spec* spec,
              const metrics_registry* metrics,
              std::function<caf::actor()> supervisor) {
  std::vector<caf::actor> result;
  for (auto& n : cluster.nodes) {
    if (!node.empty() && n.name != node)
      continue;
    node_topics topics;
    topics.supervisor = supervisor;
    if (spec && supervisor)
      for (auto& t : spec->topics)
        if (t.node == n.name || (t.node.empty() && cluster.nodes.size() == 1))
          topics.names.insert(t.name);
    auto actor = spawn_node_actor(
        sys, n.name,
        spec && metrics ? components_of_node(*spec, *metrics, n.name)
                        : component_reader{},
        std::move(topics));
    auto port = publish_actor(sys, actor, n.port, n.bind);
    if (!port) {
      caf::anon_send(actor, stop_atom::value);
      for (auto& a : result)
        caf::anon_send(a, stop_atom::value);
      return make_error(config_errc::invalid,
                        "node " + n.name + ": " + describe(port.error()));
    }
    log().info("node {}: control port {}:{}", n.name, n.bind, *port);
    result.push_back(std::move(actor));
  }
  return result;
}

void order_stop_by_links(supervisor_config& cfg, const topology_spec& spec) {
  auto& nodes = spec.cluster.nodes;
  if (nodes.size() < 2)
    return;
  std::map<std::string, std::string> node_of; // component -> node
  for (auto& x : spec.sources)
    node_of[x.name] = x.node;
  for (auto& x : spec.channels)
    node_of[x.name] = x.node;
  for (auto& x : spec.sinks)
    node_of[x.name] = x.node;
  std::map<std::string, std::string> host_of;
  for (auto& n : nodes)
    host_of[n.name] = n.host;
  // Links: a forward sink's (host, port) is a forward source's.
  std::map<std::pair<std::string, int64_t>, std::string> receivers;
  for (auto& s : spec.sources)
    if (is_forward_type(s.type) && s.opts.contains("port"))
      receivers[{host_of[s.node], s.opts.get_int("port")}] = s.node;
  std::vector<std::pair<std::string, std::string>> links; // from -> to
  for (auto& s : spec.sinks)
    if (is_forward_type(s.type) && s.opts.contains("port")) {
      auto i =
          receivers.find({s.opts.get_string("host"), s.opts.get_int("port")});
      if (i != receivers.end() && i->second != s.node)
        links.emplace_back(s.node, i->second);
    }
  // Longest path from a node no link reaches; a cycle stops growing after
  // as many rounds as there are nodes.
  std::map<std::string, int> level;
  for (size_t round = 0; round < nodes.size(); ++round)
    for (auto& [from, to] : links)
      level[to] = std::max(level[to], level[from] + 1);
  for (auto& child : cfg.children)
    if (auto i = node_of.find(child.name); i != node_of.end())
      child.stop_phase += 3 * level[i->second];
}

child_spec forward_source_child(const source_spec& src,
                                std::shared_ptr<component_metrics> metrics) {
  child_spec child;
  child.name = src.name;
  child.stop_phase = 0;
  child.metrics = metrics;
  child.start = [src, metrics](caf::actor_system& sys,
                               const child_handles& peers) {
    auto ch = peers.find(src.channel);
    if (ch == peers.end())
      return caf::actor{};
    forward_source_config cfg;
    cfg.name = src.name;
    cfg.channel = ch->second;
    cfg.port = static_cast<uint16_t>(src.opts.get_int("port"));
    cfg.bind = src.opts.get_string("bind");
    cfg.window = src.batch_size * 4;
    cfg.metrics = metrics;
    return spawn_forward_source(sys, std::move(cfg));
  };
  return child;
}

child_spec forward_sink_child(const sink_spec& snk,
                              std::shared_ptr<component_metrics> metrics) {
  child_spec child;
  child.name = snk.name;
  child.stop_phase = 2;
  child.metrics = metrics;
  child.start = [snk, metrics](caf::actor_system& sys,
                               const child_handles& peers) {
    auto ch = peers.find(snk.channel);
    if (ch == peers.end())
      return caf::actor{};
    forward_sink_config cfg;
    cfg.name = snk.name;
    cfg.feed = ch->second;
    cfg.host = snk.opts.get_string("host");
    cfg.port = static_cast<uint16_t>(snk.opts.get_int("port"));
    cfg.batch_size = snk.batch_size;
    cfg.timeout_ms = snk.opts.get_int("timeout");
    cfg.connect_timeout_ms = snk.opts.get_int("connect_timeout");
    cfg.max_in_flight = static_cast<size_t>(snk.opts.get_int("max_in_flight"));
    cfg.origin = (snk.node.empty() ? "" : snk.node + "/") + snk.channel;
    cfg.metrics = metrics;
    return spawn_forward_sink(sys, std::move(cfg));
  };
  return child;
}

} // namespace sluice
