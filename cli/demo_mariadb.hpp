#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include <sys/types.h>

#include <caf/expected.hpp>

namespace sluice {

/// A private MariaDB server for `sluice demo`: Debian's `mariadbd` in a
/// fresh directory under the system's temporary directory, on a free port
/// of 127.0.0.1, with a database `demo` and a user `sluice` the demo's SQL
/// job logs in as. No system service and no option file is involved. Run as
/// root, the server runs as the `mysql` user (it refuses root). Stopped and
/// removed when destroyed.
class demo_mariadb {
 public:
  /// Installs and starts the server; its output goes to `log`.
  static caf::expected<std::unique_ptr<demo_mariadb>>
  start(const std::filesystem::path& log);

  ~demo_mariadb();

  /// `jdbc:mysql://127.0.0.1:PORT/demo`.
  std::string url() const;
  std::string user() const { return "sluice"; }
  std::string password() const { return password_; }
  /// The root's socket, for the demo's own queries.
  std::string socket() const { return (dir_ / "mysqld.sock").string(); }

 private:
  demo_mariadb() = default;

  std::filesystem::path dir_;
  uint16_t port_ = 0;
  pid_t pid_ = -1;
  std::string password_;
};

} // namespace sluice
