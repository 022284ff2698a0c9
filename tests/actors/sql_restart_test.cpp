// SQL jobs under their restart strategy (`SET 'restart-strategy.type'`): a
// failed operator restarts the whole job from its sources' beginning, a
// file sink is cut back so that each row lands once, and the strategy's
// limits and permanent errors end the job with the failure.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "connectors/table_registry.hpp"
#include "engine/jobs.hpp"
#include "runtime/errors.hpp"
#include "tests/support/process.hpp"
#include "tests/support/sql_jobs.hpp"

using namespace sluice;

namespace {

/// What the `flaky` sink does, shared with the test.
struct flaky_control {
  /// Failures still to give; each is given on an instance's second write
  /// (after its first one reached the file).
  std::atomic<int> failures{0};
  bool permanent = false;
  std::atomic<int> opened{0};
};

/// A `filesystem` sink that fails on its second write while
/// `control.failures` is positive.
class flaky_sink : public table_sink {
 public:
  flaky_sink(table_sink_ptr inner, std::shared_ptr<flaky_control> control)
      : inner_(std::move(inner)), control_(std::move(control)) {}

  caf::error open() override {
    control_->opened.fetch_add(1);
    return inner_->open();
  }

  caf::error write(const columnar::row_batch& rows) override {
    if (auto err = inner_->write(rows))
      return err;
    if (auto err = inner_->flush())
      return err;
    if (++writes_ == 2 && control_->failures.fetch_sub(1) > 0) {
      auto err = make_error(connector_errc::io_error, "flaky sink: injected");
      return control_->permanent ? make_permanent(std::move(err)) : err;
    }
    return {};
  }

  caf::error flush() override { return inner_->flush(); }
  void close() override { inner_->close(); }

 private:
  table_sink_ptr inner_;
  std::shared_ptr<flaky_control> control_;
  int writes_ = 0;
};

table_registry flaky_registry(std::shared_ptr<flaky_control> control) {
  auto r = table_registry::builtin();
  auto t = filesystem_table_sink_type();
  t.name = "flaky";
  auto make = t.make;
  t.make = [make,
            control](const table_context& ctx,
                     const options& opts) -> caf::expected<table_sink_ptr> {
    auto inner = make(ctx, opts);
    if (!inner)
      return inner.error();
    return std::make_unique<flaky_sink>(std::move(*inner), control);
  };
  r.add(std::move(t));
  return r;
}

/// 40 rows, `k<i>,<i>`, read two per batch: the sink writes 20 times.
std::string input_rows() {
  std::string text;
  for (int i = 0; i < 40; ++i)
    text += "k" + std::to_string(i) + "," + std::to_string(i) + "\n";
  return text;
}

std::string script(const std::string& settings) {
  return settings + R"(
SET 'sluice.batch-rows' = '2';
CREATE TABLE src (k STRING, v BIGINT)
  WITH ('connector' = 'filesystem', 'path' = '${env:IN}', 'format' = 'csv');
CREATE TABLE out (k STRING, v BIGINT)
  WITH ('connector' = 'flaky', 'path' = '${env:OUT}', 'format' = 'csv');
INSERT INTO out SELECT k, v FROM src;
)";
}

struct run_result {
  caf::error error;
  std::vector<std::string> lines;
  uint64_t sink_restarts = 0;
  int opened = 0;
};

/// Runs the script over a fresh input into a file that already holds one
/// line from before the job.
run_result run(const std::string& settings,
               std::shared_ptr<flaky_control> control) {
  test::temp_dir dir;
  auto in = dir / "in.csv";
  auto out = dir / "out";
  test::write_file(in, input_rows());
  std::filesystem::create_directories(out);
  test::write_file(out + "/result.csv", "before,0\n");
  auto tables = flaky_registry(control);
  auto jobs = test::compile_jobs(
      script(settings), {{"IN", in}, {"OUT", out + "/result.csv"}}, 1, tables);
  auto runner = job_runner::make(jobs, tables);
  REQUIRE(runner);
  REQUIRE(!(*runner)->start());
  run_result r;
  r.error = (*runner)->wait();
  r.lines = test::sorted_lines_in(out);
  for (auto& s : (*runner)->metrics().snapshot())
    if (s.name.find("/sink out#") != std::string::npos)
      r.sink_restarts = s.restarts;
  r.opened = control->opened.load();
  return r;
}

std::vector<std::string> expected_lines() {
  std::vector<std::string> lines{"before,0"};
  for (int i = 0; i < 40; ++i)
    lines.push_back("k" + std::to_string(i) + "," + std::to_string(i));
  std::sort(lines.begin(), lines.end());
  return lines;
}

} // namespace

TEST_CASE("a failed job restarts under its restart strategy, and its file "
          "sink holds every row once",
          "[job][sql][restart]") {
  for (auto settings :
       {"SET 'restart-strategy.type' = 'fixed-delay';\n"
        "SET 'restart-strategy.fixed-delay.attempts' = '3';\n"
        "SET 'restart-strategy.fixed-delay.delay' = '10 ms';",
        "SET 'restart-strategy.type' = 'exponential-delay';\n"
        "SET 'restart-strategy.exponential-delay.initial-backoff' = '5 ms';",
        "SET 'restart-strategy' = 'failure-rate';\n"
        "SET 'restart-strategy.failure-rate.max-failures-per-interval' = '3';\n"
        "SET 'restart-strategy.failure-rate.delay' = '5 ms';"}) {
    INFO(settings);
    auto control = std::make_shared<flaky_control>();
    control->failures = 2;
    auto r = run(settings, control);
    CHECK(!r.error);
    // Two failed runs, then one that went through: three opens.
    CHECK(r.opened == 3);
    CHECK(r.sink_restarts == 2);
    // The rows the failed runs wrote were cut away; the line from before
    // the job stayed.
    CHECK(r.lines == expected_lines());
  }
}

TEST_CASE("a job's restart strategy gives up past its limit, and never "
          "restarts a permanent error or by default",
          "[job][sql][restart]") {
  auto control = std::make_shared<flaky_control>();
  control->failures = 5;
  SECTION("fixed-delay with 2 attempts: the third failure ends the job") {
    auto r = run("SET 'restart-strategy.type' = 'fixed-delay';\n"
                 "SET 'restart-strategy.fixed-delay.attempts' = '2';\n"
                 "SET 'restart-strategy.fixed-delay.delay' = '1 ms';",
                 control);
    REQUIRE(r.error);
    CHECK(describe(r.error).find("flaky sink: injected") != std::string::npos);
    CHECK(r.opened == 3);
    CHECK(r.sink_restarts == 2);
  }
  SECTION("no strategy: the first failure ends the job") {
    auto r = run("", control);
    REQUIRE(r.error);
    CHECK(r.opened == 1);
    CHECK(r.sink_restarts == 0);
  }
  SECTION("a permanent error is not restarted") {
    control->permanent = true;
    auto r = run("SET 'restart-strategy.type' = 'fixed-delay';\n"
                 "SET 'restart-strategy.fixed-delay.delay' = '1 ms';",
                 control);
    REQUIRE(r.error);
    CHECK(r.opened == 1);
  }
}
