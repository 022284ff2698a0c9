#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <sys/types.h>

#include "connectors/line_buffer.hpp"
#include "connectors/source_connector.hpp"

namespace sluice {

/// Settings of the exec source.
struct exec_config {
  std::string command;
  bool restart = false;
  int64_t restart_throttle_ms = 10'000;
  bool log_stderr = true;
  int64_t max_line_length = 1 << 20;
};

/// Runs a command through `/bin/sh -c` and emits its stdout lines.
///
/// When the first run of the command exits with 127 (command not found) or
/// 126 (not executable), the source fails with a permanent error: no
/// restart would find the command.
///
/// Nothing is buffered beyond what was read, but what the command wrote and
/// this source did not read yet is lost if sluice dies: prefer `taildir`
/// for files (the same warning as Flume's exec source).
class exec_source : public source_connector {
 public:
  exec_source(exec_config cfg, connector_context ctx);
  ~exec_source() override;

  caf::error open() override;
  caf::expected<poll_status> poll(batch_builder& out,
                                  size_t max_events) override;
  void close() override;

  /// The running child's pid, or -1.
  pid_t pid() const noexcept { return pid_; }

 private:
  caf::error spawn();
  void drain_stderr();
  bool reap(bool wait);

  exec_config cfg_;
  connector_context ctx_;
  pid_t pid_ = -1;
  int out_fd_ = -1;
  int err_fd_ = -1;
  bool out_eof_ = false;
  line_buffer out_;
  line_buffer err_;
  size_t cut_counted_ = 0;
  bool first_run_ = true; ///< the command has not exited yet
  caf::error failure_;    ///< reported by the next poll
  std::optional<std::chrono::steady_clock::time_point> restart_at_;
};

} // namespace sluice
