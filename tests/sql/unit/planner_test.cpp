// The planner through compile_script: script text to job_specs.
#include "connectors/table_registry.hpp"
#include "sql/planner.hpp"
#include "tests/sql/unit/planner_fixture.hpp"

using namespace sluice;
using namespace sluice::sql;
using namespace sluice::sql::testing;
namespace ir = ::sluice::expr;
using wkind = ::sluice::window_kind;

TEST_CASE("Nexmark q0, q1, q2: one scan with fused steps and a sink",
          "[planner]") {
  auto c = compile_ok(R"(
CREATE TABLE q0_out (auction BIGINT, bidder BIGINT, price BIGINT,
  `dateTime` TIMESTAMP(3), extra VARCHAR) WITH ('connector' = 'blackhole');
CREATE TABLE q1_out (auction BIGINT, bidder BIGINT, price DECIMAL(23, 3),
  `dateTime` TIMESTAMP(3), extra VARCHAR) WITH ('connector' = 'blackhole');
CREATE TABLE q2_out (auction BIGINT, price BIGINT)
  WITH ('connector' = 'blackhole');
INSERT INTO q0_out SELECT auction, bidder, price, `dateTime`, extra FROM bid;
INSERT INTO q1_out
SELECT auction, bidder, 0.908 * price as price, `dateTime`, extra FROM bid;
INSERT INTO q2_out SELECT auction, price FROM bid WHERE MOD(auction, 123) = 0;
)");
  REQUIRE(c.jobs.size() == 3);
  CHECK(c.notes.empty());
  for (auto& j : c.jobs) {
    CHECK(kinds(j) == std::vector<std::string>{"scan", "sink"});
    CHECK(j.opts.parallelism == 1);
    auto& scan = j.stages[0];
    CHECK(scan.name == "scan bid");
    CHECK(core<scan_stage>(scan).table.name == "bid");
    CHECK(core<scan_stage>(scan).table.watermark.has_value());
    CHECK(core<scan_stage>(scan).watermark_step == 0);
    auto& sink = j.stages[1];
    CHECK(sink.name == "sink " + j.name);
    REQUIRE(sink.inputs.size() == 1);
    CHECK(sink.inputs[0].from_stage == 0);
    CHECK(sink.inputs[0].part == partitioning::forward);
    CHECK(sink.out == core<sink_stage>(sink).table.physical);
    CHECK(scan.out.fields.size() == sink.out.fields.size());
    CHECK_FALSE(core<sink_stage>(sink).upsert);
  }
  CHECK(c.jobs[0].name == "q0_out");
  auto& q0 = c.jobs[0].stages[0];
  REQUIRE(q0.pre.size() == 1);
  CHECK_FALSE(q0.pre[0].is_filter);
  CHECK(names(q0.pre[0].out) == std::vector<std::string>{"auction", "bidder",
                                                         "price", "dateTime",
                                                         "extra"});
  CHECK(q0.pre[0].out.rowtime == 3);
  auto& q1 = c.jobs[1].stages[0];
  REQUIRE(q1.pre.size() == 1);
  CHECK(
      ir::to_string(q1.pre[0].exprs[2], core<scan_stage>(q1).table.physical) ==
      "(0.908 * price)");
  CHECK(q1.out.fields[2].type == columnar::decimal_type(23, 3));
  auto& q2 = c.jobs[2].stages[0];
  REQUIRE(q2.pre.size() == 2);
  CHECK(q2.pre[0].is_filter);
  CHECK(
      ir::to_string(q2.pre[0].exprs[0], core<scan_stage>(q2).table.physical) ==
      "(MOD(auction, 123) = 0)");
  CHECK_FALSE(q2.pre[1].is_filter);
  CHECK(names(q2.out) == std::vector<std::string>{"auction", "price"});
}

