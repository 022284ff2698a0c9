#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "runtime/event_batch.hpp"
#include "runtime/json_text.hpp"

namespace sluice {

/// Suffix of an archive file being written (after a leading dot and the
/// final name).
inline constexpr std::string_view archive_tmp_suffix = ".inprogress";

/// Suffix of a finished archive file.
inline constexpr std::string_view archive_file_suffix = ".jsonl.zst";

/// What `recover_archive_file` did with a leftover in-progress file.
struct archive_recovery {
  std::filesystem::path path; ///< the final name it got (empty: removed)
  int64_t kept_bytes = 0;     ///< complete frames kept
  int64_t cut_bytes = 0;      ///< bytes after the last complete frame
  bool skipped = false;       ///< locked: another sink still writes it
};

/// Appends event `i` of `batch` as one JSON line with time `ts_ms`:
/// `{"ts":MS,"body":"...","headers":{"k":"v",...}}`.
void append_json_line(const event_batch& batch, size_t i, int64_t ts_ms,
                      std::string& out);

/// The partition directory of an hour since the epoch:
/// `dt=YYYY-MM-DD/hour=HH` (UTC).
std::string archive_partition(int64_t hour);

/// Cuts an in-progress archive file after its last complete frame (checked
/// by decompressing each one, checksums included), syncs it and renames it
/// to its final name (the name without the leading dot and the
/// `.inprogress` suffix; a `-rN` is added when that name is taken), syncing
/// the directory; removes it when it holds no complete frame. Skips a file
/// another process holds locked (flock). Reads the whole file into memory.
caf::expected<archive_recovery>
recover_archive_file(const std::filesystem::path& tmp_path);

/// File system steps of the archive sink and its recovery.
namespace archive_io {

/// A `connector_errc::io_error` saying `what` failed on `path` and why.
caf::error io_error(const std::string& what, const std::filesystem::path& path,
                    int code);

/// fsyncs a directory.
caf::error sync_directory(const std::filesystem::path& dir);

/// Creates `rel` below `root` level by level, syncing each parent that got
/// a new entry, so that a file synced in it later is found after a crash.
caf::error make_partition_dirs(const std::filesystem::path& root,
                               const std::filesystem::path& rel);

/// Renames without replacing an existing file; false with errno set when
/// that failed.
bool rename_new(const std::filesystem::path& from,
                const std::filesystem::path& to);

/// True when `path` still names the file open as `fd`.
bool same_file(int fd, const std::filesystem::path& path);

} // namespace archive_io

} // namespace sluice
