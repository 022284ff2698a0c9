#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "actors/protocols.hpp"
#include "connectors/topic_common.hpp"
#include "runtime/metrics.hpp"

namespace sluice {

/// How a topic sink chooses the shard of what it writes.
enum class topic_partition {
  hash,        ///< per event: hash of a header's value (or the body) % N
  round_robin, ///< whole batches: (fnv1a(producer) + seq) % N
};

/// What a topic sink needs to run.
struct topic_sink_config {
  std::string name;
  caf::actor feed; ///< its channel, or the sink group that feeds it
  /// The topic's name, as its node knows it.
  std::string topic_name;
  /// A topic on this node (the engine hands it); when null, the topic is
  /// reached through the control port `host:port` of the node holding it.
  topic_actor topic;
  std::string host;
  uint16_t port = 0;
  topic_partition partition = topic_partition::hash;
  /// Hash partitioning: the header whose value is the key; empty: the body.
  std::string key;
  /// Declared fields of each event's body (the DataHub import's
  /// serializer.fieldnames) and their separator: an event with another
  /// number of fields is counted (`malformed`) and logged, and written as
  /// it is. Empty: bodies are not checked.
  std::vector<std::string> fields;
  std::string delimiter = ",";
  size_t batch_size = 1000; ///< most events per lease
  /// How long a shard may take to answer an append (or the topic its
  /// metadata) before the sink fails.
  int64_t timeout_ms = 10'000;
  /// The shard count the configuration expects; 0: whatever the topic has.
  uint32_t shards = 0;
  /// Leases being written and not yet answered, at most.
  size_t max_in_flight = 2;
  /// Back-off after a full disk: from the first value, doubling, to the
  /// second.
  int64_t backoff_ms = 100;
  int64_t max_backoff_ms = 2'000;
  /// How long a health probe waits for the topic's metadata.
  int64_t probe_timeout_ms = 1'000;
  /// Names the channel it drains ("node/channel"); with the lease's epoch
  /// it makes the producer of batches that carry no origin.
  std::string origin;
  std::shared_ptr<component_metrics> metrics;
};

/// The topic sink: drains a feed like a sink and appends what it takes to
/// the shards of a topic (local, or on another node).
///
/// Lifecycle: finds the topic (the handle it was given, or the node actor
/// at `host:port` asked `(topic_atom, topic_name)`; a node not up yet is
/// tried again with a back-off from 100 ms to 2 s), asks its metadata
/// (a `shards` other than the topic's count fails the sink with an error
/// naming both), monitors the topic, then takes up to `max_in_flight`
/// leases.
/// Writing: each batch of a lease is named by its origin (producer, seq)
/// when it carries one, else by (`origin#epoch`, the lease's seq of the
/// batch). Hash partitioning splits a batch into one sub-batch per shard,
/// each with the batch's name (the shards deduplicate independently);
/// round robin sends the whole batch to one shard. Every sub-batch is one
/// `append` request with `timeout_ms`.
/// Delivery: a lease commits when every shard answered; an answer
/// `duplicate = true` counts as delivered and its events in
/// `duplicates_dropped` (at-least-once into the topic, exactly once per
/// name in it).
/// Failure: a full disk (`topic_errc::disk_full`) rolls the lease back and
/// takes again after a back-off (from `backoff_ms`, doubling up to
/// `max_backoff_ms`): the channel fills and its sources slow down. A shard
/// that ends (the sink monitors its shards) or answers that it is gone or
/// stopping rolls back every lease in flight; the sink asks the topic for
/// its shards again (back-off from 100 ms to 2 s, at most 12 times in a
/// row) and writes on (what a shard already held comes back as a
/// duplicate). Any other error, a timeout, or the topic's down message
/// rolls back every lease in flight and ends the actor with the error: its
/// supervisor or sink group restarts it.
/// Health: `(probe_atom)` -> `true` when the topic answers a metadata
/// request within `probe_timeout_ms`; writes nothing.
/// Stop: `stop_atom` takes no more leases, waits (bounded by `timeout_ms`)
/// for the answers of those in flight, and quits normally. Idempotent.
sink_actor spawn_topic_sink(caf::actor_system& sys, topic_sink_config cfg);

} // namespace sluice
