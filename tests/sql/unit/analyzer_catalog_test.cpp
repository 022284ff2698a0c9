// CREATE TABLE into the catalog: types, computed columns, watermark, primary
// key, WITH options and ${env:NAME}; CREATE VIEW and SET.
#include <algorithm>

#include "runtime/job/job_spec.hpp"
#include "sql/restart_settings.hpp"
#include "tests/sql/unit/analyzer_fixture.hpp"

using namespace sluice;
using namespace sluice::sql;
using namespace sluice::sql::testing;

TEST_CASE("the Nexmark DDL binds into three tables with rowtimes",
          "[analyzer][catalog]") {
  auto a = analyze_ok("");
  REQUIRE(a.script.tables.size() == 3);
  auto& bid = a.script.tables[2];
  CHECK(bid.name == "bid");
  CHECK(bid.connector == "nexmark");
  CHECK(bid.options == std::map<std::string, std::string>{{"table", "bid"}});
  CHECK(names(bid.physical) ==
        std::vector<std::string>{"auction", "bidder", "price", "channel", "url",
                                 "dateTime", "extra"});
  CHECK(bid.physical.fields[5].type == columnar::timestamp_type());
  REQUIRE(bid.watermark);
  auto& wm = *bid.watermark;
  CHECK(wm.nodes[wm.root].type.id == columnar::type_id::timestamp);
  CHECK(::sluice::expr::to_string(wm, bid.physical) ==
        "(dateTime - INTERVAL '4000' MILLISECOND)");
}

TEST_CASE("computed columns, PROCTIME and the primary key",
          "[analyzer][catalog]") {
  auto a = analyze_text(
      R"(CREATE TABLE app_log (
  line STRING,
  host AS SPLIT_INDEX(line, ',', 0),
  amount AS CAST(SPLIT_INDEX(line, ',', 1) AS BIGINT),
  ts AS TO_TIMESTAMP(SPLIT_INDEX(line, ',', 2)),
  pt AS PROCTIME(),
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH ('connector' = 'filesystem', 'path' = '/in', 'format' = 'csv');
CREATE TABLE per_host (
  host VARCHAR, window_start TIMESTAMP(3), lines BIGINT,
  PRIMARY KEY (host, window_start) NOT ENFORCED
) WITH ('connector' = 'upsert', 'path' = 'x');
SET 'parallelism.default' = '2';
)",
      analyze_options{
          {{"parallelism.default", "4"}, {"sluice.batch-rows", "512"}}, {}});
  INFO(a.rendered());
  REQUIRE(a.diags.empty());
  REQUIRE(a.script.tables.size() == 2);
  auto& log = a.script.tables[0];
  CHECK(names(log.physical) == std::vector<std::string>{"line"});
  REQUIRE(log.computed.size() == 4);
  CHECK(log.computed[0].first == "host");
  CHECK(log.computed[1].second.nodes[log.computed[1].second.root].type ==
        columnar::int64_type());
  CHECK(log.computed[3].second.nodes[log.computed[3].second.root].type ==
        columnar::timestamp_type(false));
  REQUIRE(log.watermark);
  auto& out = a.script.tables[1];
  CHECK(out.primary_key == std::vector<uint32_t>{0, 1});
  CHECK_FALSE(out.physical.fields[0].type.nullable);
  // --set wins over SET; other settings kept.
  CHECK(a.script.settings ==
        std::map<std::string, std::string>{{"parallelism.default", "4"},
                                           {"sluice.batch-rows", "512"}});
}

TEST_CASE("the rowtime is marked in what queries see of a table",
          "[analyzer][catalog]") {
  auto a = analyze_ok(R"(
CREATE TABLE out (a BIGINT, t TIMESTAMP(3)) WITH ('connector' = 'print');
INSERT INTO out SELECT auction, `dateTime` FROM bid;)");
  REQUIRE(a.script.inserts.size() == 1);
  auto& q = *a.script.inserts[0].query;
  CHECK(q.out.rowtime == 1);
  REQUIRE(q.inputs.size() == 1);
  CHECK(q.inputs[0]->kind == rel_kind::scan);
  CHECK(q.inputs[0]->out.rowtime == 5);
  CHECK(q.inputs[0]->table == 2);
}

