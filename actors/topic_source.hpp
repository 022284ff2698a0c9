#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include <caf/actor.hpp>
#include <caf/expected.hpp>
#include <caf/fwd.hpp>

#include "actors/protocols.hpp"
#include "connectors/topic.hpp"
#include "runtime/metrics.hpp"

namespace sluice {

/// The positions a topic source put into its channel, one per shard, as
/// the text of its progress token ("t1;0=12;1=40": shard=offset), and back. A
/// token that does not parse gives an error.
std::string encode_topic_positions(const std::map<uint32_t, uint64_t>& pos);
caf::expected<std::map<uint32_t, uint64_t>>
decode_topic_positions(std::string_view token);

/// What a topic source needs to run.
struct topic_source_config {
  std::string name;
  channel_actor channel;
  std::string topic_name;
  /// A topic on this node (the engine hands it); when null, the topic is
  /// reached through the control port `host:port` of the node holding it.
  topic_actor topic;
  std::string host;
  uint16_t port = 0;
  /// The consumer group whose offsets it commits.
  std::string group;
  topic_start start; ///< see connectors/topic.hpp
  /// Adds headers `shard` and `offset` (the event's) to every event.
  bool headers = false;
  /// Credit window asked of the channel, in events.
  uint64_t window = 4000;
  /// Most bytes one fetch brings.
  uint64_t fetch_bytes = uint64_t{1} << 20;
  /// How long a fetch waits for new records (long poll).
  int64_t wait_ms = 500;
  /// How long a shard may answer past the wait before the source fails.
  int64_t timeout_ms = 10'000;
  /// How long a stop waits for the channel's acks of batches in flight.
  int64_t stop_timeout_ms = 10'000;
  std::shared_ptr<component_metrics> metrics;
};

/// The topic source: reads every shard of a topic (local, or on another
/// node) for a consumer group and puts the records into its channel.
///
/// Lifecycle: asks its channel for its progress token (the positions it
/// put, per shard), finds the topic (the handle it was given, or the node
/// actor at `host:port` asked `(topic_atom, topic_name)`), asks its
/// metadata, picks per shard its start (the token's position when it has
/// one, else `start`: the group's committed offset, earliest, latest, an
/// offset, or a timestamp; never past the shard's durable end), attaches to the
/// channel, then runs one reader per shard: a long-poll `fetch` from its
/// position, records before the position inside the first batch skipped.
/// Backpressure: records are put only within the channel's credit (a
/// record batch larger than the credit goes in pieces); a shard fetches
/// again only once what it fetched is put.
/// Positions: each put remembers its shard and the shard offset after its
/// last record; a shard's group offset is committed only up to the end of
/// the longest run of its puts the channel acknowledged, never past one it
/// did not (acks may come in any order). Every put carries the token of
/// positions put so far, so a file channel restart does not read again
/// what the channel holds. Batches lose their origin: the topic source is
/// where they enter this pipeline (a topic sink further on names them by
/// its channel).
/// Shard restarts: a shard that ends (the source monitors its shards) or
/// answers that it is gone or stopping makes the source ask the topic for
/// its shards again (back-off from 100 ms to 2 s, at most 12 times in a
/// row); the readers keep their positions and fetch and commit again.
/// Checks: a fetched batch that is not well formed ends the source.
/// Failure: another error of a shard or the topic, a timeout, or a refused
/// put ends the actor with the error; its supervisor restarts it and it resumes
/// from the token or the committed offsets (at-least-once).
/// Stop: `stop_atom` stops reading, waits (bounded by `stop_timeout_ms`)
/// for the acks of what it put, commits, and quits normally. Idempotent.
caf::actor spawn_topic_source(caf::actor_system& sys, topic_source_config cfg);

} // namespace sluice
