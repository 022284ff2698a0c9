#pragma once

#include <string>
#include <vector>

#include <caf/error.hpp>

#include "connectors/mariadb_client.hpp"
#include "runtime/columnar/schema.hpp"

/// A MariaDB table beside the table a script declares: does it exist, are
/// the declared columns there with types that take the values, and is the
/// declared primary key a key of it. Used by the `mariadb` connectors at
/// start, so that a wrong table fails the job before the first row with an
/// error naming both tables, not in the middle of a run.
namespace sluice::mariadb {

/// One column as the server describes it (information_schema.COLUMNS).
struct server_column {
  std::string name;
  std::string data_type;   ///< "bigint", "varchar", "datetime", ...
  std::string column_type; ///< "bigint(20)", "decimal(18,2)", ...
  bool nullable = true;
};

/// The columns of `table` in the connection's database, in their order;
/// empty when the table does not exist.
caf::expected<std::vector<server_column>>
describe_table(connection& db, const std::string& table);

/// Whether a server column of type `data_type` takes values of `type`
/// (a wider integer, any text type for STRING, DATETIME or TIMESTAMP for
/// TIMESTAMP, ...).
bool takes(const std::string& data_type, const columnar::data_type& type);

/// Checks the declared columns (and primary key: column indices into
/// `declared`) against the server's table. `label` names the declared
/// table in the error ("sink table 'results'"); `creatable`: the error of a
/// missing table tells how to have it created.
caf::error check_table(connection& db, const std::string& table,
                       const columnar::schema& declared,
                       const std::vector<uint32_t>& primary_key,
                       const std::string& label, bool creatable = true);

/// CREATE TABLE IF NOT EXISTS for the declared columns and key: BIGINT,
/// INT, DOUBLE, DECIMAL(p,s), BOOLEAN, DATETIME(3), VARCHAR(255) for a
/// STRING in the key and TEXT elsewhere; NOT NULL as declared; utf8mb4.
std::string create_table_sql(const std::string& table,
                             const columnar::schema& declared,
                             const std::vector<uint32_t>& primary_key);

} // namespace sluice::mariadb
