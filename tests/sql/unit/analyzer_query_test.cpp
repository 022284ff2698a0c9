// SELECT, WHERE, expressions, INSERT INTO and GROUP BY, bound into plans.
#include "tests/sql/unit/analyzer_fixture.hpp"

using namespace sluice;
using namespace sluice::sql;
using namespace sluice::sql::testing;
namespace ir = ::sluice::expr;

namespace {

const ir::node& root(const ir::tree& t) {
  return t.nodes[t.root];
}

} // namespace

TEST_CASE("Nexmark q0: a projection of bid", "[analyzer]") {
  auto a = analyze_ok(R"(
CREATE TABLE nexmark_q0 (auction BIGINT, bidder BIGINT, price BIGINT,
  `dateTime` TIMESTAMP(3), extra VARCHAR) WITH ('connector' = 'blackhole');
INSERT INTO nexmark_q0
SELECT auction, bidder, price, `dateTime`, extra FROM bid;)");
  REQUIRE(a.script.inserts.size() == 1);
  auto& ins = a.script.inserts[0];
  CHECK(ins.sink.name == "nexmark_q0");
  CHECK(ins.where.line == 20);
  auto& q = *ins.query;
  CHECK(chain(q) == std::vector{rel_kind::project, rel_kind::scan});
  CHECK(names(q.out) == std::vector<std::string>{"auction", "bidder", "price",
                                                 "dateTime", "extra"});
  REQUIRE(q.exprs.size() == 5);
  CHECK(root(q.exprs[3]).kind == ir::op::column);
  CHECK(root(q.exprs[3]).index == 5);
  CHECK(q.append_only);
  require_compiles(q);
}

TEST_CASE("Nexmark q1: 0.908 * price is DECIMAL(23, 3)", "[analyzer]") {
  auto a = analyze_ok(R"(
CREATE TABLE nexmark_q1 (auction BIGINT, bidder BIGINT,
  price DECIMAL(23, 3), `dateTime` TIMESTAMP(3), extra VARCHAR
) WITH ('connector' = 'blackhole');
INSERT INTO nexmark_q1
SELECT auction, bidder, 0.908 * price as price, `dateTime`, extra FROM bid;)");
  auto& q = *a.script.inserts.at(0).query;
  CHECK(chain(q) == std::vector{rel_kind::project, rel_kind::scan});
  CHECK(q.out.fields[2].name == "price");
  CHECK(q.out.fields[2].type == columnar::decimal_type(23, 3));
  CHECK(ir::to_string(q.exprs[2], q.inputs[0]->out) == "(0.908 * price)");
  require_compiles(q);
}

TEST_CASE("Nexmark q2: WHERE MOD(auction, 123) = 0", "[analyzer]") {
  auto a = analyze_ok(R"(
CREATE TABLE nexmark_q2 (auction BIGINT, price BIGINT)
  WITH ('connector' = 'blackhole');
INSERT INTO nexmark_q2 SELECT auction, price FROM bid
WHERE MOD(auction, 123) = 0;)");
  auto& q = *a.script.inserts.at(0).query;
  CHECK(chain(q) ==
        std::vector{rel_kind::project, rel_kind::filter, rel_kind::scan});
  auto& f = *q.inputs[0];
  REQUIRE(f.exprs.size() == 1);
  CHECK(root(f.exprs[0]).type.id == columnar::type_id::boolean);
  CHECK(ir::to_string(f.exprs[0], f.out) == "(MOD(auction, 123) = 0)");
  require_compiles(q);
}

TEST_CASE("expressions: CASE, CAST, IN, BETWEEN, LIKE, IS NULL, qualified "
          "names",
          "[analyzer]") {
  auto a = analyze_ok(R"(
CREATE TABLE out (a STRING, b BIGINT, c BOOLEAN, d DOUBLE) WITH ('connector' = 'print');
INSERT INTO out SELECT
  CASE WHEN b.price > 100 THEN 'high' WHEN price IS NULL THEN NULL ELSE 'low' END,
  CASE channel WHEN 'a' THEN 1 ELSE auction END,
  auction IN (1, 2, 3) AND price NOT BETWEEN 10 AND 20 OR url LIKE '%x%',
  CAST(price AS DOUBLE) / 2
FROM bid AS b
WHERE extra IS NOT NULL AND UPPER(channel) <> 'X';)");
  auto& q = *a.script.inserts.at(0).query;
  require_compiles(q);
  CHECK(q.out.fields[0].type.id == columnar::type_id::string);
  CHECK(q.out.fields[1].type == columnar::int64_type());
  CHECK(q.out.fields[2].type.id == columnar::type_id::boolean);
  CHECK(q.out.fields[3].type.id == columnar::type_id::float64);
  CHECK(root(q.exprs[0]).kind == ir::op::case_when);
  CHECK(root(q.exprs[1]).kind == ir::op::case_when);
}

