#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <vector>

#include <caf/expected.hpp>

#include "connectors/archive_sink_files.hpp"
#include "connectors/sink_connector.hpp"
#include "runtime/metrics.hpp"

namespace sluice {

/// Settings of the archive sink.
struct archive_sink_config {
  std::filesystem::path directory;
  /// The path element under `directory` (the component's name by default).
  std::string topic;
  std::string prefix = "part";
  int64_t roll_size = int64_t{128} << 20; ///< compressed bytes; 0 = never
  int64_t roll_interval_ms = 3'600'000;   ///< 0 = never by time
  int compression_level = 3;              ///< zstd level, 1..19
  /// This component ran before in this run (the sink was restarted): no
  /// open error is permanent then, only at its first start.
  bool restarted = false;
  /// Counts finished files (and errors the sink actor never sees); may be
  /// null.
  std::shared_ptr<component_metrics> metrics;
  /// Fault injection: write(2) and fdatasync(2).
  std::function<ssize_t(int, const void*, size_t)> write_data;
  std::function<int(int)> sync_data;
};

/// Writes events as JSON lines into zstd-compressed files partitioned by
/// hour: `DIRECTORY/TOPIC/dt=YYYY-MM-DD/hour=HH/PREFIX-UNIQUE.jsonl.zst`,
/// UNIQUE being `UTCTIME-ID-COUNTER` (the open time to the millisecond, a
/// random id per `open`, a counter), so names sort in write order.
///
/// An event's time is its `timestamp` header (milliseconds since the epoch,
/// as the timestamp interceptor writes it) or, without a valid one (an
/// integer from 1970 to the year 9999), the time the sink received it;
/// partitions are in UTC. Each line is
/// `{"ts":MS,"body":"...","headers":{"k":"v",...}}` (see
/// `append_json_string` for the escaping). One file is open at a time:
/// events out of hour order start a new file at each change of partition.
///
/// Durability: a file is written as `.NAME.inprogress` in its partition,
/// locked (flock) while its writer lives. Every `flush` ends the current zstd
/// frame and fdatasyncs the file, so a file is a concatenation of complete,
/// checksummed frames. A roll (size of compressed bytes, age, partition
/// change, close) ends the frame, fdatasyncs, renames the file to its final
/// name and fsyncs the directory: no reader sees half a file under a final
/// name, whatever kills the process. `open` recovers unlocked leftover
/// in-progress files of earlier runs: cut after the last complete frame,
/// synced and renamed into place; one without a complete frame is removed.
/// A recovered frame may hold events of a lease that was not committed (a
/// crash between the file's sync and the channel's commit): the channel
/// delivers them again, so the archive is at-least-once, its duplicates
/// bounded by the leases in flight at the crash.
///
/// A failed write or sync (a full disk) is returned, so the lease rolls back;
/// the file is cut back to its last synced frame first and finished (or
/// left for recovery when even that fails), so no final file is damaged.
class archive_sink : public sink_connector {
 public:
  explicit archive_sink(archive_sink_config cfg);
  ~archive_sink() override;

  caf::error open() override;
  caf::error write(const event_batch& batch) override;
  caf::error flush() override;
  caf::error tick() override;
  caf::error probe() override;
  void close() override;

  /// `DIRECTORY/TOPIC`, where the partitions live.
  const std::filesystem::path& root() const { return root_; }

  /// The in-progress file being written (empty when none).
  const std::filesystem::path& current_path() const { return tmp_path_; }

  /// Files renamed to their final name by this sink (recovered ones aside).
  uint64_t files_finished() const { return files_finished_; }

  /// What `open` did with leftover in-progress files.
  const std::vector<archive_recovery>& recovered() const { return recovered_; }

 private:
  struct zstd_state;

  caf::error open_file(int64_t hour);
  caf::error compress(std::string_view data, bool end_frame);
  caf::error write_out();
  caf::error sync_file();
  caf::error finish_file();
  /// After an error: drops what was not synced and finishes the file, or
  /// leaves it for recovery when that fails too.
  void fail_file();
  /// `err` after `fail_file`.
  caf::error failed(caf::error err);
  caf::error compress_pending();

  archive_sink_config cfg_;
  std::filesystem::path root_;
  std::unique_ptr<zstd_state> zstd_;
  bool open_ = false;
  uint32_t instance_ = 0;
  uint64_t counter_ = 0;
  int fd_ = -1;
  int64_t hour_ = 0; ///< hours since the epoch of the open file's partition
  std::filesystem::path tmp_path_;
  std::filesystem::path final_path_;
  int64_t file_bytes_ = 0;   ///< compressed bytes written to the file
  int64_t synced_bytes_ = 0; ///< end of the last synced frame
  bool dirty_ = false;       ///< data since the last frame end
  std::chrono::steady_clock::time_point opened_at_;
  std::string pending_;   ///< JSON lines not yet compressed
  std::vector<char> out_; ///< compressed bytes not yet written
  uint64_t files_finished_ = 0;
  std::vector<archive_recovery> recovered_;
};

} // namespace sluice
