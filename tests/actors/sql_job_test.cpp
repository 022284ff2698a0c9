#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <mutex>
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
#include "tests/support/sql_jobs.hpp"
#include "tests/support/wait.hpp"

using namespace sluice;
using sluice::test::write_file;

namespace fs = std::filesystem;

namespace {

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
      auto jobs = test::compile_jobs(tumble_script,
                                     {{"IN", in}, {"OUT", out + "/"}}, par);
      REQUIRE(jobs.size() == 1);
      auto runner = job_runner::make(jobs);
      REQUIRE(runner);
      REQUIRE(!(*runner)->start());
      auto err = (*runner)->wait();
      INFO(describe(err));
      CHECK(!err);
      CHECK(test::sorted_lines_in(out) == expected);
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
  auto jobs =
      test::compile_jobs(tumble_script, {{"IN", in}, {"OUT", blocker + "/"}});
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
  auto jobs = test::compile_jobs(R"(
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
  auto jobs = test::compile_jobs(R"(
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
  auto jobs = test::compile_jobs(
      std::string{tumble_script} + R"(
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
  CHECK(test::sorted_lines_in(out) == std::vector<std::string>{
                                          "a,1970-01-01 00:00:00.000,1,1",
                                          "a,1970-01-01 00:00:10.000,1,1",
                                      });
  CHECK(sum_of((*runner)->metrics(), &metrics_snapshot::late_rows) == 1);
  auto late_lines = test::sorted_lines_in(late);
  REQUIRE(late_lines.size() == 1);
  INFO(late_lines[0]);
  // event_time 2 s, the watermark 14 s (15 s - 1 s), the row as text.
  CHECK(late_lines[0].find(",1970-01-01 00:00:02.000,1970-01-01 "
                           "00:00:14.000,") != std::string::npos);
}

TEST_CASE("stage summaries sum a stage's instances and show its skew and "
          "watermark lag",
          "[job][sql]") {
  std::vector<metrics_snapshot> all(4);
  all[0].name = "j/window_agg#1#0";
  all[1].name = "j/window_agg#1#1";
  all[2].name = "j/scan t#0";
  all[3].name = "channel-not-an-operator";
  for (size_t i = 0; i < 3; ++i)
    all[i].kind = "operator";
  all[3].kind = "channel";
  all[0].events_in = 30;
  all[1].events_in = 10;
  all[0].watermark_ms = 5000;
  all[1].watermark_ms = 4000;
  all[0].late_rows = 2;
  all[1].late_rows = 1;
  all[2].events_in = 40;
  auto s = summarize_stages(all, 10000);
  REQUIRE(s.size() == 2);
  auto& w = s[0].name == "j/window_agg#1" ? s[0] : s[1];
  CHECK(w.name == "j/window_agg#1");
  CHECK(w.instances == 2);
  CHECK(w.rows_in == 40);
  CHECK(w.skew == Approx(1.5)); // 30 of 40 rows on one of two instances
  CHECK(w.watermark_ms == 4000);
  CHECK(w.watermark_lag_ms == 6000);
  CHECK(w.late_rows == 3);
  auto& scan = s[0].name == "j/scan t" ? s[0] : s[1];
  CHECK(scan.instances == 1);
  CHECK(scan.skew == Approx(1.0));
  CHECK(scan.watermark_lag_ms == 0); // no watermark
  CHECK(to_string(w).find("stage j/window_agg#1: x2 in=40") == 0);
}

namespace {

/// A test table source: split 0 gives 100 rows (k, ts every 100 ms from 0)
/// and then nothing, for ever; every other split gives nothing, for ever.
/// Neither ever finishes: only the idle timeout can let a window fire.
class quiet_source : public table_source {
 public:
  explicit quiet_source(uint32_t split) : split_(split) {}
  caf::error open() override { return {}; }
  caf::expected<poll_status> poll(columnar::row_batch& out,
                                  size_t max_rows) override {
    if (split_ != 0 || next_ >= 100)
      return poll_status::idle;
    size_t n = 0;
    for (; n < max_rows && next_ < 100; ++n, ++next_) {
      out.col(0).push_str("k");
      out.col(1).push<int64_t>(next_ * 100);
    }
    return poll_status::more;
  }
  uint32_t max_splits() const override { return 8; }

 private:
  uint32_t split_;
  int64_t next_ = 0;
};

table_registry with_quiet_source() {
  auto reg = table_registry::builtin();
  table_source_type t;
  t.name = "quiet";
  t.help = "test: rows on split 0, then idle for ever";
  t.blocking = false;
  t.make = [](const table_context& ctx,
              const sluice::options&) -> caf::expected<table_source_ptr> {
    return table_source_ptr{std::make_unique<quiet_source>(ctx.split)};
  };
  reg.add(std::move(t));
  return reg;
}

std::string quiet_script(const std::string& idle) {
  return R"(
CREATE TABLE q (k STRING, ts TIMESTAMP(3), WATERMARK FOR ts AS ts)
  WITH ('connector' = 'quiet');
CREATE TABLE out (k STRING, n BIGINT) WITH ('connector' = 'blackhole');
)" + idle +
         R"(
INSERT INTO out SELECT k, COUNT(*) FROM TABLE(TUMBLE(TABLE q,
  DESCRIPTOR(ts), INTERVAL '1' SECOND)) GROUP BY k, window_start, window_end;
)";
}

metrics_snapshot stage_metrics(metrics_registry& m, const std::string& part) {
  metrics_snapshot sum;
  sum.watermark_ms = INT64_MAX;
  for (auto& s : m.snapshot())
    if (s.name.find(part) != std::string::npos) {
      sum.events_in += s.events_in;
      sum.errors += s.errors;
      sum.watermark_ms = std::min(sum.watermark_ms, s.watermark_ms);
    }
  return sum;
}

} // namespace

TEST_CASE("a scan instance without rows holds the watermark back, unless "
          "the idle timeout leaves it out",
          "[job][sql]") {
  auto reg = with_quiet_source();
  SECTION("without an idle timeout nothing fires") {
    auto runner =
        job_runner::make(test::compile_jobs(quiet_script(""), {}, 2, reg), reg);
    REQUIRE(runner);
    REQUIRE(!(*runner)->start());
    auto& m = (*runner)->metrics();
    // Every row, and with it the watermark of split 0 (9.9 s), reached the
    // window operators: their watermark is still held by split 1.
    REQUIRE(test::wait_for(
        [&] { return stage_metrics(m, "/window_agg").events_in == 100; },
        std::chrono::seconds{20}));
    CHECK(stage_metrics(m, "/scan q#0").watermark_ms == 9900);
    CHECK(stage_metrics(m, "/window_agg").watermark_ms == INT64_MIN);
    CHECK(stage_metrics(m, "/sink").events_in == 0);
    (*runner)->stop();
    CHECK(!(*runner)->wait());
  }
  SECTION("with table.exec.source.idle-timeout the windows fire") {
    auto runner = job_runner::make(
        test::compile_jobs(
            quiet_script("SET 'table.exec.source.idle-timeout' = '100ms';"), {},
            2, reg),
        reg);
    REQUIRE(runner);
    REQUIRE(!(*runner)->start());
    auto& m = (*runner)->metrics();
    // Windows [0 s, 1 s) ... [8 s, 9 s) close at watermark 9.9 s.
    REQUIRE(
        test::wait_for([&] { return stage_metrics(m, "/sink").events_in == 9; },
                       std::chrono::seconds{20}));
    (*runner)->stop();
    CHECK(!(*runner)->wait());
    // [9 s, 10 s) was still open: the stop discarded it, not fired it.
    CHECK(stage_metrics(m, "/sink").events_in == 9);
  }
}

namespace {

/// A test sink whose writes wait at a gate until the test opens it.
struct gate {
  std::mutex mtx;
  std::condition_variable cv;
  bool open = false;
  std::atomic<uint64_t> rows{0};
  std::atomic<int> waiting{0};
};

class gated_sink : public table_sink {
 public:
  explicit gated_sink(std::shared_ptr<gate> g) : g_(std::move(g)) {}
  caf::error open() override { return {}; }
  caf::error write(const columnar::row_batch& rows) override {
    std::unique_lock guard{g_->mtx};
    ++g_->waiting;
    g_->cv.wait(guard, [this] { return g_->open; });
    --g_->waiting;
    g_->rows += rows.active_rows();
    return {};
  }