TEST_CASE("INSERT casts what Flink casts implicitly and refuses the rest",
          "[analyzer]") {
  auto a = analyze_ok(R"(
CREATE TABLE wide (a DECIMAL(20, 0), b DOUBLE, c STRING) WITH ('connector' = 'print');
INSERT INTO wide SELECT auction, price, extra FROM bid;)");
  auto& q = *a.script.inserts.at(0).query;
  CHECK(chain(q) ==
        std::vector{rel_kind::project, rel_kind::project, rel_kind::scan});
  CHECK(root(q.exprs[0]).kind == ir::op::cast);
  CHECK(root(q.exprs[0]).type == columnar::decimal_type(20, 0));
  CHECK(root(q.exprs[1]).kind == ir::op::cast);
  CHECK(root(q.exprs[2]).kind == ir::op::column);
  require_compiles(q);

  auto b = analyze_text(std::string{nexmark_ddl} + R"(
CREATE TABLE narrow (a INT, b BIGINT) WITH ('connector' = 'print');
INSERT INTO narrow SELECT auction, price FROM bid;
INSERT INTO narrow SELECT auction FROM bid;
INSERT INTO narrow SELECT channel, price FROM bid;)");
  REQUIRE(b.diags.size() == 3);
  CHECK(b.diags[0].code == diag_code::type_mismatch);
  CHECK(b.diags[0].where.line == 19);
  CHECK(b.diags[0].where.column == 27);
  CHECK(b.diags[0].message ==
        "INSERT INTO narrow: column 1 'auction' is BIGINT in the query but "
        "INT 'a' in the table");
  CHECK(b.diags[1].code == diag_code::type_mismatch);
  CHECK_THAT(b.diags[1].message,
             Catch::Contains("the query has 1 columns, the table has 2"));
  CHECK(b.diags[2].code == diag_code::type_mismatch);
  CHECK_THAT(b.diags[2].message, Catch::Contains("'channel' is STRING"));
  CHECK(b.script.inserts.empty());
}

TEST_CASE("name and type errors at the name's position", "[analyzer]") {
  auto a = analyze_text(std::string{nexmark_ddl} + R"(
CREATE TABLE out (a BIGINT) WITH ('connector' = 'print');
INSERT INTO out SELECT nope FROM bid;
INSERT INTO out SELECT FOO(price) FROM bid;
INSERT INTO out SELECT price + 'x' FROM bid;
INSERT INTO out SELECT price FROM nowhere;
INSERT INTO nowhere SELECT price FROM bid;
INSERT INTO out SELECT price FROM bid WHERE price;
INSERT INTO out SELECT b.price FROM bid AS b JOIN bid AS c ON b.auction = c.auction;
INSERT INTO out SELECT datetime FROM bid;
)");
  INFO(a.rendered());
  REQUIRE(a.diags.size() == 8);
  CHECK(a.diags[0].code == diag_code::unknown_column);
  CHECK(a.diags[0].where.line == 19);
  CHECK(a.diags[0].where.column == 24);
  CHECK(a.diags[1].code == diag_code::unknown_function);
  CHECK(a.diags[1].where.column == 24);
  CHECK(a.diags[1].message == "unknown function FOO");
  CHECK(a.diags[2].code == diag_code::type_mismatch);
  CHECK(a.diags[2].where.column == 30);
  CHECK(a.diags[3].code == diag_code::unknown_table);
  CHECK(a.diags[3].where.column == 35);
  CHECK(a.diags[4].code == diag_code::unknown_table);
  CHECK(a.diags[4].where.column == 13);
  CHECK(a.diags[5].code == diag_code::type_mismatch);
  CHECK(a.diags[5].message == "WHERE expects BOOLEAN, got BIGINT");
  CHECK(a.diags[6].code == diag_code::unsupported);
  CHECK_THAT(a.diags[6].message, Catch::Contains("regular join"));
  CHECK(a.diags[7].code == diag_code::unknown_column);
  CHECK(a.diags[7].message ==
        "column 'datetime' not found (did you mean 'dateTime'?)");
  CHECK(render(a.diags[0], a.text) ==
        "test.sql:19:24: error: column 'nope' not found\n"
        "INSERT INTO out SELECT nope FROM bid;\n"
        "                       ^~~~");
}

