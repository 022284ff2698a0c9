#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "connectors/source_connector.hpp"

namespace sluice {

/// Settings of the taildir source.
struct taildir_config {
  std::map<std::string, std::string> filegroups; ///< group -> glob
  std::string position_file;
  bool file_header = false;
  std::string file_header_key = "file";
  bool group_header = false;
  int64_t max_line_length = 1 << 20;
  int64_t scan_interval_ms = 1000;
  bool skip_to_end = false;
  int64_t read_buffer = 64 << 10;
  /// Most files kept open at once; at most half the process's descriptor
  /// limit is used whatever this says.
  int64_t max_open_files = 256;
};

/// Bytes at the start of a file that identify it, with its inode.
constexpr uint32_t fingerprint_bytes = 256;

/// One file's position, as seals snapshot it and the position file keeps it.
struct file_position {
  uint64_t dev = 0; ///< 0 when unknown (a position file without "dev")
  uint64_t inode = 0;
  int64_t pos = 0;          ///< first byte not yet handed out
  std::string path;         ///< last known name
  std::string group;        ///< file group that found it; may be empty
  bool skipping = false;    ///< `pos` is inside an over-long line already cut
  uint32_t fingerprint = 0; ///< CRC-32 of the file's first `fp_len` bytes
  uint32_t fp_len = 0;      ///< 0: unknown (or the file was empty)
};

/// The version of the position file format `write_position_file` writes.
constexpr uint64_t position_file_version = 2;

/// Reads a position file: a JSON object {version, serial, files} whose
/// files are {inode, pos, file} objects (with optional dev, group, skip, fp,
/// fp_len). Version 1, a bare JSON array of such objects each carrying the
/// serial (an object with only a serial marks the serial of a file that
/// follows nothing), is read too. A missing or empty file holds no
/// positions; an unreadable or malformed one, or one of a newer version,
/// is an error naming the file. `serial`, if given, receives the file's
/// serial (0 if none).
caf::expected<std::vector<file_position>>
read_position_file(const std::string& path, uint64_t* serial = nullptr);

/// Writes `positions` to `path` atomically: a temporary file in the same
/// directory, then a rename over `path`. `serial` numbers the snapshot, so
/// that it can be told apart from an older or newer one the channel holds.
/// `durable` syncs the file and its directory (used at open, not per
/// commit).
caf::error write_position_file(const std::string& path,
                               const std::vector<file_position>& positions,
                               uint64_t serial = 0, bool durable = false);

/// The positions as a compact token for a channel to keep with each batch
/// (`source_connector::progress`), and back. Tokens of earlier versions
/// (without fingerprints) decode with their fingerprints unknown.
std::string encode_positions(const std::vector<file_position>& positions,
                             uint64_t serial);
caf::expected<std::vector<file_position>>
decode_positions(std::string_view token, uint64_t* serial = nullptr);

/// How many files a taildir source keeps open: `configured`, but at most
/// half the process's descriptor limit (RLIMIT_NOFILE), and at least 1.
size_t taildir_open_cap(int64_t configured);

/// One file the taildir source follows.
struct taildir_file {
  uint64_t dev = 0;
  uint64_t inode = 0;
  std::string path;  ///< name it was last seen under
  std::string group; ///< file group whose glob found it
  int fd = -1;     ///< open while active, so a renamed file is read to its end
  int64_t pos = 0; ///< first byte not yet handed out (nor cut away)
  uint32_t fingerprint = 0; ///< as in `file_position`
  uint32_t fp_len = 0;
  bool wanted = true;       ///< closed, but has bytes to read (or is new)
  bool open_failed = false; ///< its last open failed; retried at each scan
  bool gone = false;        ///< closed and no longer found: to be dropped
  int64_t closed_size = -1; ///< size and mtime when it was last closed
  int64_t closed_mtime_ns = 0;
  int64_t seen_mtime_ns = 0; ///< mtime at its last read
  uint64_t last_active = 0;  ///< tick of its last read that found bytes
  int64_t eof_at = -1;       ///< file size when a read last reached the end
  bool skipping = false;     ///< discarding the rest of an over-long line
  bool matched = true;       ///< found by the last scan of the globs
  int idle_scans = 0;        ///< scans at the end since it stopped matching
  std::chrono::steady_clock::time_point idle_since{}; ///< first such scan
  bool warned_long = false; ///< an over-long line was logged already
};

/// The taildir source's whole state; the source owns it and nothing else
/// holds file state, so a checkpoint can copy it (minus the descriptors).
struct taildir_state {
  std::vector<taildir_file> files;
  /// Positions read from the position file not placed on a file yet: kept
  /// (and written back) while their directory cannot be read.
  std::vector<file_position> restored;
  /// A snapshot taken by `seal`.
  struct sealed_snapshot {
    uint64_t seq = 0;    ///< the batch it ends
    uint64_t serial = 0; ///< numbers snapshots across runs
    std::vector<file_position> positions;
  };
  /// Snapshots taken by `seal`, oldest first, not yet committed.
  std::deque<sealed_snapshot> sealed;
  /// What the position file holds.
  std::vector<file_position> committed;
  uint64_t committed_serial = 0;
  uint64_t serial = 0;   ///< of the newest snapshot
  size_t next_file = 0;  ///< where the next poll starts reading, round-robin
  size_t open_files = 0; ///< files with a descriptor
  size_t max_open = 1;   ///< the cap on `open_files` in effect
  /// Files closed to make room while they still had unread bytes (only
  /// when every open file had some).
  uint64_t closed_unread = 0;
  uint64_t tick = 0; ///< counts reads, for `last_active`
  std::chrono::steady_clock::time_point last_scan{};
  bool scanned = false;     ///< the first scan (at `open`) is done
  bool fresh_start = false; ///< no position file at open: skip_to_end applies
  bool opened = false;
};

/// Follows the files matching a set of globs, by inode and fingerprint,
/// and emits their lines (Flume's TAILDIR source).
///
/// Lifecycle: `open` reads the position file (an unreadable or corrupt one
/// is an error), scans the globs, restores the positions of inodes that
/// still exist and writes the position file back. `poll` reads what was
/// appended to every followed file, round-robin, and hands out complete
/// lines only: a partial last line waits for its newline. The globs are
/// scanned again every `scan_interval`.
///
/// Rotation: a file renamed away is read through its open descriptor to its
/// end, then dropped once scans found it gone and at its end for a second
/// (its last line is handed out then even without a newline); a new inode
/// at the pattern is read from its start; a file shorter than its position
/// was truncated (copy-truncate) and is read again from 0.
///
/// Identity: a file is its inode plus a fingerprint, the CRC-32 of its
/// first `fingerprint_bytes` bytes (fewer while it is shorter: the length
/// is kept and only that prefix compared, and the fingerprint grows with
/// the file). A restored position whose inode now holds other first bytes
/// (inode reuse), or a followed file whose first bytes changed (truncated
/// and rewritten between two reads), is a new file read from 0. A position
/// without a fingerprint (an older position file) adopts the file's.
///
/// Descriptors: at most `max_open_files` files are open, and at most half
/// the process's descriptor limit. To open one more, the least recently
/// active file is closed; each scan stats the closed files and the next
/// poll reopens those that grew, checking inode and fingerprint (a closed
/// file renamed away is found by its inode next to its old name). Opens
/// failing for lack of descriptors are logged as such, close idle files
/// and are retried.
///
/// Unreadable files: a file that cannot be opened keeps its position and
/// is tried again at every scan. A restored position whose file is not
/// found is kept while its directory cannot be read (say, a volume not
/// mounted yet), and dropped once the directory reads without it.
///
/// Resuming: `progress` is every file's position as a token the channel
/// keeps with each batch; `resume(token)` makes the next `open` start from
/// it rather than from the position file, which lags the channel by the
/// batches whose ack the source did not see before it stopped.
///
/// Positions: `seal(seq)` snapshots every file's position at the end of
/// batch `seq`; `commit(seq)` makes that snapshot the committed state and
/// writes it to the position file. Only committed positions are written
/// (also by `close`), so a restart reads again at most the batches not yet
/// committed, and loses none. `close` is idempotent.
class taildir_source : public source_connector {
 public:
  taildir_source(taildir_config cfg, connector_context ctx);
  ~taildir_source() override;

