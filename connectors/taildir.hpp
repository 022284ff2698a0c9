#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <sys/types.h>
#include <vector>

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
};

/// One file's committed position, as the position file keeps it.
struct file_position {
  uint64_t dev = 0;
  uint64_t inode = 0;
  int64_t pos = 0;
  std::string path;
};

/// Follows files matching globs, by inode, and emits their lines.
///
/// A file renamed away keeps being read through its open descriptor until
/// it has been at its end for two scans; a new file at the pattern starts
/// at 0; a file shorter than its position was truncated and starts again
/// at 0. Positions count only lines handed out, never a partial line.
/// `seal(seq)` snapshots them; `commit(seq)` writes the snapshot to the
/// position file (temp file + rename), so a restart resumes exactly after
/// the last batch the channel accepted.
class taildir_source : public source_connector {
 public:
  taildir_source(taildir_config cfg, connector_context ctx);
  ~taildir_source() override;

  caf::error open() override;
  caf::expected<poll_status> poll(batch_builder& out,
                                  size_t max_events) override;
  void seal(uint64_t seq) override;
  caf::error commit(uint64_t seq) override;
  void close() override;

  /// Files followed right now.
  size_t tracked_files() const noexcept { return st_.files.size(); }

 private:
  struct tracked_file {
    uint64_t dev = 0;
    uint64_t inode = 0;
    std::string path;
    std::string group;
    int fd = -1;
    int64_t pos = 0;       ///< first byte not yet handed out or skipped
    std::string carry;     ///< bytes of an incomplete line after `pos`
    bool skipping = false; ///< discarding the rest of an over-long line
    bool matched = true;   ///< found by the last scan
    int idle_scans = 0;    ///< scans at end of file since unmatched
    bool warned_long = false;
  };

  /// The source's whole state: files followed and positions by batch.
  struct state {
    std::vector<tracked_file> files;
    std::map<std::pair<uint64_t, uint64_t>, file_position> restored;
    std::deque<std::pair<uint64_t, std::vector<file_position>>> sealed;
    std::vector<file_position> committed;
    size_t next_file = 0; ///< round-robin start
    std::chrono::steady_clock::time_point last_scan;
    bool scanned = false;
  };

  caf::error load_positions();
  caf::error save_positions(const std::vector<file_position>& positions);
  void scan();
  void find_rotated_away();
  void drop(size_t index, batch_builder& out);
  /// Reads lines of one file; returns events appended.
  size_t read_file(tracked_file& f, batch_builder& out, size_t max_events,
                   bool& at_end);
  bool emit(tracked_file& f, batch_builder& out, std::string_view line);

  taildir_config cfg_;
  connector_context ctx_;
  state st_;
  std::vector<char> buf_;
};

} // namespace sluice
