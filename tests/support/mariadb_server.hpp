#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "tests/support/process.hpp"

namespace sluice::test {

/// What `mariadb_server` throws: a server that would not install, start or
/// stop, or a statement that failed (the message names the statement and
/// the server's error).
class mariadb_server_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A private MariaDB server for integration tests: a real `mariadbd` child
/// process with its own data directory, socket and error log in a fresh
/// temporary directory and its own port on 127.0.0.1. No system service and
/// no option file is involved (`--no-defaults`).
///
/// The first `start` installs the data directory and creates the database
/// `sluice` and the user `sluice` (from 127.0.0.1 and from localhost, with a
/// password, all privileges on `sluice.*`); later starts reuse the directory
/// and the port, so a test can take the database away and bring it back
/// with its rows. Grant tables are on: a wrong password is refused.
///
/// Cost, measured on the 2-core development machine while builds kept both
/// cores busy: the first `start` 5.5-9 s (mariadb-install-db 5-7 s of it),
/// a restart 0.7-1.6 s, `stop` 0.1-0.2 s, `kill` under 0.1 s, the
/// destructor of a running server 0.1-0.9 s. Make one server per TEST_CASE,
/// not per SECTION.
///
/// Failures throw `mariadb_server_error` rather than returning values: the
/// fixture has no caller that could go on without its server, and Catch2
/// reports the message of an exception that leaves a test case. When the
/// test process runs as root, the server runs as the `mysql` user (mariadbd
/// refuses root) and the directory is handed to that user.
class mariadb_server {
 public:
  /// Picks the port; starts nothing.
  mariadb_server();
  mariadb_server(const mariadb_server&) = delete;
  mariadb_server& operator=(const mariadb_server&) = delete;
  /// Stops the server (SIGKILL if a clean stop fails) and removes the
  /// directory.
  ~mariadb_server();

  /// Starts the server (installing it the first time) and returns once it
  /// accepts connections, at most 60 s later; a no-op while it runs. Throws
  /// with the tail of the error log when the server does not come up.
  void start();

  /// Stops the server cleanly (SIGTERM, then waits up to 60 s for the
  /// exit); a no-op when it is not running. Throws if it did not exit in
  /// time, after killing it.
  void stop();

  /// Kills the server with SIGKILL and reaps it: a crash. The next `start`
  /// recovers the data directory as after a power cut.
  void kill();

  bool running() const { return server_.running(); }

  /// Runs `sql` (one or more statements separated by `;`) as root in the
  /// database `sluice`; throws on the first statement that fails.
  void exec(const std::string& sql) const;

  /// Runs one statement as root in the database `sluice` and returns its
  /// rows, each value as the text the server sent. A NULL is the string
  /// "NULL" (as the `mariadb` client prints it), so rows compare with and
  /// print as plain strings; where a column may hold the text "NULL",
  /// select `col IS NULL` too. Throws when the statement fails.
  std::vector<std::vector<std::string>> query(const std::string& sql) const;

  /// `jdbc:mysql://127.0.0.1:PORT/sluice`, the form a sink's `url` takes.
  std::string url() const;
  std::string host() const { return "127.0.0.1"; }
  uint16_t port() const { return port_; }
  std::string database() const { return "sluice"; }
  std::string user() const { return "sluice"; }
  std::string password() const { return "sluice-test-pw"; }
  /// The Unix socket; root connects through it, the sink over TCP.
  std::string socket_path() const { return dir_ / "mysqld.sock"; }
  /// The temporary directory holding `data/`, the socket and the logs.
  const std::string& dir() const { return dir_.path(); }
  /// The server's error log so far (every run).
  std::string error_log() const;

 private:
  void install();
  /// Starts the process and waits until it is ready; false when it exited
  /// early because the port was taken (only then is a retry useful).
  bool launch();
  void create_database_and_user() const;

  temp_dir dir_;
  uint16_t port_ = 0;
  bool installed_ = false;
  bool started_once_ = false;
  process server_;
};

} // namespace sluice::test
