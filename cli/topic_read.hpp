#pragma once

#include "cli/topic_backend.hpp"
#include "cli/topic_cmd.hpp"

namespace sluice {

/// `sluice topic tail`: prints the records of the topic `b` opened, one line
/// per event body (with `headers`: shard, offset, append time and headers
/// before it, tab-separated), from `opts.from`, up to `opts.count` records,
/// and with `opts.follow` waits for new ones until interrupted. Returns the
/// command's exit code.
int topic_tail(const topic_cmd_options& opts, topic_backend& b);

/// `sluice topic offsets`: commits (`opts.commits`, `opts.reset`) and then
/// shows group `opts.groups[0]`'s committed offsets and lag per shard.
int topic_offsets(const topic_cmd_options& opts, topic_backend& b);

} // namespace sluice