TEST_CASE("an ambiguous column names the tables it is in", "[analyzer]") {
  auto a = analyze_text(std::string{nexmark_ddl} + R"(
CREATE TABLE out (a BIGINT) WITH ('connector' = 'print');
INSERT INTO out SELECT price FROM
  (SELECT * FROM TABLE(TUMBLE(TABLE bid, DESCRIPTOR(`dateTime`), INTERVAL '1' SECOND))) L
  JOIN (SELECT * FROM TABLE(TUMBLE(TABLE bid, DESCRIPTOR(`dateTime`), INTERVAL '1' SECOND))) R
  ON L.window_start = R.window_start AND L.window_end = R.window_end;)");
  REQUIRE(a.diags.size() == 1);
  CHECK(a.diags[0].code == diag_code::unknown_column);
  CHECK(a.diags[0].message ==
        "column 'price' is ambiguous (in L, R): qualify it");
}

TEST_CASE("GROUP BY with aggregates: types as Flink's, an update stream",
          "[analyzer]") {
  auto a = analyze_ok(R"(
CREATE TABLE totals (auction BIGINT, n BIGINT, s BIGINT, av BIGINT,
  lo BIGINT, hi BIGINT, d BIGINT, f STRING, l STRING, twice BIGINT)
  WITH ('connector' = 'upsert', 'path' = 'x');
INSERT INTO totals
SELECT auction, COUNT(*), SUM(price), AVG(price), MIN(price), MAX(price),
  COUNT(DISTINCT bidder), FIRST_VALUE(channel), LAST_VALUE(url), SUM(price * 2)
FROM bid GROUP BY auction HAVING COUNT(*) > 1;)");
  auto& q = *a.script.inserts.at(0).query;
  require_compiles(q);
  CHECK(chain(q) == std::vector{rel_kind::project, rel_kind::filter,
                                rel_kind::aggregate, rel_kind::project,
                                rel_kind::scan});
  CHECK_FALSE(q.append_only);
  auto& agg = *q.inputs[0]->inputs[0];
  CHECK(agg.window.kind == sluice::window_kind::none);
  CHECK(agg.group_keys == std::vector<uint32_t>{0});
  REQUIRE(agg.aggs.size() == 9);
  CHECK(agg.aggs[0] ==
        agg_call{agg_kind::count_star, -1, false, columnar::int64_type(false)});
  CHECK(agg.aggs[1] ==
        agg_call{agg_kind::sum, 2, false, columnar::int64_type()});
  CHECK(agg.aggs[2].kind == agg_kind::avg);
  CHECK(agg.aggs[2].out == columnar::int64_type());
  CHECK(agg.aggs[5] ==
        agg_call{agg_kind::count, 1, true, columnar::int64_type(false)});
  CHECK(agg.aggs[6].out == columnar::string_type());
  // SUM(price * 2) reads an extra column after bid's seven.
  CHECK(agg.aggs[8].arg == 7);
  CHECK(agg.inputs[0]->out.fields.size() == 8);
  // keys, then aggregates; the HAVING reuses COUNT(*).
  CHECK(agg.out.fields.size() == 10);
  auto& having = q.inputs[0]->exprs[0];
  CHECK(ir::to_string(having, std::vector<std::string>{}) == "($1 > 1)");
}

TEST_CASE("SUM and AVG of DECIMAL and INT", "[analyzer]") {
  auto a = analyze_ok(R"(
CREATE TABLE t (k INT, v DECIMAL(10, 2)) WITH ('connector' = 'filesystem', 'path' = 'p');
CREATE TABLE o (s INT, a INT, sd DECIMAL(38, 2), ad DECIMAL(38, 6))
  WITH ('connector' = 'print');
INSERT INTO o SELECT SUM(k), AVG(k), SUM(v), AVG(v) FROM t;)");
  auto& q = *a.script.inserts.at(0).query;
  auto& agg = *q.inputs[0];
  REQUIRE(agg.kind == rel_kind::aggregate);
  CHECK(agg.group_keys.empty());
  CHECK(agg.aggs[0].out == columnar::int32_type());
  CHECK(agg.aggs[1].out == columnar::int32_type());
  CHECK(agg.aggs[2].out == columnar::decimal_type(38, 2));
  CHECK(agg.aggs[3].out == columnar::decimal_type(38, 6));
}

