// The MariaDB fixture itself: a real server that the sink's integration
// tests can take down and bring back with its rows.
#include <filesystem>
#include <memory>
#include <string>

#include <arpa/inet.h>
#include <catch2/catch.hpp>
#include <errmsg.h>
#include <mysql.h>
#include <mysqld_error.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/support/mariadb_server.hpp"

using namespace sluice::test;
using Catch::Matchers::Contains;

namespace {

struct connection_closer {
  void operator()(MYSQL* c) const { mysql_close(c); }
};
using connection = std::unique_ptr<MYSQL, connection_closer>;

/// What the sink sees: a TCP connection as the `sluice` user.
struct user_connect {
  connection c;
  unsigned error = 0;  ///< the client's error number when `c` is empty
  std::string message; ///< and its message
};

user_connect connect_as_user(const mariadb_server& db,
                             const std::string& password) {
  connection c{mysql_init(nullptr)};
  REQUIRE(c);
  unsigned timeout = 2;
  mysql_options(c.get(), MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
  mysql_options(c.get(), MYSQL_SET_CHARSET_NAME, "utf8mb4");
  if (mysql_real_connect(c.get(), db.host().c_str(), db.user().c_str(),
                         password.c_str(), db.database().c_str(), db.port(),
                         nullptr, 0) == nullptr)
    return {nullptr, mysql_errno(c.get()), mysql_error(c.get())};
  return {std::move(c), 0, {}};
}

/// Checks that a connect as the user fails because nothing listens: the
/// server is down, not slow or refusing the user.
void check_refused(const mariadb_server& db) {
  auto attempt = connect_as_user(db, db.password());
  CHECK(attempt.error == CR_CONNECTION_ERROR);
  CHECK_THAT(attempt.message,
             Contains("Can't connect to server on '" + db.host() + "'"));
}

void run(MYSQL* c, const std::string& sql) {
  INFO(sql);
  INFO(mysql_error(c));
  REQUIRE(mysql_query(c, sql.c_str()) == 0);
}

/// Whether something listens on 127.0.0.1:`port` (a bind there fails).
bool port_in_use(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  int on = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  bool in_use =
      ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0;
  ::close(fd);
  return in_use;
}

} // namespace

TEST_CASE("the MariaDB fixture keeps its rows across a stop and a kill",
          "[mariadb][e2e]") {
  std::string dir;
  uint16_t port = 0;
  {
    mariadb_server db;
    db.start();
    REQUIRE(db.running());
    dir = db.dir();
    port = db.port();
    CHECK(db.url() ==
          "jdbc:mysql://127.0.0.1:" + std::to_string(port) + "/sluice");
    CHECK(port_in_use(port));

    // The user authenticates: the right password works, a wrong one not.
    CHECK(connect_as_user(db, "wrong").error == ER_ACCESS_DENIED_ERROR);
    auto user = connect_as_user(db, db.password());
    REQUIRE(user.message == "");
    run(user.c.get(), "CREATE TABLE t (id INT PRIMARY KEY, name VARCHAR(32), "
                      "note VARCHAR(8))");
    // utf8mb4 end to end: a latin1 server would store '?' for the cup.
    run(user.c.get(),
        "INSERT INTO t VALUES (1, 'Z\xC3\xBCrich \xE2\x98\x95', NULL)");
    user.c.reset();

    CHECK(db.query("SELECT id, name, note FROM t") ==
          std::vector<std::vector<std::string>>{
              {"1", "Z\xC3\xBCrich \xE2\x98\x95", "NULL"}});
    CHECK(db.query("SELECT note IS NULL FROM t") ==
          std::vector<std::vector<std::string>>{{"1"}});
    CHECK_THROWS_WITH(db.exec("INSERT INTO nope VALUES (1)"),
                      Contains("nope") && Contains("doesn't exist"));
    // A later statement's error is not lost behind an earlier success.
    CHECK_THROWS_WITH(db.exec("SELECT 1; SELECT nope FROM t"),
                      Contains("Unknown column"));

    db.stop();
    REQUIRE_FALSE(db.running());
    check_refused(db);
    CHECK_FALSE(port_in_use(port));
    CHECK_THROWS_AS(db.query("SELECT 1"), mariadb_server_error);

    db.start();
    CHECK(db.port() == port);
    CHECK(db.query("SELECT id, name FROM t") ==
          std::vector<std::vector<std::string>>{
              {"1", "Z\xC3\xBCrich \xE2\x98\x95"}});

    // A committed row survives a crash.
    db.exec("INSERT INTO t VALUES (2, 'after restart', 'x')");
    db.kill();
    REQUIRE_FALSE(db.running());
    check_refused(db);

    db.start();
    CHECK(db.query("SELECT id, note FROM t ORDER BY id") ==
          std::vector<std::vector<std::string>>{{"1", "NULL"}, {"2", "x"}});
    CHECK(connect_as_user(db, db.password()).message == "");
  }
  // Nothing is left behind: no directory, no server on the port.
  CHECK_FALSE(std::filesystem::exists(dir));
  CHECK_FALSE(port_in_use(port));
}
