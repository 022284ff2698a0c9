#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <caf/expected.hpp>

#include "cli/topic_backend.hpp"

namespace sluice {

// `sluice topic` on a topic's directory, without a running node.

/// Opens the topic in `dir` (its topic.meta and every shard's log). Refuses
/// a directory whose topic.meta names another topic than `name` (unless
/// `name` is empty), and a shard whose lock a running node holds (the error
/// says to ask that node with --node). Opening recovers each log as a node
/// would (a torn tail is cut); closing writes its clean-shutdown marker.
caf::expected<std::unique_ptr<topic_backend>>
open_offline_topic(const std::filesystem::path& dir, const std::string& name);

/// Creates topic `name` with `shards` shards in `dir` (topic.meta and the
/// shard directories). Answers true when it created the topic, false when
/// the directory already holds it with that count; another count, or
/// another topic's name, is an error naming both.
caf::expected<bool> create_offline_topic(const std::filesystem::path& dir,
                                         const std::string& name,
                                         uint32_t shards);

/// The topics in `dir`: `dir` itself when it holds a topic.meta, else its
/// subdirectories that do, in name order.
caf::expected<std::vector<topic_entry>>
list_offline_topics(const std::filesystem::path& dir);

/// True when a running process holds the lock of the shard directory
/// `shard_dir` (a missing lock file is not held).
bool shard_lock_held(const std::filesystem::path& shard_dir);

} // namespace sluice
