// End-to-end: `sluice sql` writes a windowed job's results into a real
// MariaDB server (tests/support's mariadb_server) while the server is
// stopped for 10 s in the middle of the run; at the end the table holds
// exactly what the same job wrote to a file.
#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <string>
#include <thread>

#include <catch2/catch.hpp>

#include "tests/support/mariadb_server.hpp"
#include "tests/support/process.hpp"
#include "tests/support/sql_jobs.hpp"
#include "tests/support/wait.hpp"

using namespace sluice::test;
using namespace std::chrono_literals;

namespace {

/// The job, twice: into MariaDB and into CSV files. The bids are paced
/// (`rate`), so the run lasts about 12 s, and in order, so both copies see
/// the same rows.
std::string script(const mariadb_server& db, const std::string& out_dir) {
  return R"(
CREATE TABLE bid (
  auction BIGINT, bidder BIGINT, price BIGINT, channel VARCHAR, url VARCHAR,
  `dateTime` TIMESTAMP(3), extra VARCHAR,
  WATERMARK FOR `dateTime` AS `dateTime` - INTERVAL '1' SECOND
) WITH ('connector' = 'nexmark', 'table' = 'bid', 'events.num' = '50000',
        'rate' = '4000', 'out-of-order.fraction' = '0');

CREATE TABLE per_second (
  auction BIGINT, window_start TIMESTAMP(3), bids BIGINT, total BIGINT,
  PRIMARY KEY (auction, window_start) NOT ENFORCED
) WITH ('connector' = 'mariadb', 'url' = ')" +
         db.url() + R"(',
        'table-name' = 'per_second', 'username' = ')" +
         db.user() + R"(',
        'password' = '${env:SLUICE_TEST_DB_PASSWORD}',
        'sink.create-table' = 'true', 'sink.buffer-flush.max-rows' = '200',
        'sink.buffer-flush.interval' = '100 ms');

CREATE TABLE per_second_file (
  auction BIGINT, window_start TIMESTAMP(3), bids BIGINT, total BIGINT
) WITH ('connector' = 'filesystem', 'path' = ')" +
         out_dir + R"(', 'format' = 'csv');

CREATE VIEW counts AS
SELECT auction, window_start, COUNT(*) AS bids, SUM(price) AS total
FROM TABLE(TUMBLE(TABLE bid, DESCRIPTOR(`dateTime`), INTERVAL '1' SECOND))
GROUP BY auction, window_start, window_end;

INSERT INTO per_second SELECT * FROM counts;
INSERT INTO per_second_file SELECT * FROM counts;
)";
}

int64_t count_rows(const mariadb_server& db) {
  try {
    auto rows = db.query("SELECT COUNT(*) FROM per_second");
    return std::stoll(rows.at(0).at(0));
  } catch (const mariadb_server_error&) {
    return 0; // the sink did not create the table yet
  }
}

} // namespace

TEST_CASE("sluice sql lands a windowed job in MariaDB across a 10 s outage "
          "of the database",
          "[e2e][sql][mariadb]") {
  mariadb_server db;
  db.start();
  temp_dir dir;
  auto out = dir / "out/";
  auto path = dir / "job.sql";
  write_file(path, script(db, out));
  ::setenv("SLUICE_TEST_DB_PASSWORD", db.password().c_str(), 1);
  process job;
  auto log = dir / "sluice.log";
  REQUIRE(process::start(
      job, {SLUICE_BINARY, "sql", path, "--parallelism", "1"}, log));

  // Mid-run: some results are in the table, the job goes on.
  REQUIRE(wait_for([&] { return count_rows(db) >= 200; }, 60s));
  auto before = count_rows(db);
  auto stopped_at = std::chrono::steady_clock::now();
  db.stop();
  REQUIRE(job.running());
  // The sink noticed: it holds rows, and the sources wait.
  REQUIRE(wait_for(
      [&] { return read_file(log).find("holding") != std::string::npos; }));
  // The outage lasts 10 s, as the scenario asks.
  std::this_thread::sleep_until(stopped_at + 10s);
  REQUIRE(job.running());
  db.start();

  auto code = job.wait(120s);
  auto text = read_file(log);
  INFO(text);
  REQUIRE(code);
  CHECK(*code == 0);
  CHECK(text.find("is back after") != std::string::npos);

  // The file copy is the oracle: every window, once, with the same values.
  auto want = sorted_lines_in(out);
  REQUIRE(want.size() > static_cast<size_t>(before));
  std::vector<std::string> got;
  for (auto& r : db.query("SELECT auction, window_start, bids, total FROM "
                          "per_second"))
    got.push_back(r[0] + "," + r[1] + "," + r[2] + "," + r[3]);
  std::sort(got.begin(), got.end());
  CHECK(got == want);
}
