#include "runtime/metrics.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace sluice {

namespace {

metrics_snapshot copy(const component_metrics& m) {
  auto load = [](const std::atomic<uint64_t>& x) {
    return x.load(std::memory_order_relaxed);
  };
  metrics_snapshot s;
  s.name = m.name;
  s.kind = m.kind;
  s.events_in = load(m.events_in);
  s.events_out = load(m.events_out);
  s.batches_in = load(m.batches_in);
  s.batches_out = load(m.batches_out);
  s.bytes_in = load(m.bytes_in);
  s.bytes_out = load(m.bytes_out);
  s.events_dropped = load(m.events_dropped);
  s.errors = load(m.errors);
  s.rollbacks = load(m.rollbacks);
  s.redelivered = load(m.redelivered);
  s.recovered = load(m.recovered);
  s.damaged_spans = load(m.damaged_spans);
  s.damaged_bytes = load(m.damaged_bytes);
  s.restarts = load(m.restarts);
  s.idle_closed = load(m.idle_closed);
  s.malformed = load(m.malformed);
  s.duplicates_dropped = load(m.duplicates_dropped);
  s.fill_events = load(m.fill_events);
  s.fill_bytes = load(m.fill_bytes);
  s.capacity = load(m.capacity);
  s.sources_attached = load(m.sources_attached);
  s.protocol_errors = load(m.protocol_errors);
  s.rerouted = load(m.rerouted);
  s.switches = load(m.switches);
  s.failures = load(m.failures);
  s.penalty_ms = m.penalty_ms.load(std::memory_order_relaxed);
  s.connected = load(m.connected);
  s.in_flight = load(m.in_flight);
  s.reconnects = load(m.reconnects);
  s.peers_connected = load(m.peers_connected);
  s.files_finished = load(m.files_finished);
  s.segments = load(m.segments);
  s.watermark_ms = m.watermark_ms.load(std::memory_order_relaxed);
  s.late_rows = load(m.late_rows);
  s.state_keys = load(m.state_keys);
  s.state_bytes = load(m.state_bytes);
  std::lock_guard guard{m.text_mtx};
  s.group = m.group;
  s.group_state = m.group_state;
  s.active = m.active;
  s.state = m.state;
  s.peer = m.peer;
  s.last_error = m.last_error;
  return s;
}

} // namespace

std::shared_ptr<component_metrics>
metrics_registry::get(const std::string& name, const std::string& kind) {
  std::lock_guard guard{mtx_};
  auto& entry = entries_[name];
  if (!entry)
    entry = std::make_shared<component_metrics>(name, kind);
  return entry;
}

std::vector<metrics_snapshot> metrics_registry::snapshot() const {
  std::vector<metrics_snapshot> result;
  {
    std::lock_guard guard{mtx_};
    for (auto& [name, m] : entries_)
      result.push_back(copy(*m));
  }
  auto rank = [](const std::string& kind) {
    return kind == "source" ? 0 : kind == "channel" ? 1 : 2;
  };
  std::stable_sort(result.begin(), result.end(),
                   [&](const auto& x, const auto& y) {
                     return rank(x.kind) < rank(y.kind);
                   });
  return result;
}

metrics_snapshot metrics_registry::snapshot(const std::string& name) const {
  std::lock_guard guard{mtx_};
  if (auto i = entries_.find(name); i != entries_.end())
    return copy(*i->second);
  return {};
}

std::string to_string(const metrics_snapshot& x) {
  auto line = fmt::format("{} {}: in={} out={} batches_in={} batches_out={} "
                          "bytes_in={} bytes_out={}",
                          x.kind, x.name, x.events_in, x.events_out,
                          x.batches_in, x.batches_out, x.bytes_in, x.bytes_out);
  if (x.kind == "channel")
    line += fmt::format(" fill={}/{} fill_bytes={} redelivered={} "
                        "recovered={}",
                        x.fill_events, x.capacity, x.fill_bytes, x.redelivered,
                        x.recovered);
  if (x.kind == "topic")
    line += fmt::format(" records={} disk_bytes={} segments={}", x.fill_events,
                        x.fill_bytes, x.segments);
  if (x.kind == "operator") {
    auto wm = x.watermark_ms == INT64_MIN ? std::string{"none"}
                                          : std::to_string(x.watermark_ms);
    line += fmt::format(" watermark_ms={} late_rows={} state_keys={} "
                        "state_bytes={}",
                        wm, x.late_rows, x.state_keys, x.state_bytes);
  }
  if (x.damaged_spans > 0)
    line += fmt::format(" damaged_spans={} damaged_bytes={}", x.damaged_spans,
                        x.damaged_bytes);
  if (x.kind == "sink_group")
    line += fmt::format(" active={} switches={} rerouted={} redelivered={}",
                        x.active.empty() ? "none" : x.active, x.switches,
                        x.rerouted, x.redelivered);
  if (!x.group.empty())
    line += fmt::format(" group={} state={} failures={} penalty_ms={}", x.group,
                        x.group_state, x.failures, x.penalty_ms);
  line += fmt::format(" dropped={} errors={} rollbacks={} restarts={}",
                      x.events_dropped, x.errors, x.rollbacks, x.restarts);
  // Only sources with connections have it: shown once it counts.
  if (x.idle_closed > 0)
    line += fmt::format(" idle_closed={}", x.idle_closed);
  // Only topic sinks with declared fields count it: shown once it counts.
  if (x.malformed > 0)
    line += fmt::format(" malformed={}", x.malformed);
  // A well-behaved pipeline has none: shown once it counts.
  if (x.protocol_errors > 0)
    line += fmt::format(" protocol_errors={}", x.protocol_errors);
  if (x.duplicates_dropped > 0)
    line += fmt::format(" duplicates_dropped={}", x.duplicates_dropped);
  // Archive sinks: shown once it counts.
  if (x.files_finished > 0)
    line += fmt::format(" files_finished={}", x.files_finished);
  // Forward sinks: their link.
  if (!x.peer.empty())
    line += fmt::format(" peer={} connected={} in_flight={} reconnects={}",
                        x.peer, x.connected, x.in_flight, x.reconnects);
  return line;
}

} // namespace sluice
