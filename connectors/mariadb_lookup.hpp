#pragma once

#include <string>
#include <vector>

#include "connectors/mariadb_client.hpp"
#include "connectors/table_connector.hpp"

/// The `mariadb` lookup: a MariaDB or MySQL table read by key for a lookup
/// join, as Flink's JDBC lookup source reads one.
namespace sluice {

struct mariadb_lookup_settings {
  mariadb::target target;
  std::string table;
  int connect_timeout_s = 5;
};

/// Reads the rows of a batch of keys with one query per 500 keys:
/// `SELECT cols FROM t WHERE k IN (...)`, or `WHERE (k1, k2) IN ((...),
/// ...)` for a key of several columns. Returned rows are matched to their
/// keys by value, exactly as sluice compares values: a server whose
/// collation takes 'abc' for 'ABC' returns the row, and it is left out.
///
/// The first connection (and every reconnection) checks that the table has
/// the declared columns (connectors/mariadb_table.hpp). A server that
/// cannot be reached is not an error at `open`: `lookup` tries to connect
/// and reports `unreachable()` until it can. A value the declared type
/// cannot hold (a BIGINT over INT's range) leaves its row out, counted as
/// an error and logged once per lookup.
class mariadb_lookup : public table_lookup {
 public:
  mariadb_lookup(const table_context& ctx, mariadb_lookup_settings s);

  caf::error open() override;
  caf::error lookup(const columnar::row_batch& keys, columnar::row_batch& out,
                    std::vector<uint32_t>& of) override;
  bool unreachable() const override { return unreachable_; }
  void close() override;

  /// Queries the server answered.
  uint64_t queries() const noexcept { return queries_; }

 private:
  caf::error connect();
  caf::error failed(caf::error err);
  caf::error query_chunk(const columnar::row_batch& keys, size_t first,
                         size_t last, columnar::row_batch& got,
                         std::vector<uint32_t>& of);

  table_context ctx_;
  mariadb_lookup_settings cfg_;
  mariadb::connection db_;
  std::string select_head_; ///< "SELECT `a`,`b` FROM `t` WHERE "
  bool unreachable_ = false;
  bool checked_ = false;
  uint64_t queries_ = 0;
  std::string sql_;
  std::string text_;
};

} // namespace sluice
