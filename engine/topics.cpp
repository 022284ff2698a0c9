#include "engine/topics.hpp"

#include <algorithm>
#include <set>
#include <string>
#include <utility>

#include <caf/actor_system.hpp>

#include "connectors/topic.hpp"

namespace sluice {

std::string topic_child_name(const std::string& name) {
  return "topics." + name;
}

topic_config make_topic_config(const topic_spec& spec,
                               std::shared_ptr<component_metrics> metrics) {
  topic_config cfg;
  cfg.name = spec.name;
  cfg.directory = spec.directory;
  cfg.shards = spec.shards;
  cfg.fsync_interval_ms = spec.fsync_ms;
  cfg.log.segment_bytes = spec.segment_size;
  cfg.log.retention_ms = spec.retention_time_ms;
  cfg.log.retention_bytes = spec.retention_size;
  cfg.log.max_disk_bytes = spec.max_disk_bytes;
  cfg.log.min_free_space = spec.min_free_space;
  cfg.metrics = std::move(metrics);
  return cfg;
}

child_spec topic_child(const topic_spec& spec, const topology_spec& topology,
                       std::shared_ptr<component_metrics> metrics,
                       std::shared_ptr<local_topic_map> local) {
  child_spec child;
  child.name = topic_child_name(spec.name);
  child.metrics = metrics;
  auto names_it = [&](const options& opts) {
    return opts.contains("topic") && opts.get_string("topic") == spec.name;
  };
  for (auto& s : topology.sources)
    if (is_topic_type(s.type) && names_it(s.opts))
      child.dependents.push_back(s.name);
  for (auto& s : topology.sinks)
    if (is_topic_type(s.type) && names_it(s.opts))
      child.dependents.push_back(s.name);
  child.start = [cfg = make_topic_config(spec, metrics),
                 local](caf::actor_system& sys, const child_handles&) {
    auto t = spawn_topic(sys, cfg);
    (*local)[cfg.name] = t;
    return caf::actor_cast<caf::actor>(t);
  };
  return child;
}

void order_topics(supervisor_config& cfg, const topology_spec& spec) {
  std::set<std::string> names;
  for (auto& t : spec.topics)
    names.insert(topic_child_name(t.name));
  int last = 0;
  for (auto& c : cfg.children)
    if (names.count(c.name) == 0)
      last = std::max(last, c.stop_phase);
  for (auto& c : cfg.children)
    if (names.count(c.name) > 0)
      c.stop_phase = last + 1;
  std::stable_partition(cfg.children.begin(), cfg.children.end(),
                        [&](auto& c) { return names.count(c.name) > 0; });
}

} // namespace sluice