TEST_CASE("${env:NAME} is substituted through the injected getenv",
          "[analyzer][catalog]") {
  analyze_options opts;
  opts.getenv = [](std::string_view name) -> std::optional<std::string> {
    if (name == "DIR")
      return std::string{"/data"};
    return std::nullopt;
  };
  auto a = analyze_text(
      "CREATE TABLE t (a BIGINT) WITH ('connector' = 'filesystem',\n"
      "  'path' = '${env:DIR}/in-${env:DIR}.csv', 'format' = 'csv');\n"
      "CREATE TABLE u (a BIGINT) WITH ('connector' = 'filesystem',\n"
      "  'path' = 'x/${env:NOPE}');\n"
      "SET 'k' = '${env:DIR}';\n",
      opts);
  REQUIRE(a.diags.size() == 1);
  CHECK(a.diags[0].code == diag_code::env_missing);
  CHECK(a.diags[0].where.line == 4);
  CHECK(a.diags[0].where.column == 15);
  CHECK(render(a.diags[0], a.text) ==
        "test.sql:4:15: error: environment variable NOPE is not set\n"
        "  'path' = 'x/${env:NOPE}');\n"
        "              ^~~~~~~~~~~");
  CHECK(a.script.tables[0].options.at("path") == "/data/in-/data.csv");
  CHECK(a.script.settings.at("k") == "/data");
}

TEST_CASE("WITH options are checked against the connector's specs",
          "[analyzer][catalog]") {
  auto a = analyze_text(
      "CREATE TABLE a (x INT) WITH ('connector' = 'filesystem', 'format' = "
      "'csv');\n"
      "CREATE TABLE b (x INT) WITH ('connector' = 'kafka');\n"
      "CREATE TABLE c (x INT) WITH ('connector' = 'print', 'colour' = "
      "'red');\n"
      "CREATE TABLE d (x INT) WITH ('connector' = 'filesystem', 'path' = "
      "'p', 'format' = 'xml');\n"
      "CREATE TABLE e (x INT) WITH ('connector' = 'nexmark', 'table' = "
      "'bid', 'events.num' = 'many');\n"
      "CREATE TABLE f (x INT);\n");
  REQUIRE(a.diags.size() == 6);
  for (auto& d : a.diags)
    CHECK(d.code == diag_code::bad_option);
  // Missing required option: at the 'connector' key.
  CHECK(a.diags[0].where.line == 1);
  CHECK(a.diags[0].where.column == 30);
  CHECK(a.diags[0].message == "connector 'filesystem' requires option 'path'");
  // Unknown connector: at its value.
  CHECK(a.diags[1].where.column == 44);
  CHECK_THAT(a.diags[1].message,
             Catch::StartsWith("unknown connector 'kafka'"));
  // Unknown option: at its key.
  CHECK(a.diags[2].where.column == 53);
  CHECK_THAT(a.diags[2].message,
             Catch::Contains("has no option 'colour' (it takes: "
                             "print-identifier)"));
  // Bad values: at the value.
  CHECK(a.diags[3].where.line == 4);
  CHECK(a.diags[3].where.column == 83);
  CHECK_THAT(a.diags[3].message, Catch::Contains("must be one of csv, json"));
  CHECK(a.diags[4].where.line == 5);
  CHECK_THAT(a.diags[4].message, Catch::Contains("must be an integer"));
  CHECK(a.diags[5].where.line == 6);
  CHECK_THAT(a.diags[5].message, Catch::Contains("no 'connector' option"));
}

