#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <caf/meta/type_name.hpp>

namespace sluice {

/// Counters and gauges of one component; shared by the actor that updates
/// them (relaxed atomics, once per batch) and by readers on other threads.
/// They belong to the registry, so they survive the actor's restarts.
struct component_metrics {
  component_metrics(std::string name, std::string kind)
      : name(std::move(name)), kind(std::move(kind)) {}

  const std::string name;
  const std::string
      kind; ///< "source", "channel", "sink", "sink_group", "topic"

  std::atomic<uint64_t> events_in{0};
  std::atomic<uint64_t> events_out{0};
  std::atomic<uint64_t> batches_in{0};
  std::atomic<uint64_t> batches_out{0};
  std::atomic<uint64_t> bytes_in{0};
  std::atomic<uint64_t> bytes_out{0};
  std::atomic<uint64_t> events_dropped{0}; ///< filtered or rejected input
  std::atomic<uint64_t> errors{0};
  std::atomic<uint64_t> rollbacks{0};
  /// Channels: events of rolled-back leases, handed out again; a sink may
  /// have written some of them already.
  std::atomic<uint64_t> redelivered{0};
  /// File channels: uncommitted events found at start, delivered again; a
  /// sink may have written some of them before the process ended.
  std::atomic<uint64_t> recovered{0};
  /// File channels: damaged spans of the log skipped at start, and their
  /// bytes.
  std::atomic<uint64_t> damaged_spans{0};
  std::atomic<uint64_t> damaged_bytes{0};
  std::atomic<uint64_t> restarts{0};
  /// Sources: connections closed because they sent nothing for too long.
  std::atomic<uint64_t> idle_closed{0};
  /// Topic sinks with declared fields: events whose number of fields is not
  /// the declared one, written as they are (a reader decides).
  std::atomic<uint64_t> malformed{0};
  /// Forward sources: batches a peer sent again that were already
  /// committed, dropped (and answered as delivered).
  std::atomic<uint64_t> duplicates_dropped{0};
  std::atomic<uint64_t> fill_events{0}; ///< channels: events held
  std::atomic<uint64_t> fill_bytes{0};  ///< channels: bytes held
  std::atomic<uint64_t> capacity{0};    ///< channels: capacity in events
  /// Sink groups (kind "sink_group"): leases handed to another member after
  /// one failed, and changes of the member leases go to.
  std::atomic<uint64_t> rerouted{0};
  std::atomic<uint64_t> switches{0};
  /// Sinks in a group: consecutive failures and the penalty they earned.
  std::atomic<uint64_t> failures{0};
  std::atomic<int64_t> penalty_ms{0};

  /// Sinks in a group: the group and the member's state there ("live",
  /// "penalized", "probing").
  void set_group_state(std::string group_name, std::string state) {
    std::lock_guard guard{text_mtx};
    group = std::move(group_name);
    group_state = std::move(state);
  }

  /// Sink groups: the member(s) leases go to now ("" when none).
  void set_active(std::string members) {
    std::lock_guard guard{text_mtx};
    active = std::move(members);
  }

  /// The supervisor's view: "running", "restarting", "stopped" or "failed"
  /// ("" until it started the component).
  void set_state(std::string text) {
    std::lock_guard guard{text_mtx};
    state = std::move(text);
  }

  /// Forward sinks: the peer they send to (host:port).
  void set_peer(std::string host_port) {
    std::lock_guard guard{text_mtx};
    peer = std::move(host_port);
  }

  /// Forward sinks: the last error of the link ("" while none).
  void set_last_error(std::string text) {
    std::lock_guard guard{text_mtx};
    last_error = std::move(text);
  }

  /// Forward sinks: 1 while connected to the peer, else 0.
  std::atomic<uint64_t> connected{0};
  /// Forward sinks: leases sent and not yet answered.
  std::atomic<uint64_t> in_flight{0};
  /// Forward sinks: connection attempts after the first one.
  std::atomic<uint64_t> reconnects{0};
  /// Forward sinks: connection attempts, the first one included.
  std::atomic<uint64_t> connect_attempts{0};
  /// Forward sources: peers (sending nodes) connected now.
  std::atomic<uint64_t> peers_connected{0};
  /// Channels: sources attached now.
  std::atomic<uint64_t> sources_attached{0};
  /// Channels: messages that broke the written protocol (actors/protocols.hpp):
  /// refused puts, puts over credit, commits of leases the sender does not
  /// hold.
  std::atomic<uint64_t> protocol_errors{0};
  /// Archive sinks: files finished (synced and renamed to their final name).
  std::atomic<uint64_t> files_finished{0};
  /// Topics (kind "topic", summed over its shards): segment files on disk;
  /// `fill_events` holds the records stored and `fill_bytes` the bytes on
  /// disk.
  std::atomic<uint64_t> segments{0};
  /// SQL operators (kind "operator"): the instance's watermark (epoch ms;
  /// INT64_MIN until it has one), rows that came after their window fired,
  /// keys (groups, open windows' groups, buffered join rows) and bytes held
  /// in state.
  std::atomic<int64_t> watermark_ms{INT64_MIN};
  std::atomic<uint64_t> late_rows{0};
  std::atomic<uint64_t> state_keys{0};
  std::atomic<uint64_t> state_bytes{0};