TEST_CASE("a TUMBLE count per key: scan, window stage by the key, sink",
          "[planner]") {
  auto c = compile_ok(R"(
CREATE TABLE out (auction BIGINT, window_start TIMESTAMP(3),
  window_end TIMESTAMP(3), n BIGINT) WITH ('connector' = 'blackhole');
INSERT INTO out
SELECT auction, window_start, window_end, COUNT(*) AS n
FROM TABLE(TUMBLE(TABLE bid, DESCRIPTOR(`dateTime`), INTERVAL '10' SECOND))
WHERE price > 10
GROUP BY auction, window_start, window_end;)",
                      compile_options{4, {}, {}, {}});
  REQUIRE(c.jobs.size() == 1);
  auto& j = c.jobs[0];
  CHECK(kinds(j) == std::vector<std::string>{"scan", "window", "sink"});
  CHECK(j.opts.parallelism == 4);
  auto& scan = j.stages[0];
  CHECK(scan.parallelism == 4);
  REQUIRE(scan.pre.size() == 2); // WHERE, then only what the window reads
  CHECK(scan.pre[0].is_filter);
  CHECK(names(scan.out) == std::vector<std::string>{"auction", "dateTime"});
  CHECK(scan.out.rowtime == 1);
  auto& win = j.stages[1];
  CHECK(win.name == "window_agg#1");
  CHECK(win.parallelism == 4);
  REQUIRE(win.inputs.size() == 1);
  CHECK(win.inputs[0].part == partitioning::hash);
  CHECK(win.inputs[0].keys == std::vector<uint32_t>{0}); // auction
  CHECK(win.pre.empty());
  auto& w = core<window_stage>(win);
  CHECK(w.window.kind == wkind::tumble);
  CHECK(w.window.size_ms == 10'000);
  CHECK(w.window.time_column == 1); // bid.dateTime
  CHECK(w.keys == std::vector<uint32_t>{0});
  REQUIRE(w.aggs.size() == 1);
  CHECK(w.aggs[0].kind == agg_kind::count_star);
  CHECK(w.late_stage == -1);
  CHECK_FALSE(win.emits_updates);
  REQUIRE(win.post.size() == 1); // the SELECT list
  CHECK(names(win.out) ==
        std::vector<std::string>{"auction", "window_start", "window_end", "n"});
  auto& sink = j.stages[2];
  CHECK(sink.parallelism == 4);
  CHECK(sink.inputs.at(0).part == partitioning::forward);
}

TEST_CASE("a GROUP BY without a window: a group stage emitting updates",
          "[planner]") {
  auto c = compile_ok(R"(
CREATE TABLE out (auction BIGINT, n BIGINT, top BIGINT)
  WITH ('connector' = 'print');
SET 'table.exec.state.ttl' = '1h';
INSERT INTO out SELECT auction, COUNT(*), MAX(price) FROM bid
WHERE price > 0 GROUP BY auction HAVING COUNT(*) > 1;)",
                      compile_options{2, {}, {}, {}});
  auto& j = c.jobs.at(0);
  CHECK(kinds(j) == std::vector<std::string>{"scan", "group", "sink"});
  auto& g = j.stages[1];
  CHECK(g.name == "group_agg#1");
  CHECK(g.emits_updates);
  CHECK(g.inputs.at(0).part == partitioning::hash);
  CHECK(g.inputs.at(0).keys == std::vector<uint32_t>{0});
  auto& gc = core<group_stage>(g);
  CHECK(gc.keys == std::vector<uint32_t>{0});
  REQUIRE(gc.aggs.size() >= 2); // HAVING's COUNT(*) may be its own call
  CHECK(gc.aggs[1].kind == agg_kind::max);
  CHECK(gc.aggs[1].arg == 1); // bid.price, after auction
  auto& scan = j.stages[0];
  REQUIRE(scan.pre.size() == 2);
  CHECK(scan.pre[0].is_filter);
  CHECK(names(scan.out) == std::vector<std::string>{"auction", "price"});
  CHECK(gc.state_ttl_ms == 3'600'000);
  REQUIRE(g.post.size() == 2); // HAVING, then the SELECT list
  CHECK(g.post[0].is_filter);
  CHECK_FALSE(g.post[1].is_filter);
  auto& sink = j.stages[2];
  CHECK(core<sink_stage>(sink).upsert);
  CHECK(sink.inputs.at(0).part == partitioning::forward);
}