TEST_CASE("DDL errors: duplicate names, watermark and key columns",
          "[analyzer][catalog]") {
  auto a = analyze_text(
      "CREATE TABLE t (a BIGINT, ts BIGINT,\n"
      "  WATERMARK FOR ts AS ts - 5) WITH ('connector' = 'blackhole');\n"
      "CREATE TABLE t (a BIGINT) WITH ('connector' = 'blackhole');\n"
      "CREATE TABLE IF NOT EXISTS t (a BIGINT) WITH ('connector' = "
      "'blackhole');\n"
      "CREATE TABLE u (a BIGINT, b AS nope + 1,\n"
      "  WATERMARK FOR c AS c, PRIMARY KEY (z) NOT ENFORCED)\n"
      "  WITH ('connector' = 'blackhole');\n");
  INFO(a.rendered());
  REQUIRE(a.diags.size() == 5);
  CHECK(a.diags[0].code == diag_code::type_mismatch);
  CHECK(a.diags[0].where.line == 2);
  CHECK(a.diags[0].where.column == 17);
  CHECK(a.diags[0].message ==
        "WATERMARK FOR 'ts': the column must be TIMESTAMP(3), it is BIGINT");
  CHECK(a.diags[1].code == diag_code::unknown_table);
  CHECK(a.diags[1].where.line == 3);
  CHECK_THAT(a.diags[1].message,
             Catch::Contains("already declared (at line 1)"));
  CHECK(a.diags[2].code == diag_code::unknown_column);
  CHECK(a.diags[2].where.line == 5);
  CHECK(a.diags[2].where.column == 32);
  CHECK(a.diags[3].code == diag_code::unknown_column);
  CHECK(a.diags[3].where.line == 6);
  CHECK(a.diags[3].where.column == 17);
  CHECK(a.diags[4].code == diag_code::unknown_column);
  CHECK(a.diags[4].where.column == 38);
}

TEST_CASE("a view is expanded where it is used", "[analyzer][catalog]") {
  auto a = analyze_ok(R"(
CREATE VIEW cheap (a, p) AS SELECT auction, price FROM bid WHERE price < 100;
CREATE TABLE out (a BIGINT, p BIGINT) WITH ('connector' = 'print');
INSERT INTO out SELECT a, p FROM cheap;
INSERT INTO out SELECT c.a, c.p * 2 FROM cheap AS c;)");
  REQUIRE(a.script.inserts.size() == 2);
  for (auto& ins : a.script.inserts) {
    require_compiles(*ins.query);
    CHECK(chain(*ins.query).back() == rel_kind::scan);
    CHECK(ins.sink.name == "out");
  }
  // The first reads the view's projection as it is; the second projects it.
  CHECK(chain(*a.script.inserts[0].query) ==
        std::vector{rel_kind::project, rel_kind::filter, rel_kind::scan});
  CHECK(chain(*a.script.inserts[1].query) ==
        std::vector{rel_kind::project, rel_kind::project, rel_kind::filter,
                    rel_kind::scan});
  CHECK(names(a.script.inserts[0].query->out) ==
        std::vector<std::string>{"a", "p"});
}

TEST_CASE("settings the engine reads are checked, the late-rows table too",
          "[analyzer][catalog]") {
  analyze_options opts;
  opts.settings["sluice.batch-rows"] = "0";
  auto a = analyze_text(
      "SET 'parallelism.default' = 'two';\n"
      "SET 'table.exec.state.ttl' = '1 h';\n"
      "SET 'table.exec.source.idle-timeout' = 'soon';\n"
      "SET 'table.local-time-zone' = 'Europe/Paris';\n"
      "SET 'sluice.late-rows.table' = 'late';\n"
      "SET 'pipeline.name' = 'anything';\n"
      "CREATE TABLE late (stage STRING, event_time TIMESTAMP(3), row_text "
      "STRING) WITH ('connector' = 'print');\n",
      opts);
  INFO(a.rendered());
  REQUIRE(a.diags.size() == 5);
  for (auto& d : a.diags)
    CHECK(d.code == diag_code::bad_option);
  // In key order: the --set value has no place in the script.
  CHECK(a.diags[0].where.line == 1);
  CHECK(a.diags[0].where.column == 29);
  CHECK(a.diags[1].where.line == 0);
  CHECK(a.diags[1].where.file == "--set sluice.batch-rows");
  CHECK(a.diags[1].message ==
        "setting 'sluice.batch-rows' must be a positive integer, got '0'");
  CHECK(a.diags[2].where.line == 5);
  CHECK_THAT(a.diags[2].message,
             Catch::Contains("must be declared as (stage STRING, event_time "
                             "TIMESTAMP(3), watermark TIMESTAMP(3), row_text "
                             "STRING)"));
  CHECK(a.diags[3].where.line == 3);
  CHECK(a.diags[4].where.line == 4);
  CHECK(a.script.settings.at("table.exec.state.ttl") == "1 h");
  CHECK(a.script.settings.at("pipeline.name") == "anything");
}