  taildir_source(const taildir_source&) = delete;
  taildir_source& operator=(const taildir_source&) = delete;

  caf::error resume(const std::string& token) override;
  std::string progress() const override;
  caf::error open() override;
  caf::expected<poll_status> poll(batch_builder& out,
                                  size_t max_events) override;
  void seal(uint64_t seq) override;
  caf::error commit(uint64_t seq) override;
  void close() override;

  /// The files followed and the positions, for inspection and checkpoints.
  const taildir_state& state() const noexcept { return st_; }

 private:
  void scan();
  void track(const std::string& path, const std::string& group, bool first);
  /// Places restored positions on files found next to their old names;
  /// drops those whose directory reads without their inode.
  void place_restored(bool at_open);
  /// Opens `f` if closed, checking it is still the same file; false if it
  /// cannot be opened now.
  bool ensure_open(taildir_file& f);
  void close_file(taildir_file& f) noexcept;
  /// Closes the least recently active open file other than `keep`.
  bool close_idle(const taildir_file* keep) noexcept;
  /// Checks `f`'s first bytes against its fingerprint and extends the
  /// fingerprint as the file grows; false if they changed.
  bool check_fingerprint(taildir_file& f, int64_t size);
  /// Stats each closed file: marks those that grew (or moved) for reading.
  void check_closed();
  /// Drops files gone from the globs and read to their end; returns the
  /// events appended (a last line without newline).
  size_t retire(batch_builder& out, size_t max_events);
  /// Reads appended lines of `f`; returns the events appended.
  size_t read_file(taildir_file& f, batch_builder& out, size_t max_events,
                   int64_t& byte_budget);
  void emit(taildir_file& f, batch_builder& out, std::string_view line);
  void note_cut(taildir_file& f);
  std::vector<file_position> positions() const;
  void release_files() noexcept;

  taildir_config cfg_;
  connector_context ctx_;
  taildir_state st_;
  /// Positions from the channel's progress token, used by the next `open`
  /// instead of the position file.
  std::optional<std::pair<uint64_t, std::vector<file_position>>> resume_from_;
  std::vector<char> buf_; ///< the one read buffer, reused for every file
  std::set<std::string> unreadable_; ///< paths whose open failure was logged
  bool warned_descriptors_ = false;  ///< the descriptor limit was logged
};

} // namespace sluice
