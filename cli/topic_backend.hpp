#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "runtime/topic_types.hpp"

namespace sluice {

// What `sluice topic` reads and changes, the same whether it works on a
// topic's directory (offline) or asks the node that runs it.

/// Where one shard stands.
struct topic_shard_view {
  uint32_t index = 0;
  uint64_t start = 0; ///< earliest offset still stored
  uint64_t end = 0;   ///< next offset to be appended
  /// Known offline only (a node reports its topic's totals).
  std::optional<uint64_t> segments;
  std::optional<int64_t> disk_bytes;
};

/// What `describe` shows of a topic.
struct topic_view {
  std::string name;
  uint32_t shards = 0;
  std::string partition;  ///< from topic.meta (offline), else empty
  int64_t created_ms = 0; ///< from topic.meta (offline), else 0
  std::string where;      ///< "directory D" or "node HOST:PORT"
  std::vector<topic_shard_view> shard_views;
  /// Committed offsets by group, one entry per shard (none: not committed).
  std::map<std::string, std::vector<std::optional<uint64_t>>> groups;
  /// Topic totals a node reports (its metrics), when asked through one.
  std::optional<uint64_t> total_segments;
  std::optional<int64_t> total_disk_bytes;
};

/// One topic of a listing.
struct topic_entry {
  std::string name;
  std::optional<uint32_t> shards;
  std::string where; ///< its directory or node
};

/// A topic opened offline or reached through its node.
class topic_backend {
 public:
  virtual ~topic_backend() = default;

  virtual uint32_t shards() const = 0;

  /// Shards, their offsets, and the committed offsets of `groups` (offline
  /// also every group found on disk).
  virtual caf::expected<topic_view>
  describe(const std::vector<std::string>& groups) = 0;

  /// Record batches of `shard` from `offset` on (at most `max_bytes`, at
  /// least one batch when any); waits up to `wait_ms` for one (node only).
  virtual caf::expected<fetch_result> fetch(uint32_t shard, uint64_t offset,
                                            uint64_t max_bytes,
                                            int64_t wait_ms) = 0;

  /// Fetches from several shards at once: `offsets[i]` for shard
  /// `which[i]`; an error for any fails the whole.
  virtual caf::expected<std::vector<fetch_result>>
  fetch_many(const std::vector<uint32_t>& which,
             const std::vector<uint64_t>& offsets, uint64_t max_bytes,
             int64_t wait_ms);

  /// The first offset of `shard` appended at or after `ts_ms`.
  virtual caf::expected<uint64_t> offset_for_time(uint32_t shard,
                                                  int64_t ts_ms) = 0;

  /// Records `group`'s position in `shard`, durably before it answers.
  virtual caf::error commit(uint32_t shard, const std::string& group,
                            uint64_t offset) = 0;

  /// Writes what `commit` recorded (offline: the consumer-offsets files).
  virtual caf::error flush() { return {}; }
};

} // namespace sluice
