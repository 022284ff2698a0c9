// Edge cases: NULLs, global aggregates, a window column alone in GROUP BY,
// broken views, scripts that mix errors and good statements.
#include "tests/sql/unit/analyzer_fixture.hpp"

using namespace sluice;
using namespace sluice::sql;
using namespace sluice::sql::testing;
namespace ir = ::sluice::expr;
using wkind = ::sluice::window_kind;

TEST_CASE("NULL into a typed column is cast; an untyped NULL aggregate is "
          "refused",
          "[analyzer]") {
  auto a = analyze_text(std::string{nexmark_ddl} + R"(
CREATE TABLE out (a BIGINT, b STRING) WITH ('connector' = 'print');
INSERT INTO out SELECT NULL, CASE WHEN price > 1 THEN 'x' END FROM bid;
INSERT INTO out SELECT MIN(NULL), 'y' FROM bid;)");
  INFO(a.rendered());
  REQUIRE(a.diags.size() == 1);
  CHECK(a.diags[0].code == diag_code::type_mismatch);
  CHECK(a.diags[0].where.line == 20);
  REQUIRE(a.script.inserts.size() == 1);
  auto& q = *a.script.inserts[0].query;
  require_compiles(q);
  CHECK(q.out.fields[0].type == columnar::int64_type());
  CHECK(q.out.fields[1].type == columnar::string_type());
}

TEST_CASE("a global aggregate, and window_start alone as a key, are "
          "non-windowed",
          "[analyzer]") {
  auto a = analyze_ok(R"(
CREATE TABLE out (n BIGINT) WITH ('connector' = 'print');
CREATE TABLE out2 (s TIMESTAMP(3), n BIGINT) WITH ('connector' = 'print');
INSERT INTO out SELECT COUNT(*) FROM bid HAVING COUNT(*) > 0;
INSERT INTO out2 SELECT window_start, COUNT(*)
FROM TABLE(TUMBLE(TABLE bid, DESCRIPTOR(`dateTime`), INTERVAL '1' SECOND))
GROUP BY window_start;)");
  REQUIRE(a.script.inserts.size() == 2);
  auto& global = *a.script.inserts[0].query;
  CHECK(chain(global) == std::vector{rel_kind::project, rel_kind::filter,
                                     rel_kind::aggregate, rel_kind::scan});
  CHECK(global.inputs[0]->inputs[0]->group_keys.empty());
  CHECK_FALSE(global.append_only);
  auto& by_start = *a.script.inserts[1].query->inputs[0];
  CHECK(by_start.kind == rel_kind::aggregate);
  CHECK(by_start.window.kind == wkind::none);
  CHECK(by_start.group_keys == std::vector<uint32_t>{7});
  CHECK_FALSE(by_start.append_only);
  for (auto& i : a.script.inserts)
    require_compiles(*i.query);
}

TEST_CASE("a view with errors is reported once, not at each use",
          "[analyzer]") {
  auto a = analyze_text(std::string{nexmark_ddl} + R"(
CREATE VIEW broken AS SELECT nope FROM bid;
CREATE TABLE out (a BIGINT) WITH ('connector' = 'print');
INSERT INTO out SELECT * FROM broken;
INSERT INTO out SELECT * FROM broken;
CREATE VIEW broken AS SELECT auction FROM bid;)");
  INFO(a.rendered());
  REQUIRE(a.diags.size() == 2);
  CHECK(a.diags[0].code == diag_code::unknown_column);
  CHECK(a.diags[0].where.line == 18);
  CHECK(a.diags[1].code == diag_code::unknown_table);
  CHECK(a.diags[1].where.line == 22);
  CHECK(a.script.inserts.empty());
}

TEST_CASE("a window over a view and a computed group key", "[analyzer]") {
  auto a = analyze_ok(R"(
CREATE VIEW priced AS SELECT auction, price * 2 AS p2, `dateTime` FROM bid;
CREATE TABLE out (k BIGINT, s TIMESTAMP(3), n BIGINT, total BIGINT)
  WITH ('connector' = 'print');
INSERT INTO out
SELECT MOD(auction, 10), window_start, COUNT(*), SUM(p2 + 1)
FROM TABLE(TUMBLE(TABLE priced, DESCRIPTOR(`dateTime`), INTERVAL '1' MINUTE))
GROUP BY window_start, window_end, MOD(auction, 10);)");
  auto& q = *a.script.inserts.at(0).query;
  require_compiles(q);
  auto& agg = *q.inputs[0];
  REQUIRE(agg.kind == rel_kind::aggregate);
  CHECK(agg.window.kind == wkind::tumble);
  CHECK(agg.window.time_column == 2);
  // The view's 3 columns, the TVF's 3, then SUM's argument and the key.
  auto& pre = *agg.inputs[0];
  REQUIRE(pre.kind == rel_kind::project);
  CHECK(pre.out.fields.size() == 8);
  CHECK(agg.group_keys == std::vector<uint32_t>{7});
  CHECK(agg.aggs.at(1).arg == 6);
  CHECK(pre.out.rowtime == 5);
  CHECK(names(agg.out) == std::vector<std::string>{"EXPR$0", "window_start",
                                                   "window_end", "window_time",
                                                   "EXPR$AGG0", "EXPR$AGG1"});
}