  void add_in(uint64_t events, uint64_t bytes) {
    events_in.fetch_add(events, std::memory_order_relaxed);
    bytes_in.fetch_add(bytes, std::memory_order_relaxed);
    batches_in.fetch_add(1, std::memory_order_relaxed);
  }

  void add_out(uint64_t events, uint64_t bytes) {
    events_out.fetch_add(events, std::memory_order_relaxed);
    bytes_out.fetch_add(bytes, std::memory_order_relaxed);
    batches_out.fetch_add(1, std::memory_order_relaxed);
  }

  mutable std::mutex text_mtx; ///< guards the text fields below
  std::string group;           ///< sinks in a group: its name
  std::string group_state;     ///< sinks in a group: their state
  std::string active;          ///< sink groups: the member(s) in use
  std::string state;           ///< the supervisor's view of it
  std::string peer;            ///< forward sinks: host:port
  std::string last_error;      ///< forward sinks: the link's last error
};

/// A plain copy of a component's metrics at one point in time.
struct metrics_snapshot {
  std::string name;
  std::string kind;
  uint64_t events_in = 0;
  uint64_t events_out = 0;
  uint64_t batches_in = 0;
  uint64_t batches_out = 0;
  uint64_t bytes_in = 0;
  uint64_t bytes_out = 0;
  uint64_t events_dropped = 0;
  uint64_t errors = 0;
  uint64_t rollbacks = 0;
  uint64_t redelivered = 0;
  uint64_t recovered = 0;
  uint64_t damaged_spans = 0;
  uint64_t damaged_bytes = 0;
  uint64_t restarts = 0;
  uint64_t idle_closed = 0;
  uint64_t malformed = 0;
  uint64_t duplicates_dropped = 0;
  uint64_t fill_events = 0;
  uint64_t fill_bytes = 0;
  uint64_t capacity = 0;
  uint64_t rerouted = 0;
  uint64_t switches = 0;
  uint64_t failures = 0;
  int64_t penalty_ms = 0;
  std::string group;
  std::string group_state;
  std::string active;
  uint64_t sources_attached = 0;
  uint64_t protocol_errors = 0;
  std::string state;
  std::string peer;
  uint64_t connected = 0;
  uint64_t in_flight = 0;
  uint64_t reconnects = 0;
  std::string last_error;
  uint64_t peers_connected = 0;
  uint64_t files_finished = 0;
  uint64_t segments = 0;            ///< topics
  int64_t watermark_ms = INT64_MIN; ///< operators
  uint64_t late_rows = 0;           ///< operators
  uint64_t state_keys = 0;          ///< operators
  uint64_t state_bytes = 0;         ///< operators

  friend bool operator==(const metrics_snapshot&,
                         const metrics_snapshot&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, metrics_snapshot& x) {
  return f(caf::meta::type_name("metrics_snapshot"), x.name, x.kind,
           x.events_in, x.events_out, x.batches_in, x.batches_out, x.bytes_in,
           x.bytes_out, x.events_dropped, x.errors, x.rollbacks, x.redelivered,
           x.recovered, x.damaged_spans, x.damaged_bytes, x.restarts,
           x.idle_closed, x.malformed, x.duplicates_dropped, x.fill_events,
           x.fill_bytes, x.capacity, x.rerouted, x.switches, x.failures,
           x.penalty_ms, x.group, x.group_state, x.active, x.sources_attached,
           x.protocol_errors, x.state, x.peer, x.connected, x.in_flight,
           x.reconnects, x.last_error, x.peers_connected, x.files_finished,
           x.segments, x.watermark_ms, x.late_rows, x.state_keys,
           x.state_bytes);
}

/// What a node answers `sluice status`: its name, how long it has run and
/// a snapshot of every component it runs.
struct node_status {
  std::string name;
  int64_t uptime_ms = 0;
  std::vector<metrics_snapshot> components;

  friend bool operator==(const node_status&, const node_status&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, node_status& x) {
  return f(caf::meta::type_name("node_status"), x.name, x.uptime_ms,
           x.components);
}

/// All components' metrics of one engine, by name.
class metrics_registry {
 public:
  /// Returns the metrics of `name`, creating them on first use.
  std::shared_ptr<component_metrics> get(const std::string& name,
                                         const std::string& kind);

  /// Copies every component's metrics, sorted by kind then name.
  std::vector<metrics_snapshot> snapshot() const;

  /// Copies one component's metrics; zeros when it is unknown.
  metrics_snapshot snapshot(const std::string& name) const;

 private:
  mutable std::mutex mtx_;
  std::map<std::string, std::shared_ptr<component_metrics>> entries_;
};

/// Renders a snapshot as one human-readable line.
std::string to_string(const metrics_snapshot& x);

} // namespace sluice
