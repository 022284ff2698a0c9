#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <sys/statvfs.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "runtime/event_batch.hpp"
#include "runtime/segment_files.hpp"
#include "runtime/shard_log_format.hpp"

namespace sluice {

/// Settings of one shard's log.
struct shard_log_config {
  std::filesystem::path directory;
  /// A segment rolls once it holds this many bytes (at most 1 GiB).
  int64_t segment_bytes = int64_t{256} << 20;
  /// Bytes between two entries of a segment's sparse offset index.
  int64_t index_interval_bytes = 4096;
  /// A sealed segment goes when its newest record is older; 0: kept for
  /// ever.
  int64_t retention_ms = 0;
  /// Oldest sealed segments go while the shard holds more; 0: no limit.
  int64_t retention_bytes = 0;
  /// Bytes of segments allowed; 0: no limit but the disk.
  int64_t max_disk_bytes = 0;
  /// Free bytes the file system must keep.
  int64_t min_free_space = int64_t{256} << 20;
  /// Appended bytes between two looks at the file system's free space
  /// (sooner when the room above `min_free_space` runs out); 0: a look
  /// before every append.
  int64_t free_space_check_bytes = int64_t{16} << 20;
  /// Write-behind: appended bytes after which they are handed to the disk
  /// without waiting (see `segment_files_config::writeback_bytes`); 0: the
  /// group commit's fdatasync writes them all.
  int64_t writeback_bytes = int64_t{1} << 20;
  /// Producers whose batches are remembered for dedup (the one unused
  /// longest is forgotten first).
  size_t max_producers = 1024;
  /// Makes a file's data durable; `::fdatasync` unless a test injects
  /// failures.
  int (*sync_data)(int fd) = ::fdatasync;
  /// Appends to a segment; `::writev` unless a test injects failures.
  ssize_t (*write)(int fd, const iovec* parts, int n) = ::writev;
  /// Opens (creating) a segment for appending; `open_for_append` unless a
  /// test injects failures (a roll that cannot create the next segment).
  int (*open_segment)(const char* path) = open_for_append;
  /// Reads the file system's free space; `::statvfs` unless a test injects
  /// it.
  int (*stat_fs)(const char* path, struct statvfs* out) = ::statvfs;
};

/// What `shard_log::append` did with a batch.
///
/// In every case the batch (or, for a duplicate, its first copy) is durable
/// once `shard_log::durable_end() >= base_offset + count`: the caller
/// answers the writer only then.
struct append_result {
  /// The batch's first offset. For a duplicate: the first copy's, when the
  /// shard still remembers its offsets; else (an older batch, known only as
  /// appended) the log's `end_offset` at the time of the duplicate, with
  /// `count` 0: the first copy lies below it, so it is durable once
  /// `durable_end` reaches it.
  uint64_t base_offset = 0;
  /// Records appended (for a duplicate: the first copy's count when known,
  /// else 0).
  uint32_t count = 0;
  /// True when the batch was dropped as already appended.
  bool duplicate = false;
};

/// One group commit run outside the log's thread (`shard_log::begin_sync`).
struct log_sync {
  sync_ticket files;       ///< the descriptor to fdatasync, then close
  uint64_t end_offset = 0; ///< durable once the fdatasync worked
};

/// One record batch read back from a shard.
struct read_batch {
  uint64_t base_offset = 0;
  int64_t timestamp_ms = 0;
  event_batch batch;
};

/// The append-only log of one topic shard: segment files named by their
/// base offset (formats in shard_log_format.hpp), records numbered by a
/// dense offset that never restarts.
///
/// Appends are plain writes; `sync` makes all of them durable with one
/// fdatasync (group commit), and readers only ever see batches below
/// `durable_end`. A segment rolls once it is full: it is synced, its
/// offset and time indexes are written and synced, and the producers'
/// dedup memory is snapshotted. A failed fdatasync cuts the active segment
/// back to its last synced size and breaks the log until it is opened
/// again (segment_files.hpp).
///
/// Each batch carries its producer and sequence number; a batch whose
/// (producer, seq) was already appended is dropped (`duplicate`) and
/// answers the original's base offset while the shard still remembers it.
/// The memory (up to 4096 intervals of sequence numbers per producer, and
/// the last batches' offsets) survives restarts through
/// `producers.snapshot` and a scan of the batches after it. Past that bound
/// the oldest interval is forgotten: a retry of it is appended again (a
/// duplicate, never a loss).
///
/// `open` recovers: sealed segments are trusted when their indexes match
/// their sizes (they were synced when they rolled), the active one is
/// scanned batch by batch (each CRC32C checked) and a torn tail is cut at
/// its first bad batch; damage in a sealed segment stops `open` with an
/// error naming segment and position. After a clean `close` the scan is
/// skipped.
class shard_log {
 public:
  /// Opens (creating when new) and recovers the log in `cfg.directory`.
  static caf::expected<std::unique_ptr<shard_log>> open(shard_log_config cfg);