 private:
  std::shared_ptr<gate> g_;
};

} // namespace

TEST_CASE("a sink that does not keep up holds the scan back (credit), and "
          "gets every row once it does",
          "[job][sql]") {
  auto g = std::make_shared<gate>();
  auto reg = table_registry::builtin();
  table_sink_type t;
  t.name = "gated";
  t.help = "test: writes wait at a gate";
  t.blocking = true;
  t.make = [g](const table_context&,
               const sluice::options&) -> caf::expected<table_sink_ptr> {
    return table_sink_ptr{std::make_unique<gated_sink>(g)};
  };
  reg.add(std::move(t));
  sql::compile_options co;
  std::vector<sql::sql_diagnostic> diags;
  std::string text = R"(
CREATE TABLE bid (auction BIGINT, bidder BIGINT, price BIGINT,
  channel VARCHAR, url VARCHAR, `dateTime` TIMESTAMP(3), extra VARCHAR)
  WITH ('connector' = 'nexmark', 'table' = 'bid', 'events.num' = '1000000');
CREATE TABLE out (auction BIGINT, price BIGINT) WITH ('connector' = 'gated');
INSERT INTO out SELECT auction, price FROM bid;
)";
  auto script =
      sql::compile_script(text, "gated.sql", expr::function_registry::builtin(),
                          reg.infos(), co, diags);
  INFO(sql::render(diags, text));
  REQUIRE(script);
  auto runner = job_runner::make(std::move(script->jobs), reg);
  REQUIRE(runner);
  REQUIRE(!(*runner)->start());
  auto& m = (*runner)->metrics();
  auto scanned = [&] {
    return stage_metrics(m, "/scan").events_in;
  };
  // The sink's first write waits; the scan fills the sink's credit (4
  // batches of 4096 rows) and stops.
  REQUIRE(test::wait_for([&] { return g->waiting.load() == 1; },
                         std::chrono::seconds{20}));
  REQUIRE(test::wait_for([&] { return scanned() >= 4 * 4096; },
                         std::chrono::seconds{20}));
  // A bounded look: an unchecked scan would read hundreds of thousands of
  // rows in this time.
  std::this_thread::sleep_for(std::chrono::milliseconds{300});
  CHECK(scanned() == 4 * 4096);
  {
    std::lock_guard guard{g->mtx};
    g->open = true;
  }
  g->cv.notify_all();
  REQUIRE(!(*runner)->wait());
  CHECK(g->rows.load() == 920000);
  CHECK(scanned() == 920000);
}

