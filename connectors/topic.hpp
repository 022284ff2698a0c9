#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <caf/expected.hpp>

#include "connectors/registry.hpp"

namespace sluice {

/// True for the topic source and sink types, which run as actors of their
/// own (actors/topic_source, actors/topic_sink) rather than through a
/// connector: the engine spawns those actors for them.
bool is_topic_type(const std::string& type);

/// Where a topic source starts reading a shard (`start = ...`).
struct topic_start {
  enum class kind {
    committed, ///< the group's committed offset; earliest when it has none
    earliest,
    latest,
    offset,    ///< `offset:N`
    timestamp, ///< `timestamp:MS`: the first record appended at or after
  };
  kind from = kind::committed;
  uint64_t offset = 0;      ///< for `offset`
  int64_t timestamp_ms = 0; ///< for `timestamp` (ms since the epoch)
};

/// Parses a topic source's `start`: "committed", "earliest", "latest",
/// "offset:N" (N a non-negative integer) or "timestamp:MS" (ms since the
/// epoch, non-negative).
caf::expected<topic_start> parse_topic_start(std::string_view text);

/// A node's control port, as a topic sink's or source's `address` names it.
struct topic_address {
  std::string host;
  uint16_t port = 0;
};

/// Parses "HOST:PORT" (PORT 1..65535, HOST not empty; "[::1]:PORT" for an
/// IPv6 host).
caf::expected<topic_address> parse_topic_address(std::string_view text);

} // namespace sluice
