#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "connectors/registry.hpp"

namespace sluice {

/// What `sluice topic ACTION` was asked.
struct topic_cmd_options {
  /// "create", "list", "describe", "tail" or "offsets".
  std::string action;
  std::string name; ///< the topic (all but list)
  /// Where the topic is: its directory (offline), a node's control port
  /// (HOST:PORT), or a topology file naming its node or directory.
  std::string dir;
  std::string node;
  std::string topology;
  int64_t timeout_ms = 3000;        ///< per answer of a node
  bool json = false;                ///< list, describe, offsets
  uint32_t shards = 0;              ///< create
  std::optional<uint32_t> shard;    ///< tail, offsets --reset: one shard only
  std::string from = "earliest";    ///< tail: earliest|latest|offset:N|...
  uint64_t count = 0;               ///< tail: records to print; 0: no limit
  bool follow = false;              ///< tail: wait for new records
  bool headers = false;             ///< tail: shard, offset, time and headers
  std::vector<std::string> groups;  ///< offsets (one), describe (extra)
  std::vector<std::string> commits; ///< offsets: SHARD=OFFSET
  std::string reset;                ///< offsets: earliest|latest|timestamp:MS
  /// Set by a signal handler to end `tail --follow` (may be null).
  const std::atomic<bool>* interrupted = nullptr;
};

/// `sluice topic ACTION`: creates, lists, describes, tails a topic or shows
/// and sets a consumer group's offsets, on a topic's directory (offline,
/// refused while a node holds it) or through the node that runs it.
/// Returns 0 on success, 1 when it failed (unknown topic, unreachable node,
/// a directory in use, another shard count), 2 for a usage error.
int topic_command(const topic_cmd_options& opts,
                  const connector_registry& registry);

} // namespace sluice
