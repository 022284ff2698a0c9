// End-to-end tests of `sluice sql SCRIPT --sample TABLE=FILE`: a script
// whose source reads a topic and whose sink writes a file runs on a small
// CSV and prints the rows it would write.
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "tests/support/process.hpp"

using namespace sluice::test;
using namespace std::chrono_literals;

namespace {

/// The orders of a topic (here a generator: it never ends) and the totals
/// per shop and minute that the job writes to a file.
constexpr const char* shop_script = R"(CREATE TABLE orders (
  shop_id BIGINT,
  amount BIGINT,
  ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH ('connector' = 'nexmark', 'table' = 'bid', 'events.num' = '0');
CREATE TABLE shop_totals (
  shop_id BIGINT, window_start TIMESTAMP(3), window_end TIMESTAMP(3),
  orders BIGINT, revenue BIGINT
) WITH ('connector' = 'filesystem', 'path' = 'db/shop_totals.csv',
        'format' = 'csv');
INSERT INTO shop_totals
SELECT shop_id, window_start, window_end, COUNT(*), SUM(amount)
FROM TABLE(TUMBLE(TABLE orders, DESCRIPTOR(ts), INTERVAL '1' MINUTE))
GROUP BY shop_id, window_start, window_end;
)";

/// Line 4 does not parse.
constexpr const char* orders_csv = "1,10,2026-01-01 10:00:05\n"
                                   "2,20,2026-01-01 10:00:10\n"
                                   "1,5,2026-01-01 10:00:50\n"
                                   "1,x,2026-01-01 10:00:55\n"
                                   "2,7,2026-01-01 10:01:10\n"
                                   "1,3,2026-01-01 10:01:20\n";

struct outcome {
  int code = -1;
  std::string out;
  std::string err;
};

/// Runs sluice with `args` in `dir` (its working directory), with its
/// temporary files under `dir`/tmp; stdout and stderr apart.
outcome run_in(const temp_dir& dir, const std::vector<std::string>& args) {
  std::filesystem::create_directories(dir / "tmp");
  std::string cmd = "cd '" + dir.path() + "' && TMPDIR='" + (dir / "tmp") +
                    "' exec '" + SLUICE_BINARY + "'";
  for (auto& a : args)
    cmd += " '" + a + "'";
  cmd += " >out.txt 2>err.txt";
  auto [code, output] = run_command({"/bin/sh", "-c", cmd}, 60s);
  INFO(output);
  return {code, read_file(dir / "out.txt"), read_file(dir / "err.txt")};
}

std::vector<std::string> sorted_lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in{text};
  for (std::string line; std::getline(in, line);)
    out.push_back(line);
  std::sort(out.begin(), out.end());
  return out;
}

} // namespace

TEST_CASE("sluice sql --sample runs a script on a CSV file and prints the "
          "rows it would write",
          "[e2e][sql][sample]") {
  temp_dir dir;
  write_file(dir / "shop.sql", shop_script);
  write_file(dir / "orders.csv", orders_csv);
  auto r = run_in(dir, {"sql", "shop.sql", "--sample", "orders=orders.csv"});
  INFO(r.err);
  CHECK(r.code == 0);
  // Each window fires at the end of the sample; the bad row is left out.
  CHECK(sorted_lines(r.out) ==
        std::vector<std::string>{
            "+I[1, 2026-01-01 10:00:00.000, 2026-01-01 10:01:00.000, 2, 15]",
            "+I[1, 2026-01-01 10:01:00.000, 2026-01-01 10:02:00.000, 1, 3]",
            "+I[2, 2026-01-01 10:00:00.000, 2026-01-01 10:01:00.000, 1, 20]",
            "+I[2, 2026-01-01 10:01:00.000, 2026-01-01 10:02:00.000, 1, 7]",
        });
  CHECK_THAT(r.err,
             Catch::Contains("sample: 1 row of orders did not parse and was "
                             "left out:\n"
                             "orders.csv:4: column 'amount': 'x' is not a "
                             "valid BIGINT: 1,x,2026-01-01 10:00:55\n"));
  CHECK_THAT(r.err, Catch::Contains("sample: orders 5 rows read, 1 did not "
                                    "parse; 4 rows printed\n"));
  // Nothing went to the sink's file, nor a dead-letter file to the working
  // directory, and the temporary one is gone.
  CHECK_FALSE(std::filesystem::exists(dir / "db"));
  CHECK_FALSE(std::filesystem::exists(dir / "orders.dead-letter"));
  CHECK(std::filesystem::is_empty(dir / "tmp"));
}

TEST_CASE("sluice sql --sample with --explain and --set prints the plan "
          "with the file source and the print sink",
          "[e2e][sql][sample]") {
  temp_dir dir;
  write_file(dir / "shop.sql", shop_script);
  write_file(dir / "orders.csv", orders_csv);
  auto r = run_in(dir, {"sql", "--sample", "orders=orders.csv", "shop.sql",
                        "--explain", "--set", "parallelism.default=2"});
  INFO(r.err);
  CHECK(r.code == 0);
  CHECK_THAT(r.out, Catch::Contains("job shop_totals (parallelism 2"));
  CHECK_THAT(r.out, Catch::Contains("reads orders (filesystem), watermark"));
  CHECK_THAT(r.out, Catch::Contains("writes shop_totals (print)"));
  CHECK(std::filesystem::is_empty(dir / "tmp"));
}

