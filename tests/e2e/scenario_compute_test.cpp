// The scenario's compute tier end to end, against real parts. A `sluice
// sql` job reads order lines from a topic, looks the shop names up in a
// real MariaDB server, counts and sums per shop per one-minute TUMBLE and
// upserts the result into a MariaDB table; afterwards the table equals
// what SQLite computes over the same lines (tests/support/orders.hpp).
// - The compute tier: one `sluice node` tails the order log into the
//   topic; the database is stopped for 10 s mid-run.
// - The whole seed pipeline: agent1 tails the log and fails over between
//   agentA and agentB (agentA killed mid-run, then restarted), the relays
//   append to the topic on a fourth node.
#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "tests/support/mariadb_server.hpp"
#include "tests/support/orders.hpp"
#include "tests/support/ports.hpp"
#include "tests/support/process.hpp"
#include "tests/support/relay_cluster.hpp"
#include "tests/support/wait.hpp"

using namespace sluice::test;
using namespace std::chrono_literals;
namespace orders = sluice::test::orders;

namespace {

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
std::string script(const mariadb_server& db, const std::string& topic,
                   const std::string& address) {
  auto conn = fmt::format("'url' = '{}', 'username' = '{}', 'password' = "
                          "'${{env:SLUICE_TEST_DB_PASSWORD}}'",
                          db.url(), db.user());
  return fmt::format(R"(
CREATE TABLE orders (
  order_id BIGINT, shop_id BIGINT, amount DECIMAL(10, 2), ts TIMESTAMP(3),
  pt AS PROCTIME(),
  WATERMARK FOR ts AS ts - INTERVAL '2' SECOND
) WITH ('connector' = 'topic', 'topic' = '{topic}', 'address' = '{address}',
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
                     fmt::arg("topic", topic), fmt::arg("address", address),
                     fmt::arg("conn", conn));
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

/// A MariaDB server with the shops table, and the job's password.
void prepare(mariadb_server& db) {
  db.start();
  db.exec("CREATE TABLE shops (id BIGINT PRIMARY KEY, name VARCHAR(64) NOT "
          "NULL)");
  db.exec(orders::shops_insert());
  ::setenv("SLUICE_TEST_DB_PASSWORD", db.password().c_str(), 1);
}

/// Orders 0..n-1.
std::vector<orders::order> first_orders(int64_t n) {
  std::vector<orders::order> out;
  for (int64_t i = 0; i < n; ++i)
    out.push_back(orders::order_of(i));
  return out;
}

/// Appends order `n` five minutes after the last one, so the watermark
/// passes every minute of orders 0..n-1 (its own stays open).
void append_closing_order(const std::string& path, int64_t n) {
  auto o = orders::order_of(n);
  o.ts += 300'000;
  std::ofstream{path, std::ios::app} << orders::line_of(o);
}

/// Waits until the table holds every row of `want`, stops the job and
/// checks the table against `want`.
void finish_and_compare(mariadb_server& db, process& job,
                        const std::string& log,
                        const std::vector<std::string>& want) {
  REQUIRE(want.size() >= 3 * orders::shops); // three minutes at least
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
  CHECK(table_rows(db) == want);
}

} // namespace

TEST_CASE("the scenario's compute tier: tailed order lines through a topic, "
          "shop names looked up in MariaDB, one-minute totals upserted "
          "across a 10 s outage, equal SQLite's",
          "[e2e][sql][mariadb][lookup][scenario]") {
  mariadb_server db;
  prepare(db);
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

  write_file(dir / "job.sql", script(db, "orders", address));
  process job;
  auto log = dir / "sql.log";
  REQUIRE(process::start(job, {SLUICE_BINARY, "sql", dir / "job.sql"}, log));

  // The application writes its order log: 1,000 lines a second, 50 s of
  // event time a second, so a minute closes about every 1.2 s.
  constexpr int64_t lines = 12'000;
  auto path = dir / "logs/orders.log";
  std::thread writer{[&] {
    std::ofstream out{path, std::ios::app};
    for (int64_t i = 0; i < lines; ++i) {
      out << orders::line_of(orders::order_of(i));
      if (i % 100 == 99) {
        out.flush();
        std::this_thread::sleep_for(100ms);
      }
    }
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
  bool landed = wait_for([&] { return count_rows(db) >= orders::shops; }, 60s);
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

  append_closing_order(path, lines);
  finish_and_compare(db, job, log,
                     orders::per_minute_oracle(first_orders(lines)));
  CHECK(read_file(log).find("is back after") != std::string::npos);
}

TEST_CASE("the whole seed pipeline: order lines tailed by agent1, failed "
          "over from a killed agentA to agentB and back, appended to the "
          "topic of a fourth node, totals per shop and minute in MariaDB "
          "equal SQLite's",
          "[e2e][cluster][failover][topic][sql][mariadb][scenario]") {
  mariadb_server db;
  prepare(db);
  temp_dir dir;
  relay_cluster::settings s;
  s.topic = true;
  s.topic_shards = 2;
  s.line_of = [](int64_t n) {
    return orders::line_of(orders::order_of(n));
  };
  relay_cluster c{dir, s};
  REQUIRE(c.start("store"));
  REQUIRE(c.start("agentA"));
  REQUIRE(c.start("agentB"));
  REQUIRE(c.start("agent1"));
  relay_cluster::logs_on_failure dump{c};

  auto address = fmt::format("127.0.0.1:{}", c.port_of("store"));
  write_file(dir / "job.sql", script(db, "lines", address));
  process job;
  auto log = dir / "sql.log";
  REQUIRE(process::start(job, {SLUICE_BINARY, "sql", dir / "job.sql"}, log));
  c.start_writer(20, 20ms); // 1,000 orders a second, a minute every 1.2 s

  // Results land while agentA relays.
  REQUIRE(wait_for([&] { return count_rows(db) >= orders::shops; }, 60s));
  REQUIRE(c.routed_events("agentA") > 0);
  // agentA dies mid-run: agent1 fails over to agentB.
  auto b_at_fault = c.routed_events("agentB");
  c.kill("agentA");
  REQUIRE(wait_for(
      [&] { return c.routed_events("agentB") >= b_at_fault + 2'000; }, 30s));
  auto rows_during = count_rows(db);
  // agentA comes back; after its penalty agent1 switches back to it.
  REQUIRE(c.start("agentA"));
  auto a_back = c.routed_events("agentA");
  REQUIRE(wait_for([&] { return c.routed_events("agentA") >= a_back + 2'000; },
                   60s));
  auto n = c.stop_writer();
  // The job went on writing results while the relays failed over.
  CHECK(count_rows(db) > rows_during);

  append_closing_order(dir / "logs/app.log", n);
  finish_and_compare(db, job, log, orders::per_minute_oracle(first_orders(n)));
  CHECK(c.stop("agent1", 30s) == 0);
  CHECK(c.stop("agentA", 30s) == 0);
  CHECK(c.stop("agentB", 30s) == 0);
  CHECK(c.stop("store", 30s) == 0);
}
