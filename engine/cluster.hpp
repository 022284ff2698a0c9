#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <caf/fwd.hpp>

#include "actors/supervisor.hpp"
#include "config/topology.hpp"
#include "runtime/metrics.hpp"

namespace sluice {

// The assembly's part that knows about nodes: which components a node runs,
// the middleman, the node actors on control ports, and the forward link's
// two ends.

/// True when the topology needs the middleman: it declares nodes, uses a
/// forward source or sink, or a topic sink or source with an `address`
/// (a topic on a node outside this file).
bool needs_cluster(const topology_spec& spec);

/// Loads the middleman with the cluster's heartbeat and peer timeout, and
/// the OpenSSL module when the topology has [cluster.tls].
void configure_cluster(caf::actor_system_config& cfg,
                       const cluster_spec& cluster);

/// The part of `spec` that node `node` runs (empty: every node). Fails when
/// `node` is not declared.
caf::expected<topology_spec> select_node(const topology_spec& spec,
                                         const std::string& node);

/// Spawns the node actor of each node this process runs (`node`, or every
/// node when empty) and publishes it on the node's control port and bind
/// address. Returns the actors, to stop with the engine. With `metrics`
/// (which must outlive the actors), each answers `sluice status` with the
/// metrics of the components `spec` places on it. With `supervisor` (the
/// engine's supervisor when asked; thread-safe), each answers
/// `(topic_atom, name)` with the topics `spec` places on it.
caf::expected<std::vector<caf::actor>>
publish_nodes(caf::actor_system& sys, const cluster_spec& cluster,
              const std::string& node, const topology_spec* spec = nullptr,
              const metrics_registry* metrics = nullptr,
              std::function<caf::actor()> supervisor = {});

/// When one process runs several nodes, orders the stop along the forward
/// links: a node's sources, channels and sinks stop (phases 0, 1, 2) before
/// those of the nodes it forwards to (3, 4, 5, ...), so that an upstream
/// channel drains through a link whose receiving end still runs.
void order_stop_by_links(supervisor_config& cfg, const topology_spec& spec);

/// The supervisor child that runs forward source `src`.
child_spec forward_source_child(const source_spec& src,
                                std::shared_ptr<component_metrics> metrics);

/// The supervisor child that runs forward sink `snk`.
child_spec forward_sink_child(const sink_spec& snk,
                              std::shared_ptr<component_metrics> metrics);

} // namespace sluice
