#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "connectors/table_registry.hpp"
#include "runtime/expr/functions.hpp"
#include "runtime/job/job_spec.hpp"
#include "runtime/metrics.hpp"

namespace sluice {

/// How a job runner runs, beyond its jobs.
struct job_run_options {
  size_t threads = 0;            ///< scheduler threads; 0 = one per core
  int64_t stats_interval_ms = 0; ///< log every stage's metrics; 0 = off
};

/// Every reason a job runner would refuse `j`: what `validate(j)` finds,
/// and table connectors `tables` does not know.
std::vector<std::string> job_problems(const job_spec& j,
                                      const table_registry& tables);

/// One stage of a running job, over its instances (what `--stats-interval`
/// prints per stage).
struct stage_summary {
  std::string name; ///< "JOB/STAGE"
  size_t instances = 0;
  uint64_t rows_in = 0;
  uint64_t rows_out = 0;
  /// The most rows one instance took in over the mean of its instances (1
  /// when even; 0 before any row): how unevenly the keys spread.
  double skew = 0;
  int64_t watermark_ms = INT64_MIN; ///< the lowest of its instances'
  /// Wall clock minus `watermark_ms` (0 without a watermark or once the
  /// input ended).
  int64_t watermark_lag_ms = 0;
  uint64_t late_rows = 0;
  uint64_t state_keys = 0;
  uint64_t state_bytes = 0;
  uint64_t errors = 0;
};

/// Sums the operator snapshots of `all` per stage (`JOB/STAGE#i` ->
/// `JOB/STAGE`), at wall-clock time `now_ms`.
std::vector<stage_summary>
summarize_stages(const std::vector<metrics_snapshot>& all, int64_t now_ms);

/// One line for the log: "stage JOB/STAGE: x2 in=... skew=1.03 ...".
std::string to_string(const stage_summary& s);

/// Runs SQL jobs (what `sluice sql` and embedding programs start): one
/// actor system, one job actor per job and one operator actor per stage
/// instance under it (actors/job.hpp). Metrics: one `component_metrics`
/// per stage instance, named `JOB/STAGE#i` with kind "operator".
class job_runner {
 public:
  ~job_runner();

  job_runner(const job_runner&) = delete;
  job_runner& operator=(const job_runner&) = delete;

  /// Checks every job (`validate`, every table connector known to
  /// `tables`, every expression compiles against `fns`) and returns every
  /// problem in the error's text (sql_errc::bad_plan) when one is wrong.
  static caf::expected<std::unique_ptr<job_runner>>
  make(std::vector<job_spec> jobs,
       table_registry tables = table_registry::builtin(),
       expr::function_registry fns = expr::function_registry::builtin(),
       job_run_options opts = {});

  /// Starts every job.
  caf::error start();

  /// Asks every job to stop: scans stop reading, open windows are
  /// discarded (the log says how many), sinks flush and close. Thread-safe
  /// and idempotent; returns at once.
  void stop();

  /// Blocks until every job ended: a bounded job ends once its sources
  /// ended and everything they read went out; an unbounded one after
  /// `stop`. Returns the first job's failure, if any. Any thread may call
  /// it (once; later calls return the same result).
  caf::error wait();

  /// Metrics of every stage instance, readable from any thread.
  metrics_registry& metrics() noexcept;

  /// The metrics summed per stage, with the skew across its instances.
  std::vector<stage_summary> stages();

 private:
  struct impl;
  explicit job_runner(std::unique_ptr<impl> ptr);
  std::unique_ptr<impl> impl_;
};

} // namespace sluice
