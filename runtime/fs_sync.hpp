#pragma once

#include <filesystem>

#include <caf/error.hpp>

namespace sluice {

/// Flushes a directory's entries (the names in it) to disk with fsync.
/// Fails with `topic_errc::io_error` naming the directory.
caf::error sync_directory(const std::filesystem::path& dir);

/// Creates `dir` and every missing parent, level by level, and fsyncs the
/// parent of each directory it created, so that the new directories are
/// still found after a power loss. Existing levels are left as they are.
/// Fails with `topic_errc::io_error` (or `disk_full`) naming the path.
caf::error create_directories_synced(const std::filesystem::path& dir);

} // namespace sluice
