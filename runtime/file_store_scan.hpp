#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

/// A read-only scan of a file channel's directory: the commit pointer, every
/// record of every segment, damaged spans, gaps in the sequence. The store's
/// `open` and the `sluice channel` command both start from it.
namespace sluice::file_format {

/// Where one batch record lives.
struct scanned_record {
  uint64_t segment = 0;
  int64_t offset = 0;
  uint32_t length = 0; ///< header and payload
  uint64_t seq = 0;
  uint32_t events = 0;
};

/// Bytes of a segment that hold no valid record, with valid records (or
/// another segment) after them.
struct damaged_span {
  uint64_t segment = 0;
  int64_t begin = 0;
  int64_t end = 0;
  /// Batch sequence numbers lost in it and not committed (0, 0: none, or
  /// unknown when `loss_unknown`).
  uint64_t lost_first = 0;
  uint64_t lost_last = 0;
  std::string reason; ///< what was wrong with its first bytes
  /// What it cost cannot be told: no valid batch follows it, the commit
  /// pointer is not trusted, or a gap follows it.
  bool loss_unknown = false;
  /// The first valid batch after it (0: none).
  uint64_t seq_after = 0;
};

/// Batches missing from the log with no damage to explain them: a segment
/// file was deleted or lost.
struct sequence_gap {
  uint64_t first = 0;
  uint64_t last = 0;
  uint64_t after_segment = 0;  ///< holds the batch before (0: none)
  uint64_t before_segment = 0; ///< holds the batch after
  bool acknowledged = false;   ///< listed in `acknowledged_gaps`
};

struct segment_summary {
  int64_t size = 0;
  uint64_t first_seq = 0; ///< 0 when it holds no batch
  uint64_t max_seq = 0;
  size_t batches = 0;
  size_t events = 0;
};

struct found_progress {
  std::string token;
  uint64_t segment = 0;
};

/// State of `commit.ptr`.
enum class pointer_state { ok, missing, empty, damaged };

struct log_scan {
  pointer_state pointer = pointer_state::missing;
  /// False when the pointer cannot be trusted (missing, both slots damaged,
  /// or empty while the log's first batch is not the first ever written).
  bool pointer_trusted = false;
  uint64_t committed_through = 0; ///< 0 when not trusted
  uint64_t pointer_generation = 0;
  std::map<uint64_t, segment_summary> segments; ///< by number
  /// Batches not committed (every batch when the pointer is not trusted),
  /// in log order.
  std::vector<scanned_record> pending;
  size_t pending_events = 0;
  size_t batches = 0; ///< every valid batch
  uint64_t first_seq = 0;
  uint64_t last_seq = 0;
  std::map<std::string, found_progress> progress; ///< newest, by source
  std::vector<damaged_span> damaged;
  /// Where the last segment's torn tail starts (-1: none): a write the
  /// process did not finish, with nothing valid after it.
  int64_t torn_at = -1;
  std::string torn_reason;
  std::vector<sequence_gap> gaps;
  /// Records whose sequence number did not follow the one before, counted
  /// into damaged spans.
  size_t out_of_order = 0;

  int64_t damaged_bytes() const noexcept;
  /// Gaps nobody acknowledged: the store refuses to open.
  std::vector<sequence_gap> open_gaps() const;
};

/// The file name of segment `number`.
std::string segment_name(uint64_t number);

/// Scans `dir` without changing anything. `verify_all` checks the payload
/// of committed batches too (they are skipped by default: they are never
/// read again). Fails when the directory or a file cannot be read.
caf::expected<log_scan> scan_log(const std::filesystem::path& dir,
                                 bool verify_all);

/// A gap rendered for users: "batches 11..20 (after segment ... )".
std::string describe_gap(const sequence_gap& gap);

/// Appends `first..last` to the directory's `acknowledged_gaps` file, made
/// durable.
caf::error acknowledge_gap(const std::filesystem::path& dir, uint64_t first,
                           uint64_t last);

} // namespace sluice::file_format
