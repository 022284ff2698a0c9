#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>

#include <sys/statvfs.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#include <caf/error.hpp>
#include <caf/expected.hpp>

namespace sluice {

/// Opens `path` write-only for appending, creating it (mode 0644) when it
/// does not exist; answers the descriptor or -1 with errno set.
int open_for_append(const char* path);

/// Asks the kernel to start writing a file's range to the disk without
/// waiting for it (`sync_file_range` with `SYNC_FILE_RANGE_WRITE`); answers
/// 0, or -1 with errno set.
int start_writeback(int fd, int64_t offset, int64_t length);

/// Settings of a `segment_files` directory.
struct segment_files_config {
  std::filesystem::path directory;
  /// Who owns the directory, for messages ("file channel", "shard").
  std::string owner = "segment log";
  /// Bytes of segment files allowed; 0: no limit but the disk.
  int64_t max_disk_bytes = 0;
  /// Free bytes the file system must keep.
  int64_t min_free_space = 0;
  /// `has_room` asks for at most this many bytes at once (a segment's
  /// size); 0: what it is asked.
  int64_t max_request = 0;
  /// `has_room` asks the file system for its free space again only once
  /// this many bytes were appended since it last asked, or sooner when the
  /// room above `min_free_space` it found then runs out; 0: at every call.
  int64_t free_space_check_bytes = 0;
  /// Write-behind: once this many bytes were appended since the last
  /// start, the active segment's new bytes are handed to the disk
  /// (`sync_file_range` with `SYNC_FILE_RANGE_WRITE`, which waits for
  /// nothing), so the next fdatasync finds most of them written already and
  /// the disk works while the owner appends; 0: the fdatasync writes all.
  int64_t writeback_bytes = 0;
  /// Starts the write-back of a file's range; `start_writeback` (the
  /// kernel's `sync_file_range` with `SYNC_FILE_RANGE_WRITE`) unless a test
  /// watches it.
  int (*write_behind)(int fd, int64_t offset, int64_t length) = start_writeback;
  /// Reads the file system's free space; `::statvfs` unless a test injects
  /// it.
  int (*stat_fs)(const char* path, struct statvfs* out) = ::statvfs;
  /// Makes a file's data durable; `::fdatasync` unless a test injects
  /// failures.
  int (*sync_data)(int fd) = ::fdatasync;
  /// Appends buffers to a file; `::writev` unless a test injects failures
  /// (ENOSPC, short writes).
  ssize_t (*write)(int fd, const iovec* parts, int n) = ::writev;
  /// Truncates a file; `::ftruncate` unless a test injects failures.
  int (*truncate)(int fd, off_t size) = ::ftruncate;
  /// Opens a segment for appending, creating it when missing;
  /// `open_for_append` unless a test injects failures (ENOSPC, EMFILE).
  int (*open_segment)(const char* path) = open_for_append;
};

/// One fdatasync of the active segment run outside the owner's thread
/// (`segment_files::begin_sync`): the descriptor to sync and what it covers.
struct sync_ticket {
  int fd = -1;        ///< a duplicate of the active segment's descriptor
  int64_t size = 0;   ///< the active segment's size when the sync began
  uint64_t epoch = 0; ///< which activation of a segment it belongs to
};

/// One directory of append-only segment files, the IO shared by the file
/// channel's store and a topic's shard log; what the records mean is the
/// owner's business, and so are the names of the files (a channel numbers
/// them, a shard names them by base offset).
///
/// - `lock` creates the directory and takes an exclusive lock on its
///   `lock` file: one owner at a time.
/// - `append` writes one record (its parts) as one `writev` at the end of
///   the active segment; a short or failed write is cut off again, so the
///   segment stays valid, and answers `channel_errc::disk_full` for ENOSPC
///   and EDQUOT. When that cut fails, the directory is broken (as after a
///   failed fdatasync): later appends would land behind the partial record.
/// - `sync` makes every append durable with one fdatasync (group commit).
///   A failed fdatasync cuts the active segment back to its size at the
///   last successful one (the kernel may have dropped the pages while a
///   read still shows them) and marks the directory broken: nothing more is
///   accepted until the owner opens it again and recovers from the files.
/// - `begin_sync` / `end_sync` split a sync in two, so the owner can append
///   while another thread runs the fdatasync (pipelined group commit): the
///   size synced moves only when `end_sync` hears that it worked, and a
///   failure there breaks the directory as a failed `sync` does.
/// - `roll` syncs the active segment and starts the next (syncing the
///   directory, so the new file survives a crash). When the next cannot be
///   created, the old one stays active, so a later roll can try again.
/// - `remove` deletes a whole segment, `cut` truncates one (a torn tail)
///   and syncs it.
/// - `disk_bytes` counts the segment files' bytes; `has_room` answers
///   whether `max_disk_bytes` and `min_free_space` allow more.
class segment_files {
 public:
  explicit segment_files(segment_files_config cfg);

