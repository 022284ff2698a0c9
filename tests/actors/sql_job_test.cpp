#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "connectors/table_registry.hpp"
#include "engine/jobs.hpp"
#include "runtime/errors.hpp"
#include "runtime/expr/functions.hpp"
#include "sql/diagnostics.hpp"
#include "sql/script.hpp"
#include "tests/support/process.hpp"
#include "tests/support/wait.hpp"

using namespace sluice;
namespace fs = std::filesystem;

namespace {

/// Compiles `text` with `${env:NAME}` taken from `env`; fails the test on
/// any diagnostic.
std::vector<job_spec> compile(const std::string& text,
                              std::map<std::string, std::string> env,
                              uint32_t parallelism = 0) {
  sql::compile_options co;
  co.parallelism = parallelism;
  co.getenv = [env](std::string_view name) -> std::optional<std::string> {
    if (auto i = env.find(std::string{name}); i != env.end())
      return i->second;
    return std::nullopt;
  };
  std::vector<sql::sql_diagnostic> diags;
  auto script =
      sql::compile_script(text, "test.sql", expr::function_registry::builtin(),
                          table_registry::builtin().infos(), co, diags);
  INFO(sql::render(diags, text));
  REQUIRE(diags.empty());
  REQUIRE(script);
  return std::move(script->jobs);
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out{path, std::ios::binary};
  out << text;
}

/// Every line of every file in `dir`, sorted.
std::vector<std::string> lines_in(const std::string& dir) {
  std::vector<std::string> result;
  for (auto& e : fs::directory_iterator(dir)) {
    std::ifstream in{e.path()};
    std::string line;
    while (std::getline(in, line))
      if (!line.empty())
        result.push_back(line);
  }
  std::sort(result.begin(), result.end());
  return result;
}

uint64_t sum_of(metrics_registry& m, uint64_t metrics_snapshot::*field) {
  uint64_t n = 0;
  for (auto& s : m.snapshot())
    if (s.kind == "operator")
      n += s.*field;
  return n;
}

const char* tumble_script = R"(
CREATE TABLE events (k STRING, v BIGINT, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)
  WITH ('connector' = 'filesystem', 'path' = '${env:IN}', 'format' = 'csv');
CREATE TABLE counts (k STRING, ws TIMESTAMP(3), n BIGINT, total BIGINT)
  WITH ('connector' = 'filesystem', 'path' = '${env:OUT}', 'format' = 'csv');
INSERT INTO counts
SELECT k, window_start, COUNT(*), SUM(v)
FROM TABLE(TUMBLE(TABLE events, DESCRIPTOR(ts), INTERVAL '10' SECOND))
WHERE v > 0
GROUP BY k, window_start, window_end;
)";

} // namespace

TEST_CASE("a TUMBLE count per key runs from CSV files into CSV files, at "
          "parallelism 1 and 2",
          "[job][sql]") {
  test::temp_dir dir;
  auto in = dir / "in";
  fs::create_directories(in);
  // Two files: with parallelism 2, each scan instance reads one.
  write_file(in + "/a.csv", "a,1,1970-01-01 00:00:01.000\n"
                            "b,2,1970-01-01 00:00:02.000\n"
                            "a,3,1970-01-01 00:00:09.999\n"
                            "a,-7,1970-01-01 00:00:03.000\n");
  write_file(in + "/b.csv", "a,4,1970-01-01 00:00:10.000\n"
                            "b,5,1970-01-01 00:00:25.000\n");
  std::vector<std::string> expected{
      "a,1970-01-01 00:00:00.000,2,4",
      "a,1970-01-01 00:00:10.000,1,4",
      "b,1970-01-01 00:00:00.000,1,2",
      "b,1970-01-01 00:00:20.000,1,5",
  };
  for (uint32_t par : {1u, 2u}) {
    DYNAMIC_SECTION("parallelism " << par) {
      auto out = dir / ("out" + std::to_string(par));
      fs::create_directories(out);
      auto jobs = compile(tumble_script, {{"IN", in}, {"OUT", out + "/"}}, par);
      REQUIRE(jobs.size() == 1);
      auto runner = job_runner::make(jobs);
      REQUIRE(runner);
      REQUIRE(!(*runner)->start());
      auto err = (*runner)->wait();
      INFO(describe(err));
      CHECK(!err);
      CHECK(lines_in(out) == expected);
      auto& m = (*runner)->metrics();
      // Every instance of every stage reports; the scans read all 6 rows.
      size_t instances = 0;
      uint64_t scanned = 0;
      for (auto& s : m.snapshot())
        if (s.kind == "operator") {
          ++instances;
          if (s.name.find("/scan") != std::string::npos)
            scanned += s.events_in;
        }
      CHECK(instances == jobs[0].stages.size() * par);
      CHECK(scanned == 6);
      CHECK(sum_of(m, &metrics_snapshot::late_rows) == 0);
    }
  }
}

TEST_CASE("a job whose sink cannot open fails with the sink's error",
          "[job][sql]") {
  test::temp_dir dir;
  auto in = dir / "in.csv";
  write_file(in, "a,1,1970-01-01 00:00:01.000\n");
  // A regular file where the sink wants a directory.
  auto blocker = dir / "blocker";
  write_file(blocker, "x");
  auto jobs = compile(tumble_script, {{"IN", in}, {"OUT", blocker + "/"}});
  auto runner = job_runner::make(jobs);
  REQUIRE(runner);
  REQUIRE(!(*runner)->start());
  auto err = (*runner)->wait();
  REQUIRE(err);
  uint64_t errors = 0;
  for (auto& s : (*runner)->metrics().snapshot())
    errors += s.errors;
  CHECK(errors >= 1);
}

