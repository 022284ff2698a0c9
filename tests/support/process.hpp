#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace sluice::test {

/// A child process for end-to-end tests: started with fork/exec, its
/// stdout and stderr sent to files, stopped with real signals.
class process {
 public:
  process() = default;
  process(const process&) = delete;
  process& operator=(const process&) = delete;
  ~process();

  /// Starts `argv`; output goes to `log_path` (appended).
  static std::optional<pid_t> start(process& p,
                                    const std::vector<std::string>& argv,
                                    const std::string& log_path);

  /// Sends `sig`.
  void signal(int sig) const;

  /// Waits up to `timeout` for the exit; returns the exit code, 128 + n for
  /// a signal n, or nothing on timeout.
  std::optional<int> wait(std::chrono::milliseconds timeout);

  bool running() const { return pid_ > 0; }

  /// The process id while it runs, else -1.
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
};

/// Runs `argv` to completion (up to `timeout`); returns the exit code and
/// what it wrote on stdout and stderr together.
std::pair<int, std::string> run_command(const std::vector<std::string>& argv,
                                        std::chrono::milliseconds timeout);

/// Makes a fresh temporary directory and removes it with its contents when
/// destroyed.
class temp_dir {
 public:
  temp_dir();
  ~temp_dir();
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const {
    return path_ + "/" + name;
  }

 private:
  std::string path_;
};

/// The lines of every file in `dir`, files in name order; empty when the
/// directory is missing.
std::vector<std::string> read_lines_in(const std::string& dir);

/// Reads a whole file; empty when missing.
std::string read_file(const std::string& path);

/// Writes `text` to `path`, replacing the file.
void write_file(const std::string& path, const std::string& text);

} // namespace sluice::test