  /// Closes the files without syncing: dropping an open log behaves like a
  /// crash.
  ~shard_log();

  shard_log(const shard_log&) = delete;
  shard_log& operator=(const shard_log&) = delete;

  /// Appends `b` as one record batch of `producer`'s batch `seq` (an empty
  /// producer or seq 0: no dedup), stamped `now_ms`. Not durable until
  /// `sync`. A full disk (limits or ENOSPC) answers
  /// `channel_errc::disk_full` with the reason and writes nothing.
  caf::expected<append_result> append(const event_batch& b,
                                      std::string_view producer, uint64_t seq,
                                      int64_t now_ms);

  /// Group commit: one fdatasync for every append so far.
  caf::error sync();

  /// Pipelined group commit, first half: what one fdatasync must cover to
  /// make every append so far durable, or none when nothing is new. The
  /// caller runs `cfg.sync_data(s.files.fd)` on another thread, closes the
  /// descriptor and calls `end_sync`; meanwhile it may append (the appends
  /// wait for the next sync). While a sync is in flight the active segment
  /// does not roll (a roll's own sync would race the one in flight for the
  /// write-back error); it grows past `segment_bytes` instead, up to twice
  /// that, and rolls at the first append after `end_sync`.
  caf::expected<std::optional<log_sync>> begin_sync();

  /// Pipelined group commit, second half: `ok` is the fdatasync's outcome.
  /// On success `durable_end` moves up to what the sync covered; on failure
  /// the log breaks, as when `sync` fails.
  caf::error end_sync(const log_sync& s, bool ok);

  /// True between `begin_sync` and `end_sync`.
  bool sync_in_flight() const noexcept { return sync_in_flight_; }

  /// Offsets below this are durable (synced): what readers may see, what a
  /// crash keeps, and what an `append_result` waits for. At most
  /// `end_offset`, which also counts appends not yet synced.
  uint64_t durable_end() const noexcept { return durable_end_; }

  /// The earliest offset still stored.
  uint64_t start_offset() const noexcept;

  /// The next offset to be appended (appends not yet synced included: a
  /// crash may cut back to `durable_end`, and the offsets are then used
  /// again).
  uint64_t end_offset() const noexcept { return end_offset_; }

  /// Whole record batches from the one holding `offset` on (from the
  /// earliest when `offset` is below it), at most `max_bytes` of them (at
  /// least one batch when any is available), only up to `durable_end`:
  /// readers never see what a crash could undo.
  caf::expected<std::vector<read_batch>> read(uint64_t offset,
                                              size_t max_bytes) const;

  /// Reads like `read` into `out`, replacing what it held and reusing its
  /// batches' buffers: a reader that keeps `out` from one read to the next
  /// allocates nothing once they have grown. On error `out` is empty.
  caf::error read_into(uint64_t offset, size_t max_bytes,
                       std::vector<read_batch>& out) const;

  /// The first offset appended at or after `ts_ms`, at most `durable_end`
  /// (`durable_end` if none: never an offset a crash could give to other
  /// records).
  uint64_t offset_for_time(int64_t ts_ms) const;

