// The scenario's compute tier end to end, against real parts: a `sluice
// node` tails an order log into a 2-shard topic (the collection tier); a
// `sluice sql` job reads the topic, looks the shop names up in a real
// MariaDB server, counts and sums per shop per one-minute TUMBLE and
// upserts the result into a MariaDB table. The database is stopped for
// 10 s mid-run; afterwards the table equals what SQLite computes over the
// same lines.
#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <sqlite3.h>

#include "tests/support/mariadb_server.hpp"
#include "tests/support/ports.hpp"
#include "tests/support/process.hpp"
#include "tests/support/wait.hpp"

using namespace sluice::test;
using namespace std::chrono_literals;

namespace {

constexpr int shops = 20;         // shops 1..20 have names; 21 has none
constexpr int64_t lines = 12'000; // orders
constexpr int64_t step_ms = 50;   // event time between two orders
constexpr int64_t base_ms = 1'767'225'600'000; // 2026-01-01 00:00:00 UTC

struct order {
  int shop = 0;
  int64_t cents = 0;
  int64_t ts = 0;
};

std::vector<order> make_orders() {
  std::vector<order> out;
  uint64_t x = 7;
  auto next = [&] {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    return x >> 33;
  };
  for (int64_t i = 0; i < lines; ++i)
    out.push_back({static_cast<int>(next() % (shops + 1)) + 1,
                   static_cast<int64_t>(next() % 100'000),
                   base_ms + i * step_ms});
  return out;
}

std::string ts_text(int64_t ms) {
  auto days = ms / 86'400'000;
  auto in_day = ms % 86'400'000;
  // 2026-01-01 is day 20454 since the epoch; the orders span minutes.
  REQUIRE(days == 20454);
  return fmt::format("2026-01-01 {:02}:{:02}:{:02}.{:03}", in_day / 3'600'000,
                     in_day / 60'000 % 60, in_day / 1000 % 60, in_day % 1000);
}

std::string line_of(const order& o) {
  return fmt::format("{},{}.{:02},{}\n", o.shop, o.cents / 100, o.cents % 100,
                     ts_text(o.ts));
}

/// The node: taildir over logs/*.log -> file channel -> topic `orders`.
std::string topology(const temp_dir& dir, uint16_t port) {
  return fmt::format(R"(
[nodes.store]
port = {port}

[topics.orders]
node = "store"
directory = "{dir}/topics/orders"
shards = 2
fsync = "10ms"

[sources.tail]
type = "taildir"
node = "store"
channel = "disk"
batch_size = 200
filegroups = {{ orders = "{dir}/logs/*.log" }}
position_file = "{dir}/positions.json"

[channels.disk]
type = "file"
node = "store"
directory = "{dir}/channel"
min_free_space = "1MiB"

[sinks.append]
type = "topic"
node = "store"
channel = "disk"
topic = "orders"
)",
                     fmt::arg("port", port), fmt::arg("dir", dir.path()));
}

/// The scenario's script: the topic, the shop names, the result table.
std::string script(const mariadb_server& db, const std::string& address) {
  auto conn = fmt::format("'url' = '{}', 'username' = '{}', 'password' = "
                          "'${{env:SLUICE_TEST_DB_PASSWORD}}'",
                          db.url(), db.user());
  return fmt::format(R"(
CREATE TABLE orders (
  shop_id BIGINT, amount DECIMAL(10, 2), ts TIMESTAMP(3),
  pt AS PROCTIME(),
  WATERMARK FOR ts AS ts - INTERVAL '2' SECOND
) WITH ('connector' = 'topic', 'topic' = 'orders', 'address' = '{address}',
        'format' = 'csv', 'properties.group.id' = 'per_minute',
        'scan.startup.mode' = 'earliest-offset');

CREATE TABLE shops (id BIGINT, name STRING)
WITH ('connector' = 'mariadb', {conn}, 'table-name' = 'shops',
      'lookup.cache' = 'PARTIAL', 'lookup.partial-cache.max-rows' = '100',
      'lookup.partial-cache.expire-after-write' = '1 s');

CREATE TABLE per_minute (
  shop_id BIGINT, shop_name STRING, window_start TIMESTAMP(3),
  orders BIGINT, amount DECIMAL(14, 2),
  PRIMARY KEY (shop_id, window_start) NOT ENFORCED
) WITH ('connector' = 'mariadb', {conn}, 'table-name' = 'per_minute',
        'sink.create-table' = 'true', 'sink.buffer-flush.interval' = '100 ms');

INSERT INTO per_minute
SELECT o.shop_id, s.name, TUMBLE_START(o.ts, INTERVAL '1' MINUTE), COUNT(*),
       CAST(SUM(o.amount) AS DECIMAL(14, 2))
FROM orders AS o JOIN shops FOR SYSTEM_TIME AS OF o.pt AS s
  ON o.shop_id = s.id
GROUP BY TUMBLE(o.ts, INTERVAL '1' MINUTE), o.shop_id, s.name;
)",
                     fmt::arg("address", address), fmt::arg("conn", conn));
}

/// What SQLite computes over the same orders and shops, as "id,name,
/// window_start,orders,amount" lines, sorted.
std::vector<std::string> sqlite_expected(const std::vector<order>& orders) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(":memory:", &db) == SQLITE_OK);
  auto exec = [&](const std::string& sql) {
    char* err = nullptr;
    auto rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
    std::string text = err ? err : "";
    sqlite3_free(err);
    INFO(sql << ": " << text);
    REQUIRE(rc == SQLITE_OK);
  };
  exec("CREATE TABLE orders (shop INTEGER, cents INTEGER, ts INTEGER)");
  exec("CREATE TABLE shops (id INTEGER, name TEXT)");
  for (int s = 1; s <= shops; ++s)
    exec(fmt::format("INSERT INTO shops VALUES ({}, 'shop-{}')", s, s));
  exec("BEGIN");
  for (auto& o : orders)
    exec(fmt::format("INSERT INTO orders VALUES ({}, {}, {})", o.shop, o.cents,
                     o.ts));
  exec("COMMIT");
  sqlite3_stmt* st = nullptr;
  REQUIRE(sqlite3_prepare_v2(
              db,
              "SELECT o.shop, s.name, o.ts / 60000 * 60000, COUNT(*), "
              "SUM(o.cents) FROM orders o JOIN shops s ON o.shop = s.id "
              "GROUP BY o.ts / 60000, o.shop, s.name",
              -1, &st, nullptr) == SQLITE_OK);
  std::vector<std::string> rows;
  while (sqlite3_step(st) == SQLITE_ROW) {
    auto cents = sqlite3_column_int64(st, 4);
    rows.push_back(
        fmt::format("{},{},{},{},{}.{:02}", sqlite3_column_int64(st, 0),
                    reinterpret_cast<const char*>(sqlite3_column_text(st, 1)),
                    ts_text(sqlite3_column_int64(st, 2)),
                    sqlite3_column_int64(st, 3), cents / 100, cents % 100));
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  std::sort(rows.begin(), rows.end());
  return rows;
}

