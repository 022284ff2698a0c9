// Windows: TVFs in FROM, windowed GROUP BY, legacy GROUP BY TUMBLE(...),
// window joins, and their errors.
#include "tests/sql/unit/analyzer_fixture.hpp"

using namespace sluice;
using namespace sluice::sql;
using namespace sluice::sql::testing;
namespace ir = ::sluice::expr;
using wkind = ::sluice::window_kind;

TEST_CASE("a TUMBLE count per key: window_tvf under a windowed aggregate",
          "[analyzer]") {
  auto a = analyze_ok(R"(
CREATE TABLE out (auction BIGINT, window_start TIMESTAMP(3),
  window_end TIMESTAMP(3), n BIGINT) WITH ('connector' = 'filesystem', 'path' = 'o');
INSERT INTO out
SELECT auction, window_start, window_end, COUNT(*) AS n
FROM TABLE(TUMBLE(TABLE bid, DESCRIPTOR(`dateTime`), INTERVAL '10' SECOND))
WHERE price > 10
GROUP BY auction, window_start, window_end;)");
  auto& q = *a.script.inserts.at(0).query;
  require_compiles(q);
  CHECK(chain(q) == std::vector{rel_kind::project, rel_kind::aggregate,
                                rel_kind::filter, rel_kind::window_tvf,
                                rel_kind::scan});
  CHECK(q.append_only);
  auto& agg = *q.inputs[0];
  CHECK(agg.group_keys == std::vector<uint32_t>{0});
  CHECK(agg.window.kind == wkind::tumble);
  CHECK(agg.window.size_ms == 10'000);
  CHECK(agg.window.time_column == 5);
  CHECK(agg.window.start_column == 7);
  CHECK(agg.window.end_column == 8);
  CHECK(names(agg.out) == std::vector<std::string>{"auction", "window_start",
                                                   "window_end", "window_time",
                                                   "EXPR$AGG0"});
  CHECK(agg.out.rowtime == 3);
  auto& tvf = *agg.inputs[0]->inputs[0];
  CHECK(tvf.window.kind == wkind::tumble);
  CHECK(tvf.window.time_column == 5);
  CHECK(tvf.out.fields.size() == 10);
  CHECK(tvf.out.rowtime == 9);
  CHECK(tvf.out.fields[7].type == columnar::timestamp_type(false));
  CHECK(names(q.out) ==
        std::vector<std::string>{"auction", "window_start", "window_end", "n"});
}

TEST_CASE("HOP and CUMULATE sizes; SESSION partitions", "[analyzer]") {
  auto a = analyze_ok(R"(
CREATE TABLE out (a BIGINT, n BIGINT) WITH ('connector' = 'print');
INSERT INTO out SELECT auction, COUNT(*) FROM TABLE(
  HOP(TABLE bid, DESCRIPTOR(`dateTime`), INTERVAL '2' SECOND, INTERVAL '10' SECOND))
GROUP BY auction, window_start, window_end;
INSERT INTO out SELECT auction, COUNT(*) FROM TABLE(
  CUMULATE(TABLE bid, DESCRIPTOR(`dateTime`), INTERVAL '1' SECOND, INTERVAL '1' MINUTE))
GROUP BY window_start, window_end, auction;
INSERT INTO out SELECT auction, COUNT(*) FROM TABLE(
  SESSION(TABLE bid PARTITION BY auction, DESCRIPTOR(`dateTime`), INTERVAL '5' MINUTE))
GROUP BY auction, window_start, window_end;)");
  REQUIRE(a.script.inserts.size() == 3);
  auto& hop = a.script.inserts[0].query->inputs[0]->window;
  CHECK(hop.kind == wkind::hop);
  CHECK(hop.slide_ms == 2'000);
  CHECK(hop.size_ms == 10'000);
  auto& cum = a.script.inserts[1].query->inputs[0]->window;
  CHECK(cum.kind == wkind::cumulate);
  CHECK(cum.step_ms == 1'000);
  CHECK(cum.size_ms == 60'000);
  auto& ses = *a.script.inserts[2].query->inputs[0];
  CHECK(ses.window.kind == wkind::session);
  CHECK(ses.window.gap_ms == 300'000);
  CHECK(ses.window.partition_by == std::vector<uint32_t>{0});
  CHECK(ses.inputs[0]->window.partition_by == std::vector<uint32_t>{0});
  for (auto& i : a.script.inserts)
    require_compiles(*i.query);
}

TEST_CASE("window TVF argument errors at the argument's position",
          "[analyzer]") {
  auto a = analyze_text(std::string{nexmark_ddl} + R"(
CREATE TABLE out (a BIGINT, n BIGINT) WITH ('connector' = 'print');
INSERT INTO out SELECT auction, COUNT(*) FROM TABLE(
  HOP(TABLE bid, DESCRIPTOR(`dateTime`), INTERVAL '3' SECOND, INTERVAL '10' SECOND))
GROUP BY auction, window_start, window_end;
INSERT INTO out SELECT auction, COUNT(*) FROM TABLE(
  CUMULATE(TABLE bid, DESCRIPTOR(`dateTime`), INTERVAL '7' SECOND, INTERVAL '1' MINUTE))
GROUP BY auction, window_start, window_end;
INSERT INTO out SELECT auction, COUNT(*) FROM TABLE(
  TUMBLE(TABLE bid, DESCRIPTOR(price), INTERVAL '0' SECOND))
GROUP BY auction, window_start, window_end;
INSERT INTO out SELECT auction, COUNT(*) FROM TABLE(
  TUMBLE(TABLE bid, DESCRIPTOR(ts), 10))
GROUP BY auction, window_start, window_end;)");
  INFO(a.rendered());
  REQUIRE(a.diags.size() == 6);
  for (size_t i = 0; i < a.diags.size(); ++i)
    CHECK(a.diags[i].code ==
          (i == 4 ? diag_code::unknown_column : diag_code::bad_window));
  CHECK(a.diags[0].where.line == 20);
  CHECK(a.diags[0].where.column == 63);
  CHECK(a.diags[0].message ==
        "HOP size (10000 ms) must be a multiple of its slide (3000 ms)");
  CHECK(a.diags[1].where.line == 23);
  CHECK(a.diags[1].where.column == 68);
  CHECK(a.diags[1].message ==
        "CUMULATE size (60000 ms) must be a multiple of its step (7000 ms)");
  CHECK(a.diags[2].where.line == 26);
  CHECK(a.diags[2].where.column == 32);
  CHECK(a.diags[2].message ==
        "the window's time column 'price' must be TIMESTAMP(3), it is "
        "BIGINT");
  CHECK(a.diags[3].where.line == 26);
  CHECK(a.diags[3].where.column == 40);
  CHECK(a.diags[3].message == "the window size must be positive, got 0 ms");
  CHECK(a.diags[4].where.line == 29);
  CHECK(a.diags[4].where.column == 32);
  CHECK(a.diags[5].where.line == 29);
  CHECK(a.diags[5].where.column == 37);
  CHECK(render(a.diags[0], a.text) ==
        "test.sql:20:63: error: HOP size (10000 ms) must be a multiple of "
        "its slide (3000 ms)\n"
        "  HOP(TABLE bid, DESCRIPTOR(`dateTime`), INTERVAL '3' SECOND, "
        "INTERVAL '10' SECOND))\n"
        "                                                              "
        "^~~~~~~~~~~~~~~~~~~~");
}

TEST_CASE("legacy GROUP BY TUMBLE(ts, size) with TUMBLE_START and TUMBLE_END",
          "[analyzer]") {
  auto a = analyze_ok(R"(
CREATE TABLE out (auction BIGINT, s TIMESTAMP(3), e TIMESTAMP(3), r TIMESTAMP(3), n BIGINT)
  WITH ('connector' = 'print');
INSERT INTO out
SELECT auction, TUMBLE_START(`dateTime`, INTERVAL '10' SECOND),
  TUMBLE_END(`dateTime`, INTERVAL '10' SECOND),
  TUMBLE_ROWTIME(`dateTime`, INTERVAL '10' SECOND), COUNT(*)
FROM bid GROUP BY TUMBLE(`dateTime`, INTERVAL '10' SECOND), auction;
INSERT INTO out
SELECT auction, HOP_START(`dateTime`, INTERVAL '5' SECOND, INTERVAL '10' SECOND),
  HOP_END(`dateTime`, INTERVAL '5' SECOND, INTERVAL '10' SECOND),
  HOP_ROWTIME(`dateTime`, INTERVAL '5' SECOND, INTERVAL '10' SECOND), COUNT(*)
FROM bid GROUP BY auction, HOP(`dateTime`, INTERVAL '5' SECOND, INTERVAL '10' SECOND);)");
  REQUIRE(a.script.inserts.size() == 2);
  auto& q = *a.script.inserts[0].query;
  require_compiles(q);
  CHECK(chain(q) ==
        std::vector{rel_kind::project, rel_kind::aggregate, rel_kind::scan});
  auto& agg = *q.inputs[0];
  CHECK(agg.window.kind == wkind::tumble);
  CHECK(agg.window.size_ms == 10'000);
  CHECK(agg.window.time_column == 5);
  CHECK(agg.group_keys == std::vector<uint32_t>{0});
  CHECK(ir::to_string(q.exprs[1], agg.out) == "window_start");
  CHECK(ir::to_string(q.exprs[2], agg.out) == "window_end");
  CHECK(ir::to_string(q.exprs[3], agg.out) == "window_time");
  CHECK(q.out.rowtime == 3);
  auto& hop = *a.script.inserts[1].query->inputs[0];
  CHECK(hop.window.kind == wkind::hop);
  CHECK(hop.window.slide_ms == 5'000);

  auto b = analyze_text(std::string{nexmark_ddl} + R"(
CREATE TABLE out (s TIMESTAMP(3), n BIGINT) WITH ('connector' = 'print');
INSERT INTO out SELECT HOP_START(`dateTime`, INTERVAL '1' SECOND, INTERVAL '2' SECOND), COUNT(*)
FROM bid GROUP BY TUMBLE(`dateTime`, INTERVAL '10' SECOND);
INSERT INTO out SELECT TUMBLE_END(`dateTime`, INTERVAL '5' SECOND), COUNT(*)
FROM bid GROUP BY TUMBLE(`dateTime`, INTERVAL '10' SECOND);)");
  REQUIRE(b.diags.size() == 2);
  CHECK(b.diags[0].code == diag_code::bad_window);
  CHECK(b.diags[0].where.column == 24);
  CHECK(b.diags[0].message == "HOP_START needs GROUP BY HOP(...)");
  CHECK(b.diags[1].code == diag_code::bad_window);
  CHECK(b.diags[1].where.line == 21);
  CHECK(b.diags[1].message ==
        "the arguments of TUMBLE_END must be those of the GROUP BY "
        "TUMBLE(...) window");
}

TEST_CASE("Nexmark q5: HOP counts joined with the maximum per window",
          "[analyzer]") {
  auto a = analyze_ok(R"(
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
    AuctionBids.num >= MaxBids.maxn;)");
  auto& q = *a.script.inserts.at(0).query;
  require_compiles(q);
  CHECK(q.append_only);
  REQUIRE(q.kind == rel_kind::project);
  auto& join = *q.inputs[0];
  REQUIRE(join.kind == rel_kind::join);
  // AuctionBids: auction, num, starttime, endtime; MaxBids: maxn,
  // starttime, endtime.
  CHECK(join.left_keys == std::vector<uint32_t>{2, 3});
  CHECK(join.right_keys == std::vector<uint32_t>{1, 2});
  CHECK(join.window.kind == wkind::hop);
  REQUIRE(join.exprs.size() == 1);
  CHECK(ir::to_string(join.exprs[0], std::vector<std::string>{}) ==
        "($1 >= $4)");
  auto& left_agg = *join.inputs[0]->inputs[0];
  CHECK(left_agg.kind == rel_kind::aggregate);
  CHECK(left_agg.window.kind == wkind::hop);
  // The max per window: an aggregate over the first's window columns.
  auto& right = *join.inputs[1];
  REQUIRE(right.kind == rel_kind::project);
  auto& max_agg = *right.inputs[0];
  REQUIRE(max_agg.kind == rel_kind::aggregate);
  CHECK(max_agg.window.kind == wkind::inherited);
  CHECK(max_agg.group_keys.empty());
  CHECK(max_agg.window.start_column == 1);
  CHECK(max_agg.window.end_column == 2);
  CHECK(max_agg.window.time_column == 2); // CountBids has no window_time
  CHECK(join.window.start_column == 2);
  CHECK(join.window.time_column == 3);
  CHECK(max_agg.aggs.at(0).kind == agg_kind::max);
}

TEST_CASE("a window join of two TUMBLE TVFs (q7 in window-join form)",
          "[analyzer]") {
  auto a = analyze_ok(R"(
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
   AND B.price = B1.maxprice;)");
  auto& q = *a.script.inserts.at(0).query;
  require_compiles(q);
  auto& join = *q.inputs[0];
  REQUIRE(join.kind == rel_kind::join);
  CHECK(join.inputs[0]->kind == rel_kind::window_tvf);
  CHECK(join.left_keys == std::vector<uint32_t>{7, 8, 2});
  CHECK(join.right_keys == std::vector<uint32_t>{1, 2, 0});
  CHECK(join.exprs.empty());
  CHECK(join.window.kind == wkind::tumble);
  CHECK(join.window.time_column == 9); // B's window_time
  CHECK(join.out.fields.size() == 10 + 3);
}

TEST_CASE("joins other than window joins are refused with a reason",
          "[analyzer]") {
  auto a = analyze_text(std::string{nexmark_ddl} + R"(
CREATE TABLE out (a BIGINT) WITH ('connector' = 'print');
INSERT INTO out SELECT B.auction
from bid B
JOIN (
  SELECT MAX(price) AS maxprice, window_end as `dateTime`
  FROM TABLE(TUMBLE(TABLE bid, DESCRIPTOR(`dateTime`), INTERVAL '10' SECOND))
  GROUP BY window_start, window_end
) B1
ON B.price = B1.maxprice
WHERE B.`dateTime` BETWEEN B1.`dateTime` - INTERVAL '10' SECOND AND B1.`dateTime`;
INSERT INTO out SELECT p.id FROM person p LEFT JOIN auction a ON p.id = a.seller;
INSERT INTO out SELECT p.id FROM person p JOIN auction a ON p.id = a.seller;)");
  INFO(a.rendered());
  REQUIRE(a.diags.size() == 3);
  for (auto& d : a.diags)
    CHECK(d.code == diag_code::unsupported);
  CHECK_THAT(a.diags[0].message, Catch::StartsWith("an interval join"));
  CHECK(a.diags[0].where.line == 21);
  CHECK(a.diags[0].where.column == 1);
  CHECK_THAT(a.diags[1].message, Catch::StartsWith("LEFT JOIN"));
  CHECK_THAT(a.diags[2].message, Catch::StartsWith("a regular join"));
}