  /// Deletes sealed segments past `retention_ms` or over `retention_bytes`,
  /// oldest first; returns how many went.
  size_t apply_retention(int64_t now_ms);

  /// True when `bytes` more may be written; else `why` says which limit.
  bool has_room(size_t bytes, std::string& why) const;

  /// Bytes of segment files.
  int64_t disk_bytes() const noexcept { return files_.disk_bytes(); }

  /// Times the log asked the file system for its free space.
  uint64_t free_space_checks() const noexcept {
    return files_.free_space_checks();
  }

  /// Segment files, the active one included.
  size_t segments() const noexcept { return segments_.size(); }

  /// Batches dropped as already appended (this run).
  uint64_t duplicates() const noexcept { return duplicates_; }

  /// Bytes of torn tail `open` cut off.
  uint64_t torn_bytes_cut() const noexcept { return torn_bytes_cut_; }

  /// True after an fdatasync failed: only a new `open` recovers.
  bool broken() const noexcept { return files_.broken(); }

  /// True when `open` skipped the scan after a clean close.
  bool recovered_clean() const noexcept { return recovered_clean_; }

  /// Syncs, writes the active segment's indexes, the producers' snapshot
  /// and the clean-shutdown marker, and closes the files. Idempotent.
  void close();

 private:
  /// The file `close` leaves and a later `open` trusts instead of scanning.
  static constexpr const char* clean_marker_name = "clean_shutdown";

  /// What the log knows of one segment file.
  struct segment {
    uint64_t base = 0;
    uint64_t end = 0; ///< offset after its last batch
    int64_t size = 0; ///< bytes, header included (0: nothing written yet)
    int64_t max_timestamp = INT64_MIN;
    int64_t last_index_position = 0; ///< of the newest index entry
    std::vector<shard_format::index_entry> index;
    std::vector<shard_format::time_entry> times;
    mutable int read_fd = -1;
  };

  /// A batch remembered with its offsets.
  struct recent_batch {
    uint64_t seq = 0;
    uint64_t base_offset = 0;
    uint32_t count = 0;
  };

  /// What the shard remembers of one producer.
  struct producer_state {
    std::map<uint64_t, uint64_t> ranges; ///< first -> last, disjoint
    std::deque<recent_batch> recent;     ///< newest last
    uint64_t last_use = 0;
  };

  explicit shard_log(shard_log_config cfg);

  caf::error recover();
  caf::error list_directory(std::vector<std::pair<uint64_t, int64_t>>& found);
  caf::error load_snapshot(uint64_t& covered);
  caf::error scan(segment& seg, bool last, uint64_t dedup_from);
  std::string check_batch(int fd, int64_t pos, int64_t file_size, char* header,
                          shard_format::batch_header& h);
  bool load_indexes(segment& seg, int64_t file_size);
  caf::error write_indexes(const segment& seg);
  caf::error write_snapshot();
  caf::error roll();
  void note_batch(segment& seg, int64_t position, uint64_t base, uint32_t count,
                  int64_t timestamp);
  std::optional<append_result> find_duplicate(std::string_view producer,
                                              uint64_t seq) const;
  void trim_producers();
  void remember(std::string_view producer, uint64_t seq, uint64_t base,
                uint32_t count);
  int read_fd(const segment& seg) const;
  std::string name(uint64_t base) const;

  shard_log_config cfg_;
  segment_files files_;
  std::map<uint64_t, segment> segments_; ///< by base offset
  std::map<std::string, producer_state, std::less<>> producers_;
  uint64_t clock_ = 0;
  uint64_t end_offset_ = 0;
  uint64_t durable_end_ = 0;
  uint64_t duplicates_ = 0;
  uint64_t torn_bytes_cut_ = 0;
  bool recovered_clean_ = false;
  bool open_ = false;
  bool sync_in_flight_ = false;
  mutable std::vector<char> read_buf_;
};

} // namespace sluice
