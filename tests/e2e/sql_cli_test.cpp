// End-to-end tests of `sluice check SCRIPT.sql` and `sluice sql`: errors
// with their positions, --explain, a stop by signal, the stats lines.
#include <chrono>
#include <csignal>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <thread>

#include <catch2/catch.hpp>

#include "tests/support/process.hpp"
#include "tests/support/wait.hpp"

using namespace sluice::test;
using namespace std::chrono_literals;

namespace {

/// Runs sluice with `args` to the end; returns the exit code and the log.
std::pair<int, std::string> run(const temp_dir& dir,
                                const std::vector<std::string>& args,
                                const std::string& log_name) {
  std::vector<std::string> argv{SLUICE_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  process p;
  auto log = dir / log_name;
  REQUIRE(process::start(p, argv, log));
  auto code = p.wait(60s);
  REQUIRE(code);
  return {*code, read_file(log)};
}

} // namespace

TEST_CASE("sluice check prints every error of a script with its position "
          "and a caret, and exits 2",
          "[e2e][sql]") {
  temp_dir dir;
  auto script = dir / "bad.sql";
  std::ofstream{script}
      << R"(CREATE TABLE t (k STRING, v BIGINT) WITH ('connector' = 'filesystem', 'path' = 'x', 'format' = 'csv');
CREATE TABLE o (k STRING) WITH ('connector' = 'print');
INSERT INTO o SELECT nope FROM t;
INSERT INTO o SELECT k FROM missing;
CREATE TABLE f (k STRING, n BIGINT) WITH ('connector' = 'filesystem', 'path' = '${env:SLUICE_TEST_UNSET_DIR}', 'format' = 'csv');
INSERT INTO f SELECT k, COUNT(*) FROM t GROUP BY k;
)";
  ::unsetenv("SLUICE_TEST_UNSET_DIR");
  for (auto cmd : {"check", "sql"}) {
    DYNAMIC_SECTION(cmd) {
      auto [code, log] = run(dir, {cmd, script}, std::string{cmd} + ".log");
      INFO(log);
      CHECK(code == 2);
      CHECK(log.find(script + ":3:22: error: column 'nope' not found\n"
                              "INSERT INTO o SELECT nope FROM t;\n"
                              "                     ^~~~\n") !=
            std::string::npos);
      CHECK(log.find(script + ":4:29: error: table or view 'missing' not "
                              "found") != std::string::npos);
      CHECK(log.find(script + ":5:81: error: environment variable "
                              "SLUICE_TEST_UNSET_DIR is not set") !=
            std::string::npos);
      CHECK(log.find(script + ":6:13: error: table 'f' (connector "
                              "'filesystem') takes inserts only") !=
            std::string::npos);
      CHECK(log.find(script + ": 4 error(s)") != std::string::npos);
    }
  }
}

TEST_CASE("sluice check accepts a sound script and --explain prints its "
          "stages with their parallelism",
          "[e2e][sql]") {
  temp_dir dir;
  ::setenv("NEXMARK_EVENTS", "1000", 1);
  auto q5 = std::string{SLUICE_SOURCE_DIR} + "/examples/sql/q5.sql";
  auto [code, log] = run(dir, {"check", q5}, "check.log");
  INFO(log);
  CHECK(code == 0);
  CHECK(log.find("q5.sql: ok (1 job(s), 7 stage(s))") != std::string::npos);
  auto [xcode, xlog] =
      run(dir, {"sql", q5, "--explain", "--parallelism", "3"}, "explain.log");
  INFO(xlog);
  CHECK(xcode == 0);
  CHECK(xlog.find("job nexmark_q5 (parallelism 3") != std::string::npos);
  CHECK(xlog.find("[5] window_join#5 x3") != std::string::npos);
  CHECK(xlog.find("<- [4] hash by (starttime, endtime) into port 1") !=
        std::string::npos);
}

TEST_CASE("SIGTERM stops an unbounded SQL job: exit 0, open windows "
          "discarded, stats lines on the way",
          "[e2e][sql]") {
  temp_dir dir;
  auto script = dir / "hour.sql";
  std::ofstream{script} << R"(
CREATE TABLE bid (auction BIGINT, bidder BIGINT, price BIGINT,
  channel VARCHAR, url VARCHAR, `dateTime` TIMESTAMP(3), extra VARCHAR,
  WATERMARK FOR `dateTime` AS `dateTime` - INTERVAL '4' SECOND)
  WITH ('connector' = 'nexmark', 'table' = 'bid', 'events.num' = '0',
        'rate' = '50000');
CREATE TABLE out (auction BIGINT, n BIGINT) WITH ('connector' = 'print');
INSERT INTO out
SELECT auction, COUNT(*) FROM TABLE(TUMBLE(TABLE bid, DESCRIPTOR(`dateTime`),
  INTERVAL '1' HOUR)) GROUP BY auction, window_start, window_end;
)";
  process p;
  auto log = dir / "run.log";
  REQUIRE(process::start(p,
                         {SLUICE_BINARY, "sql", script, "--stats-interval",
                          "200ms", "--parallelism", "2"},
                         log));
  // The window operators hold groups: rows are flowing.
  std::regex holding{R"(window_agg#1#\d: .*state_keys=[1-9])"};
  REQUIRE(wait_for([&] { return std::regex_search(read_file(log), holding); },
                   30s));
  p.signal(SIGTERM);
  auto code = p.wait(20s);
  auto text = read_file(log);
  INFO(text);
  REQUIRE(code);
  CHECK(*code == 0);
  CHECK(text.find("open window group(s) or buffered row(s), discarded") !=
        std::string::npos);
  CHECK(text.find("every job ended") != std::string::npos);
  // Nothing reached the print sink: the hour never ended.
  CHECK(text.find("+I[") == std::string::npos);
}
