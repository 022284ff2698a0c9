#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "connectors/sink_connector.hpp"

namespace sluice {

/// Settings of the rolling file sink.
struct file_sink_config {
  std::filesystem::path directory;
  std::string prefix = "events";
  std::string suffix = ".log";
  int64_t roll_size = 128 << 20; ///< 0 = never
  int64_t roll_interval_ms = 0;  ///< 0 = never
  bool sync = true;              ///< fdatasync in flush
  bool headers = false;
  /// This component ran before in this run (the sink was restarted): no
  /// open error is permanent then, only at its first start.
  bool restarted = false;
};

/// Appends events as lines to files in a directory, starting a new file by
/// size or time. Names are `PREFIX.NNNNNNNN.UTCTIME SUFFIX` with a counter
/// that continues after the highest existing file, so names sort in write
/// order and a restart never appends to or overwrites an older file.
/// A directory that cannot be used at the component's first start is a
/// permanent error (the configuration or the machine must change); any
/// failure to open a file later, at a roll or after a restart, is
/// transient: a run that has written for hours retries with back-off.
class file_sink : public sink_connector {
 public:
  explicit file_sink(file_sink_config cfg) : cfg_(std::move(cfg)) {}
  ~file_sink() override;

  caf::error open() override;
  caf::error write(const event_batch& batch) override;
  caf::error flush() override;
  caf::error tick() override;
  void close() override;

  /// The file being written (empty before the first write).
  const std::filesystem::path& current_path() const { return path_; }

 private:
  /// Where the bytes of `buf_` from `pos` that fit in the current file end:
  /// at the last whole line within roll_size; `pos` when nothing more fits
  /// (roll first); past one line when that line alone passes roll_size and
  /// the file is empty.
  size_t fitting_end(size_t pos) const;
  /// Opens the next file; its errors may be permanent on `first_start` only.
  caf::error open_next(bool first_start = false);
  caf::error roll();

  file_sink_config cfg_;
  int fd_ = -1;
  uint64_t counter_ = 0;
  std::filesystem::path path_;
  int64_t file_bytes_ = 0;
  bool dirty_ = false;
  std::chrono::steady_clock::time_point opened_at_;
  std::vector<char> buf_;
};

} // namespace sluice
