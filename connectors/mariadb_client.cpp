#include "connectors/mariadb_client.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <mutex>

#include <errmsg.h>
#include <fmt/format.h>
#include <mysql.h>
#include <mysqld_error.h>

#include "runtime/columnar/format.hpp"
#include "runtime/errors.hpp"

namespace sluice::mariadb {

std::string target::where() const {
  return fmt::format("{}:{}/{}", host, port, database);
}

caf::expected<target> parse_url(std::string_view url) {
  auto bad = [&](std::string_view why) {
    return make_error(config_errc::invalid,
                      fmt::format("url '{}': {} (expected "
                                  "jdbc:mysql://HOST[:PORT]/DATABASE)",
                                  url, why));
  };
  auto rest = url;
  if (rest.starts_with("jdbc:"))
    rest.remove_prefix(5);
  if (rest.starts_with("mysql://"))
    rest.remove_prefix(8);
  else if (rest.starts_with("mariadb://"))
    rest.remove_prefix(10);
  else
    return bad("the scheme is not mysql:// or mariadb://");
  if (rest.find('?') != std::string_view::npos)
    return bad("url parameters are not supported; use the table's options");
  auto slash = rest.find('/');
  if (slash == std::string_view::npos || slash + 1 == rest.size())
    return bad("no database");
  target t;
  t.database = std::string{rest.substr(slash + 1)};
  if (t.database.find('/') != std::string::npos)
    return bad("the database name holds a '/'");
  auto authority = rest.substr(0, slash);
  if (authority.find('@') != std::string_view::npos)
    return bad("credentials belong in 'username' and 'password', not the url");
  auto colon = authority.rfind(':');
  if (colon != std::string_view::npos) {
    auto digits = authority.substr(colon + 1);
    unsigned port = 0;
    auto [end, ec] =
        std::from_chars(digits.data(), digits.data() + digits.size(), port);
    if (ec != std::errc{} || end != digits.data() + digits.size() ||
        port == 0 || port > 65535)
      return bad(fmt::format("'{}' is not a port", digits));
    t.port = static_cast<uint16_t>(port);
    authority = authority.substr(0, colon);
  }
  if (authority.empty())
    return bad("no host");
  t.host = std::string{authority};
  return t;
}

failure classify(unsigned int code) {
  switch (code) {
  case 0:
    return failure::none;
  case CR_CONNECTION_ERROR:
  case CR_CONN_HOST_ERROR:
  case CR_UNKNOWN_HOST:
  case CR_SERVER_GONE_ERROR:
  case CR_SERVER_LOST:
  case CR_COMMANDS_OUT_OF_SYNC:
  case CR_SERVER_LOST_EXTENDED:
  case CR_ERR_NET_READ:
  case CR_ERR_NET_WRITE:
  case ER_SERVER_SHUTDOWN:
  case ER_CONNECTION_KILLED:
  case ER_FORCING_CLOSE:
  case ER_NORMAL_SHUTDOWN:
  case ER_CON_COUNT_ERROR:
  case ER_TOO_MANY_USER_CONNECTIONS:
  case ER_NET_READ_ERROR:
  case ER_NET_READ_INTERRUPTED:
  case ER_NET_ERROR_ON_WRITE:
  case ER_NET_WRITE_INTERRUPTED:
    return failure::connection;
  case ER_LOCK_WAIT_TIMEOUT:
  case ER_LOCK_DEADLOCK:
  case ER_DISK_FULL:
  case ER_RECORD_FILE_FULL:
  case ER_OUT_OF_RESOURCES:
  case ER_OUTOFMEMORY:
  case ER_ERROR_DURING_COMMIT:
  case ER_QUERY_INTERRUPTED:
    return failure::transient;
  case ER_BAD_NULL_ERROR:
  case ER_DUP_ENTRY:
  case ER_WARN_DATA_OUT_OF_RANGE:
  case ER_TRUNCATED_WRONG_VALUE_FOR_FIELD:
  case ER_TRUNCATED_WRONG_VALUE:
  case ER_DATA_TOO_LONG:
  case ER_WARN_NULL_TO_NOTNULL:
  case ER_NO_DEFAULT_FOR_FIELD:
  case ER_DIVISION_BY_ZERO:
  case ER_NO_REFERENCED_ROW_2:
  case ER_NO_REFERENCED_ROW:
  case ER_ROW_IS_REFERENCED_2:
  case ER_CONSTRAINT_FAILED:
  case ER_INVALID_CHARACTER_STRING:
  case ER_CANNOT_CONVERT_CHARACTER:
    return failure::data;
  case ER_ACCESS_DENIED_ERROR:
  case ER_DBACCESS_DENIED_ERROR:
  case ER_TABLEACCESS_DENIED_ERROR:
  case ER_COLUMNACCESS_DENIED_ERROR:
  case ER_SPECIFIC_ACCESS_DENIED_ERROR:
  case ER_BAD_DB_ERROR:
  case ER_NO_SUCH_TABLE:
  case ER_BAD_FIELD_ERROR:
  case ER_PARSE_ERROR:
  case ER_WRONG_VALUE_COUNT_ON_ROW:
  case ER_READ_ONLY_MODE:
  case ER_OPTION_PREVENTS_STATEMENT:
    return failure::permanent;
  default:
    // An error this list does not know is tried again a few times and
    // then fails the job, whose restart strategy decides.
    return failure::transient;
  }
}

connection::~connection() {
  close();
}

void connection::close() {
  if (db_ != nullptr) {
    mysql_close(db_);
    db_ = nullptr;
  }
}

caf::error connection::fail(std::string_view what) {
  if (db_ != nullptr) {
    last_code_ = mysql_errno(db_);
    last_text_ = mysql_error(db_);
  }
  auto text = fmt::format("MariaDB {}: {}: {} (error {})", where_, what,
                          last_text_, last_code_);
  auto err = make_error(connector_errc::io_error, std::move(text));
  return classify(last_code_) == failure::permanent
             ? make_permanent(std::move(err))
             : err;
}

caf::error connection::connect(const target& t, int connect_timeout_s,
                               int io_timeout_s) {
  close();
  where_ = t.where();
  // mysql_init would initialize the library on first use, but not safely
  // from two sink threads at once.
  static std::once_flag library;
  std::call_once(library, [] { mysql_library_init(0, nullptr, nullptr); });
  db_ = mysql_init(nullptr);
  if (db_ == nullptr) {
    last_code_ = CR_OUT_OF_MEMORY;
    last_text_ = "out of memory";
    return fail("cannot create a connection");
  }
  unsigned int ct = static_cast<unsigned int>(connect_timeout_s);
  unsigned int io = static_cast<unsigned int>(io_timeout_s);
  mysql_optionsv(db_, MYSQL_OPT_CONNECT_TIMEOUT, &ct);
  mysql_optionsv(db_, MYSQL_OPT_READ_TIMEOUT, &io);
  mysql_optionsv(db_, MYSQL_OPT_WRITE_TIMEOUT, &io);
  mysql_optionsv(db_, MYSQL_SET_CHARSET_NAME, "utf8mb4");
  // Reconnecting is the caller's business: a silent reconnect would lose
  // the session settings below.
  my_bool no = 0;
  mysql_optionsv(db_, MYSQL_OPT_RECONNECT, &no);
  if (mysql_real_connect(db_, t.host.c_str(), t.user.c_str(),
                         t.password.c_str(), t.database.c_str(), t.port,
                         t.socket.empty() ? nullptr : t.socket.c_str(),
                         0) == nullptr) {
    auto err = fail("cannot connect");
    close();
    return err;
  }
  if (mysql_query(db_,
                  "SET SESSION time_zone = '+00:00', sql_mode = "
                  "REPLACE(@@sql_mode, 'NO_BACKSLASH_ESCAPES', '')") != 0) {
    auto err = fail("cannot set the session's time zone and SQL mode");
    close();
    return err;
  }
  if (auto rows = query("SELECT @@max_allowed_packet");
      rows && !rows->empty() && (*rows)[0][0])
    max_packet_ = std::stoull(*(*rows)[0][0]);
  last_code_ = 0;
  last_text_.clear();
  return {};
}

caf::expected<uint64_t> connection::exec(std::string_view sql) {
  if (db_ == nullptr) {
    last_code_ = CR_SERVER_GONE_ERROR;
    last_text_ = "not connected";
    return fail("cannot run a statement");
  }
  if (mysql_real_query(db_, sql.data(), sql.size()) != 0)
    return fail("a statement failed");
  // A statement that returns rows by mistake must not leave the
  // connection out of sync.
  if (auto* res = mysql_store_result(db_))
    mysql_free_result(res);
  return static_cast<uint64_t>(mysql_affected_rows(db_));
}

caf::expected<std::vector<std::vector<std::optional<std::string>>>>
connection::query(std::string_view sql) {
  if (db_ == nullptr) {
    last_code_ = CR_SERVER_GONE_ERROR;
    last_text_ = "not connected";
    return fail("cannot run a query");
  }
  if (mysql_real_query(db_, sql.data(), sql.size()) != 0)
    return fail("a query failed");
  auto* res = mysql_store_result(db_);
  if (res == nullptr) {
    if (mysql_field_count(db_) != 0)
      return fail("a query's result did not arrive");
    return std::vector<std::vector<std::optional<std::string>>>{};
  }
  std::vector<std::vector<std::optional<std::string>>> rows;
  auto n = mysql_num_fields(res);
  while (auto row = mysql_fetch_row(res)) {
    auto* lengths = mysql_fetch_lengths(res);
    auto& out = rows.emplace_back();
    for (unsigned i = 0; i < n; ++i) {
      if (row[i] == nullptr)
        out.emplace_back(std::nullopt);
      else
        out.emplace_back(std::string{row[i], lengths[i]});
    }
  }
  mysql_free_result(res);
  return rows;
}

void connection::append_string(std::string_view text, std::string& out) {
  // What mysql_real_escape_string does for utf8mb4, whose multi-byte
  // sequences never hold a byte below 0x80; connect() turns off
  // NO_BACKSLASH_ESCAPES for the session so that these escapes hold.
  out += '\'';
  for (auto ch : text) {
    switch (ch) {
    case '\0':
      out += "\\0";
      break;
    case '\n':
      out += "\\n";
      break;
    case '\r':
      out += "\\r";
      break;
    case '\\':
      out += "\\\\";
      break;
    case '\'':
      out += "\\'";
      break;
    case '"':
      out += "\\\"";
      break;
    case '\x1a':
      out += "\\Z";
      break;
    default:
      out += ch;
    }
  }
  out += '\'';
}

void connection::append_value(const columnar::column& c, size_t row,
                              std::string& out) {
  using columnar::type_id;
  if (!c.valid(row)) {
    out += "NULL";
    return;
  }
  switch (c.type().id) {
  case type_id::boolean:
    out += c.value<uint8_t>(row) != 0 ? "TRUE" : "FALSE";
    return;
  case type_id::int32: {
    fmt::format_int digits{c.value<int32_t>(row)};
    out.append(digits.data(), digits.size());
    return;
  }
  case type_id::int64:
  case type_id::interval_ms: {
    fmt::format_int digits{c.value<int64_t>(row)};
    out.append(digits.data(), digits.size());
    return;
  }
  case type_id::float64: {
    auto v = c.value<double>(row);
    if (!std::isfinite(v)) {
      ++lost_values;
      out += "NULL";
      return;
    }
    // The shortest text that reads back to the same double.
    fmt::format_to(std::back_inserter(out), "{}", v);
    return;
  }
  case type_id::decimal:
    columnar::append_decimal(c.value<columnar::int128>(row), c.type().scale,
                             out);
    return;
  case type_id::string:
    append_string(c.str(row), out);
    return;
  case type_id::timestamp:
    out += '\'';
    columnar::append_timestamp(c.value<int64_t>(row), out);
    out += '\'';
    return;
  case type_id::null_type:
    out += "NULL";
    return;
  }
  out += "NULL";
}

void append_name(std::string_view name, std::string& out) {
  out += '`';
  for (auto ch : name) {
    if (ch == '`')
      out += '`';
    out += ch;
  }
  out += '`';
}

std::string quote_name(std::string_view name) {
  std::string out;
  append_name(name, out);
  return out;
}

std::vector<option_spec> connection_option_specs() {
  return {
      {"url", option_type::string, "jdbc:mysql://HOST[:PORT]/DATABASE", true},
      {"table-name", option_type::string, "the table in the database", true},
      {"username", option_type::string, "the user to log in as", false,
       option_value{std::string{}}},
      {"password", option_type::string,
       "the user's password (write '${env:NAME}'; never logged)", false,
       option_value{std::string{}}},
      {"connection.connect-timeout", option_type::duration,
       "timeout of one connection attempt", false, option_value{int64_t{5000}},
       1000, 600000},
  };
}

caf::expected<table_target> table_target_of(const options& opts) {
  auto server = parse_url(opts.get_string("url"));
  if (!server)
    return server.error();
  table_target t;
  t.server = std::move(*server);
  t.server.user = opts.get_string("username");
  t.server.password = opts.get_string("password");
  t.table = opts.get_string("table-name");
  t.connect_timeout_s = static_cast<int>(
      std::max<int64_t>(1, opts.get_int("connection.connect-timeout") / 1000));
  return t;
}

} // namespace sluice::mariadb