TEST_CASE("sluice sql --sample refuses an unknown table, a missing file and "
          "a source without a sample, with exit code 2",
          "[e2e][sql][sample]") {
  temp_dir dir;
  write_file(dir / "shop.sql", shop_script);
  write_file(dir / "orders.csv", orders_csv);
  SECTION("a table the script does not declare") {
    auto r = run_in(dir, {"sql", "shop.sql", "--sample", "order=orders.csv"});
    INFO(r.err);
    CHECK(r.code == 2);
    CHECK_THAT(r.err, Catch::Contains("--sample order=orders.csv: the script "
                                      "declares no table 'order' (its "
                                      "tables: orders, shop_totals)"));
  }
  SECTION("a file that does not exist") {
    auto r = run_in(dir, {"sql", "shop.sql", "--sample", "orders=nope.csv"});
    INFO(r.err);
    CHECK(r.code == 2);
    CHECK_THAT(r.err, Catch::Contains("--sample orders=nope.csv: no such file "
                                      "or directory 'nope.csv'"));
  }
  SECTION("a source a job reads without a sample") {
    write_file(dir / "two.sql",
               std::string{shop_script} +
                   "CREATE TABLE refunds (shop_id BIGINT, amount BIGINT) "
                   "WITH ('connector' = 'nexmark', 'table' = 'bid');\n"
                   "CREATE TABLE refund_log (shop_id BIGINT, amount BIGINT) "
                   "WITH ('connector' = 'blackhole');\n"
                   "INSERT INTO refund_log SELECT * FROM refunds;\n");
    auto r = run_in(dir, {"sql", "two.sql", "--sample", "orders=orders.csv"});
    INFO(r.err);
    CHECK(r.code == 2);
    CHECK_THAT(r.err,
               Catch::Contains("two.sql:18:38: error: table 'refunds' is read "
                               "by INSERT INTO refund_log but has no sample: "
                               "add --sample refunds=FILE"));
  }
  CHECK(std::filesystem::is_empty(dir / "tmp"));
}

TEST_CASE("sluice sql --sample runs the scenario's script, its shop names "
          "looked up in a sampled table",
          "[e2e][sql][sample][lookup]") {
  // The scenario's script as it runs for good: the topic, the shop names in
  // MariaDB, the result table in MariaDB (none of them reachable here).
  constexpr const char* script = R"(CREATE TABLE orders (
  shop_id BIGINT, amount BIGINT, ts TIMESTAMP(3), pt AS PROCTIME(),
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH ('connector' = 'topic', 'topic' = 'orders',
        'address' = '127.0.0.1:1', 'format' = 'csv');
CREATE TABLE shops (id BIGINT, name STRING)
WITH ('connector' = 'mariadb', 'url' = 'jdbc:mysql://127.0.0.1:1/shop',
      'table-name' = 'shops', 'lookup.cache' = 'PARTIAL');
CREATE TABLE per_minute (
  shop_name STRING, window_start TIMESTAMP(3), orders BIGINT, revenue BIGINT,
  PRIMARY KEY (shop_name, window_start) NOT ENFORCED
) WITH ('connector' = 'mariadb', 'url' = 'jdbc:mysql://127.0.0.1:1/shop',
        'table-name' = 'per_minute');
INSERT INTO per_minute
SELECT s.name, TUMBLE_START(o.ts, INTERVAL '1' MINUTE), COUNT(*),
       SUM(o.amount)
FROM orders AS o JOIN shops FOR SYSTEM_TIME AS OF o.pt AS s
  ON o.shop_id = s.id
GROUP BY TUMBLE(o.ts, INTERVAL '1' MINUTE), s.name;
)";
  temp_dir dir;
  write_file(dir / "scenario.sql", script);
  write_file(dir / "orders.csv", orders_csv);
  // Shop 2 has no name: its orders leave (an inner join). Line 2 is bad.
  write_file(dir / "shops.csv", "1,north\nthree,south\n");
  auto r = run_in(dir, {"sql", "scenario.sql", "--sample", "orders=orders.csv",
                        "--sample", "shops=shops.csv"});
  INFO(r.err);
  CHECK(r.code == 0);
  CHECK(sorted_lines(r.out) == std::vector<std::string>{
                                   "+I[north, 2026-01-01 10:00:00.000, 2, 15]",
                                   "+I[north, 2026-01-01 10:01:00.000, 1, 3]",
                               });
  CHECK_THAT(r.err, Catch::Contains("shops.csv:2: column 'id': 'three' is "
                                    "not a valid BIGINT: three,south\n"));
  CHECK_THAT(r.err, Catch::Contains("sample: orders 5 rows read, 1 did not "
                                    "parse; shops looked up by key, 1 did not "
                                    "parse; 2 rows printed\n"));

  // Without a sample of the lookup table, the run is refused at its use.
  auto no_shops =
      run_in(dir, {"sql", "scenario.sql", "--sample", "orders=orders.csv"});
  CHECK(no_shops.code == 2);
  CHECK_THAT(no_shops.err,
             Catch::Contains("scenario.sql:17:23: error: table 'shops' is "
                             "read by INSERT INTO per_minute but has no "
                             "sample: add --sample shops=FILE"));
}
