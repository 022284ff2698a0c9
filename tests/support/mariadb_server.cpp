#include "tests/support/mariadb_server.hpp"

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <mysql.h>
#include <pwd.h>
#include <unistd.h>

#include "tests/support/ports.hpp"

namespace sluice::test {

namespace {

using namespace std::chrono_literals;

constexpr auto start_timeout = 60s;
constexpr auto stop_timeout = 60s;

/// `name` on PATH or in the sbin folders, where Debian puts mariadbd and
/// which a non-root PATH often lacks (children are started with execv,
/// which does not search).
std::string find_program(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "";
  dirs += ":/usr/sbin:/usr/local/sbin:/usr/bin";
  std::istringstream in{dirs};
  for (std::string dir; std::getline(in, dir, ':');) {
    if (dir.empty())
      continue;
    auto candidate = dir + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0)
      return candidate;
  }
  throw mariadb_server_error{name + " not found on PATH nor in /usr/sbin"};
}

bool running_as_root() {
  return ::geteuid() == 0;
}

/// Gives `dir` and everything under it to the `mysql` user, as whom the
/// server runs when the tests run as root.
void give_to_mysql_user(const std::string& dir) {
  auto* pw = ::getpwnam("mysql");
  if (pw == nullptr)
    throw mariadb_server_error{
        "running as root, but there is no `mysql` user for the server to run "
        "as (is mariadb-server installed?)"};
  auto give = [&](const std::filesystem::path& p) {
    if (::lchown(p.c_str(), pw->pw_uid, pw->pw_gid) != 0)
      throw mariadb_server_error{"cannot chown " + p.string()};
  };
  give(dir);
  for (auto& entry : std::filesystem::recursive_directory_iterator{dir})
    give(entry.path());
}

/// The last `n` lines of `text`.
std::string tail(const std::string& text, size_t n) {
  std::vector<std::string> lines;
  std::istringstream in{text};
  for (std::string line; std::getline(in, line);)
    lines.push_back(line);
  std::string out;
  for (auto i = lines.size() > n ? lines.size() - n : 0; i < lines.size(); ++i)
    out += lines[i] + "\n";
  return out;
}

/// Connector/C's global state, set up once before any thread connects
/// (mysql_init would do it lazily, but not thread-safely).
void init_client_library() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (mysql_library_init(0, nullptr, nullptr) != 0)
      throw mariadb_server_error{"mysql_library_init failed"};
  });
}

struct connection_closer {
  void operator()(MYSQL* c) const { mysql_close(c); }
};
using connection = std::unique_ptr<MYSQL, connection_closer>;

struct result_freer {
  void operator()(MYSQL_RES* r) const { mysql_free_result(r); }
};
using result = std::unique_ptr<MYSQL_RES, result_freer>;

/// A connection as root over `socket`, or nothing with the client's error
/// in `error`. The timeouts keep a stopped (SIGSTOP) or hung server from
/// hanging the test.
connection connect_as_root(const std::string& socket, const char* database,
                           std::string& error) {
  init_client_library();
  connection c{mysql_init(nullptr)};
  if (!c) {
    error = "mysql_init: out of memory";
    return nullptr;
  }
  unsigned connect_timeout = 2;
  unsigned io_timeout = 60;
  mysql_options(c.get(), MYSQL_OPT_CONNECT_TIMEOUT, &connect_timeout);
  mysql_options(c.get(), MYSQL_OPT_READ_TIMEOUT, &io_timeout);
  mysql_options(c.get(), MYSQL_OPT_WRITE_TIMEOUT, &io_timeout);
  mysql_options(c.get(), MYSQL_SET_CHARSET_NAME, "utf8mb4");
  if (mysql_real_connect(c.get(), nullptr, "root", "", database, 0,
                         socket.c_str(), CLIENT_MULTI_STATEMENTS) == nullptr) {
    error = fmt::format("{} ({})", mysql_error(c.get()), mysql_errno(c.get()));
    return nullptr;
  }
  return c;
}

[[noreturn]] void throw_sql_error(MYSQL* c, const std::string& sql) {
  throw mariadb_server_error{fmt::format("MariaDB error {} ({}) on: {}",
                                         mysql_errno(c), mysql_error(c), sql)};
}

