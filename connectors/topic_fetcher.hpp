#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <caf/error.hpp>
#include <caf/fwd.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "connectors/topic.hpp"
#include "runtime/atoms.hpp"
#include "runtime/topic_types.hpp"

namespace sluice {

/// What a topic fetcher hands its reader (the `topic` table source) and
/// what the reader hands back: shared by one fetcher actor and one reader
/// thread, every field under `mtx`.
struct topic_feed {
  /// One shard the fetcher reads.
  struct shard {
    uint32_t index = 0;             ///< the shard's number in its topic
    std::deque<read_batch> batches; ///< fetched, not yet read
    size_t bytes = 0;               ///< bytes of `batches`
    bool started = false;           ///< its start offset is known
    /// The reader's position: the next offset it reads (records below it
    /// in a fetched batch are skipped). The fetcher commits it.
    uint64_t next = 0;
    /// Bounded: the end offset seen at start (reading stops there).
    uint64_t end = UINT64_MAX;
    /// The last fetch found nothing new: the shard has nothing to read
    /// beyond what is queued.
    bool caught_up = false;
    /// Bounded: everything below `end` was fetched.
    bool at_end = false;
    int64_t last_rows_ms = 0; ///< wall clock of its last records
  };
  std::mutex mtx;
  std::vector<shard> shards;
  /// Set by the fetcher on an error it cannot get over: the reader fails
  /// the scan with it.
  caf::error failure;
};

/// The shard handles' source and everything the fetcher needs.
struct topic_fetcher_config {
  std::string label; ///< for logs: "table T (topic X at H:P) split i"
  topic_actor topic;
  topic_metadata meta;
  std::shared_ptr<topic_feed> feed;
  std::string group; ///< empty: no commits
  topic_start start;
  bool bounded = false;
  uint64_t fetch_bytes = uint64_t{1} << 20;
  /// Most bytes queued per shard before fetching pauses.
  uint64_t queue_bytes = uint64_t{4} << 20;
  int64_t wait_ms = 500;       ///< long poll of one fetch
  int64_t timeout_ms = 10'000; ///< beyond the wait, for every request
  int64_t commit_interval_ms = 1'000;
};

/// The fetcher of a `topic` table source: reads its shards through the
/// actor system and queues what it read for the source's `poll`.
///
/// Lifecycle: finds each shard's start (the group's committed offset, or
/// the earliest when it has none; earliest; latest; the first at or after
/// a time) and, bounded, its end (the durable end now), then keeps one
/// long-poll `fetch` in flight per shard while the shard's queue holds
/// less than `queue_bytes` (else it looks again every 10 ms): the queue is
/// bounded and `poll` never waits.
/// Offsets: every `commit_interval_ms` it commits, per shard, the reader's
/// position (`topic_feed::shard::next`) when it moved; at stop once more.
/// Shard restarts: a shard that is gone or stopping makes it ask the topic
/// for its shards again (back-off 100 ms to 2 s, at most 12 times in a
/// row) and fetch on from where it was. Any other error, or a timeout, is
/// put in `topic_feed::failure` and the fetcher stops fetching.
/// Messages: `(stop_atom)` -> `bool`: commits the reader's positions,
/// answers once the shards answered (or failed), and quits. Idempotent.
using topic_fetcher_actor =
    caf::typed_actor<caf::replies_to<stop_atom>::with<bool>>;

/// Spawns the fetcher in `sys`.
topic_fetcher_actor spawn_topic_fetcher(caf::actor_system& sys,
                                        topic_fetcher_config cfg);

} // namespace sluice
