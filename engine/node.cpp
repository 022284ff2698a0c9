#include "engine/node.hpp"

#include <chrono>
#include <set>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>

#include "runtime/atoms.hpp"

namespace sluice {

namespace {

caf::behavior node_impl(caf::event_based_actor* self, std::string name,
                        component_reader components) {
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
  for (auto& g : spec.sink_groups)
    for (auto& m : g.sinks)
      if (names.count(m) > 0)
        names.insert(g.name);
  return [&metrics, names = std::move(names)] {
    auto all = metrics.snapshot();
    std::erase_if(all, [&](const metrics_snapshot& x) {
      return names.count(x.name) == 0;
    });
    return all;
  };
}

caf::actor spawn_node_actor(caf::actor_system& sys, std::string name,
                            component_reader components) {
  return sys.spawn(node_impl, std::move(name), std::move(components));
}

} // namespace sluice
