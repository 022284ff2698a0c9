#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <caf/actor.hpp>
#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <caf/fwd.hpp>

#include "connectors/source_connector.hpp"
#include "runtime/columnar/row_batch.hpp"
#include "runtime/columnar/schema.hpp"
#include "runtime/columnar/types.hpp"
#include "runtime/job/connector_info.hpp"
#include "runtime/metrics.hpp"
#include "runtime/options.hpp"

/// Table connectors: what SQL jobs read rows from and write rows to
/// (`CREATE TABLE ... WITH ('connector' = 'NAME', ...)`). They speak
/// columnar row batches; the collection tier's event connectors
/// (source_connector.hpp, sink_connector.hpp) speak event batches.
namespace sluice {

/// What a sink instance leaves for its next incarnation when its job
/// restarts (one per job, shared by every instance, kept across restarts;
/// thread-safe). A file sink notes the length of its file when the job
/// first opened it, and a restarted run cuts the file back to it before
/// writing everything again.
class restart_memo {
 public:
  /// Notes `value` under `key` unless a value is there; returns the value
  /// under `key` afterwards.
  int64_t note_once(const std::string& key, int64_t value) {
    std::lock_guard guard{mutex_};
    return values_.try_emplace(key, value).first->second;
  }

 private:
  std::mutex mutex_;
  std::map<std::string, int64_t> values_;
};

/// What a table connector learns about the table instance it serves.
/// Finds a topic by name where a job runs (`table_context::find_topic`):
/// the topic's actor (a `topic_actor`), asked for within `timeout_ms`.
/// Blocks the caller; callable from any thread.
using topic_finder = std::function<caf::expected<caf::actor>(
    const std::string& name, int64_t timeout_ms)>;

struct table_context {
  std::string name;            ///< the table's name in the script
  columnar::schema_ptr schema; ///< the physical columns it fills or reads
  uint32_t split = 0;          ///< this instance of a parallel scan
  uint32_t splits = 1;         ///< how many instances read the table
  std::shared_ptr<component_metrics> metrics; ///< never null
  /// Where rows that do not parse go; empty: `<table>.dead-letter` in the
  /// working directory.
  std::string dead_letter_path;
  /// Kept across the job's restarts; null outside a job (tests, tools).
  std::shared_ptr<restart_memo> memo;
  /// The declared PRIMARY KEY (NOT ENFORCED): indices into `schema`.
  std::vector<uint32_t> primary_key;
  /// The job's actor system, with the middleman loaded (connectors that
  /// reach actors, such as a node's topics); null outside a job.
  caf::actor_system* system = nullptr;
  /// The scan's `scan.watermark.idle-timeout` (0: none set).
  int64_t idle_timeout_ms = 0;
  /// A lookup: the columns of `schema` it is looked up by.
  std::vector<uint32_t> lookup_keys;
  /// Finds the topics of a `topic` table without an `address`: a job of a
  /// topology file finds the topics of the topology's nodes. Empty outside
  /// a topology (`sluice sql`), where a topic table needs an `address`.
  topic_finder find_topic;
};

/// The outside world behind a scan instance.
///
/// The scan calls `poll` whenever its output has credit, never from two
/// threads at once; `poll` must not block for more than a few milliseconds.
/// A bounded source returns `finished` at the end of its input: the scan then
/// moves its watermark to the end of time, every window fires and the job
/// ends. A row that does not parse is counted (`errors` of the metrics),
/// written to the dead-letter file with its position and the reason, and
/// left out; `poll` goes on with the next row.
class table_source {
 public:
  virtual ~table_source() = default;

  /// Opens the input (files, generator state). An error here fails the
  /// scan instance and, with it, the job.
  virtual caf::error open() = 0;

  /// Appends up to `max_rows` rows to `out`, whose schema is the context's.
  virtual caf::expected<poll_status> poll(columnar::row_batch& out,
                                          size_t max_rows) = 0;

  /// How many instances can read this table in parallel (nexmark: any;
  /// filesystem: one per file). The scan runs min(parallelism, this).
  virtual uint32_t max_splits() const { return 1; }

  /// Where the source stands (offsets), for checkpoints; empty if none.
  virtual std::string progress() const { return {}; }

  /// Event time the connector vouches for on its own (a generator's clock,
  /// a test source's watermark steps); the scan sends the larger of this
  /// and the table's WATERMARK expression.
  virtual int64_t source_watermark() const { return columnar::min_timestamp; }

