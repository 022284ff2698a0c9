#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "runtime/columnar/column.hpp"
#include "runtime/options.hpp"

struct st_mysql; // Connector/C's MYSQL, kept out of this header

/// A small client over MariaDB Connector/C for the `mariadb` table
/// connectors: where the server is (a JDBC-style url), one connection with
/// the project's errors, and SQL text for values and names.
namespace sluice::mariadb {

/// Where a database is: `jdbc:mysql://HOST[:PORT]/DATABASE` (or
/// `jdbc:mariadb://`, or without the `jdbc:` prefix) plus the credentials.
struct target {
  std::string host;
  uint16_t port = 3306;
  std::string database;
  std::string user;
  std::string password; ///< never logged, never in an error text
  std::string socket;   ///< a Unix socket instead of host and port

  /// "host:port/database", for logs and errors.
  std::string where() const;
};

/// Parses a url; the error names the url and what is wrong with it.
caf::expected<target> parse_url(std::string_view url);

/// The WITH options of every `mariadb` table, whatever reads or writes it:
/// `url`, `table-name`, `username`, `password`,
/// `connection.connect-timeout`.
std::vector<option_spec> connection_option_specs();

/// The server, the credentials and the table those options name.
struct table_target {
  target server;
  std::string table;
  int connect_timeout_s = 5;
};

/// Reads `connection_option_specs` from checked options.
caf::expected<table_target> table_target_of(const options& opts);

/// What a failed call means for the caller.
enum class failure {
  none,
  /// The server cannot be reached or the connection broke (refused,
  /// gone away, lost, shutting down): reconnect later and try again.
  connection,
  /// The server may take the same statement a moment later (deadlock,
  /// lock wait timeout, too many connections).
  transient,
  /// The rows themselves are refused (a value out of range, too long,
  /// NULL into NOT NULL, a broken foreign key): the same rows fail again.
  data,
  /// Nothing will change by trying again (no such table or column, no
  /// privilege, bad credentials, a syntax error).
  permanent,
};

/// Sorts a server or client error number.
failure classify(unsigned int code);

/// One connection. Not thread-safe; one sink or lookup instance owns it.
class connection {
 public:
  connection() = default;
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;
  ~connection();

  /// Connects (closing a previous connection first) with the given
  /// timeouts, in UTF-8 (utf8mb4) and the UTC time zone, so that DATETIME
  /// values are the job's UTC timestamps.
  caf::error connect(const target& t, int connect_timeout_s = 5,
                     int io_timeout_s = 60);

  bool connected() const noexcept { return db_ != nullptr; }

  void close();

  /// Runs a statement without result rows; returns the affected rows.
  caf::expected<uint64_t> exec(std::string_view sql);

  /// Runs a query; NULL values are std::nullopt.
  caf::expected<std::vector<std::vector<std::optional<std::string>>>>
  query(std::string_view sql);

  /// The error number and text of the last failed call.
  unsigned int last_code() const noexcept { return last_code_; }
  const std::string& last_text() const noexcept { return last_text_; }
  failure last_failure() const noexcept { return classify(last_code_); }

  /// Appends `text` as a quoted string literal (backslash escapes).
  void append_string(std::string_view text, std::string& out);

  /// Appends value `row` of `c` as a SQL literal (NULL, a number, a
  /// quoted string or 'YYYY-MM-DD HH:MM:SS.fff'). A NaN or infinite
  /// DOUBLE, which MariaDB cannot store, is written as NULL and counted in
  /// `lost_values`.
  void append_value(const columnar::column& c, size_t row, std::string& out);

  /// Values written as NULL because the server cannot store them.
  uint64_t lost_values = 0;

  /// The server's max_allowed_packet, read at connect.
  uint64_t max_packet() const noexcept { return max_packet_; }

 private:
  caf::error fail(std::string_view what);

  ::st_mysql* db_ = nullptr;
  std::string where_;
  unsigned int last_code_ = 0;
  std::string last_text_;
  uint64_t max_packet_ = 16u << 20;
};

/// `name` as a quoted identifier (`a``b`).
std::string quote_name(std::string_view name);

/// Appends `name` as a quoted identifier.
void append_name(std::string_view name, std::string& out);

} // namespace sluice::mariadb
