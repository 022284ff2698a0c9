#include "engine/node.hpp"

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>

#include "runtime/atoms.hpp"

namespace sluice {

namespace {

caf::behavior node_impl(caf::event_based_actor* self, std::string name) {
  return {
      [name](ping_atom) { return name; },
      [self](stop_atom) { self->quit(); },
  };
}

} // namespace

caf::actor spawn_node_actor(caf::actor_system& sys, std::string name) {
  return sys.spawn(node_impl, std::move(name));
}

} // namespace sluice