TEST_CASE("a global aggregate runs once; the sink follows by its key",
          "[planner]") {
  auto c = compile_ok(R"(
CREATE TABLE total (n BIGINT) WITH ('connector' = 'print');
CREATE TABLE keyed (id BIGINT, n BIGINT, PRIMARY KEY (id) NOT ENFORCED)
  WITH ('connector' = 'upsert', 'path' = 'k');
INSERT INTO total SELECT COUNT(*) FROM bid;
INSERT INTO keyed SELECT MAX(auction), COUNT(*) FROM bid;)",
                      compile_options{3, {}, {}, {}});
  REQUIRE(c.jobs.size() == 2);
  for (auto& j : c.jobs) {
    CHECK(kinds(j) == std::vector<std::string>{"scan", "group", "sink"});
    CHECK(j.stages[0].parallelism == 3);
    CHECK(j.stages[1].parallelism == 1);
    CHECK(j.stages[1].inputs.at(0).part == partitioning::single);
  }
  auto& s0 = c.jobs[0].stages[2];
  CHECK(s0.parallelism == 1);
  CHECK(s0.inputs.at(0).part == partitioning::single);
  auto& s1 = c.jobs[1].stages[2];
  CHECK(s1.parallelism == 3);
  CHECK(s1.inputs.at(0).part == partitioning::hash);
  CHECK(s1.inputs.at(0).keys == std::vector<uint32_t>{0});
}