/// Runs `sql`, one or more statements, as root in `database` (none: no
/// default database).
void exec_statements(const std::string& socket, const char* database,
                     const std::string& sql) {
  std::string error;
  auto c = connect_as_root(socket, database, error);
  if (!c)
    throw mariadb_server_error{"cannot connect as root: " + error};
  if (mysql_real_query(c.get(), sql.data(), sql.size()) != 0)
    throw_sql_error(c.get(), sql);
  // With several statements, the error of a later one is reported only
  // when its result is fetched.
  for (;;) {
    result r{mysql_store_result(c.get())};
    if (!r && mysql_field_count(c.get()) != 0)
      throw_sql_error(c.get(), sql);
    auto next = mysql_next_result(c.get());
    if (next > 0)
      throw_sql_error(c.get(), sql);
    if (next < 0)
      return;
  }
}

} // namespace

mariadb_server::mariadb_server() : port_(free_port()) {}

mariadb_server::~mariadb_server() {
  if (!running())
    return;
  try {
    stop();
  } catch (const mariadb_server_error&) {
    // The server is gone either way: stop kills what does not exit.
  }
}

std::string mariadb_server::url() const {
  return fmt::format("jdbc:mysql://{}:{}/{}", host(), port_, database());
}

std::string mariadb_server::error_log() const {
  return read_file(dir_ / "error.log");
}

void mariadb_server::install() {
  std::vector<std::string> argv{
      find_program("mariadb-install-db"),
      "--no-defaults",
      "--datadir=" + (dir_ / "data"),
      "--auth-root-authentication-method=normal",
      "--skip-test-db",
      "--skip-name-resolve",
      // The redo log is made here: the default would be 96 MiB per server.
      "--innodb-log-file-size=8M",
  };
  if (running_as_root()) {
    // The bootstrap server runs as mysql and has to reach data/.
    give_to_mysql_user(dir_.path());
    argv.push_back("--user=mysql");
  }
  // The bootstrap has failed now and then on a loaded machine without a
  // reason in its last lines; a fresh data directory and another try
  // get past it, and the error lines of every try are kept.
  std::string errors;
  for (int attempt = 1;; ++attempt) {
    auto [code, output] = run_command(argv, 120s);
    if (code == 0)
      break;
    std::istringstream lines{output};
    for (std::string line; std::getline(lines, line);)
      if (line.find("ERROR") != std::string::npos ||
          line.find("rror:") != std::string::npos)
        errors += fmt::format("try {}: {}\n", attempt, line);
    if (attempt == 3)
      throw mariadb_server_error{
          fmt::format("mariadb-install-db failed ({}) three times:\n{}{}", code,
                      errors, tail(output, 30))};
    std::filesystem::remove_all(dir_ / "data");
    std::filesystem::create_directories(dir_ / "data");
    if (running_as_root())
      give_to_mysql_user(dir_.path());
  }
  if (running_as_root())
    give_to_mysql_user(dir_.path());
  installed_ = true;
}

bool mariadb_server::launch() {
  std::vector<std::string> argv{
      find_program("mariadbd"),
      "--no-defaults",
      "--datadir=" + (dir_ / "data"),
      "--tmpdir=" + dir_.path(),
      "--socket=" + socket_path(),
      fmt::format("--port={}", port_),
      "--bind-address=127.0.0.1",
      "--pid-file=" + (dir_ / "mariadbd.pid"),
      "--log-error=" + (dir_ / "error.log"),
      "--skip-log-bin",
      "--skip-name-resolve",
      "--innodb-buffer-pool-size=32M",
      "--innodb-log-file-size=8M",
      "--innodb-buffer-pool-dump-at-shutdown=OFF",
      "--innodb-buffer-pool-load-at-startup=OFF",
      "--performance-schema=OFF",
      // What Debian's packaged server sets in the option files that
      // --no-defaults skips: a sink's strings are stored as in production.
      "--character-set-server=utf8mb4",
      "--collation-server=utf8mb4_general_ci",
      // TIMESTAMP columns and NOW() read the same on every machine.
      "--default-time-zone=+00:00",
  };
  if (running_as_root()) {
    argv.push_back("--user=mysql");
    // The log is opened here first (for the server's output), as root: the
    // server, as mysql, must be able to open it too.
    std::ofstream{dir_ / "error.log", std::ios::app};
    give_to_mysql_user(dir_.path());
  }

  // Only this run's part of the log explains a failure to come up.
  auto log_before = error_log().size();
  auto this_run_log = [&] {
    auto log = error_log();
    return log.size() > log_before ? log.substr(log_before) : std::string{};
  };
  // Its output joins the error log: what it writes before opening the log
  // (a bad option) explains a failure too.
  if (!process::start(server_, argv, dir_ / "error.log"))
    throw mariadb_server_error{"cannot fork for mariadbd"};

  auto deadline = std::chrono::steady_clock::now() + start_timeout;
  std::string last_error;
  for (;;) {
    if (auto code = server_.wait(0ms)) {
      auto log = this_run_log();
      if (!started_once_ &&
          log.find("Address already in use") != std::string::npos)
        return false;
      throw mariadb_server_error{fmt::format(
          "mariadbd exited with {} before accepting connections; its error "
          "log ends:\n{}",
          *code, tail(log, 30))};
    }
    if (connect_as_root(socket_path(), nullptr, last_error))
      return true;
    if (std::chrono::steady_clock::now() >= deadline) {
      kill();
      throw mariadb_server_error{fmt::format(
          "mariadbd accepted no connection within {} s (last: {}); its error "
          "log ends:\n{}",
          start_timeout.count(), last_error, tail(this_run_log(), 30))};
    }
    std::this_thread::sleep_for(20ms);
  }
}

