#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/table_registry.hpp"

/// Test-only table connectors for SQL jobs run in-process: `values` (a
/// source of given rows and watermark steps) and `collect` (a sink keeping
/// every row as text). The SQL test files (tests/sql/**/*.test) use them.
namespace sluice::test {

/// The rows of the `values` tables and what the `collect` tables received,
/// shared by the test and every connector instance (thread-safe).
///
/// A `values` table is a list of text rows (CSV: `a,1,1970-01-01
/// 00:00:00.100`; `NULL` unquoted is NULL, an empty field is NULL but for
/// strings), watermark steps between them and, optionally, an end. Split
/// `i` of `n` reads rows `i, i + n, ...`; every split passes every step.
/// A split hands out the rows before its next step, then moves its
/// `source_watermark()` to the step: a watermark never overtakes a row
/// given before it. A split gives no row that follows step `k` before
/// every reader of the table has passed step `k` and been polled again (so
/// its scan sent the watermark): rows after a step come after every
/// reader's watermark, and parallel runs see the same late rows as serial
/// ones. Without an end, a split that gave everything stays idle.
class test_table_data {
 public:
  /// Appends a row to table `table`.
  void add_row(const std::string& table, std::string text);

  /// Adds a watermark step (epoch ms) after the rows given so far.
  void add_watermark(const std::string& table, int64_t ms);

  /// Marks the table ended: a split that gave everything finishes.
  void end(const std::string& table);

  /// True when `table` has rows, steps or an end.
  bool has_input(const std::string& table) const;

  /// True when `table` was ended.
  bool ended(const std::string& table) const;

  /// The rows given to `table` so far.
  size_t row_count(const std::string& table) const;

  /// How many keys `values` lookups of `table` were asked for.
  uint64_t keys_looked_up(const std::string& table) const;

  /// Counts keys a `values` lookup of `table` was asked for.
  void count_lookups(const std::string& table, uint64_t keys);

  /// Starts a new run: forgets the readers of every table and every
  /// collected row. `readers` says how many source instances will read each
  /// table (more than one scan of a table, e.g. a self-join, reads it more
  /// than `splits` times); a table not named waits for its instances'
  /// `splits`.
  void start_run(std::map<std::string, uint32_t> readers = {});

  /// The rows the `collect` table `table` received, as `+I a 1`: the row
  /// kind, then each value as the print sink writes it (NULL as `null`),
  /// separated by one space.
  std::vector<std::string> collected(const std::string& table) const;

  // -- used by the connectors -------------------------------------------------

  /// One step of a table: how many rows precede it, and its time.
  struct step {
    size_t rows_before = 0;
    int64_t ms = 0;
  };

  /// A source instance's view of its table (copied at `register_reader`:
  /// rows added later are not seen by a running job).
  struct table_input {
    std::vector<std::string> rows;
    std::vector<step> steps;
    bool ended = false;
  };

  /// A copy of the input of `table` (what a `values` lookup reads).
  table_input input_of(const std::string& table) const;

  /// Registers a reader of `table` that runs with `splits` instances;
  /// returns its id and a copy of the table's input.
  std::pair<size_t, table_input> register_reader(const std::string& table,
                                                 uint32_t splits);

  /// Reader `id` has had step `passed` emitted by its scan (it was polled
  /// again after passing it).
  void confirm(const std::string& table, size_t id, size_t passed);

  /// True when every reader of `table` (all of them registered) confirmed
  /// at least `passed` steps.
  bool all_confirmed(const std::string& table, size_t passed) const;

  /// Appends rows to the collected rows of `table`.
  void append_collected(const std::string& table,
                        std::vector<std::string> rows);

 private:
  struct run_state {
    uint32_t expected = 0;       ///< readers the run waits for
    std::vector<size_t> readers; ///< steps confirmed, by reader id
  };

  mutable std::mutex mtx_;
  std::map<std::string, table_input> inputs_;
  std::map<std::string, uint32_t> readers_hint_;
  std::map<std::string, run_state> runs_;
  std::map<std::string, std::vector<std::string>> collected_;
  std::map<std::string, uint64_t> looked_up_;
};

/// Adds `values` (source, and lookup: a lookup join reads the table's
/// rows by key; it takes the lookup cache options) and `collect` (sink,
/// takes updates) to `tables`, all reading and writing `data`.
void add_test_tables(table_registry& tables,
                     std::shared_ptr<test_table_data> data);

/// Formats active row `row` of `b` as the `collect` sink does.
std::string collect_row_text(const columnar::row_batch& b, size_t row);

} // namespace sluice::test