TEST_CASE("Nexmark q5: a window join of the HOP counts and their maximum",
          "[planner]") {
  auto c = compile_ok(R"(
CREATE TABLE nexmark_q5 (auction BIGINT, num BIGINT) WITH ('connector' = 'blackhole');
INSERT INTO nexmark_q5
SELECT AuctionBids.auction, AuctionBids.num
 FROM (
   SELECT auction, count(*) AS num, window_start AS starttime, window_end AS endtime
   FROM TABLE(HOP(TABLE bid, DESCRIPTOR(`dateTime`), INTERVAL '2' SECOND, INTERVAL '10' SECOND))
   GROUP BY auction, window_start, window_end
 ) AS AuctionBids
 JOIN (
   SELECT max(CountBids.num) AS maxn, CountBids.starttime, CountBids.endtime
   FROM (
     SELECT count(*) AS num, window_start AS starttime, window_end AS endtime
     FROM TABLE(HOP(TABLE bid, DESCRIPTOR(`dateTime`), INTERVAL '2' SECOND, INTERVAL '10' SECOND))
     GROUP BY auction, window_start, window_end
   ) AS CountBids
   GROUP BY CountBids.starttime, CountBids.endtime
 ) AS MaxBids
 ON AuctionBids.starttime = MaxBids.starttime AND
    AuctionBids.endtime = MaxBids.endtime AND
    AuctionBids.num >= MaxBids.maxn;)",
                      compile_options{2, {}, {}, {}});
  auto& j = c.jobs.at(0);
  // No sub-plan reuse: the HOP aggregate is planned once per use.
  CHECK(kinds(j) == std::vector<std::string>{"scan", "window", "scan", "window",
                                             "window", "join", "sink"});
  REQUIRE(c.notes.size() == 1);
  CHECK_THAT(c.notes[0], Catch::Contains("reads table 'bid' 2 times"));
  auto& hop = core<window_stage>(j.stages[1]);
  CHECK(hop.window.kind == wkind::hop);
  CHECK(hop.window.slide_ms == 2'000);
  CHECK(hop.window.size_ms == 10'000);
  CHECK(names(j.stages[1].out) ==
        std::vector<std::string>{"auction", "num", "starttime", "endtime"});
  // The maximum per window: inherited windows, hashed on them.
  auto& mx = j.stages[4];
  auto& mw = core<window_stage>(mx);
  CHECK(mw.window.kind == wkind::inherited);
  CHECK(mw.keys.empty());
  CHECK(mw.window.start_column == 1);
  CHECK(mw.window.end_column == 2);
  CHECK(mx.parallelism == 2);
  CHECK(mx.inputs.at(0).from_stage == 3);
  CHECK(mx.inputs.at(0).part == partitioning::hash);
  CHECK(mx.inputs.at(0).keys == std::vector<uint32_t>{1, 2});
  auto& join = j.stages[5];
  CHECK(join.name == "window_join#5");
  REQUIRE(join.inputs.size() == 2);
  CHECK(join.inputs[0].from_stage == 1);
  CHECK(join.inputs[0].port == 0);
  CHECK(join.inputs[0].part == partitioning::hash);
  CHECK(join.inputs[0].keys == std::vector<uint32_t>{2, 3});
  CHECK(join.inputs[1].from_stage == 4);
  CHECK(join.inputs[1].port == 1);
  CHECK(join.inputs[1].keys == std::vector<uint32_t>{1, 2});
  auto& jc = core<join_stage>(join);
  CHECK(jc.left_window == std::pair<uint32_t, uint32_t>{2, 3});
  CHECK(jc.right_window == std::pair<uint32_t, uint32_t>{1, 2});
  REQUIRE(jc.residual);
  CHECK(ir::to_string(*jc.residual, core_output(j, join)) == "(num >= maxn)");
  CHECK(names(join.out) == std::vector<std::string>{"auction", "num"});
  CHECK(j.stages[6].inputs.at(0).part == partitioning::forward);
}

TEST_CASE("parallelism: --parallelism, else SET, else 1", "[planner]") {
  std::string_view text = R"(
SET 'parallelism.default' = '3';
CREATE TABLE out (auction BIGINT, n BIGINT) WITH ('connector' = 'print');
INSERT INTO out SELECT auction, COUNT(*) FROM TABLE(
  TUMBLE(TABLE bid, DESCRIPTOR(`dateTime`), INTERVAL '1' SECOND))
GROUP BY auction, window_start, window_end;)";
  auto pars = [](const compiled_script& c) {
    std::vector<uint32_t> out;
    for (auto& s : c.jobs.at(0).stages)
      out.push_back(s.parallelism);
    out.push_back(c.jobs.at(0).opts.parallelism);
    return out;
  };
  CHECK(pars(compile_ok(text)) == std::vector<uint32_t>{3, 3, 3, 3});
  CHECK(pars(compile_ok(text, compile_options{5, {}, {}, {}})) ==
        std::vector<uint32_t>{5, 5, 5, 5});
  CHECK(
      pars(compile_ok(
          text, compile_options{0, {{"parallelism.default", "2"}}, {}, {}})) ==
      std::vector<uint32_t>{2, 2, 2, 2});
  CHECK(pars(compile_ok(text.substr(text.find("CREATE")))) ==
        std::vector<uint32_t>{1, 1, 1, 1});
  auto c = compile_ok(
      text, compile_options{0,
                            {{"sluice.batch-rows", "1000"},
                             {"sluice.state.max-bytes", "1MiB"},
                             {"table.exec.source.idle-timeout", "5s"}},
                            {},
                            {}});
  auto& o = c.jobs.at(0).opts;
  CHECK(o.batch_rows == 1000);
  CHECK(o.state_max_bytes == 1u << 20);
  CHECK(o.idle_timeout_ms == 5'000);
  CHECK(core<scan_stage>(c.jobs[0].stages[0]).idle_timeout_ms == 5'000);
  CHECK(o.settings.at("parallelism.default") == "3");
}

TEST_CASE("computed columns are one projection before the watermark",
          "[planner]") {
  auto c = compile_ok(R"(
CREATE TABLE src (a BIGINT, ts TIMESTAMP(3), b AS a + 1, c AS b * 2,
  WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)
  WITH ('connector' = 'filesystem', 'path' = 'in');
CREATE TABLE out (c BIGINT) WITH ('connector' = 'blackhole');
INSERT INTO out SELECT c FROM src WHERE b > 2;)");
  auto& scan = c.jobs.at(0).stages.at(0);
  auto& sc = core<scan_stage>(scan);
  CHECK(sc.watermark_step == 1);
  REQUIRE(scan.pre.size() == 3);
  CHECK(names(scan.pre[0].out) ==
        std::vector<std::string>{"a", "ts", "b", "c"});
  CHECK(scan.pre[0].out.rowtime == 1);
  CHECK(ir::to_string(scan.pre[0].exprs[3], sc.table.physical) ==
        "((a + 1) * 2)");
  CHECK(scan.pre[1].is_filter);
  CHECK(names(scan.out) == std::vector<std::string>{"c"});
}

TEST_CASE("late rows go to the table SET names", "[planner]") {
  auto c = compile_ok(R"(
CREATE TABLE late (stage STRING, event_time TIMESTAMP(3),
  watermark TIMESTAMP(3), row_text STRING) WITH ('connector' = 'print');
CREATE TABLE out (auction BIGINT, n BIGINT) WITH ('connector' = 'print');
SET 'sluice.late-rows.table' = 'late';
INSERT INTO out SELECT auction, COUNT(*) FROM TABLE(
  TUMBLE(TABLE bid, DESCRIPTOR(`dateTime`), INTERVAL '1' SECOND))
GROUP BY auction, window_start, window_end;
INSERT INTO out SELECT auction, price FROM bid;)");
  REQUIRE(c.jobs.size() == 2);
  CHECK(c.jobs[1].name == "out#2");
  auto& j = c.jobs[0];
  CHECK(kinds(j) == std::vector<std::string>{"scan", "window", "sink", "sink"});
  CHECK(core<window_stage>(j.stages[1]).late_stage == 3);
  auto& late = j.stages[3];
  CHECK(late.name == "late late");
  CHECK(late.inputs.empty());
  CHECK(core<sink_stage>(late).table.name == "late");
  // A job without windows has no late rows.
  CHECK(kinds(c.jobs[1]) == std::vector<std::string>{"scan", "sink"});
}

TEST_CASE("a script with errors gives diagnostics and no job", "[planner]") {
  std::string script = std::string{nexmark_ddl} + R"(
CREATE TABLE out (a BIGINT) WITH ('connector' = 'print');
INSERT INTO out SELECT nope FROM bid;
INSERT INTO out SELECT auction FROM bid WHERE;
INSERT INTO out SELECT auction FROM bid;)";
  std::vector<sql_diagnostic> diags;
  auto c = compile_script(script, "test.sql", ir::function_registry::builtin(),
                          test_connectors(), {}, diags);
  REQUIRE_FALSE(c);
  CHECK(c.error() == make_error(sql_errc::invalid_script));
  REQUIRE(diags.size() == 2);
  CHECK(diags[0].code == diag_code::syntax); // parse errors come first
  CHECK(diags[0].where.line == 20);
  CHECK(diags[1].code == diag_code::unknown_column);
  CHECK(diags[1].where.line == 19);
}

TEST_CASE("a window join directly over a window TVF is refused with a "
          "reason",
          "[planner]") {
  std::string script = std::string{nexmark_ddl} + R"(
CREATE TABLE out (auction BIGINT, price BIGINT) WITH ('connector' = 'print');
INSERT INTO out SELECT B.auction, B.price
FROM TABLE(HOP(TABLE bid, DESCRIPTOR(`dateTime`), INTERVAL '5' SECOND, INTERVAL '10' SECOND)) B
JOIN (
  SELECT MAX(price) AS maxprice, window_start, window_end
  FROM TABLE(HOP(TABLE bid, DESCRIPTOR(`dateTime`), INTERVAL '5' SECOND, INTERVAL '10' SECOND))
  GROUP BY window_start, window_end
) B1
ON B.window_start = B1.window_start AND B.window_end = B1.window_end
   AND B.price = B1.maxprice;)";
  std::vector<sql_diagnostic> diags;
  auto c = compile_script(script, "test.sql", ir::function_registry::builtin(),
                          test_connectors(), {}, diags);
  INFO(render(diags, script));
  CHECK(diags.empty());
  REQUIRE_FALSE(c);
  CHECK(c.error() == make_error(sql_errc::bad_plan));
  CHECK_THAT(describe(c.error()), Catch::Contains("test.sql:21:"));
}

