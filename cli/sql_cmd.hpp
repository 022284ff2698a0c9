#pragma once

#include <csignal>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace sluice {

/// `sluice sql` and `sluice check FILE.sql`.
struct sql_cli_options {
  std::string path;                            ///< the script
  uint32_t parallelism = 0;                    ///< --parallelism; 0: SET or 1
  std::map<std::string, std::string> settings; ///< --set key=value
  bool explain = false;                        ///< print the plan, run nothing
  std::vector<std::string> samples;            ///< --sample TABLE=FILE
  size_t threads = 0;
  int64_t stats_interval_ms = 0;
};

/// Compiles the script and prints every error (file:line:column, the line,
/// a caret) to stderr: 2 with errors, else 0 and a summary line.
int sql_check_command(const sql_cli_options& opts);

/// Compiles and runs the script's jobs until they end (bounded sources) or
/// a stop signal in `signals` (blocked by the caller) arrives: the first
/// stops the jobs (open windows are discarded), a second one 1 s or more
/// later exits at once. 0 when every job ended cleanly, 1 when one failed,
/// 2 for a script with errors. With `explain`, prints the plan instead.
/// With `samples`, runs on them (sql::apply_samples) and ends with the
/// rows that did not parse and a summary on stderr.
int sql_command(const sql_cli_options& opts, const sigset_t& signals);

} // namespace sluice