void mariadb_server::start() {
  if (running())
    return;
  if (port_ == 0)
    throw mariadb_server_error{"no free port on 127.0.0.1"};
  if (!installed_)
    install();
  // Another test may bind the port between free_port and the server's
  // bind; before the first start nobody knows the port yet, so take
  // another. A restart keeps its port, as a restarted database would.
  for (int attempt = 1; !launch(); ++attempt) {
    if (attempt == 3)
      throw mariadb_server_error{"mariadbd found its port taken three times"};
    port_ = free_port();
  }
  if (!started_once_)
    create_database_and_user();
  started_once_ = true;
}

void mariadb_server::create_database_and_user() const {
  exec_statements(socket_path(), nullptr,
                  fmt::format("CREATE DATABASE {0};"
                              "CREATE USER '{1}'@'127.0.0.1' IDENTIFIED BY "
                              "'{2}';"
                              "CREATE USER '{1}'@'localhost' IDENTIFIED BY "
                              "'{2}';"
                              "GRANT ALL ON {0}.* TO '{1}'@'127.0.0.1';"
                              "GRANT ALL ON {0}.* TO '{1}'@'localhost';",
                              database(), user(), password()));
}

void mariadb_server::stop() {
  if (!running())
    return;
  server_.signal(SIGTERM);
  if (auto code = server_.wait(stop_timeout)) {
    if (*code != 0)
      throw mariadb_server_error{fmt::format(
          "mariadbd exited with {} on SIGTERM; its error log ends:\n{}", *code,
          tail(error_log(), 30))};
    return;
  }
  kill();
  throw mariadb_server_error{fmt::format(
      "mariadbd did not exit within {} s of SIGTERM and was killed; its "
      "error log ends:\n{}",
      stop_timeout.count(), tail(error_log(), 30))};
}

void mariadb_server::kill() {
  if (!running())
    return;
  server_.signal(SIGKILL);
  // SIGKILL cannot be refused; the bound only guards against a bug here.
  if (!server_.wait(10s))
    throw mariadb_server_error{"mariadbd survived SIGKILL for 10 s"};
}

void mariadb_server::exec(const std::string& sql) const {
  exec_statements(socket_path(), database().c_str(), sql);
}

std::vector<std::vector<std::string>>
mariadb_server::query(const std::string& sql) const {
  std::string error;
  auto c = connect_as_root(socket_path(), database().c_str(), error);
  if (!c)
    throw mariadb_server_error{"cannot connect as root: " + error};
  if (mysql_real_query(c.get(), sql.data(), sql.size()) != 0)
    throw_sql_error(c.get(), sql);
  result r{mysql_store_result(c.get())};
  if (!r) {
    if (mysql_field_count(c.get()) != 0)
      throw_sql_error(c.get(), sql);
    throw mariadb_server_error{"query returned no result set (use exec): " +
                               sql};
  }
  std::vector<std::vector<std::string>> rows;
  auto columns = mysql_num_fields(r.get());
  while (MYSQL_ROW row = mysql_fetch_row(r.get())) {
    auto* lengths = mysql_fetch_lengths(r.get());
    auto& out = rows.emplace_back();
    for (unsigned i = 0; i < columns; ++i)
      out.push_back(row[i] ? std::string{row[i], lengths[i]} : "NULL");
  }
  return rows;
}

} // namespace sluice::test