TEST_CASE("q7 in window-join form: TUMBLE columns computed in the scan",
          "[planner]") {
  auto c = compile_ok(R"(
CREATE TABLE nexmark_q7 (auction BIGINT, price BIGINT, bidder BIGINT,
  `dateTime` TIMESTAMP(3), extra VARCHAR) WITH ('connector' = 'blackhole');
INSERT INTO nexmark_q7
SELECT B.auction, B.price, B.bidder, B.window_end AS `dateTime`, B.extra
FROM (SELECT * FROM TABLE(TUMBLE(TABLE bid, DESCRIPTOR(`dateTime`), INTERVAL '10' SECOND))) B
JOIN (
  SELECT MAX(price) AS maxprice, window_start, window_end
  FROM TABLE(TUMBLE(TABLE bid, DESCRIPTOR(`dateTime`), INTERVAL '10' SECOND))
  GROUP BY window_start, window_end
) B1
ON B.window_start = B1.window_start AND B.window_end = B1.window_end
   AND B.price = B1.maxprice;)",
                      compile_options{2, {}, {}, {}});
  auto& j = c.jobs.at(0);
  CHECK(kinds(j) ==
        std::vector<std::string>{"scan", "scan", "window", "join", "sink"});
  auto& b = j.stages[0];
  REQUIRE(b.pre.size() == 1); // the window columns (SELECT * adds none)
  CHECK(b.pre[0].exprs.size() == 10);
  CHECK(names(b.out) == std::vector<std::string>{"auction", "bidder", "price",
                                                 "channel", "url", "dateTime",
                                                 "extra", "window_start",
                                                 "window_end", "window_time"});
  CHECK(b.out.fields[7].type.id == columnar::type_id::timestamp);
  auto& jc = core<join_stage>(j.stages[3]);
  CHECK(jc.left_keys == std::vector<uint32_t>{7, 8, 2});
  CHECK(jc.right_keys == std::vector<uint32_t>{1, 2, 0});
  CHECK(jc.left_window == std::pair<uint32_t, uint32_t>{7, 8});
  CHECK(jc.right_window == std::pair<uint32_t, uint32_t>{1, 2});
  CHECK(j.stages[3].inputs.at(0).keys == std::vector<uint32_t>{7, 8, 2});
  // The global maximum per window is hashed on its window columns.
  CHECK(j.stages[2].inputs.at(0).part == partitioning::single);
}