  /// Inputs that feed this instance, each in its own event-time order (a
  /// topic's shards). With more than one, every poll returns rows of one
  /// input only, `last_input()`, and the scan keeps a watermark per input
  /// from the table's WATERMARK expression: it sends the lowest of the
  /// inputs that are not idle, so one input cannot run ahead of another
  /// and make its rows late.
  virtual uint32_t inputs() const { return 1; }

  /// The input the rows of the last poll came from.
  virtual uint32_t last_input() const { return 0; }

  /// True while input `i` has nothing to read and has had nothing for a
  /// while (the connector's rule; an input at the end of a bounded read is
  /// idle): it does not hold the watermark back. When every input is idle,
  /// the scan marks its output idle too.
  virtual bool input_idle(uint32_t) const { return false; }

  virtual void close() {}
};

/// The outside world behind a sink instance.
class table_sink {
 public:
  virtual ~table_sink() = default;

  virtual caf::error open() = 0;

  /// Writes the active rows of `rows`; `rows.kind(i)` says insert, update
  /// or delete (a sink that does not accept updates never sees anything
  /// but inserts: the analyzer refuses such a job).
  virtual caf::error write(const columnar::row_batch& rows) = 0;

  /// Makes what was written durable or visible (end of a batch of writes).
  virtual caf::error flush() { return {}; }

  /// Called periodically (every `tick_interval_ms`) for time-based
  /// flushing.
  virtual caf::error tick() { return {}; }

  /// How often the operator calls `tick` (a sink that flushes every 10 ms
  /// wants a tick that often); 100 ms unless the sink says otherwise.
  virtual int64_t tick_interval_ms() const { return 100; }

  /// True while the sink holds rows it cannot hand on yet (its database is
  /// unreachable). The operator then keeps its acks, so the sources stop
  /// at their credit and what waits stays bounded, and goes on calling
  /// `tick`; at the end of the input it calls `flush` and `tick` until
  /// this is false before it closes the sink.
  virtual bool holding() const { return false; }

  virtual void close() {}
};

/// The outside world behind a lookup join: a table read by key. The
/// operator calls it from one thread, a batch of keys at a time, and keeps
/// its own cache in front of it (lookup_cache.hpp).
class table_lookup {
 public:
  virtual ~table_lookup() = default;

  /// Connects and checks the table. An error here fails the job.
  virtual caf::error open() = 0;

  /// Finds the rows of the table whose key columns (the context's
  /// `lookup_keys`) equal the columns of each row of `keys` (one column per
  /// key column, same types; no NULLs, no selection, no two equal rows).
  /// Appends every match to `out` (the context's schema) and, for each
  /// match, the row of `keys` it belongs to, to `of`. A failure leaves
  /// `out` and `of` as they were; the caller may try again.
  virtual caf::error lookup(const columnar::row_batch& keys,
                            columnar::row_batch& out,
                            std::vector<uint32_t>& of) = 0;

  /// True after a failed `lookup` when the table's server could not be
  /// reached: the operator holds its rows and asks again later (up to
  /// `lookup.outage-timeout`). Other failures count against
  /// `lookup.max-retries`, and a permanent one (`is_permanent`) fails the
  /// job at once.
  virtual bool unreachable() const { return false; }

  virtual void close() {}
};

using table_source_ptr = std::unique_ptr<table_source>;
using table_sink_ptr = std::unique_ptr<table_sink>;
using table_lookup_ptr = std::unique_ptr<table_lookup>;

/// How to build a table source of one connector type.
struct table_source_type {
  std::string name;
  std::string help;
  bool blocking = true; ///< false: never blocks (runs on the shared pool)
  std::vector<option_spec> options;
  std::function<caf::expected<table_source_ptr>(const table_context&,
                                                const sluice::options&)>
      make;
};

/// How to build a table sink of one connector type.
struct table_sink_type {
  std::string name;
  std::string help;
  bool blocking = true;
  bool accepts_updates = false; ///< takes +U/-U/-D rows (upsert streams)
  /// Takes updates only into a table with a PRIMARY KEY (they are upserts
  /// and deletes by that key).
  bool updates_need_key = false;
  std::vector<option_spec> options;
  std::function<caf::expected<table_sink_ptr>(const table_context&,
                                              const sluice::options&)>
      make;
};

/// How to build a table lookup of one connector type. Its `options` are
/// the table's whole WITH clause as a lookup reads it; those of the cache
/// (lookup_cache_options) are among them.
struct table_lookup_type {
  std::string name;
  std::string help;
  bool blocking = true; ///< false: never blocks (runs on the shared pool)
  std::vector<option_spec> options;
  std::function<caf::expected<table_lookup_ptr>(const table_context&,
                                                const sluice::options&)>
      make;
};

} // namespace sluice