  /// Closes the files without syncing: dropping it behaves like a crash.
  ~segment_files();

  segment_files(const segment_files&) = delete;
  segment_files& operator=(const segment_files&) = delete;

  /// Creates the directory and locks it; fails, naming the directory, when
  /// another owner holds the lock.
  caf::error lock();

  /// The path of segment `name` in the directory.
  std::filesystem::path path_of(const std::string& name) const;

  const std::filesystem::path& directory() const noexcept {
    return cfg_.directory;
  }

  /// Counts an existing segment of `size` bytes (found by the owner's
  /// recovery) in `disk_bytes`.
  void adopt(const std::string& name, int64_t size);

  /// Makes `name` the active segment: opens it for appending, creating it
  /// (and syncing the directory) when it does not exist. Its current size
  /// counts as synced: the owner's recovery syncs or checks it first. On
  /// failure the active segment stays what it was (and a file it created is
  /// deleted again).
  caf::error activate(const std::string& name);

  /// Appends `n` buffers as one write at the end of the active segment.
  caf::error append(const iovec* parts, int n);

  /// Makes all appends durable: one fdatasync when there is anything new.
  caf::error sync();

  /// Starts a sync of every append so far without running it: answers a
  /// duplicate of the active segment's descriptor, which the caller syncs
  /// (from any thread, with the configured `sync_data`) and closes, or none
  /// when nothing was appended since the last sync began.
  caf::expected<std::optional<sync_ticket>> begin_sync();

  /// Ends a sync `begin_sync` started: when it worked (`ok`), what it
  /// covered counts as synced; when it failed, the active segment is cut
  /// back to its last synced size and the directory is broken, as after a
  /// failed `sync`.
  caf::error end_sync(const sync_ticket& t, bool ok);

  /// Syncs the active segment, then activates `next` (new) and closes the
  /// old one. When `next` cannot be created, the old segment stays active
  /// (nothing is broken: the owner may roll again later).
  caf::error roll(const std::string& next);

  /// Deletes segment `name` (not the active one).
  caf::error remove(const std::string& name);

  /// Truncates segment `name` to `size` bytes and syncs it.
  caf::error cut(const std::string& name, int64_t size);

  /// Syncs the directory (after creating, renaming or deleting files).
  caf::error sync_directory();

  /// Writes `data` to `name` in the directory atomically: a temporary
  /// file, fdatasync, rename, directory sync.
  caf::error write_atomically(const std::string& name, const char* data,
                              size_t size);

  /// True when `bytes` more may be written; otherwise `why` says which
  /// limit stops it, with the figures. `max_disk_bytes` is checked every
  /// call, the free space as `free_space_check_bytes` says.
  bool has_room(size_t bytes, std::string& why) const;

  /// Times `has_room` asked the file system for its free space.
  uint64_t free_space_checks() const noexcept { return free_space_checks_; }

  /// Bytes of the segment files.
  int64_t disk_bytes() const noexcept { return disk_bytes_; }

  /// True while a segment is active (from the first `activate` on).
  bool has_active() const noexcept { return fd_ >= 0; }

  /// The active segment's name, size and size at its last sync.
  const std::string& active() const noexcept { return active_; }
  int64_t active_size() const noexcept { return active_size_; }
  int64_t synced_size() const noexcept { return synced_size_; }

  /// Bytes of a segment as counted (0 when unknown).
  int64_t size_of(const std::string& name) const;

  /// True after an fdatasync failed, or a partial record could not be cut
  /// off again.
  bool broken() const noexcept { return broken_; }

  /// The error every call answers once broken.
  caf::error broken_error() const;

  /// Closes every file without syncing; releases the lock.
  void close();

 private:
  caf::error sync_failed();
  void start_write_behind();
  void cut_partial_record(const std::filesystem::path& path, ssize_t written);

  segment_files_config cfg_;
  std::map<std::string, int64_t> sizes_; ///< by segment name
  std::string active_;
  int fd_ = -1;
  int dir_fd_ = -1;
  int lock_fd_ = -1;
  int64_t active_size_ = 0;
  int64_t synced_size_ = 0;
  int64_t disk_bytes_ = 0;
  uint64_t epoch_ = 0; ///< counts activations, for sync tickets
  /// Bytes that may be appended before `has_room` asks the file system
  /// again (-1: ask at the next call), and what was appended since it did.
  mutable int64_t free_space_budget_ = -1;
  mutable int64_t appended_since_check_ = 0;
  mutable uint64_t free_space_checks_ = 0;
  /// Where the active segment's bytes not yet handed to the disk by
  /// write-behind begin.
  int64_t writeback_from_ = 0;
  bool dirty_ = false;
  bool broken_ = false;
  std::string broken_why_; ///< what broke it, for `broken_error`
};

/// A byte count for people: "512 B", "3.5 KiB", "1.2 MiB", "4.0 GiB".
std::string size_text(int64_t n);

} // namespace sluice