TEST_CASE("job_runner::wait may be called from another thread than start",
          "[job][sql]") {
  auto jobs = test::compile_jobs(R"(
CREATE TABLE bid (auction BIGINT, bidder BIGINT, price BIGINT,
  channel VARCHAR, url VARCHAR, `dateTime` TIMESTAMP(3), extra VARCHAR)
  WITH ('connector' = 'nexmark', 'table' = 'bid', 'events.num' = '1000');
CREATE TABLE out (auction BIGINT) WITH ('connector' = 'blackhole');
INSERT INTO out SELECT auction FROM bid;
)",
                                 {});
  auto runner = job_runner::make(jobs);
  REQUIRE(runner);
  REQUIRE(!(*runner)->start());
  auto waited =
      std::async(std::launch::async, [&] { return (*runner)->wait(); });
  REQUIRE(waited.wait_for(std::chrono::seconds{30}) ==
          std::future_status::ready);
  CHECK(!waited.get());
  CHECK(stage_metrics((*runner)->metrics(), "/sink").events_in == 920);
}

TEST_CASE("a division by zero after an aggregate gives NULL and counts in "
          "the window operator's errors",
          "[job][sql]") {
  test::temp_dir dir;
  auto in = dir / "in.csv";
  write_file(in, "a,1,1970-01-01 00:00:01.000\n");
  auto out = dir / "out";
  fs::create_directories(out);
  auto jobs = test::compile_jobs(R"(
CREATE TABLE events (k STRING, v BIGINT, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)
  WITH ('connector' = 'filesystem', 'path' = '${env:IN}', 'format' = 'csv');
CREATE TABLE r (k STRING, q BIGINT)
  WITH ('connector' = 'filesystem', 'path' = '${env:OUT}', 'format' = 'csv');
INSERT INTO r
SELECT k, 10 / (COUNT(*) - 1)
FROM TABLE(TUMBLE(TABLE events, DESCRIPTOR(ts), INTERVAL '10' SECOND))
GROUP BY k, window_start, window_end;
)",
                                 {{"IN", in}, {"OUT", out + "/"}});
  auto runner = job_runner::make(jobs);
  REQUIRE(runner);
  REQUIRE(!(*runner)->start());
  REQUIRE(!(*runner)->wait());
  CHECK(test::sorted_lines_in(out) == std::vector<std::string>{"a,"});
  CHECK(stage_metrics((*runner)->metrics(), "/window_agg").errors == 1);
}

TEST_CASE("windows over PROCTIME() fire as the wall clock passes, on an "
          "unbounded source",
          "[job][sql]") {
  auto jobs = test::compile_jobs(R"(
CREATE TABLE bid (auction BIGINT, bidder BIGINT, price BIGINT,
  channel VARCHAR, url VARCHAR, `dateTime` TIMESTAMP(3), extra VARCHAR,
  pt AS PROCTIME())
  WITH ('connector' = 'nexmark', 'table' = 'bid', 'events.num' = '0',
        'rate' = '20000');
CREATE TABLE out (n BIGINT) WITH ('connector' = 'blackhole');
INSERT INTO out SELECT COUNT(*) FROM TABLE(TUMBLE(TABLE bid, DESCRIPTOR(pt),
  INTERVAL '1' SECOND)) GROUP BY window_start, window_end;
)",
                                 {});
  REQUIRE(jobs.size() == 1);
  CHECK(to_text(jobs[0]).find("processing-time watermark") !=
        std::string::npos);
  auto runner = job_runner::make(jobs);
  REQUIRE(runner);
  REQUIRE(!(*runner)->start());
  auto& m = (*runner)->metrics();
  // The source never ends: only the wall clock can close a window.
  REQUIRE(
      test::wait_for([&] { return stage_metrics(m, "/sink").events_in >= 2; },
                     std::chrono::seconds{20}));
  (*runner)->stop();
  CHECK(!(*runner)->wait());
  CHECK(sum_of(m, &metrics_snapshot::late_rows) == 0);
}
