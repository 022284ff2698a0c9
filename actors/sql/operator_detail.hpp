#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include <caf/actor_addr.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/ops/group_agg.hpp"
#include "actors/ops/lookup_cache.hpp"
#include "actors/ops/session_agg.hpp"
#include "actors/ops/watermark.hpp"
#include "actors/ops/window_agg.hpp"
#include "actors/ops/window_join.hpp"
#include "actors/sql/calc.hpp"
#include "actors/sql/exchange.hpp"
#include "actors/sql/operator.hpp"

// The operator actor's state and the functions its files share
// (operator.cpp: inputs, operators, sinks; operator_scan.cpp: scans;
// operator_lookup.cpp: lookup joins; operator_end.cpp: the end and the
// tick). Only those include it.
namespace sluice::sql_actors::detail {

/// The operator's own messages (timers), beside its public interface.
using operator_impl_actor = operator_actor::extend<caf::reacts_to<poll_atom>,
                                                   caf::reacts_to<tick_atom>>;

/// The core of a stage instance.
struct scan_core {
  table_source_ptr source;
  std::optional<expr::program> watermark;
  uint32_t watermark_step = 0;
  int64_t idle_timeout_ms = 0;
  bool processing_time = false; ///< the watermark follows the wall clock
  int64_t last_rows_ms = 0;
  /// With a source of several inputs: the watermark of each input's rows.
  std::vector<int64_t> input_wm;
  int64_t backoff_ms = 0;
  bool poll_scheduled = false;
  bool finished = false;
  bool open = false;
};

struct sink_core {
  table_sink_ptr sink;
  bool open = false;
  /// The input ended while the sink held rows: it closes once they are
  /// written (on_tick).
  bool draining = false;
};

struct join_core {
  ops::window_join_state st;
  std::optional<expr::program> residual;
};

/// A lookup join: input batches wait in `pending`, in order, while the
/// table cannot answer; their acks and the watermark wait with them.
struct lookup_core {
  std::string name; ///< the table's
  table_lookup_ptr lookup;
  lookup_settings cfg;
  std::unique_ptr<ops::lookup_cache> cache;
  columnar::schema_ptr table_schema;
  std::vector<uint32_t> left_keys;
  std::optional<expr::program> residual;
  bool outer = false;
  bool open = false;
  /// The input ended while rows waited: the end goes out once they are
  /// joined (on_tick).
  bool draining = false;
  std::deque<columnar::row_batch> pending;
  std::optional<int64_t> held_wm; ///< a watermark behind `pending`
  int64_t outage_since = 0;       ///< ms; 0: the table answers
  int64_t retry_at = 0;           ///< ms; 0: no retry waits
  int64_t backoff_ms = 0;
  int64_t retries = 0; ///< passing failures in a row
  // Scratch of one batch.
  std::vector<uint32_t> entries, wanted, of, left, right;
  columnar::row_batch keys, found;
};

using core_state =
    std::variant<scan_core, ops::window_agg_state, ops::session_agg_state,
                 ops::group_agg_state, join_core, sink_core, lookup_core>;

/// A producer's input as the consumer tracks it.
struct input_state {
  uint64_t next_seq = 1;
  int64_t credit = 0;
  bool ended = false;
};

/// An ack held back while this instance's own output waits for credit.
struct held_ack {
  caf::actor_addr to;
  uint64_t seq = 0;
  uint64_t rows = 0;
  size_t input = 0;
};

struct operator_state {
  operator_config cfg;
  std::string label; ///< "JOB/STAGE#i", for logs
  calc_chain pre;
  calc_chain post;
  core_state core;
  std::optional<exchange> out;
  std::optional<exchange> late;
  std::map<caf::actor_addr, std::pair<bool, uint32_t>> targets; ///< late?, t
  std::array<uint32_t, 2> base{0, 0}; ///< first input index of each port
  std::vector<input_state> inputs;
  ops::watermark_tracker wm;
  std::vector<held_ack> held;
  expr::eval_context ctx;
  columnar::row_batch work;      ///< input rows after `pre`
  columnar::row_batch result;    ///< output rows before `post`
  columnar::schema_ptr core_out; ///< the schema of `result`
  columnar::row_batch late_in;
  uint64_t late_reported = 0;
  size_t ended_inputs = 0;
  bool stopping = false;
  bool finishing = false;
  bool tick_scheduled = false;
  int64_t tick_ms = 100; ///< the sink's tick interval, else 100 ms
  caf::actor_system* system = nullptr; ///< for table connectors (the context)
  static inline const char* name = "sluice.operator";
};

using operator_ptr = operator_impl_actor::stateful_pointer<operator_state>;

int64_t now_ms();

/// Ends the instance with `err`, logged and counted.
void fail(operator_ptr self, const caf::error& err);

/// Runs `post` on `rows` and hands them to the output.
void emit(operator_ptr self, columnar::row_batch& rows);

/// Quits once the end went out to every target.
void maybe_quit(operator_ptr self);

/// Acknowledges the input rows whose processing is done, unless the output
/// waits for credit or the core holds rows (a sink or lookup whose server
/// is away).
void release_acks(operator_ptr self);

/// Fires what watermark `wm` closes and passes the watermark on.
void advance(operator_ptr self, int64_t wm);

/// Reports the core's state size; fails the instance over its limit.
void count_state(operator_ptr self);

// The end (operator_end.cpp).

/// Every input ended: fires what is left (unless stopping), drains a sink
/// or lookup that holds rows, ends the output.
void finish(operator_ptr self);

/// The periodic tick: a sink's flush, a lookup's retry, a group's expiry,
/// the drain after the end.
void on_tick(operator_ptr self);

// Scans (operator_scan.cpp).

/// What a table connector of this instance learns: the table, its schema,
/// the split.
caf::expected<table_context> make_context(operator_state& st,
                                          const table_spec& t,
                                          columnar::schema_ptr schema);

/// Builds the scan's table source, `pre`, `post` and watermark program.
caf::error set_up_scan(operator_ptr self, const scan_stage& s);

/// Polls the source again, after `delay_ms` (0: at once).
void schedule_poll(operator_ptr self, int64_t delay_ms);

/// Ends the scan's output (at the end of its input, or on a stop).
void end_scan(operator_ptr self);

/// Reads one batch, takes the watermark, sends what credit allows.
void poll(operator_ptr self);

// Lookup joins (operator_lookup.cpp).

/// Builds the lookup, its cache, the residual condition and `core_out`.
caf::error set_up_lookup(operator_ptr self, const lookup_stage& l,
                         const columnar::schema_ptr& core_in);

/// Joins input rows (after `pre`) with the table and emits them, or keeps
/// them until the table answers. An error fails the instance.
caf::error lookup_rows(operator_ptr self, const columnar::row_batch& rows);

/// Joins the rows that wait, in order, when their retry is due; then
/// passes on a watermark that waited behind them.
caf::error drain_lookups(operator_ptr self);

} // namespace sluice::sql_actors::detail
