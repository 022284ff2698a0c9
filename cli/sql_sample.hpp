#pragma once

#include <map>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include <caf/expected.hpp>

#include "engine/jobs.hpp"
#include "runtime/job/job_spec.hpp"
#include "sql/sample.hpp"

namespace sluice {

/// The command-line side of `sluice sql --sample TABLE=FILE`: the files
/// checked, the sampled tables' rows that do not parse kept in a temporary
/// directory (removed with this object, never the working directory), and
/// at the end those rows and a summary on stderr.
class sample_run {
 public:
  ~sample_run();

  sample_run(const sample_run&) = delete;
  sample_run& operator=(const sample_run&) = delete;

  /// Reads each `TABLE=FILE` of `args` (the file must exist). With
  /// `keep_bad_rows`, makes the temporary directory for the rows that do
  /// not parse (`--explain` runs nothing and needs none). Errors are
  /// `config_errc::invalid` naming the argument.
  static caf::expected<std::unique_ptr<sample_run>>
  make(const std::vector<std::string>& args, bool keep_bad_rows);

  /// What the SQL compiler takes.
  const sql::sample_options& options() const noexcept { return opts_; }

  /// Notes which stages of `jobs` read a sampled table and which write
  /// (print) rows; call it before the jobs run.
  void watch(const std::vector<job_spec>& jobs);

  /// Writes every row of a sampled table that did not parse (`file:line:
  /// reason: text`, one line each) and then one summary line to `out`:
  /// rows read per sampled table, rows that did not parse, rows printed.
  void report(const std::vector<stage_summary>& stages,
              std::ostream& out) const;

 private:
  sample_run() = default;

  sql::sample_options opts_;
  std::string dir_; ///< the dead-letter files; empty: none
  std::map<std::string, std::string> scans_;   ///< "JOB/STAGE" -> table
  std::map<std::string, std::string> lookups_; ///< lookup stage -> its table
  std::vector<std::string> sinks_;             ///< "JOB/STAGE"
};

} // namespace sluice
