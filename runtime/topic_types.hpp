#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "runtime/atoms.hpp"
#include "runtime/event_batch.hpp"
#include "runtime/shard_log.hpp"

namespace sluice {

// The messages of topics and shards. The protocols that carry them are
// described in actors/protocols.hpp; the types live on this floor so that
// runtime/type_ids.cpp can register them (a topic's shards and metadata
// cross nodes).

/// A shard's answer to an append (defined with `shard_log`): CAF inspection.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, append_result& x) {
  return f(caf::meta::type_name("append_result"), x.base_offset, x.count,
           x.duplicate);
}

/// One record batch read from a shard (defined with `shard_log`): CAF
/// inspection.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, read_batch& x) {
  return f(caf::meta::type_name("read_batch"), x.base_offset, x.timestamp_ms,
           x.batch);
}

/// A shard's answer to a fetch.
struct fetch_result {
  /// Whole record batches from the one holding the offset asked for, in
  /// offset order; empty when nothing arrived within the wait.
  std::vector<read_batch> batches;
  uint64_t start_offset = 0; ///< earliest offset the shard still stores
  uint64_t end_offset = 0;   ///< next offset readable (the durable end)
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, fetch_result& x) {
  return f(caf::meta::type_name("fetch_result"), x.batches, x.start_offset,
           x.end_offset);
}

/// Where a shard stands.
struct shard_offsets {
  uint64_t start = 0;       ///< earliest offset still stored
  uint64_t end = 0;         ///< next offset to be appended
  uint64_t durable_end = 0; ///< offsets below it are durable and readable
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, shard_offsets& x) {
  return f(caf::meta::type_name("shard_offsets"), x.start, x.end,
           x.durable_end);
}

/// The committed positions of every consumer group of a shard.
struct group_offsets {
  std::map<std::string, uint64_t> committed; ///< by group
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, group_offsets& x) {
  return f(caf::meta::type_name("group_offsets"), x.committed);
}

/// One shard of a topic (actors/protocols.hpp describes the messages).
using shard_actor = caf::typed_actor<
    caf::replies_to<append_atom, std::string, uint64_t,
                    event_batch>::with<append_result>,
    caf::replies_to<fetch_atom, uint64_t, uint64_t,
                    int64_t>::with<fetch_result>,
    caf::replies_to<offsets_atom>::with<shard_offsets>,
    caf::replies_to<offset_for_time_atom, int64_t>::with<uint64_t>,
    caf::replies_to<commit_atom, std::string, uint64_t>::with<bool>,
    caf::replies_to<committed_atom, std::string>::with<uint64_t>,
    caf::replies_to<groups_atom>::with<group_offsets>,
    caf::reacts_to<stop_atom>>;

/// What a topic says of itself.
struct topic_metadata {
  std::string name;
  uint32_t shards = 0;
  /// The running shard actors, shard i at index i (`shards` entries).
  std::vector<shard_actor> shard_actors;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, topic_metadata& x) {
  return f(caf::meta::type_name("topic_metadata"), x.name, x.shards,
           x.shard_actors);
}

/// A topic (actors/protocols.hpp describes the messages).
using topic_actor =
    caf::typed_actor<caf::replies_to<metadata_atom>::with<topic_metadata>,
                     caf::reacts_to<stop_atom>>;

} // namespace sluice
