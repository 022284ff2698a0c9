#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <caf/expected.hpp>

#include "runtime/options.hpp"

namespace sluice {

class connector_registry;

/// Where something was declared in a topology file (1-based; 0 = unknown).
struct source_position {
  std::string file;
  uint32_t line = 0;
  uint32_t column = 0;
};

/// One interceptor on a source, in chain order.
struct interceptor_spec {
  std::string type;
  options opts;
  source_position where;
};

/// A source: a connector type, its options, its channel and interceptors.
struct source_spec {
  std::string name;
  std::string type;
  std::string channel;
  size_t batch_size = 1000;
  options opts;
  std::vector<interceptor_spec> interceptors;
  std::string node; ///< the node it runs on; empty: the only node
  source_position where;
};

/// A channel: "memory" or "file", with its options.
struct channel_spec {
  std::string name;
  std::string type;
  options opts;
  std::string node; ///< the node it runs on; empty: the only node
  source_position where;
};

/// A sink: a connector type, its options and the channel it drains.
struct sink_spec {
  std::string name;
  std::string type;
  std::string channel;
  size_t batch_size = 1000;
  options opts;
  std::string node; ///< the node it runs on; empty: the only node
  source_position where;
};

/// A sink group: sinks of one channel that take turns (failover) or share
/// the work (load_balance). Its members name the same channel and node; the
/// group takes the leases from the channel and hands them to its members.
struct sink_group_spec {
  std::string name;
  std::string type;               ///< "failover" or "load_balance"
  std::vector<std::string> sinks; ///< members, in the order written
  /// failover: each member's priority (higher wins), all distinct.
  std::map<std::string, int64_t> priorities;
  options opts; ///< the type's options (penalties, selector, back-off)
  source_position where;
};

/// A node of a cluster: one `sluice` process.
struct node_spec {
  std::string name;
  std::string host = "127.0.0.1"; ///< where peers and `sluice status` reach it
  uint16_t port = 0;              ///< its control port
  std::string bind = "127.0.0.1"; ///< the address it listens on
  source_position where;
};

/// TLS between nodes: every link and control connection is mutual TLS
/// with certificates signed by `ca_file`.
struct tls_spec {
  std::string certificate; ///< PEM file of this node's certificate
  std::string key;         ///< PEM file of its private key
  std::string ca_file;     ///< PEM file of the CA that signs every node
  source_position where;
  bool enabled() const noexcept { return !certificate.empty(); }
};

/// The nodes of a topology and how they watch one another.
struct cluster_spec {
  std::vector<node_spec> nodes; ///< empty: one implicit local node
  int64_t heartbeat_interval_ms = 100;
  /// A peer silent this long is taken for hung (SIGSTOP, a frozen host).
  int64_t peer_timeout_ms = 500;
  tls_spec tls;
};

/// A durable sharded topic (`[topics.NAME]`): N shard logs in one
/// directory on one node, which topic sinks write and topic sources read.
struct topic_spec {
  std::string name;
  std::string node;      ///< the node holding it; empty: the only node
  std::string directory; ///< holds topic.meta and shard-NNNN/
  uint32_t shards = 1;   ///< fixed at creation, 1..1024
  /// Group commit: 0 is `fsync = "batch"` (one sync after each run of
  /// appends), else one sync every this many ms.
  int64_t fsync_ms = 0;
  int64_t segment_size = int64_t{256} << 20;   ///< bytes of one segment
  int64_t retention_time_ms = 0;               ///< 0: keep for ever
  int64_t retention_size = 0;                  ///< per shard; 0: no limit
  int64_t max_disk_bytes = 0;                  ///< per shard; 0: only the disk
  int64_t min_free_space = int64_t{256} << 20; ///< left free on the disk
  source_position where;
  bool fsync_per_batch() const noexcept { return fsync_ms == 0; }
};

/// A SQL job of a topology (`[jobs.NAME]`): a script whose INSERT INTO
/// statements run on a node under its supervisor, as `sluice sql` would run
/// them, restarted with the node's other components when they fail. The
/// script is read and compiled when the node starts (and by `sluice
/// check`), not when the topology is parsed.
struct sql_job_spec {
  std::string name;
  std::string script;       ///< the SQL script's path
  std::string node;         ///< the node it runs on; empty: the only node
  uint32_t parallelism = 0; ///< 0: the script's SET, or 1
  /// `set`: settings that override the script's SET statements.
  std::map<std::string, std::string> settings;
  source_position where;
  source_position script_where; ///< where `script` is written
};

/// How supervisors restart failed components.
struct supervision_spec {
  int64_t max_restarts = 10; ///< within `restart_window_ms`
  int64_t restart_window_ms = 60'000;
  int64_t initial_backoff_ms = 100;
  int64_t max_backoff_ms = 10'000;
};

/// A whole topology: what `sluice run` starts.
struct topology_spec {
  std::vector<source_spec> sources;
  std::vector<channel_spec> channels;
  std::vector<sink_spec> sinks;
  std::vector<sink_group_spec> sink_groups;
  std::vector<topic_spec> topics; ///< `[topics.NAME]`
  cluster_spec cluster;
  supervision_spec supervision;
  /// How long a stop waits for channels to drain into sinks.
  int64_t drain_timeout_ms = 30'000;
  /// Channels that actors added in code feed or drain (embedding): they
  /// count as having a source and a sink.
  std::vector<std::string> attached_channels;
  /// Imported configurations (Flume): the keys of properties accepted
  /// without effect, in file order; names only, never values (some are
  /// credentials).
  std::vector<std::string> unused_properties;
  std::vector<sql_job_spec> jobs; ///< `[jobs.NAME]`
};

/// The largest topology file read, in bytes.
inline constexpr size_t max_topology_bytes = size_t{4} << 20;

/// The deepest a value of a topology may sit: table header parts, dotted
/// key parts, arrays and inline tables together (the parser recurses once
/// per level).
inline constexpr uint32_t max_topology_depth = 64;

/// One problem found in a topology file.
struct diagnostic {
  source_position where;
  std::string message;
};

/// Renders "file:line:column: error: message".
std::string to_string(const diagnostic& x);

/// Options every channel type takes (memory and file), by type.
const std::vector<option_spec>& channel_options(const std::string& type);

/// Options of a sink group, by type ("failover" or "load_balance"); `type`,
/// `sinks` and `priority` are read apart.
const std::vector<option_spec>& sink_group_options(const std::string& type);

/// The longest group-commit interval a topic's `fsync` may name.
inline constexpr int64_t max_fsync_interval_ms = 60'000;

/// Options of `[topics.NAME]` (`fsync` and `node` are read apart).
const std::vector<option_spec>& topic_options();

/// Options of `[jobs.NAME]` (`node` and `set` are read apart).
const std::vector<option_spec>& sql_job_options();

/// Parses a topic's `fsync`: "batch" is 0, else a duration in ms (> 0).
caf::expected<int64_t> parse_fsync(std::string_view text);

/// Parses and validates a topology from TOML text. On failure, returns every
/// problem found, each with its position. Text larger than
/// `max_topology_bytes` or nested deeper than `max_topology_depth` is
/// refused before parsing.
caf::expected<topology_spec> parse_topology(std::string_view text,
                                            const std::string& file_name,
                                            const connector_registry& registry,
                                            std::vector<diagnostic>& problems);

/// Reads and parses a topology file; refuses what is not a regular file
/// (a directory, a device, a FIFO) or is larger than `max_topology_bytes`.
caf::expected<topology_spec> load_topology(const std::string& path,
                                           const connector_registry& registry,
                                           std::vector<diagnostic>& problems);

/// Validates a topology built in code (names, references, options, sizes).
std::vector<diagnostic> validate(topology_spec& spec,
                                 const connector_registry& registry);

} // namespace sluice