std::vector<std::string> table_rows(const mariadb_server& db) {
  std::vector<std::string> rows;
  for (auto& r : db.query("SELECT shop_id, shop_name, window_start, orders, "
                          "amount FROM per_minute"))
    rows.push_back(fmt::format("{},{},{},{},{}", r[0], r[1], r[2], r[3], r[4]));
  std::sort(rows.begin(), rows.end());
  return rows;
}

int64_t count_rows(const mariadb_server& db) {
  try {
    return std::stoll(db.query("SELECT COUNT(*) FROM per_minute").at(0).at(0));
  } catch (const mariadb_server_error&) {
    return 0; // the sink did not create the table yet
  }
}

} // namespace

TEST_CASE("the scenario's compute tier: tailed order lines through a topic, "
          "shop names looked up in MariaDB, one-minute totals upserted "
          "across a 10 s outage, equal SQLite's",
          "[e2e][sql][mariadb][lookup][scenario]") {
  mariadb_server db;
  db.start();
  db.exec("CREATE TABLE shops (id BIGINT PRIMARY KEY, name VARCHAR(64) NOT "
          "NULL)");
  std::string values;
  for (int s = 1; s <= shops; ++s)
    values += fmt::format("{}({}, 'shop-{}')", s > 1 ? "," : "", s, s);
  db.exec("INSERT INTO shops VALUES " + values);

  temp_dir dir;
  std::filesystem::create_directories(dir / "logs");
  auto port = free_port();
  REQUIRE(port != 0);
  write_file(dir / "topology.toml", topology(dir, port));
  process node;
  REQUIRE(process::start(
      node, {SLUICE_BINARY, "node", dir / "topology.toml", "--node", "store"},
      dir / "node.log"));
  auto address = fmt::format("127.0.0.1:{}", port);
  bool up = wait_for([&] {
    return run_command({SLUICE_BINARY, "topic", "describe", "orders", "--node",
                        address, "--timeout", "2s"},
                       30s)
               .first == 0;
  });
  INFO(read_file(dir / "node.log"));
  REQUIRE(up);

  write_file(dir / "job.sql", script(db, address));
  ::setenv("SLUICE_TEST_DB_PASSWORD", db.password().c_str(), 1);
  process job;
  auto log = dir / "sql.log";
  REQUIRE(process::start(job, {SLUICE_BINARY, "sql", dir / "job.sql"}, log));

  // The application writes its order log: 1,000 lines a second, 50 s of
  // event time a second, so a minute closes about every 1.2 s.
  auto orders = make_orders();
  std::ofstream out{dir / "logs/orders.log", std::ios::app};
  std::thread writer{[&] {
    for (size_t i = 0; i < orders.size(); ++i) {
      out << line_of(orders[i]);
      if (i % 100 == 99) {
        out.flush();
        std::this_thread::sleep_for(100ms);
      }
    }
    out.flush();
  }};
  struct joiner {
    std::thread& t;
    ~joiner() {
      if (t.joinable())
        t.join();
    }
  } join_writer{writer};

  // Mid-run: the first minutes are in the table; the database goes away
  // for 10 s while the log keeps growing.
  bool landed = wait_for([&] { return count_rows(db) >= shops; }, 60s);
  {
    INFO(read_file(log));
    REQUIRE(landed);
  }
  auto stopped_at = std::chrono::steady_clock::now();
  db.stop();
  REQUIRE(job.running());
  // The job noticed: the sink holds its rows, or the lookup waits.
  bool noticed = wait_for([&] {
    auto text = read_file(log);
    return text.find("holding") != std::string::npos ||
           text.find("cannot be reached") != std::string::npos;
  });
  {
    INFO(read_file(log));
    REQUIRE(noticed);
  }
  std::this_thread::sleep_until(stopped_at + 10s);
  REQUIRE(job.running());
  db.start();
  writer.join();

  // One more order, 5 minutes later, moves the watermark past every
  // minute of the log; its own minute stays open.
  out << line_of({1, 100, base_ms + lines * step_ms + 300'000});
  out.flush();
  auto want = sqlite_expected(orders);
  REQUIRE(want.size() > 150);
  bool complete = wait_for(
      [&] { return count_rows(db) >= static_cast<int64_t>(want.size()); },
      120s);
  job.signal(SIGTERM);
  auto code = job.wait(60s);
  auto text = read_file(log);
  INFO(text);
  REQUIRE(complete);
  REQUIRE(code);
  CHECK(*code == 0);
  CHECK(text.find("is back after") != std::string::npos);
  CHECK(table_rows(db) == want);
}
