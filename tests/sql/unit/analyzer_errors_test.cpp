// Every error of a script at once, rendered with its line and caret; the
// processing-time attribute.
#include "tests/sql/unit/analyzer_fixture.hpp"

using namespace sluice;
using namespace sluice::sql;
using namespace sluice::sql::testing;
using wkind = ::sluice::window_kind;

TEST_CASE("three errors in three statements give three diagnostics",
          "[analyzer]") {
  auto a =
      analyze_text(R"(CREATE TABLE src (k BIGINT, v BIGINT, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '1' SECOND
) WITH ('connector' = 'filesystem', 'path' = '${env:IN}');
CREATE TABLE dst (k BIGINT, n BIGINT) WITH ('connector' = 'filesystem', 'path' = 'out');
INSERT INTO dst SELECT k, COUNT(*) FROM src GROUP BY k;
INSERT INTO dst SELECT k, COUNT(*) FROM TABLE(
  HOP(TABLE src, DESCRIPTOR(ts), INTERVAL '4' SECOND, INTERVAL '6' SECOND))
GROUP BY k, window_start, window_end;
)");
  REQUIRE(a.diags.size() == 3);
  CHECK(a.rendered() ==
        "test.sql:3:47: error: environment variable IN is not set\n"
        ") WITH ('connector' = 'filesystem', 'path' = '${env:IN}');\n"
        "                                              ^~~~~~~~~\n"
        "test.sql:5:13: error: table 'dst' (connector 'filesystem') takes "
        "inserts only, but the query updates its rows (a GROUP BY without a "
        "window): use a window or a sink that takes updates\n"
        "INSERT INTO dst SELECT k, COUNT(*) FROM src GROUP BY k;\n"
        "            ^~~\n"
        "test.sql:7:55: error: HOP size (6000 ms) must be a multiple of its "
        "slide (4000 ms)\n"
        "  HOP(TABLE src, DESCRIPTOR(ts), INTERVAL '4' SECOND, INTERVAL '6' "
        "SECOND))\n"
        "                                                      "
        "^~~~~~~~~~~~~~~~~~~\n");
  CHECK(a.diags[0].code == diag_code::env_missing);
  CHECK(a.diags[1].code == diag_code::sink_no_updates);
  CHECK(a.diags[2].code == diag_code::bad_window);
  // The statements without errors are still bound.
  CHECK(a.script.tables.size() == 2);
  CHECK(a.script.inserts.empty());
}

TEST_CASE("an update stream goes into a sink that takes updates",
          "[analyzer]") {
  auto a = analyze_ok(R"(
CREATE TABLE counts (auction BIGINT, n BIGINT, PRIMARY KEY (auction) NOT ENFORCED)
  WITH ('connector' = 'upsert', 'path' = 'x');
INSERT INTO counts SELECT auction, COUNT(*) FROM bid GROUP BY auction;)");
  REQUIRE(a.script.inserts.size() == 1);
  CHECK_FALSE(a.script.inserts[0].query->append_only);
  CHECK(a.script.inserts[0].sink.primary_key == std::vector<uint32_t>{0});
}

TEST_CASE("PROCTIME() as a computed column drives a window",
          "[analyzer][catalog]") {
  auto a = analyze_text(R"(
CREATE TABLE src (k BIGINT, pt AS PROCTIME()) WITH ('connector' = 'filesystem', 'path' = 'p');
CREATE TABLE dst (k BIGINT, n BIGINT) WITH ('connector' = 'print');
INSERT INTO dst SELECT k, COUNT(*) FROM TABLE(
  TUMBLE(TABLE src, DESCRIPTOR(pt), INTERVAL '1' MINUTE))
GROUP BY k, window_start, window_end;)");
  INFO(a.rendered());
  REQUIRE(a.diags.empty());
  auto& src = a.script.tables[0];
  REQUIRE(src.computed.size() == 1);
  auto& pt = src.computed[0].second;
  CHECK(pt.nodes[pt.root].function == "PROCTIME");
  CHECK(pt.nodes[pt.root].type == columnar::timestamp_type(false));
  CHECK_FALSE(src.watermark);
  auto& agg = *a.script.inserts.at(0).query->inputs[0];
  CHECK(agg.window.kind == wkind::tumble);
  CHECK(agg.window.time_column == 1);
  require_compiles(*a.script.inserts[0].query);
}

TEST_CASE("a bare query, ORDER BY and writing into a source are refused",
          "[analyzer]") {
  auto a = analyze_text(std::string{nexmark_ddl} + R"(
SELECT auction FROM bid;
CREATE TABLE out (a BIGINT) WITH ('connector' = 'print');
INSERT INTO out SELECT auction FROM bid ORDER BY auction;
INSERT INTO bid SELECT * FROM bid;
INSERT INTO out SELECT a FROM out;)");
  INFO(a.rendered());
  REQUIRE(a.diags.size() == 4);
  for (auto& d : a.diags)
    CHECK(d.code == diag_code::unsupported);
  CHECK(a.diags[0].where.line == 18);
  CHECK_THAT(a.diags[1].message, Catch::Contains("ORDER BY"));
  CHECK_THAT(a.diags[2].message, Catch::Contains("only reads"));
  CHECK_THAT(a.diags[3].message, Catch::Contains("only writes"));
}
