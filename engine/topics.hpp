#pragma once

#include <map>
#include <memory>
#include <string>

#include "actors/supervisor.hpp"
#include "actors/topic.hpp"
#include "config/topology.hpp"
#include "runtime/metrics.hpp"

namespace sluice {

// The assembly's part for topics: each `[topics.NAME]` of a node runs as a
// supervisor child named `topics.NAME` (as configuration diagnostics name
// it; a topic may share its name with a source or sink), so
// `engine::component("topics.NAME")` and the node actor's
// `(topic_atom, "NAME")` find it. Topics start before the sources and
// sinks and stop after every one of them.

/// The supervisor child name and metrics name of topic `name`.
std::string topic_child_name(const std::string& name);

/// Topics running on this node by topic name, as their children start them:
/// written and read only by the supervisor's child start functions (one
/// actor), so topic sinks and sources started after a topic find it.
using local_topic_map = std::map<std::string, topic_actor>;

/// The topic actor's configuration for `spec`.
topic_config make_topic_config(const topic_spec& spec,
                               std::shared_ptr<component_metrics> metrics);

/// The supervisor child that runs topic `spec`; each start records the new
/// handle in `local`. The topic sinks and sources of `topology` that name
/// it on this node are its dependents: they restart with it and take the
/// new handle.
child_spec topic_child(const topic_spec& spec, const topology_spec& topology,
                       std::shared_ptr<component_metrics> metrics,
                       std::shared_ptr<local_topic_map> local);

/// Moves the topics' children to the front of `cfg.children` (started
/// first) and gives them a stop phase after every other child's (a topic
/// sink writes into its topic until it stopped).
void order_topics(supervisor_config& cfg, const topology_spec& spec);

} // namespace sluice