TEST_CASE("stopping an unbounded job ends it, discarding open windows",
          "[job][sql]") {
  auto jobs = compile(R"(
CREATE TABLE bid (auction BIGINT, bidder BIGINT, price BIGINT,
  channel VARCHAR, url VARCHAR, `dateTime` TIMESTAMP(3), extra VARCHAR,
  WATERMARK FOR `dateTime` AS `dateTime` - INTERVAL '4' SECOND)
  WITH ('connector' = 'nexmark', 'table' = 'bid', 'events.num' = '0',
        'rate' = '20000');
CREATE TABLE out (auction BIGINT, n BIGINT) WITH ('connector' = 'blackhole');
INSERT INTO out
SELECT auction, COUNT(*) FROM TABLE(TUMBLE(TABLE bid, DESCRIPTOR(`dateTime`),
  INTERVAL '1' HOUR)) GROUP BY auction, window_start, window_end;
)",
                      {});
  auto runner = job_runner::make(jobs);
  REQUIRE(runner);
  REQUIRE(!(*runner)->start());
  auto& m = (*runner)->metrics();
  // Rows reach the window operator and sit in its one-hour window.
  REQUIRE(test::wait_for(
      [&] { return sum_of(m, &metrics_snapshot::state_keys) > 0; },
      std::chrono::seconds{20}));
  (*runner)->stop();
  auto err = (*runner)->wait();
  INFO(describe(err));
  CHECK(!err);
  // The sink got nothing: the window was open when the job stopped.
  for (auto& s : m.snapshot())
    if (s.name.find("/sink") != std::string::npos)
      CHECK(s.events_in == 0);
}

TEST_CASE("every bid of a bounded generator reaches one global window at "
          "parallelism 2, and the window fires once at the end",
          "[job][sql]") {
  auto jobs = compile(R"(
CREATE TABLE bid (auction BIGINT, bidder BIGINT, price BIGINT,
  channel VARCHAR, url VARCHAR, `dateTime` TIMESTAMP(3), extra VARCHAR,
  WATERMARK FOR `dateTime` AS `dateTime` - INTERVAL '4' SECOND)
  WITH ('connector' = 'nexmark', 'table' = 'bid', 'events.num' = '10000',
        'out-of-order.fraction' = '0');
CREATE TABLE out (n BIGINT) WITH ('connector' = 'blackhole');
INSERT INTO out
SELECT COUNT(*) FROM TABLE(TUMBLE(TABLE bid, DESCRIPTOR(`dateTime`),
  INTERVAL '1' HOUR)) GROUP BY window_start, window_end;
)",
                      {}, 2);
  auto runner = job_runner::make(jobs);
  REQUIRE(runner);
  REQUIRE(!(*runner)->start());
  REQUIRE(!(*runner)->wait());
  auto& m = (*runner)->metrics();
  uint64_t scanned = 0, sunk = 0;
  for (auto& s : m.snapshot()) {
    if (s.name.find("/scan") != std::string::npos)
      scanned += s.events_in;
    if (s.name.find("/sink") != std::string::npos)
      sunk += s.events_in;
  }
  // 46 of every 50 events are bids.
  CHECK(scanned == 10000 / 50 * 46);
  // In order, every bid falls into the first hour: one row with the
  // count. (With delays, the first events' times fall before the epoch,
  // into the hour before.)
  CHECK(sunk == 1);
}

TEST_CASE("a row whose window fired is late: counted, and written to the "
          "late-rows table",
          "[job][sql]") {
  test::temp_dir dir;
  auto in = dir / "in.csv";
  // One row per batch, so the watermark moves between rows: the second
  // row (15 s) fires [0 s, 10 s) and the third (2 s) comes after it.
  write_file(in, "a,1,1970-01-01 00:00:01.000\n"
                 "a,1,1970-01-01 00:00:15.000\n"
                 "a,1,1970-01-01 00:00:02.000\n");
  auto out = dir / "out";
  auto late = dir / "late";
  fs::create_directories(out);
  fs::create_directories(late);
  auto jobs = compile(std::string{tumble_script} + R"(
CREATE TABLE late_rows (stage STRING, event_time TIMESTAMP(3),
  watermark TIMESTAMP(3), row_text STRING)
  WITH ('connector' = 'filesystem', 'path' = '${env:LATE}', 'format' = 'csv');
SET 'sluice.late-rows.table' = 'late_rows';
SET 'sluice.batch-rows' = '1';
)",
                      {{"IN", in}, {"OUT", out + "/"}, {"LATE", late + "/"}});
  auto runner = job_runner::make(jobs);
  REQUIRE(runner);
  REQUIRE(!(*runner)->start());
  auto err = (*runner)->wait();
  INFO(describe(err));
  REQUIRE(!err);
  CHECK(lines_in(out) == std::vector<std::string>{
                             "a,1970-01-01 00:00:00.000,1,1",
                             "a,1970-01-01 00:00:10.000,1,1",
                         });
  CHECK(sum_of((*runner)->metrics(), &metrics_snapshot::late_rows) == 1);
  auto late_lines = lines_in(late);
  REQUIRE(late_lines.size() == 1);
  INFO(late_lines[0]);
  // event_time 2 s, the watermark 14 s (15 s - 1 s), the row as text.
  CHECK(late_lines[0].find(",1970-01-01 00:00:02.000,1970-01-01 "
                           "00:00:14.000,") != std::string::npos);
}
