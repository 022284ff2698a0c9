#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "runtime/columnar/row_batch.hpp"
#include "runtime/columnar/schema.hpp"
#include "runtime/expr/ir.hpp"

/// The plain description of a streaming SQL job: what the planner (sql/)
/// writes and the assembly (engine/) turns into operator actors. No CAF
/// handles, no pointers: a job_spec can be printed (`to_text`, the output of
/// `sluice sql --explain`), checked (`validate`) and, later, sent to a node.
namespace sluice {

/// How rows are grouped into windows.
enum class window_kind : uint8_t {
  none,      ///< not windowed
  tumble,    ///< TUMBLE(TABLE t, DESCRIPTOR(ts), size [, offset])
  hop,       ///< HOP(TABLE t, DESCRIPTOR(ts), slide, size [, offset])
  cumulate,  ///< CUMULATE(TABLE t, DESCRIPTOR(ts), step, size)
  session,   ///< SESSION(TABLE t PARTITION BY k, DESCRIPTOR(ts), gap)
  inherited, ///< the input already carries window_start / window_end
};

/// "tumble", "hop", ...
const char* to_string(window_kind x) noexcept;

/// A window assignment. Sizes are in milliseconds; a HOP's size is a
/// multiple of its slide and a CUMULATE's size a multiple of its step (the
/// analyzer refuses others, as Flink's slicing windows do).
struct window_spec {
  window_kind kind = window_kind::none;
  uint32_t time_column = 0; ///< the input's rowtime column
  int64_t size_ms = 0;
  int64_t slide_ms = 0;               ///< hop
  int64_t step_ms = 0;                ///< cumulate
  int64_t gap_ms = 0;                 ///< session
  int64_t offset_ms = 0;              ///< tumble, hop: shifts window starts
  std::vector<uint32_t> partition_by; ///< session: PARTITION BY columns
  uint32_t start_column = 0;          ///< inherited: window_start of the input
  uint32_t end_column = 0;            ///< inherited: window_end of the input

  friend bool operator==(const window_spec&, const window_spec&) = default;
};

/// An aggregate function.
enum class agg_kind : uint8_t {
  count_star,
  count,
  sum,
  avg,
  min,
  max,
  first_value,
  last_value,
};

/// "COUNT(*)", "COUNT", "SUM", ...
const char* to_string(agg_kind x) noexcept;

/// One aggregate call of a GROUP BY: its function, its argument column of
/// the stage's input (after `pre`; -1 for COUNT(*)) and its result type.
struct agg_call {
  agg_kind kind = agg_kind::count_star;
  int32_t arg = -1;
  bool distinct = false;
  columnar::data_type out;

