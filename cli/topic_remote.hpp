#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <caf/expected.hpp>

#include "cli/topic_backend.hpp"
#include "config/topology.hpp"

namespace sluice {

// `sluice topic` through a running node's control port.

/// A node to ask: HOST:PORT of its control port, with the topology's
/// cluster settings (TLS) when it came from one.
struct topic_node {
  std::string host;
  uint16_t port = 0;
  cluster_spec cluster;
  int64_t timeout_ms = 3000; ///< to connect, and for each answer

  std::string address() const;
};

/// Connects to the node and looks topic `name` up (`(topic_atom, name)`),
/// then asks the topic for its shards. Fails with a clear error when the
/// node does not answer or has no such topic.
caf::expected<std::unique_ptr<topic_backend>>
open_remote_topic(const topic_node& node, const std::string& name);

/// The topics a node runs (its components of kind "topic"), each with its
/// shard count when the topic answers.
caf::expected<std::vector<topic_entry>>
list_remote_topics(const topic_node& node);

/// Parses HOST:PORT (the port after the last colon; "[::1]:PORT" too).
caf::expected<topic_node> parse_topic_node(const std::string& text);

} // namespace sluice
