#include "engine/node.hpp"

#include <algorithm>
#include <chrono>
#include <set>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>

#include "actors/protocols.hpp"
#include "engine/topics.hpp"
#include "engine/topology_jobs.hpp"
#include "runtime/atoms.hpp"
#include "runtime/errors.hpp"

namespace sluice {

namespace {

/// How long the node waits for its supervisor to name a topic's actor.
constexpr auto topic_lookup_timeout = std::chrono::seconds{10};

caf::result<topic_actor> find_topic(caf::event_based_actor* self,
                                    const std::string& node,
                                    const node_topics& topics,
                                    const std::string& name) {
  if (topics.names.count(name) == 0)
    return make_error(topic_errc::unknown_topic,
                      "node " + node + " runs no topic '" + name + "'");
  auto sup = topics.supervisor ? topics.supervisor() : caf::actor{};
  if (!sup)
    return make_error(topic_errc::stopped,
                      "node " + node + " is not running its topics");
  auto rp = self->make_response_promise<topic_actor>();
  self->request(sup, topic_lookup_timeout, get_atom::value,
                topic_child_name(name))
      .then(
          [rp](caf::actor& a) mutable {
            rp.deliver(caf::actor_cast<topic_actor>(a));
          },
          [rp, node, name](caf::error& err) mutable {
            rp.deliver(make_error(topic_errc::stopped,
                                  "node " + node + ": topic '" + name +
                                      "' is not running: " + describe(err)));
          });
  return rp;
}

caf::behavior node_impl(caf::event_based_actor* self, std::string name,
                        component_reader components, node_topics topics) {
  auto started = std::chrono::steady_clock::now();
  return {
      [name](ping_atom) { return name; },
      [name, components, started](status_atom) {
        node_status result;
        result.name = name;
        result.uptime_ms =
            std::chrono::duration_cast<std::chrono::milliseconds>(
                std::chrono::steady_clock::now() - started)
                .count();
        if (components)
          result.components = components();
        return result;
      },
      [self, name, topics](
          topic_atom, const std::string& topic) -> caf::result<topic_actor> {
        return find_topic(self, name, topics, topic);
      },
      [self](stop_atom) { self->quit(); },
  };
}

} // namespace

component_reader components_of_node(const topology_spec& spec,
                                    const metrics_registry& metrics,
                                    const std::string& node) {
  std::set<std::string> names;
  for (auto& x : spec.sources)
    if (x.node == node)
      names.insert(x.name);
  for (auto& x : spec.channels)
    if (x.node == node)
      names.insert(x.name);
  for (auto& x : spec.sinks)
    if (x.node == node)
      names.insert(x.name);
  for (auto& x : spec.topics)
    if (x.node == node || (x.node.empty() && spec.cluster.nodes.size() == 1))
      names.insert(topic_child_name(x.name));
  for (auto& g : spec.sink_groups)
    for (auto& m : g.sinks)
      if (names.count(m) > 0)
        names.insert(g.name);
  // A job's children and operators: `jobs.NAME...`, `NAME.../STAGE#i`.
  std::vector<std::string> jobs;
  for (auto& j : spec.jobs)
    if (j.node == node)
      jobs.push_back(j.name);
  return [&metrics, names = std::move(names), jobs = std::move(jobs)] {
    auto all = metrics.snapshot();
    std::erase_if(all, [&](const metrics_snapshot& x) {
      return names.count(x.name) == 0 &&
             std::none_of(jobs.begin(), jobs.end(),
                          [&](auto& j) { return belongs_to_job(x.name, j); });
    });
    return all;
  };
}

caf::actor spawn_node_actor(caf::actor_system& sys, std::string name,
                            component_reader components, node_topics topics) {
  return sys.spawn(node_impl, std::move(name), std::move(components),
                   std::move(topics));
}

} // namespace sluice