  friend bool operator==(const agg_call&, const agg_call&) = default;
};

/// A stateless step fused into a stage, evaluated a batch at a time: a
/// filter (one BOOLEAN expression; rows where it is not TRUE leave) or a
/// projection (one expression per output column).
struct calc_step {
  bool is_filter = false;
  std::vector<expr::tree> exprs;
  columnar::schema out; ///< a filter's `out` is its input schema
};

/// How a producer's rows reach the instances of the consuming stage.
enum class partitioning : uint8_t {
  forward,   ///< instance i to instance i (same parallelism)
  hash,      ///< by the hash of `keys` (high bits pick the target)
  single,    ///< everything to instance 0
  broadcast, ///< every row to every instance
};

/// "forward", "hash", ...
const char* to_string(partitioning x) noexcept;

/// One input of a stage.
struct edge {
  uint32_t from_stage = 0; ///< the producing stage's id
  uint8_t port = 0;        ///< the consumer's input: 0, or 0/1 for a join
  partitioning part = partitioning::forward;
  std::vector<uint32_t> keys; ///< hash: key columns of the producer's `out`
};

/// One CREATE TABLE, resolved: options after `${env:NAME}` substitution.
struct table_spec {
  std::string name;
  std::string connector;
  std::map<std::string, std::string> options;
  columnar::schema physical; ///< the columns the connector reads or writes
  /// Computed columns (`name AS expr`) in declaration order; each
  /// expression reads the physical columns and the computed ones before it.
  std::vector<std::pair<std::string, expr::tree>> computed;
  /// WATERMARK FOR ts AS expr, over physical ++ computed columns.
  std::optional<expr::tree> watermark;
  std::vector<uint32_t> primary_key; ///< NOT ENFORCED, as Flink
};

/// Reads a table: the connector, then `pre` (computed columns, WHERE,
/// projections), the watermark, and the output edge.
struct scan_stage {
  table_spec table;
  int64_t idle_timeout_ms = 0; ///< 0: an idle split holds the watermark
  /// The watermark expression reads the output of the first
  /// `watermark_step` steps of `pre` (physical ++ computed columns), or the
  /// connector's rows when 0 (no computed columns); later steps (WHERE,
  /// projections) run after the watermark is taken.
  uint32_t watermark_step = 0;
  /// The table has a PROCTIME() attribute and no WATERMARK: the scan's
  /// watermark follows the wall clock (just behind it), so that windows over
  /// processing time fire as time passes, also on an unbounded source.
  bool processing_time = false;
};

/// A window aggregate (TUMBLE, HOP, CUMULATE, SESSION, inherited windows).
/// Output: keys, window_start, window_end, window_time, then the aggregates.
struct window_stage {
  window_spec window;
  std::vector<uint32_t> keys;
  std::vector<agg_call> aggs;
  int32_t late_stage = -1; ///< the stage late rows go to; -1: counted only
};

/// A non-windowed GROUP BY: an upsert stream keyed by `keys`.
struct group_stage {
  std::vector<uint32_t> keys;
  std::vector<agg_call> aggs;
  int64_t state_ttl_ms = 0; ///< 0: keys are kept for ever
};

/// A window join of port 0 (left) and port 1 (right) on the window and the
/// key columns; output: left columns ++ right columns.
struct join_stage {
  window_spec window;
  std::vector<uint32_t> left_keys;
  std::vector<uint32_t> right_keys;
  std::optional<expr::tree> residual; ///< over left ++ right columns
  /// (window_start, window_end) columns of the left input (port 0) and of
  /// the right input (port 1), as ops::window_join_state::make takes them.
  std::pair<uint32_t, uint32_t> left_window{0, 0};
  std::pair<uint32_t, uint32_t> right_window{0, 0};
  int32_t late_stage = -1; ///< the stage late rows go to; -1: counted only
};

/// A lookup join: each row of port 0 is joined with the rows of `table`
/// (read through its connector's lookup, Flink's `JOIN t FOR SYSTEM_TIME AS
/// OF o.proc_time`) whose `table_keys` columns equal its `left_keys`
/// columns. Output: the input's columns ++ the table's physical columns,
/// each row with its input row's kind. `outer`: a row without a match is
/// kept with NULLs (LEFT JOIN); otherwise it leaves.
struct lookup_stage {
  table_spec table;
  std::vector<uint32_t> left_keys;  ///< input columns
  std::vector<uint32_t> table_keys; ///< the table's physical columns
  bool outer = false;
  std::optional<expr::tree> residual; ///< over input ++ table columns
};

/// Writes rows into a table.
struct sink_stage {
  table_spec table;
  bool upsert = false; ///< the input is an update stream (row kinds)
};

/// One stage of a job: `parallelism` instances of one core, with fused
/// stateless steps before (`pre`) and after (`post`) it.
struct stage_spec {
  uint32_t id = 0;  ///< its index in job_spec::stages
  std::string name; ///< "scan bid", "window_agg#2": --explain and metrics
  uint32_t parallelism = 1;
  std::vector<edge> inputs; ///< empty for scans
  std::vector<calc_step> pre;
  std::variant<scan_stage, window_stage, group_stage, join_stage, sink_stage,
               lookup_stage>
      core;
  std::vector<calc_step> post;
  columnar::schema out;       ///< after post
  bool emits_updates = false; ///< output rows carry row kinds
};

/// What a job does when one of its operators fails (Flink's
/// `restart-strategy.*` settings). A restart stops every instance and
/// starts the job again from the beginning of its sources (there are no
/// checkpoints yet); a failure with a permanent error (`is_permanent`) is
/// never restarted.
struct restart_strategy {
  enum class kind : uint8_t {
    none,              ///< the first failure fails the job
    fixed_delay,       ///< up to `attempts` restarts, `delay_ms` apart
    failure_rate,      ///< fails past `max_failures` within `interval_ms`
    exponential_delay, ///< `delay_ms`, times `multiplier`, up to the cap
  };
  kind type = kind::none;
  uint32_t attempts = 1;         ///< fixed_delay
  int64_t delay_ms = 1000;       ///< fixed_delay, failure_rate; exponential:
                                 ///< the first back-off
  uint32_t max_failures = 1;     ///< failure_rate, per interval
  int64_t interval_ms = 60'000;  ///< failure_rate
  int64_t max_delay_ms = 60'000; ///< exponential_delay: the cap
  double multiplier = 1.5;       ///< exponential_delay
  /// exponential_delay: a run this long without a failure starts the
  /// back-off over.
  int64_t reset_after_ms = 3'600'000;
  double jitter = 0.1; ///< exponential_delay: +- this fraction of a delay
  /// exponential_delay: restarts before the job fails (0: no limit).
  uint32_t max_attempts = 0;
};

/// "none", "fixed-delay", ... as Flink spells the type.
const char* to_string(restart_strategy::kind k) noexcept;

/// Settings of a job (SET in the script, --set and --parallelism on the
/// command line).
struct job_options {
  uint32_t parallelism = 1;
  size_t batch_rows = columnar::row_batch::default_rows;
  int64_t idle_timeout_ms = 0;
  int64_t state_ttl_ms = 0;
  int64_t watermark_interval_ms = 0;
  uint64_t state_max_bytes = uint64_t{1} << 30; ///< per operator instance
  restart_strategy restart;
  std::map<std::string, std::string> settings; ///< every SET, for the record
};

/// A job: its stages in topological order (every edge points backwards).
struct job_spec {
  std::string name;
  job_options opts;
  std::vector<stage_spec> stages;
};

/// The stage's kind as a word: "scan", "window", "group", "join", "sink",
/// "lookup".
const char* core_name(const stage_spec& s) noexcept;

/// Everything wrong with `j` as the engine would run it: stage ids out of
/// order, edges to later or unknown stages, ports a core does not have,
/// hash edges without keys or with keys outside the producer's schema,
/// forward edges between stages of different parallelism, scans with
/// inputs, other stages without, a parallelism of 0. Empty when `j` is
/// sound. The engine refuses a job with any of these (sql_errc::bad_plan).
std::vector<std::string> validate(const job_spec& j);

/// The job as text, one line per stage and its edges: the output of
/// `sluice sql --explain`.
std::string to_text(const job_spec& j);

} // namespace sluice
