#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <caf/fwd.hpp>

#include "actors/protocols.hpp"
#include "runtime/metrics.hpp"
#include "runtime/shard_log.hpp"

namespace sluice {

/// What a shard actor needs to run.
struct shard_config {
  std::string name; ///< "topic/shard-0003", for logs
  shard_log_config log;
  /// Group commit: 0 syncs after each run of appends in the mailbox
  /// (`fsync = "batch"`); otherwise syncs start at most this often. One
  /// fdatasync is in flight at a time, on a thread of its own; appends go
  /// on meanwhile and wait for the next one (pipelined group commit).
  int64_t fsync_interval_ms = 0;
  /// How often retention (`log.retention_ms`, `log.retention_bytes`) runs.
  int64_t retention_interval_ms = 10'000;
  /// Consumer groups' positions reach the disk at most this long after a
  /// commit (and at stop).
  int64_t offsets_flush_ms = 100;
  /// Fetches held (long polls) at most at once; more are answered busy.
  size_t max_waiting_fetches = 1024;
  /// After a producer's batch was refused for a full disk, its later
  /// batches are refused too until that one is appended (so that a smaller
  /// later batch cannot overtake it), for at most this long.
  int64_t held_order_ms = 60'000;
  /// Shared by the topic's shards (kind "topic"): appends, duplicates, and
  /// gauges summed over the shards.
  std::shared_ptr<component_metrics> metrics;
  /// Runs on its own thread (its syncs block); tests may turn it off.
  bool detached = true;
};

/// The shard actor: owns one `shard_log` and speaks `shard_actor`
/// (actors/protocols.hpp states the messages and rules); this is how it
/// behaves behind it.
///
/// Start: opens its log (recovering after a crash: a torn tail is cut) and
/// its consumer groups' positions (`<log dir>/consumer-offsets`); a log it
/// cannot open ends the actor with that error. A damaged consumer-offsets
/// file is logged, renamed to `consumer-offsets.corrupt-<ms>` and the
/// groups start without positions (they fall back to their `start`).
/// Commits: answered once the positions are on disk; the writes are grouped
/// (at most one per `offsets_flush_ms`).
/// Durability: an append is written at once and answered after the next
/// sync: with `fsync_interval_ms == 0` the shard sends itself a sync after
/// the first append of a mailbox run, so every append already queued is
/// covered by one fdatasync; otherwise a timer syncs. A failed sync breaks
/// the log: pending appends are answered `topic_errc::io_error` and the
/// shard ends with it (its topic restarts it, and reopening cuts what was
/// not synced).
/// Reads: fetches see only durable records; a held fetch is answered when a
/// sync makes records at its offset durable, or empty at its deadline.
/// Retention runs every `retention_interval_ms`. Metrics: `events_in`,
/// `bytes_in`, `batches_in` count appended records, `duplicates_dropped`
/// the events of batches dropped as already appended, `fill_events`,
/// `fill_bytes` and `segments` the records, bytes and segment files stored.
/// Stop and exit: answers what it holds, syncs, writes the groups'
/// positions and closes the log (also when killed).
shard_actor spawn_shard(caf::actor_system& sys, shard_config cfg);

/// The directory of shard `index` of a topic in `topic_dir`:
/// `<topic_dir>/shard-NNNN`.
std::string shard_directory_name(uint32_t index);

} // namespace sluice
