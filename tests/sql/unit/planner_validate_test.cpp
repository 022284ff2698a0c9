// validate() on planned jobs: what it refuses, named.
#include "tests/sql/unit/planner_fixture.hpp"

using namespace sluice;
using namespace sluice::sql;
using namespace sluice::sql::testing;
using wkind = ::sluice::window_kind;

TEST_CASE("validate refuses what the engine could not run", "[job_spec]") {
  auto c = compile_ok(R"(
CREATE TABLE late (stage STRING, event_time TIMESTAMP(3),
  watermark TIMESTAMP(3), row_text STRING) WITH ('connector' = 'print');
CREATE TABLE out (auction BIGINT, n BIGINT) WITH ('connector' = 'print');
SET 'sluice.late-rows.table' = 'late';
INSERT INTO out SELECT auction, COUNT(*) FROM TABLE(
  SESSION(TABLE bid PARTITION BY auction, DESCRIPTOR(`dateTime`), INTERVAL '1' MINUTE))
GROUP BY auction, window_start, window_end;)",
                      compile_options{2, {}, {}, {}});
  auto good = c.jobs.at(0);
  REQUIRE(kinds(good) ==
          std::vector<std::string>{"scan", "window", "sink", "sink"});
  auto& sw = core<window_stage>(good.stages[1]).window;
  CHECK(sw.kind == wkind::session);
  CHECK(sw.gap_ms == 60'000);
  CHECK(sw.partition_by == std::vector<uint32_t>{0});
  CHECK(sw.time_column == 1); // after pruning: auction, dateTime
  auto problems = [](const job_spec& j) {
    std::string out;
    for (auto& p : validate(j))
      out += p + "\n";
    return out;
  };
  CHECK(problems(good).empty());
  SECTION("an edge from a later stage") {
    auto j = good;
    j.stages[1].inputs[0].from_stage = 2;
    CHECK_THAT(problems(j), Catch::Contains("does not come before"));
  }
  SECTION("a hash edge without keys") {
    auto j = good;
    j.stages[1].inputs[0].keys.clear();
    CHECK_THAT(problems(j), Catch::Contains("hash edge from stage 0 without "
                                            "keys"));
  }
  SECTION("a sink without input that no stage sends late rows to") {
    auto j = good;
    std::get<window_stage>(j.stages[1].core).late_stage = -1;
    CHECK_THAT(problems(j), Catch::Contains("stage 3 (late late): no input"));
  }
  SECTION("late rows to a stage that is no sink") {
    auto j = good;
    std::get<window_stage>(j.stages[1].core).late_stage = 0;
    CHECK_THAT(problems(j), Catch::Contains("which is no sink"));
  }
  SECTION("a forward edge between different parallelisms") {
    auto j = good;
    j.stages[2].parallelism = 1;
    CHECK_THAT(problems(j), Catch::Contains("forward edge from stage 1"));
  }
}

TEST_CASE("validate checks a join's window columns", "[job_spec]") {
  auto c = compile_ok(R"(
CREATE TABLE nexmark_q5 (auction BIGINT, num BIGINT) WITH ('connector' = 'blackhole');
INSERT INTO nexmark_q5
SELECT A.auction, A.num FROM (
  SELECT auction, COUNT(*) AS num, window_start, window_end
  FROM TABLE(TUMBLE(TABLE bid, DESCRIPTOR(`dateTime`), INTERVAL '10' SECOND))
  GROUP BY auction, window_start, window_end) A
JOIN (
  SELECT COUNT(*) AS total, window_start, window_end
  FROM TABLE(TUMBLE(TABLE bid, DESCRIPTOR(`dateTime`), INTERVAL '10' SECOND))
  GROUP BY window_start, window_end) T
ON A.window_start = T.window_start AND A.window_end = T.window_end;)");
  auto j = c.jobs.at(0);
  auto& jn = std::get<join_stage>(j.stages.at(4).core);
  CHECK(jn.left_window == std::pair<uint32_t, uint32_t>{2, 3});
  CHECK(jn.right_window == std::pair<uint32_t, uint32_t>{1, 2});
  CHECK(validate(j).empty());
  jn.right_window.second = 9;
  auto problems = validate(j);
  REQUIRE(problems.size() == 1);
  CHECK_THAT(problems[0], Catch::Contains("window columns (1, 9) of port 1"));
}
