#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <caf/expected.hpp>

#include "runtime/file_store_scan.hpp"

/// Offline inspection and repair of a file channel's directory, for an
/// operator who finds a channel that does not open or reports damage.
/// Both refuse a directory whose lock a running channel holds.
namespace sluice {

/// What a check found.
struct channel_check {
  file_format::log_scan scan;
  /// No damaged span, torn tail, unacknowledged gap or lost pointer.
  bool healthy = true;
  /// A report for people, one finding a line.
  std::vector<std::string> lines;
};

/// Scans `dir` without changing it, checking every record's payload.
caf::expected<channel_check> check_channel(const std::filesystem::path& dir);

/// What a repair did.
struct channel_repair {
  std::vector<std::string> done; ///< one action a line
  std::vector<std::string> lost; ///< what the damage cost, one item a line
  bool changed = false;
};

/// Rewrites what keeps `dir` from opening cleanly: cuts a torn tail,
/// removes damaged spans from their segments, records the batches they and
/// missing segments lost as acknowledged gaps, and writes a lost commit
/// pointer anew (its log is then delivered again).
caf::expected<channel_repair> repair_channel(const std::filesystem::path& dir);

} // namespace sluice
