#pragma once

#include <functional>
#include <set>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "config/topology.hpp"
#include "runtime/metrics.hpp"

namespace sluice {

/// Reads the metrics of a node's components now; called on the node
/// actor's thread, so it must only copy (metrics_registry::snapshot).
using component_reader = std::function<std::vector<metrics_snapshot>()>;

/// Reads the components of `spec` that node `node` runs (and the sink
/// groups with a member there) from `metrics`, which must outlive the
/// reader.
component_reader components_of_node(const topology_spec& spec,
                                    const metrics_registry& metrics,
                                    const std::string& node);

/// The topics a node runs, as its node actor finds them.
struct node_topics {
  /// Names of the topics this node runs.
  std::set<std::string> names;
  /// The engine's supervisor now (an invalid handle before it started);
  /// called on the node actor's thread, so it must be thread-safe. The node
  /// asks it for the running topic actor (`get_atom`), which changes when
  /// the topic restarts.
  std::function<caf::actor()> supervisor;
};

/// The node actor: what a node publishes on its control port.
///
/// Protocol (between processes): `(ping_atom)` -> `std::string`: the
/// node's name. `(status_atom)` -> `node_status`: the name, the time since
/// the actor started (the node's uptime) and a snapshot of every component
/// the node runs, read with `components` (none when it is empty). The
/// reader must stay valid while the actor runs: the engine that owns the
/// metrics stops the actor before it ends. `(topic_atom, std::string name)`
/// -> `topic_actor`: the running topic of that name on this node, so topic
/// sinks and sources on other nodes reach it; a name the node does not run
/// is answered `topic_errc::unknown_topic`, a topic that is not running
/// (the engine starting, stopping or restarting it) `topic_errc::stopped`.
/// `(stop_atom)` ends it. Idempotent.
caf::actor spawn_node_actor(caf::actor_system& sys, std::string name,
                            component_reader components = {},
                            node_topics topics = {});

} // namespace sluice
