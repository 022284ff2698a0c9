#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <caf/error.hpp>

#include "runtime/event_batch.hpp"
#include "runtime/topic_types.hpp"

namespace sluice {

// Pieces every client of a topic shares: the collection tier's topic sink
// and source (actors/), the `topic` table connector and `sluice topic`.

/// FNV-1a, 64 bits: the hash behind both partitionings of a topic sink.
uint64_t topic_hash(std::string_view bytes) noexcept;

/// The shard of an event whose key is `key`, in a topic of `shards` shards.
uint32_t topic_shard_for_key(std::string_view key, uint32_t shards) noexcept;

/// The shard of a whole batch named (`producer`, `seq`) under round robin:
/// a retry of the batch, through any relay, hits the same shard.
uint32_t topic_shard_for_batch(std::string_view producer, uint64_t seq,
                               uint32_t shards) noexcept;

/// Where a topic sink or source finds its topic, for logs: "topic NAME", or
/// "topic NAME at HOST:PORT" when it is reached through another node.
/// `Config` has `topic`, `topic_name`, `host` and `port`.
template <class Config>
std::string topic_where(const Config& cfg) {
  if (cfg.topic || cfg.host.empty())
    return "topic " + cfg.topic_name;
  return "topic " + cfg.topic_name + " at " + cfg.host + ":" +
         std::to_string(cfg.port);
}

/// True when `err` says the shard a request went to is gone or stopping
/// (it restarts under its topic): the requester asks the topic for its
/// shards again instead of failing.
bool is_stale_shard_error(const caf::error& err);

/// Metadata requests in a row after a shard went away before the requester
/// gives up; the back-off between them doubles from 100 ms up to 2 s.
constexpr int max_shard_refreshes = 12;

/// The back-off before refresh `attempt` (0 first): 100 ms doubled per
/// attempt, at most 2 s.
int64_t shard_refresh_backoff_ms(int attempt);

/// Checks every batch of a fetch answer before it is used (it may come
/// from another node): an error naming the first that is not well formed.
caf::error check_fetched(const fetch_result& res);

} // namespace sluice