TEST_CASE("an INSERT of TUMBLE TVF rows computes the window columns",
          "[planner]") {
  auto c = compile_ok(R"(
CREATE TABLE out (auction BIGINT, ws TIMESTAMP(3), wt TIMESTAMP(3))
  WITH ('connector' = 'blackhole');
INSERT INTO out SELECT auction, window_start, window_time FROM TABLE(
  TUMBLE(TABLE bid, DESCRIPTOR(`dateTime`), INTERVAL '5' SECOND, INTERVAL '1' SECOND));)");
  auto& scan = c.jobs.at(0).stages.at(0);
  // The projection drops `dateTime`: the window columns are computed first.
  REQUIRE(scan.pre.size() == 2);
  CHECK(scan.pre[0].exprs.size() == 10);
  CHECK(names(scan.out) ==
        std::vector<std::string>{"auction", "window_start", "window_time"});
  CHECK(scan.out.fields[1].type.id == columnar::type_id::timestamp);
  CHECK(c.jobs[0].stages.at(1).inputs.at(0).part == partitioning::forward);
  // Evaluated: TUMBLE(5 s, offset 1 s) windows of a few times (ms).
  auto& phys = core<scan_stage>(scan).table.physical;
  columnar::row_batch b{columnar::make_schema(phys.fields)};
  std::vector<int64_t> times{-1, 0, 999, 1000, 5999, 6000, 12345};
  for (auto t : times)
    for (size_t k = 0; k < phys.size(); ++k) {
      auto id = phys.fields[k].type.id;
      if (k == 5)
        b.col(k).push<int64_t>(t);
      else if (id == columnar::type_id::int64)
        b.col(k).push<int64_t>(7);
      else
        b.col(k).push_str("x");
    }
  auto fns = ir::function_registry::builtin();
  auto column_of = [&](size_t e) {
    auto p = ir::program::compile(scan.pre[0].exprs.at(e), phys, fns);
    REQUIRE(p);
    ir::eval_context ctx;
    auto& col = p->eval(b, ctx);
    CHECK(ctx.errors == 0);
    std::vector<int64_t> out;
    for (size_t i = 0; i < col.size(); ++i)
      out.push_back(col.valid(i) ? col.value<int64_t>(i) : -999'999);
    return out;
  };
  CHECK(column_of(7) ==
        std::vector<int64_t>{-4000, -4000, -4000, 1000, 1000, 6000, 11000});
  CHECK(column_of(8) ==
        std::vector<int64_t>{1000, 1000, 1000, 6000, 6000, 11000, 16000});
  CHECK(column_of(9) ==
        std::vector<int64_t>{999, 999, 999, 5999, 5999, 10999, 15999});
}

TEST_CASE("expressions over TUMBLE window columns below the aggregate",
          "[planner]") {
  auto c = compile_ok(R"(
CREATE TABLE out (auction BIGINT, t TIMESTAMP(3)) WITH ('connector' = 'print');
CREATE TABLE counts (auction BIGINT, n BIGINT) WITH ('connector' = 'print');
INSERT INTO out SELECT auction, window_end - INTERVAL '1' SECOND FROM TABLE(
  TUMBLE(TABLE bid, DESCRIPTOR(`dateTime`), INTERVAL '10' SECOND))
WHERE window_start > TIMESTAMP '1970-01-01 00:00:10';
INSERT INTO counts SELECT auction, COUNT(*) FROM TABLE(
  TUMBLE(TABLE bid, DESCRIPTOR(`dateTime`), INTERVAL '10' SECOND))
WHERE window_start > TIMESTAMP '1970-01-01 00:00:10'
GROUP BY auction, window_start, window_end;)");
  REQUIRE(c.jobs.size() == 2);
  auto& a = c.jobs[0].stages.at(0);
  REQUIRE(a.pre.size() == 3); // window columns, WHERE, SELECT
  CHECK(a.pre[0].exprs.size() == 10);
  CHECK(a.pre[1].is_filter);
  CHECK(names(a.out) == std::vector<std::string>{"auction", "EXPR$1"});
  auto& b = c.jobs[1];
  CHECK(kinds(b) == std::vector<std::string>{"scan", "window", "sink"});
  auto& scan = b.stages[0];
  REQUIRE(scan.pre.size() == 3); // window columns, WHERE, pruning
  CHECK(scan.pre[1].is_filter);
  CHECK(names(scan.out) == std::vector<std::string>{"auction", "dateTime"});
  auto& w = core<window_stage>(b.stages[1]);
  CHECK(w.window.kind == wkind::tumble);
  CHECK(w.window.time_column == 1);
}

TEST_CASE("the explain text of a small job", "[explain]") {
  auto c = compile_ok(R"(
CREATE TABLE out (auction BIGINT, n BIGINT) WITH ('connector' = 'print');
INSERT INTO out SELECT auction, COUNT(*) AS n FROM TABLE(
  TUMBLE(TABLE bid, DESCRIPTOR(`dateTime`), INTERVAL '10' SECOND))
WHERE MOD(auction, 2) = 0
GROUP BY auction, window_start, window_end;)",
                      compile_options{2, {}, {}, {}});
  CHECK(to_text(c.jobs.at(0)) == R"(job out (parallelism 2, batch 4096 rows)
  [0] scan bid x2
      pre: filter -> (auction BIGINT, bidder BIGINT, price BIGINT, channel STRING, url STRING, dateTime TIMESTAMP(3) *ROWTIME*, extra STRING)
      pre: project -> (auction BIGINT, dateTime TIMESTAMP(3) *ROWTIME*)
      reads bid (nexmark), watermark
  [1] window_agg#1 x2
      <- [0] hash by (auction)
      TUMBLE(size 10000 ms) by (auction): COUNT(*)
      post: project -> (auction BIGINT, n BIGINT NOT NULL)
  [2] sink out x2
      <- [1] forward
      writes out (print)
)");
}

