#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include <caf/expected.hpp>
#include <caf/fwd.hpp>

#include "actors/protocols.hpp"
#include "runtime/metrics.hpp"
#include "runtime/shard_log.hpp"

namespace sluice {

/// What a topic actor needs to run.
struct topic_config {
  std::string name;
  std::filesystem::path directory; ///< holds topic.meta and shard-NNNN/
  uint32_t shards = 1;
  /// The partition default stored in topic.meta ("hash" or "round_robin").
  std::string partition = "hash";
  /// Every shard's log settings; `directory` is set per shard.
  shard_log_config log;
  /// Group commit: 0 syncs after each run of appends (`fsync = "batch"`),
  /// else every this many milliseconds.
  int64_t fsync_interval_ms = 0;
  int64_t retention_interval_ms = 10'000;
  int64_t offsets_flush_ms = 100;
  /// Back-off before a failed shard is started again: doubled per failure
  /// in a row, capped, reset once a shard ran for `max_restart_backoff_ms`.
  int64_t restart_backoff_ms = 100;
  int64_t max_restart_backoff_ms = 5'000;
  /// How long a metadata request waits for restarting shards.
  int64_t metadata_wait_ms = 5'000;
  bool detached_shards = true;
  std::shared_ptr<component_metrics> metrics; ///< kind "topic"
};

/// What topic.meta holds.
struct topic_meta {
  int format = 1;
  std::string name;
  uint32_t shards = 0;
  int64_t created_ms = 0;
  std::string partition;
};

/// Reads `<dir>/topic.meta`; `config_errc::not_found` when there is none,
/// `topic_errc::bad_metadata` when it is unreadable or of another format.
caf::expected<topic_meta> read_topic_meta(const std::filesystem::path& dir);

/// Writes `<dir>/topic.meta` atomically (temporary file, fsync, rename,
/// fsync of the directory).
caf::error write_topic_meta(const std::filesystem::path& dir,
                            const topic_meta& meta);

/// Creates the topic in `cfg.directory` (topic.meta) or opens it there. An
/// existing topic with another shard count is refused with
/// `topic_errc::shard_count_mismatch` naming both counts (a permanent
/// error: the count never changes).
caf::expected<topic_meta> create_or_open_topic(const topic_config& cfg);

/// The topic actor: speaks `topic_actor` (actors/protocols.hpp).
///
/// Start: creates or opens the topic (`create_or_open_topic`; a failure
/// ends the actor with that error), then spawns one shard actor per shard
/// (`actors/shard.hpp`, directory `shard-NNNN`) and monitors them.
/// Supervision: a shard that ends while the topic runs is started again
/// after a back-off (doubled per failure in a row, capped) and reopens its
/// log; restarts are counted in the topic's `restarts`. Metadata requests
/// made while a shard is down wait for it (`metadata_wait_ms`, then
/// `topic_errc::stopped`). Stop: `stop_atom` stops every shard and quits
/// normally once all ended (killing those that take longer than 30 s).
topic_actor spawn_topic(caf::actor_system& sys, topic_config cfg);

} // namespace sluice
