#pragma once

#include <cstdint>
#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <sys/uio.h>
#include <unistd.h>

#include "runtime/channel_store.hpp"
#include "runtime/segment_files.hpp"

namespace sluice {

/// Settings of a file channel's store.
struct file_store_config {
  std::filesystem::path directory;
  int64_t segment_size = int64_t{64} << 20;
  int64_t max_disk_bytes = int64_t{2} << 30;
  int64_t min_free_space = int64_t{256} << 20;
  /// Makes a segment's data durable; `::fdatasync` unless a test injects
  /// failures.
  int (*sync_data)(int fd) = ::fdatasync;
};

/// A durable channel store: an append-only log of segment files.
///
/// Each record is a header (magic, length, batch sequence number, event
/// count, header CRC) and an encoded batch (with its own CRC). Appends are
/// plain writes; `sync` makes all of them durable with one fdatasync (group
/// commit) and persists the commit pointer: the highest sequence number up
/// to which every batch was committed, kept in two alternating CRC-checked
/// slots so that a torn write never loses the previous value. Only an index
/// of queued records stays in memory; batches are read back from the log
/// when leased, so memory does not grow with the backlog; `take` hands out
/// only batches a `sync` made durable. Segments whose
/// records are all committed are deleted.
///
/// One store at a time may use a directory: `open` takes an exclusive lock
/// on its `lock` file and fails, naming the directory, when another holds
/// it. Segments are at most a quarter of `max_disk_bytes`, so that
/// committed ones can be deleted while the rest fill.
///
/// Progress records sit between batch records: a source's resume token,
/// written in the same write right after the batch it follows, so a crash
/// keeps a token only with its batches: recovery cuts off a torn write at
/// the log's end, and a roll syncs a segment before the next one exists.
/// A failed fdatasync cuts the active segment back to its last synced size
/// and stops the store until it is opened again.
/// When a segment holding a source's last progress record is deleted, the
/// record is written again to the active segment first, so the log always holds
/// the newest token of every source.
///
/// Recovery (`open`): records after the pointer are queued again in order.
/// A torn write is only ever at the very end: damage at the end of the last
/// segment with nothing valid after it is cut off. Damage anywhere else is
/// a damaged span: it is logged with its segment and byte range and
/// counted, and the scan resynchronises on the next record whose header,
/// payload CRC and sequence number all check out, so no valid record after
/// it is lost. Without a trustworthy commit pointer every batch in the log
/// is delivered again (at-least-once) and the pointer is written anew.
/// Batches missing from the sequence with no damage to explain them (a
/// deleted segment) make `open` fail with `channel_errc::corrupt_log`
/// naming the gap, until `sluice channel repair` acknowledges it. Batches
/// committed out of order above an uncommitted one are delivered again
/// after a restart (at-least-once).
class file_store : public channel_store {
 public:
  uint64_t epoch() const noexcept override { return epoch_; }
  static caf::expected<std::unique_ptr<file_store>> make(file_store_config cfg);

  ~file_store() override;

  caf::error open() override;
  caf::error append(event_batch&& batch) override;
  caf::error append(event_batch&& batch, const std::string& source,
                    const std::string& token) override;
  caf::error sync() override;
  caf::expected<lease> take(size_t max_events) override;
  caf::error commit(uint64_t lease_id) override;
  caf::error rollback(uint64_t lease_id) override;
  size_t events() const noexcept override;
  size_t queued_events() const noexcept override;
  size_t takeable_events() const noexcept override;
  size_t bytes() const noexcept override;
  bool has_room(size_t bytes, std::string& why) const override;
  void make_room() override;
  void close() override;

  /// Events found uncommitted by `open`.
  size_t recovered_events() const noexcept override {
    return recovered_events_;
  }

  std::map<std::string, std::string> recovered_progress() const override;

  /// Torn records cut off the log's end by `open`.
  size_t torn_records() const noexcept { return torn_records_; }

  /// Damaged spans `open` skipped, and their bytes.
  uint64_t damaged_spans() const noexcept override { return damaged_spans_; }
  uint64_t damaged_bytes() const noexcept override { return damaged_bytes_; }

  /// True when `open` found no trustworthy commit pointer and delivers the
  /// log's batches again.
  bool pointer_rebuilt() const noexcept { return pointer_rebuilt_; }

  /// True after an fdatasync failed: the kernel may have dropped pages
  /// that later reads would still show, so the store accepts nothing more
  /// and only a restart (recovering from the log) makes it usable.
  bool broken() const noexcept override { return files_.broken(); }

  /// Bytes of live segment files.
  int64_t disk_bytes() const noexcept { return files_.disk_bytes(); }

  /// Records in the in-memory index (queued and leased).
  size_t indexed_records() const noexcept;

 private:
  explicit file_store(file_store_config cfg);

  /// Where one record lives.
  struct record_ref {
    uint64_t segment = 0;
    int64_t offset = 0;
    uint32_t length = 0; ///< header and payload
    uint64_t seq = 0;
    uint32_t events = 0;
  };

  struct segment_info {
    int64_t size = 0;
    uint64_t max_seq = 0;
  };

  /// The newest resume token of one source.
  struct progress_entry {
    std::string token;
    uint64_t segment = 0; ///< where its newest record is
    bool pending = false; ///< to be written again (its segment goes)
  };

  /// Everything the store knows; the files hold the rest.
  struct state {
    uint64_t committed_through = 0;  ///< the commit pointer
    uint64_t pointer_generation = 0; ///< slot writes so far
    uint64_t persisted_pointer = 0;
    uint64_t next_seq = 1;
    uint64_t next_lease = 1;
    std::deque<record_ref> queue;
    std::map<uint64_t, std::vector<record_ref>> leases;
    std::map<uint64_t, segment_info> segments; ///< by segment number
    uint64_t active = 0;                       ///< segment appended to
    size_t held_events = 0;
    size_t queued_events = 0;
    uint64_t synced_seq = 0;    ///< batches up to here are durable
    size_t unsynced_events = 0; ///< queued events appended after the sync
    size_t held_bytes = 0;
    std::map<std::string, progress_entry> progress; ///< by source
  };

  std::filesystem::path segment_path(uint64_t number) const;
  caf::error cut_torn_tail(uint64_t number, int64_t at,
                           const std::string& reason);
  /// Moves the pointer up to just below the oldest batch still held.
  void advance_pointer();
  caf::error write_pointer(bool force = false);
  caf::error open_segment(uint64_t number);
  caf::error roll();
  void delete_committed_segments();
  void write_progress();
  caf::error append_batch(event_batch&& batch, const std::string* source,
                          const std::string* token);
  /// Writes `n` buffers as one write at the end of the active segment.
  caf::error write_records(const iovec* parts, int n);
  caf::expected<event_batch> read_record(const record_ref& ref);

  file_store_config cfg_;
  state st_;
  int pointer_fd_ = -1; ///< commit pointer slots
  /// The segment files: lock, appends, syncs (the failed-sync rule), room.
  segment_files files_;
  int64_t segment_size_ = 0; ///< segment_size, at most max_disk_bytes / 4
  bool opened_ = false;
  size_t recovered_events_ = 0;
  size_t torn_records_ = 0;
  uint64_t damaged_spans_ = 0;
  uint64_t damaged_bytes_ = 0;
  bool pointer_rebuilt_ = false;
  uint64_t epoch_ = 0;
  std::vector<char> buf_;
  std::string progress_buf_; ///< the one progress record buffer, reused
};

} // namespace sluice