TEST_CASE("GROUP BY errors: ungrouped columns, update streams into "
          "insert-only sinks",
          "[analyzer]") {
  auto a = analyze_text(std::string{nexmark_ddl} + R"(
CREATE TABLE out (a BIGINT, n BIGINT) WITH ('connector' = 'filesystem', 'path' = 'p');
INSERT INTO out SELECT bidder, COUNT(*) FROM bid GROUP BY auction;
INSERT INTO out SELECT auction, COUNT(*) FROM bid GROUP BY auction;
INSERT INTO out SELECT auction + 1, SUM(channel) FROM bid GROUP BY auction + 1;
INSERT INTO out SELECT auction, COUNT(*) FROM bid WHERE COUNT(*) > 1 GROUP BY auction;)");
  INFO(a.rendered());
  REQUIRE(a.diags.size() == 4);
  CHECK(a.diags[0].code == diag_code::not_grouped);
  CHECK(a.diags[0].where.line == 19);
  CHECK(a.diags[0].where.column == 24);
  CHECK(a.diags[0].message ==
        "column 'bidder' is neither in GROUP BY nor inside an aggregate "
        "function");
  CHECK(a.diags[1].code == diag_code::sink_no_updates);
  CHECK(a.diags[1].where.line == 20);
  CHECK(a.diags[1].where.column == 13);
  CHECK(a.diags[2].code == diag_code::type_mismatch);
  CHECK(a.diags[2].where.column == 41);
  CHECK(a.diags[3].code == diag_code::syntax);
  CHECK(a.diags[3].message ==
        "aggregate function COUNT is not allowed in WHERE");
}

TEST_CASE("INSERT INTO t (columns) places the query's columns, NULL elsewhere",
          "[analyzer]") {
  auto a = analyze_ok(R"(
CREATE TABLE out (a BIGINT, b STRING, c DOUBLE) WITH ('connector' = 'print');
INSERT INTO out (c, a) SELECT price, auction FROM bid;)");
  auto& q = *a.script.inserts.at(0).query;
  require_compiles(q);
  CHECK(names(q.out) == std::vector<std::string>{"a", "b", "c"});
  CHECK(q.out.fields[1].type == columnar::string_type());
  CHECK(q.out.fields[2].type == columnar::float64_type());
  // The casts over the placement over the query's projection.
  CHECK(chain(q) == std::vector{rel_kind::project, rel_kind::project,
                                rel_kind::project, rel_kind::scan});
  auto& place = *q.inputs[0];
  CHECK(ir::to_string(place.exprs[0], place.inputs[0]->out) == "auction");
  CHECK(ir::to_string(place.exprs[2], place.inputs[0]->out) == "price");

  auto b = analyze_text(std::string{nexmark_ddl} + R"(
CREATE TABLE out (a BIGINT NOT NULL, b STRING) WITH ('connector' = 'print');
INSERT INTO out (b) SELECT extra FROM bid;
INSERT INTO out (a, z) SELECT auction, extra FROM bid;)");
  INFO(b.rendered());
  REQUIRE(b.diags.size() == 2);
  CHECK(b.diags[0].code == diag_code::type_mismatch);
  CHECK(b.diags[0].message ==
        "INSERT INTO out: column 'a' is NOT NULL and not in the column "
        "list");
  CHECK(b.diags[1].code == diag_code::unknown_column);
  CHECK(b.diags[1].where.line == 20);
  CHECK(b.diags[1].where.column == 21);
}

TEST_CASE("SELECT DISTINCT is a GROUP BY of its values", "[analyzer]") {
  auto a = analyze_ok(R"(
CREATE TABLE out (a BIGINT, c STRING) WITH ('connector' = 'upsert', 'path' = 'x');
INSERT INTO out SELECT DISTINCT auction, UPPER(channel) FROM bid;)");
  auto& q = *a.script.inserts.at(0).query;
  require_compiles(q);
  CHECK_FALSE(q.append_only);
  CHECK(names(q.out) == std::vector<std::string>{"auction", "EXPR$1"});
  auto& agg = *q.inputs[0];
  REQUIRE(agg.kind == rel_kind::aggregate);
  CHECK(agg.aggs.empty());
  CHECK(agg.group_keys == std::vector<uint32_t>{0, 7});

  auto b = analyze_text(std::string{nexmark_ddl} + R"(
CREATE TABLE out (a BIGINT) WITH ('connector' = 'upsert', 'path' = 'x');
INSERT INTO out SELECT DISTINCT * FROM bid;)");
  REQUIRE(b.diags.size() == 1);
  CHECK(b.diags[0].code == diag_code::unsupported);
}
