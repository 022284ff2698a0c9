#include "cli/demo_sql.hpp"

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "connectors/mariadb_client.hpp"
#include "runtime/errors.hpp"
#include "runtime/log.hpp"

namespace sluice {

namespace fs = std::filesystem;

namespace {

/// The compute tier of the scenario over the topic's records ("order
/// id=000001 amount=37.01 region=south").
constexpr const char* per_region_sql =
    R"(-- Orders and revenue per region, as the application logged them, read
-- from the topic `lines` of the node `store`.
CREATE TABLE orders (
  line STRING,
  amount AS CAST(REGEXP_EXTRACT(line, 'amount=([0-9.]+)', 1) AS DECIMAL(10, 2)),
  region AS REGEXP_EXTRACT(line, 'region=([a-z]+)', 1),
  pt AS PROCTIME()
) WITH ('connector' = 'topic', 'topic' = 'lines', 'format' = 'raw',
        'properties.group.id' = 'per_region');

-- Each region's display name, looked up in MariaDB as orders come.
CREATE TABLE regions (code STRING, name STRING)
  WITH ('connector' = 'mariadb', 'url' = '${env:DEMO_DB_URL}',
        'table-name' = 'regions', 'username' = 'sluice',
        'password' = '${env:DEMO_DB_PASSWORD}',
        'lookup.cache' = 'PARTIAL',
        'lookup.partial-cache.expire-after-write' = '1 min');

-- The totals, upserted into MariaDB, where a dashboard reads them.
CREATE TABLE per_region (
  region STRING, name STRING, orders BIGINT, revenue DECIMAL(38, 2),
  PRIMARY KEY (region) NOT ENFORCED
) WITH ('connector' = 'mariadb', 'url' = '${env:DEMO_DB_URL}',
        'table-name' = 'per_region', 'username' = 'sluice',
        'password' = '${env:DEMO_DB_PASSWORD}', 'sink.create-table' = 'true',
        'sink.buffer-flush.interval' = '100 ms');

INSERT INTO per_region
SELECT o.region, r.name, COUNT(*), SUM(o.amount)
FROM orders AS o
JOIN regions FOR SYSTEM_TIME AS OF o.pt AS r ON o.region = r.code
GROUP BY o.region, r.name;
)";

const std::map<std::string, std::string>& region_names() {
  static const std::map<std::string, std::string> names = {
      {"north", "North"}, {"south", "South"}, {"west", "West"}};
  return names;
}

struct region_total {
  int64_t orders = 0;
  int64_t cents = 0;
};

/// What the application wrote: its order_line(i) for i in [1, written].
std::map<std::string, region_total> expected_totals(int64_t written) {
  std::map<std::string, region_total> r;
  for (int64_t i = 1; i <= written; ++i) {
    auto& t = r[i % 3 == 0 ? "north" : i % 3 == 1 ? "south" : "west"];
    ++t.orders;
    t.cents += (i * 37) % 500 * 100 + i % 100;
  }
  return r;
}

/// "REGION NAME ORDERS REVENUE" of each region the totals hold.
std::map<std::string, std::string>
expected_rows(const std::map<std::string, region_total>& want) {
  std::map<std::string, std::string> rows;
  for (auto& [region, t] : want)
    rows[region] =
        fmt::format("{} {} {} {}.{:02}", region, region_names().at(region),
                    t.orders, t.cents / 100, t.cents % 100);
  return rows;
}

/// The table per_region as "REGION NAME ORDERS REVENUE" by region; empty
/// when it cannot be read (yet).
std::map<std::string, std::string> table_rows(const demo_mariadb& db) {
  mariadb::target root;
  root.host = "localhost";
  root.user = "root";
  root.socket = db.socket();
  root.database = "demo";
  mariadb::connection c;
  if (c.connect(root))
    return {};
  auto rows = c.query(
      "SELECT region, name, orders, revenue FROM per_region ORDER BY region");
  if (!rows)
    return {};
  std::map<std::string, std::string> result;
  for (auto& r : *rows)
    result[r[0].value_or("NULL")] =
        fmt::format("{} {} {} {}", r[0].value_or("NULL"), r[1].value_or("NULL"),
                    r[2].value_or("NULL"), r[3].value_or("NULL"));
  return result;
}

} // namespace

caf::expected<std::unique_ptr<demo_compute>>
demo_compute::start(const fs::path& dir) {
  std::unique_ptr<demo_compute> c{new demo_compute};
  c->dir_ = dir / "compute";
  fs::create_directories(c->dir_);
  std::cout << "\ndemo: starting a private MariaDB server for the results "
               "(its log: "
            << (c->dir_ / "mariadb.log").string() << ")\n";
  auto db = demo_mariadb::start(c->dir_ / "mariadb.log");
  if (!db)
    return std::move(db.error());
  c->db_ = std::move(*db);
  mariadb::target root;
  root.host = "localhost";
  root.user = "root";
  root.socket = c->db_->socket();
  root.database = "demo";
  mariadb::connection conn;
  if (auto err = conn.connect(root))
    return err;
  std::string values;
  for (auto& [code, name] : region_names())
    values +=
        fmt::format("{}('{}', '{}')", values.empty() ? "" : ", ", code, name);
  for (auto sql : {std::string{"CREATE TABLE regions (code VARCHAR(16) "
                               "PRIMARY KEY, name VARCHAR(64) NOT NULL)"},
                   "INSERT INTO regions VALUES " + values})
    if (!conn.exec(sql))
      return make_error(config_errc::invalid,
                        "cannot fill the demo's regions table: " +
                            conn.last_text());
  std::ofstream{c->dir_ / "per_region.sql"} << per_region_sql;
  ::setenv("DEMO_DB_URL", c->db_->url().c_str(), 1);
  ::setenv("DEMO_DB_PASSWORD", c->db_->password().c_str(), 1);
  return c;
}

std::string demo_compute::topology(uint16_t port) const {
  return fmt::format(R"(
[nodes.compute]
port = {}

# The compute tier: a SQL job on its own node. Its topic table names no
# address: the job finds the topic `lines` on the node `store`.
[jobs.per_region]
node = "compute"
script = "{}"
)",
                     port, (dir_ / "per_region.sql").string());
}

const char* demo_compute::script() {
  return per_region_sql;
}

bool demo_compute::wait_for_totals(int64_t written,
                                   std::chrono::seconds timeout,
                                   const std::atomic<bool>* interrupted) const {
  auto want = expected_rows(expected_totals(written));
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline &&
         !(interrupted && *interrupted)) {
    if (table_rows(*db_) == want)
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds{200});
  }
  return false;
}

bool demo_compute::report(int64_t written) const {
  auto want = expected_rows(expected_totals(written));
  bool all = true;
  auto rows = table_rows(*db_);
  all = all && rows.size() == want.size();
  for (auto& [region, expected] : want) {
    auto it = rows.find(region);
    bool ok = it != rows.end() && it->second == expected;
    all = all && ok;
    std::cout << fmt::format(
        "demo: MariaDB {} demo.per_region: {} ({})\n", db_->url(),
        it == rows.end() ? region + " missing" : it->second,
        ok ? "matches the application's log" : "expected " + expected);
  }
  return all;
}

} // namespace sluice
