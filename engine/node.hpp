#pragma once

#include <string>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

namespace sluice {

/// The node actor: what a node publishes on its control port.
///
/// Protocol (between processes): `(ping_atom)` -> `std::string`: the
/// node's name. `sluice status` will ask it for the node's components,
/// metrics and links. Stateless; `(stop_atom)` ends it. Idempotent.
caf::actor spawn_node_actor(caf::actor_system& sys, std::string name);

} // namespace sluice
