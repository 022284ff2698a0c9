#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "connectors/dead_letter.hpp"
#include "connectors/mariadb_client.hpp"
#include "connectors/table_connector.hpp"

/// The `mariadb` table sink: rows into a MariaDB or MySQL table, as
/// Flink's JDBC sink writes them.
namespace sluice {

struct mariadb_sink_settings {
  mariadb::target target;
  std::string table;
  size_t max_rows = 1000;      ///< rows per statement and per flush
  int64_t interval_ms = 1000;  ///< flush rows older than this; 0: never
  int64_t max_retries = 3;     ///< tries again of a failed statement
  bool create_table = false;   ///< CREATE TABLE IF NOT EXISTS at start
  int64_t outage_limit_ms = 0; ///< fail after this long unreachable; 0: wait
  int connect_timeout_s = 5;
};

/// Writes rows in multi-row statements: with a declared PRIMARY KEY, the
/// upsert stream as `INSERT ... ON DUPLICATE KEY UPDATE` (inserts and
/// updates) and `DELETE ... WHERE (key) IN (...)` (deletes), keeping only
/// the last change of each key between two flushes, and ignoring -U rows
/// (the +U that follows carries the new values); without a key, inserts
/// only (`INSERT INTO ... VALUES`).
///
/// Rows are buffered and written when `max_rows` are waiting, when the
/// oldest has waited `interval_ms` (on `tick`), and on `flush`.
///
/// Failures:
/// - the server cannot be reached or the connection broke: the sink keeps
///   its rows, reports `holding()` (so the operator keeps its acks and the
///   sources stop at their credit), and reconnects with back-off (100 ms
///   doubling to 2 s) until the server is back, then writes what it holds
///   in order. With `outage_limit_ms` > 0 it fails after that long;
/// - a deadlock, a lock wait timeout or an unknown error: the statement is
///   tried again up to `max_retries` times with back-off, then the sink
///   fails (a transient error: the job's restart strategy decides);
/// - the server refuses the values (out of range, too long, NULL into NOT
///   NULL): the statement's rows are written one by one, each refused row
///   goes to the dead-letter file with the server's reason and is counted
///   as an error, and the rest are written;
/// - no such table or column, no privilege, bad credentials: the sink fails
///   with a permanent error (no restart).
///
/// The first connection (and every reconnection) checks the table against
/// the declared columns and key (connectors/mariadb_table.hpp), creating
/// it first when `create_table` is set.
///
/// Without a key, a statement whose reply was lost with the connection is
/// written again after the reconnect: append mode is at least once. Upserts
/// and deletes are idempotent, so the table ends right either way.
class mariadb_sink : public table_sink {
 public:
  mariadb_sink(const table_context& ctx, mariadb_sink_settings s);
  ~mariadb_sink() override;

  caf::error open() override;
  caf::error write(const columnar::row_batch& rows) override;
  caf::error flush() override;
  caf::error tick() override;
  bool holding() const override { return holding_; }
  /// The flush interval, between 5 and 100 ms: a row waits for its flush
  /// about as long as the interval says.
  int64_t tick_interval_ms() const override {
    return cfg_.interval_ms > 0 ? std::clamp<int64_t>(cfg_.interval_ms, 5, 100)
                                : 100;
  }
  void close() override;

  /// Rows waiting to be written (after reduction by key).
  size_t pending() const noexcept { return live_; }

  /// Statements the server took.
  uint64_t statements() const noexcept { return statements_; }

  /// Reconnections after an outage.
  uint64_t reconnects() const noexcept { return reconnects_; }

 private:
  using clock = std::chrono::steady_clock;

  /// One buffered row: its value tuple "(v1,v2,...)" in `text_`, and for
  /// a keyed table its key tuple "(k1,k2)" right after it.
  struct entry {
    uint32_t offset = 0;
    uint32_t length = 0;     ///< of the value tuple
    uint32_t key_length = 0; ///< of the key tuple that follows
    bool del = false;
    bool live = true; ///< false: a later change of the same key replaced it
  };

  caf::error ensure_connected();
  /// Writes what waits; with `all` false, only full statements.
  caf::error write_pending(bool all = true);
  /// Drops the written entries from the buffer.
  void compact();
  /// Notes entry `idx` as its key's latest, retiring an earlier one.
  void remember_key(uint32_t idx, uint32_t offset, uint32_t length);
  caf::error run(const std::string& sql, size_t first, size_t last, bool del);
  caf::error run_one_by_one(size_t first, size_t last, bool del);
  void append_statement(std::string& sql, size_t first, size_t last, bool del);
  void lost_connection(const std::string& why);
  caf::error check_outage();
  void reset_buffer();

  table_context ctx_;
  mariadb_sink_settings cfg_;
  mariadb::connection db_;
  bool keyed_ = false;
  std::string insert_head_; ///< "INSERT INTO `t` (`a`,`b`) VALUES "
  std::string upsert_tail_; ///< " ON DUPLICATE KEY UPDATE ..."
  std::string delete_head_; ///< "DELETE FROM `t` WHERE (`k`) IN ("
  std::string text_;
  std::vector<entry> entries_;
  /// The latest entry of each key, by the hash of its key tuple.
  std::unordered_map<size_t, uint32_t> by_key_;
  size_t done_ = 0; ///< entries before this one are written
  size_t live_ = 0;
  clock::time_point oldest_{};
  bool holding_ = false;
  bool checked_ = false;
  clock::time_point retry_at_{};
  clock::time_point outage_since_{};
  std::chrono::milliseconds backoff_{0};
  int64_t retries_ = 0;
  uint64_t statements_ = 0;
  uint64_t reconnects_ = 0;
  uint64_t lost_reported_ = 0;
  std::unique_ptr<dead_letter> dead_;
  std::vector<uint32_t> active_;
  std::vector<uint32_t> value_spans_; ///< begin, end of each value in text_
  std::string key_;
  std::string sql_;
};

} // namespace sluice
