#include "cli/demo_mariadb.hpp"

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <random>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include "connectors/mariadb_client.hpp"
#include "runtime/errors.hpp"

namespace sluice {

namespace fs = std::filesystem;

namespace {

caf::error failed(std::string what) {
  return make_error(connector_errc::process_failed, std::move(what));
}

/// A port of 127.0.0.1 that was free a moment ago (0: none).
uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  uint16_t port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
    port = ntohs(addr.sin_port);
  ::close(fd);
  return port;
}

/// `name` in /usr/sbin, /usr/bin or on PATH.
std::string find_program(const std::string& name) {
  for (auto dir : {"/usr/sbin", "/usr/bin", "/usr/local/sbin"})
    if (::access((fs::path{dir} / name).c_str(), X_OK) == 0)
      return (fs::path{dir} / name).string();
  return name; // execvp searches PATH
}

/// Starts `argv` with its output appended to `log`; the child's pid.
pid_t spawn(const std::vector<std::string>& argv, const fs::path& log) {
  auto pid = ::fork();
  if (pid != 0)
    return pid;
  auto fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  ::dup2(fd, STDOUT_FILENO);
  ::dup2(fd, STDERR_FILENO);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  std::vector<char*> args;
  for (auto& a : argv)
    args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  ::execvp(args[0], args.data());
  ::_exit(127);
}

/// Waits up to `limit` for `pid`; its exit code, or -1 on timeout.
int wait_exit(pid_t pid, std::chrono::seconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  int status = 0;
  while (::waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() >= deadline)
      return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds{20});
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

} // namespace

caf::expected<std::unique_ptr<demo_mariadb>>
demo_mariadb::start(const fs::path& log) {
  std::unique_ptr<demo_mariadb> db{new demo_mariadb};
  auto tmpl =
      (fs::temp_directory_path() / "sluice-demo-mariadb-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr)
    return failed("cannot make a directory for the demo's MariaDB server");
  db->dir_ = tmpl;
  fs::create_directories(db->dir_ / "data");
  std::vector<std::string> as_user;
  if (::geteuid() == 0) {
    // mariadbd refuses to run as root; it runs as `mysql`, which must own
    // its directory.
    auto* pw = ::getpwnam("mysql");
    if (pw == nullptr)
      return failed("running as root, but there is no `mysql` user for "
                    "MariaDB to run as (is mariadb-server installed?)");
    for (auto& p : {db->dir_, db->dir_ / "data"})
      if (::chown(p.c_str(), pw->pw_uid, pw->pw_gid) != 0)
        return failed("cannot give " + p.string() + " to the mysql user");
    as_user.push_back("--user=mysql");
  }
  std::vector<std::string> install{find_program("mariadb-install-db"),
                                   "--no-defaults",
                                   "--datadir=" + (db->dir_ / "data").string(),
                                   "--auth-root-authentication-method=normal",
                                   "--skip-test-db",
                                   "--skip-name-resolve"};
  install.insert(install.end(), as_user.begin(), as_user.end());
  auto pid = spawn(install, log);
  if (pid < 0 || wait_exit(pid, std::chrono::seconds{120}) != 0)
    return failed("mariadb-install-db failed (is mariadb-server installed? "
                  "see " +
                  log.string() + ")");
  db->port_ = free_port();
  std::vector<std::string> server{find_program("mariadbd"),
                                  "--no-defaults",
                                  "--datadir=" + (db->dir_ / "data").string(),
                                  "--socket=" + db->socket(),
                                  fmt::format("--port={}", db->port_),
                                  "--bind-address=127.0.0.1",
                                  "--pid-file=" +
                                      (db->dir_ / "mariadbd.pid").string(),
                                  "--skip-log-bin",
                                  "--skip-name-resolve",
                                  "--innodb-buffer-pool-size=64M",
                                  "--performance-schema=OFF",
                                  "--character-set-server=utf8mb4"};
  server.insert(server.end(), as_user.begin(), as_user.end());
  db->pid_ = spawn(server, log);
  if (db->pid_ < 0)
    return failed("cannot start mariadbd");
  mariadb::target root;
  root.user = "root";
  root.socket = db->socket();
  root.host = "localhost";
  mariadb::connection c;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{60};
  while (c.connect(root, 2)) {
    int status = 0;
    if (::waitpid(db->pid_, &status, WNOHANG) == db->pid_) {
      db->pid_ = -1;
      return failed("mariadbd exited at start (see " + log.string() + ")");
    }
    if (std::chrono::steady_clock::now() >= deadline)
      return failed("mariadbd did not accept connections within 60 s (see " +
                    log.string() + ")");
    std::this_thread::sleep_for(std::chrono::milliseconds{100});
  }
  std::random_device rd;
  db->password_ = fmt::format("demo-{:x}{:x}", rd(), rd());
  for (auto sql : {std::string{"CREATE DATABASE demo"},
                   fmt::format("CREATE USER 'sluice'@'127.0.0.1' IDENTIFIED "
                               "BY '{}'",
                               db->password_),
                   std::string{"GRANT ALL ON demo.* TO 'sluice'@'127.0.0.1'"}})
    if (!c.exec(sql))
      return failed("cannot set up the demo database: " + c.last_text());
  return db;
}

demo_mariadb::~demo_mariadb() {
  if (pid_ > 0) {
    ::kill(pid_, SIGTERM);
    if (wait_exit(pid_, std::chrono::seconds{60}) < 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  std::error_code ec;
  if (!dir_.empty())
    fs::remove_all(dir_, ec);
}

std::string demo_mariadb::url() const {
  return fmt::format("jdbc:mysql://127.0.0.1:{}/demo", port_);
}

} // namespace sluice