TEST_CASE("legacy GROUP BY TUMBLE, HOP and CUMULATE plan window stages",
          "[planner]") {
  auto c = compile_ok(R"(
CREATE TABLE out (a BIGINT, n BIGINT) WITH ('connector' = 'print');
INSERT INTO out SELECT auction, COUNT(*) FROM bid
GROUP BY auction, TUMBLE(`dateTime`, INTERVAL '10' SECOND);
INSERT INTO out SELECT bidder, SUM(price) FROM TABLE(
  HOP(TABLE bid, DESCRIPTOR(`dateTime`), INTERVAL '2' SECOND, INTERVAL '10' SECOND))
GROUP BY bidder, window_start, window_end;
INSERT INTO out SELECT auction, MAX(price) FROM TABLE(
  CUMULATE(TABLE bid, DESCRIPTOR(`dateTime`), INTERVAL '1' SECOND, INTERVAL '1' MINUTE))
GROUP BY window_start, window_end, auction;)",
                      compile_options{2, {}, {}, {}});
  REQUIRE(c.jobs.size() == 3);
  std::vector<wkind> want{wkind::tumble, wkind::hop, wkind::cumulate};
  for (size_t i = 0; i < 3; ++i) {
    auto& j = c.jobs[i];
    INFO(to_text(j));
    CHECK(kinds(j) == std::vector<std::string>{"scan", "window", "sink"});
    auto& w = core<window_stage>(j.stages[1]);
    CHECK(w.window.kind == want[i]);
    CHECK(w.keys == std::vector<uint32_t>{0});
    CHECK(j.stages[1].inputs.at(0).keys == std::vector<uint32_t>{0});
    // The scan sends the key, the argument (if any) and the time only.
    auto& out = j.stages[0].out;
    CHECK(out.fields.at(w.window.time_column).name == "dateTime");
    CHECK(out.size() == (i == 0 ? 2u : 3u));
  }
  auto& hop = core<window_stage>(c.jobs[1].stages[1]);
  CHECK(hop.window.slide_ms == 2'000);
  CHECK(hop.aggs.at(0).kind == agg_kind::sum);
  CHECK(c.jobs[1].stages[0].out.fields.at(hop.aggs[0].arg).name == "price");
  auto& cum = core<window_stage>(c.jobs[2].stages[1]);
  CHECK(cum.window.step_ms == 1'000);
  CHECK(cum.window.size_ms == 60'000);
  CHECK(c.jobs[2].name == "out#3");
}

TEST_CASE("a malformed bound plan is bad_plan, not a crash", "[planner]") {
  bound_script s;
  s.tables.push_back({});
  s.tables[0].name = "t";
  s.tables[0].physical.fields.push_back({"a", columnar::int64_type()});
  auto scan = [&](int32_t table) {
    auto r = std::make_unique<rel>();
    r->kind = rel_kind::scan;
    r->table = table;
    r->out = s.tables[0].physical;
    r->where = {"x.sql", 3, 7};
    return r;
  };
  bound_insert ins;
  ins.sink = s.tables[0];
  std::string expect;
  SECTION("a scan of an unknown table") {
    ins.query = scan(4);
    expect = "scan of unknown table 4";
  }
  SECTION("a well-formed plan passes (the fixture is sound)") {
    ins.query = scan(0);
  }
  SECTION("an aggregate over a column that is not there") {
    auto agg = std::make_unique<rel>();
    agg->kind = rel_kind::aggregate;
    agg->where = {"x.sql", 3, 7};
    agg->group_keys = {5};
    agg->inputs.push_back(scan(0));
    ins.query = std::move(agg);
    expect = "column 5 is not available";
  }
  SECTION("a filter without its predicate") {
    auto f = std::make_unique<rel>();
    f->kind = rel_kind::filter;
    f->where = {"x.sql", 3, 7};
    f->inputs.push_back(scan(0));
    ins.query = std::move(f);
    expect = "a filter without one predicate";
  }
  SECTION("a project whose column is out of range") {
    auto p = std::make_unique<rel>();
    p->kind = rel_kind::project;
    p->where = {"x.sql", 3, 7};
    ir::tree t;
    t.root = t.add_column(3, columnar::int64_type());
    p->exprs.push_back(std::move(t));
    p->out.fields.push_back({"a", columnar::int64_type()});
    p->inputs.push_back(scan(0));
    ins.query = std::move(p);
    expect = "column 3 outside its 1 input columns";
  }
  s.inserts.push_back(std::move(ins));
  auto r = plan_script(s, {});
  if (expect.empty()) {
    REQUIRE(r);
    CHECK(kinds(r->jobs.at(0)) == std::vector<std::string>{"scan", "sink"});
    return;
  }
  REQUIRE_FALSE(r);
  CHECK(r.error() == make_error(sql_errc::bad_plan));
  CHECK_THAT(describe(r.error()), Catch::Contains("x.sql:3:7: " + expect));
}

TEST_CASE("jobs reading a topic as one consumer group get a note",
          "[planner]") {
  std::string script =
      R"(CREATE TABLE o (line STRING) WITH ('connector' = 'topic',
  'topic' = 't', 'address' = '127.0.0.1:1', 'format' = 'raw',
  'properties.group.id' = 'g');
CREATE TABLE a (line STRING) WITH ('connector' = 'blackhole');
CREATE TABLE b (line STRING) WITH ('connector' = 'blackhole');
INSERT INTO a SELECT line FROM o;
INSERT INTO b SELECT line FROM o;)";
  std::vector<sql_diagnostic> diags;
  auto c = compile_script(script, "test.sql", ir::function_registry::builtin(),
                          table_registry::builtin().infos(), {}, diags);
  INFO(render(diags, script));
  REQUIRE(c);
  REQUIRE(c->notes.size() == 1);
  CHECK_THAT(c->notes[0],
             Catch::Contains("jobs a, b read topic t as the same consumer "
                             "group 'g'"));
}