TEST_CASE("restart-strategy settings are checked at their SET, typos too",
          "[analyzer][catalog][restart]") {
  auto a = analyze_text(
      "SET 'restart-strategy.type' = 'sometimes';\n"
      "SET 'restart-strategy.fixed-delay.attempts' = '-1';\n"
      "SET 'restart-strategy.fixed-delay.delay' = 'later';\n"
      "SET 'restart-strategy.exponential-delay.backoff-multiplier' = '0.5';\n"
      "SET 'restart-strategy.exponential-delay.jitter-factor' = '2';\n"
      "SET 'restart-strategy.fixed-delay.attemps' = '3';\n",
      {});
  INFO(a.rendered());
  REQUIRE(a.diags.size() == 6);
  std::vector<std::string> messages;
  for (auto& d : a.diags) {
    CHECK(d.code == diag_code::bad_option);
    messages.push_back(d.message);
  }
  auto has = [&](const std::string& text) {
    return std::any_of(messages.begin(), messages.end(),
                       [&](auto& m) { return m == text; });
  };
  CHECK(has("setting 'restart-strategy.type' must be 'none', 'fixed-delay', "
            "'failure-rate' or 'exponential-delay', got 'sometimes'"));
  CHECK(has("setting 'restart-strategy.fixed-delay.attempts' must be an "
            "integer from 0 to 2147483647, got '-1'"));
  CHECK(has("setting 'restart-strategy.fixed-delay.delay' must be a duration "
            "of at least 0 ms such as '10 s', got 'later'"));
  CHECK(has("setting 'restart-strategy.exponential-delay.backoff-multiplier' "
            "must be a number from 1 to 100, got '0.5'"));
  CHECK(has("setting 'restart-strategy.exponential-delay.jitter-factor' must "
            "be a number from 0 to 1, got '2'"));
  CHECK(has("setting 'restart-strategy.fixed-delay.attemps' is not a "
            "restart-strategy setting sluice knows"));
  for (auto& d : a.diags)
    if (d.message.find("attemps") != std::string::npos)
      CHECK(d.where.line == 6);
}

TEST_CASE("restart-strategy settings reach the job and its --explain text",
          "[planner][restart]") {
  std::map<std::string, std::string> set{
      {"restart-strategy.type", "Exponential-Delay"},
      {"restart-strategy.exponential-delay.initial-backoff", "2 s"},
      {"restart-strategy.exponential-delay.max-backoff", "30 s"},
      {"restart-strategy.exponential-delay.backoff-multiplier", "2"},
      {"restart-strategy.fixed-delay.attempts", "9"}};
  auto r = restart_strategy_of(set);
  CHECK(r.type == restart_strategy::kind::exponential_delay);
  CHECK(r.delay_ms == 2000);
  CHECK(r.max_delay_ms == 30'000);
  CHECK(r.multiplier == 2.0);
  // Another strategy's keys are checked but do not apply.
  CHECK(r.attempts == 1);
  job_spec j;
  j.name = "j";
  j.opts.restart = r;
  CHECK(to_text(j).starts_with("job j (parallelism 1, batch 4096 rows, "
                               "restarts: exponential-delay, 2000 ms x 2 up "
                               "to 30000 ms)"));
  CHECK(restart_strategy_of({}).type == restart_strategy::kind::none);
}

TEST_CASE("restart-strategy durations take Flink's spellings",
          "[planner][restart]") {
  auto r = restart_strategy_of(
      {{"restart-strategy.type", "failure-rate"},
       {"restart-strategy.failure-rate.failure-rate-interval", "5 min"},
       {"restart-strategy.failure-rate.delay", "10 seconds"}});
  CHECK(r.interval_ms == 300'000);
  CHECK(r.delay_ms == 10'000);
}
