// The Nexmark DDL and queries (our own texts of q0, q1, q2, q5 and q7, after
// the Flink versions of the benchmark) and the scenario's script parse into
// the expected trees.
#include <catch2/catch.hpp>

#include "sql/parser.hpp"

using namespace sluice;
using namespace sluice::sql;

namespace {

constexpr std::string_view nexmark_ddl = R"(-- Nexmark sources
CREATE TABLE person (
  id BIGINT,
  name VARCHAR,
  emailAddress VARCHAR,
  creditCard VARCHAR,
  city VARCHAR,
  state VARCHAR,
  dateTime TIMESTAMP(3),
  extra VARCHAR,
  WATERMARK FOR dateTime AS dateTime - INTERVAL '4' SECOND
) WITH ('connector' = 'nexmark', 'table' = 'person',
        'events.num' = '${env:NEXMARK_EVENTS}');

CREATE TABLE auction (
  id BIGINT,
  itemName VARCHAR,
  description VARCHAR,
  initialBid BIGINT,
  reserve BIGINT,
  dateTime TIMESTAMP(3),
  expires TIMESTAMP(3),
  seller BIGINT,
  category BIGINT,
  extra VARCHAR,
  WATERMARK FOR dateTime AS dateTime - INTERVAL '4' SECOND
) WITH ('connector' = 'nexmark', 'table' = 'auction',
        'events.num' = '${env:NEXMARK_EVENTS}');

CREATE TABLE bid (
  auction BIGINT,
  bidder BIGINT,
  price BIGINT,
  channel VARCHAR,
  url VARCHAR,
  `dateTime` TIMESTAMP(3),
  extra VARCHAR,
  WATERMARK FOR `dateTime` AS `dateTime` - INTERVAL '4' SECOND
) WITH ('connector' = 'nexmark', 'table' = 'bid',
        'events.num' = '${env:NEXMARK_EVENTS}');
)";

parsed_script parse_ok(std::string_view text) {
  auto result = parse_script(text, "nexmark.sql");
  for (auto& d : result.diagnostics)
    UNSCOPED_INFO(render(d, text));
  REQUIRE(result.diagnostics.empty());
  return result;
}

/// The query of the INSERT that is statement `i`.
query& insert_query(parsed_script& s, size_t i) {
  REQUIRE(s.statements.size() > i);
  auto* ins = std::get_if<insert_stmt>(&s.statements[i].body);
  REQUIRE(ins);
  return *ins->body;
}

} // namespace

TEST_CASE("the Nexmark DDL parses with watermarks and env references",
          "[parser]") {
  auto s = parse_ok(nexmark_ddl);
  REQUIRE(s.statements.size() == 3);
  std::vector<size_t> widths;
  for (auto& st : s.statements) {
    auto& t = std::get<create_table_stmt>(st.body);
    widths.push_back(t.columns.size());
    REQUIRE(t.watermark);
    CHECK(t.watermark->column.name == "dateTime");
    auto& w = *t.watermark->strategy;
    CHECK(w.op == op_kind::sub);
    CHECK(w.args[0]->name == "dateTime");
    CHECK(w.args[1]->literal == literal_kind::interval);
    CHECK(w.args[1]->text == "4");
    CHECK(w.args[1]->unit == time_unit::second);
    REQUIRE(t.options.size() == 3);
    REQUIRE(t.options[2].env.size() == 1);
    CHECK(t.options[2].env[0].name == "NEXMARK_EVENTS");
  }
  CHECK(widths == std::vector<size_t>{8, 10, 7});
  auto& bid = std::get<create_table_stmt>(s.statements[2].body);
  CHECK(bid.columns[5].name.name == "dateTime");
  CHECK(bid.columns[5].type == columnar::timestamp_type());
  CHECK(bid.options[2].env[0].where.line == 40);
}

TEST_CASE("Nexmark q0 and q1: pass-through and currency conversion",
          "[parser]") {
  auto s = parse_ok(R"(
CREATE TABLE nexmark_q0 (auction BIGINT, bidder BIGINT, price BIGINT,
  `dateTime` TIMESTAMP(3), extra VARCHAR) WITH ('connector' = 'blackhole');
INSERT INTO nexmark_q0
SELECT auction, bidder, price, `dateTime`, extra FROM bid;

CREATE TABLE nexmark_q1 (auction BIGINT, bidder BIGINT,
  price DECIMAL(23, 3), `dateTime` TIMESTAMP(3), extra VARCHAR
) WITH ('connector' = 'blackhole');
INSERT INTO nexmark_q1
SELECT
    auction,
    bidder,
    0.908 * price as price, -- convert dollar to euro
    `dateTime`,
    extra
FROM bid;)");
  auto& q0 = insert_query(s, 1);
  CHECK(q0.selects[0].items.size() == 5);
  CHECK(q0.selects[0].from->name.name == "bid");
  auto& q1_table = std::get<create_table_stmt>(s.statements[2].body);
  CHECK(q1_table.columns[2].type == columnar::decimal_type(23, 3));
  auto& q1 = insert_query(s, 3);
  auto& price = q1.selects[0].items[2];
  CHECK(price.alias->name == "price");
  CHECK(price.expression->op == op_kind::mul);
  CHECK(price.expression->args[0]->literal == literal_kind::decimal);
  CHECK(price.expression->args[0]->text == "0.908");
}

TEST_CASE("Nexmark q2: selection", "[parser]") {
  auto s =
      parse_ok("CREATE TABLE nexmark_q2 (auction BIGINT, price BIGINT) WITH "
               "('connector' = 'blackhole');\n"
               "INSERT INTO nexmark_q2 SELECT auction, price FROM bid WHERE "
               "MOD(auction, 123) = 0;");
  auto& q = insert_query(s, 1);
  auto& w = *q.selects[0].where_clause;
  CHECK(w.op == op_kind::eq);
  CHECK(w.args[0]->name == "MOD");
  CHECK(w.args[0]->args.size() == 2);
  CHECK(w.where.line == 2);
  CHECK(w.where.column == 79);
}

TEST_CASE("Nexmark q5: hot items over HOP windows, joined with the maximum",
          "[parser]") {
  auto s = parse_ok(R"(
INSERT INTO nexmark_q5
SELECT AuctionBids.auction, AuctionBids.num
 FROM (
   SELECT
     auction,
     count(*) AS num,
     window_start AS starttime,
     window_end AS endtime
     FROM TABLE(
             HOP(TABLE bid, DESCRIPTOR(`dateTime`), INTERVAL '2' SECOND, INTERVAL '10' SECOND))
     GROUP BY auction, window_start, window_end
 ) AS AuctionBids
 JOIN (
   SELECT
     max(CountBids.num) AS maxn,
     CountBids.starttime,
     CountBids.endtime
   FROM (
     SELECT
       count(*) AS num,
       window_start AS starttime,
       window_end AS endtime
     FROM TABLE(
                HOP(TABLE bid, DESCRIPTOR(`dateTime`), INTERVAL '2' SECOND, INTERVAL '10' SECOND))
     GROUP BY auction, window_start, window_end
     ) AS CountBids
   GROUP BY CountBids.starttime, CountBids.endtime
 ) AS MaxBids
 ON AuctionBids.starttime = MaxBids.starttime AND
    AuctionBids.endtime = MaxBids.endtime AND
    AuctionBids.num >= MaxBids.maxn;)");
  auto& q = insert_query(s, 0);
  auto& join = *q.selects[0].from;
  REQUIRE(join.kind == table_ref_kind::join);
  CHECK(join.join == join_type::inner);
  CHECK(join.left->kind == table_ref_kind::subquery);
  CHECK(join.left->alias->name == "AuctionBids");
  CHECK(join.right->alias->name == "MaxBids");
  auto& hop = *join.left->subquery->selects[0].from;
  CHECK(hop.kind == table_ref_kind::window);
  CHECK(hop.window == window_kind::hop);
  CHECK(hop.window_args[0]->text == "2");
  CHECK(hop.window_args[1]->text == "10");
  CHECK(hop.where.line == 10);
  CHECK(hop.where.column == 11);
  auto& inner = *join.right->subquery->selects[0].from;
  CHECK(inner.kind == table_ref_kind::subquery);
  CHECK(inner.alias->name == "CountBids");
  CHECK(inner.subquery->selects[0].from->window == window_kind::hop);
  // ON a AND b AND c groups to the left; the top node is the second AND.
  auto& on = *join.condition;
  CHECK(on.op == op_kind::and_);
  CHECK(on.args[1]->op == op_kind::ge);
  CHECK(on.args[0]->op == op_kind::and_);
  CHECK(on.where.line == 31);
  CHECK(on.where.column == 43);
}

TEST_CASE("Nexmark q7: the interval-join text and the window-join form",
          "[parser]") {
  auto original = parse_ok(R"(
INSERT INTO nexmark_q7
SELECT B.auction, B.price, B.bidder, B.`dateTime`, B.extra
from bid B
JOIN (
  SELECT MAX(price) AS maxprice, window_end as `dateTime`
  FROM TABLE(
          TUMBLE(TABLE bid, DESCRIPTOR(`dateTime`), INTERVAL '10' SECOND))
  GROUP BY window_start, window_end
) B1
ON B.price = B1.maxprice
WHERE B.`dateTime` BETWEEN B1.`dateTime`  - INTERVAL '10' SECOND AND B1.`dateTime`;)");
  auto& q = insert_query(original, 0);
  auto& sel = q.selects[0];
  CHECK(sel.from->left->name.name == "bid");
  CHECK(sel.from->left->alias->name == "B");
  CHECK(sel.from->right->alias->name == "B1");
  CHECK(sel.from->right->subquery->selects[0].from->window ==
        window_kind::tumble);
  REQUIRE(sel.where_clause);
  CHECK(sel.where_clause->kind == expr_kind::between);
  CHECK(sel.where_clause->where.line == 12);
  CHECK(sel.where_clause->where.column == 20);

  auto window_join = parse_ok(R"(
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
  auto& wj = insert_query(window_join, 0).selects[0];
  CHECK(wj.from->left->kind == table_ref_kind::subquery);
  CHECK(wj.from->right->kind == table_ref_kind::subquery);
  CHECK(wj.from->condition->op == op_kind::and_);
}

TEST_CASE("the scenario's script: topic source, MySQL result, windowed count",
          "[parser]") {
  auto s = parse_ok(R"(-- compute tier: count and sum per key per minute
CREATE TABLE app_log (
  line STRING,
  host AS SPLIT_INDEX(line, ',', 0),
  amount AS CAST(SPLIT_INDEX(line, ',', 1) AS BIGINT),
  ts AS TO_TIMESTAMP(SPLIT_INDEX(line, ',', 2)),
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH (
  'connector' = 'topic',
  'topic' = 'app-log',
  'format' = 'csv'
);

CREATE TABLE per_host (
  host VARCHAR(64) NOT NULL,
  window_start TIMESTAMP(3) NOT NULL,
  lines BIGINT,
  total BIGINT,
  PRIMARY KEY (host, window_start) NOT ENFORCED
) WITH (
  'connector' = 'mysql',
  'url' = 'mysql://${env:DB_HOST}:3306/dash',
  'table-name' = 'per_host',
  'password' = '${env:DB_PASSWORD}'
);

SET 'parallelism.default' = '2';

INSERT INTO per_host
SELECT host, window_start, COUNT(*) AS lines, SUM(amount) AS total
FROM TABLE(TUMBLE(TABLE app_log, DESCRIPTOR(ts), INTERVAL '1' MINUTE))
WHERE host IS NOT NULL AND host <> ''
GROUP BY host, window_start, window_end;
)");
  REQUIRE(s.statements.size() == 4);
  auto& src = std::get<create_table_stmt>(s.statements[0].body);
  CHECK(src.columns.size() == 4);
  CHECK(src.columns[2].computed->kind == expr_kind::cast);
  auto& out = std::get<create_table_stmt>(s.statements[1].body);
  CHECK(out.primary_key->columns.size() == 2);
  CHECK(out.columns[0].type == columnar::string_type(false));
  CHECK(out.options[1].env[0].name == "DB_HOST");
  CHECK(out.options[1].env[0].where.line == 22);
  CHECK(out.options[1].env[0].where.column == 20);
  CHECK(out.options[3].env[0].name == "DB_PASSWORD");
  CHECK(std::get<set_stmt>(s.statements[2].body).option.value == "2");
  auto& q = insert_query(s, 3).selects[0];
  CHECK(q.from->window == window_kind::tumble);
  CHECK(q.from->window_args[0]->unit == time_unit::minute);
  CHECK(q.group_by.size() == 3);
  CHECK(q.items[3].expression->name == "SUM");
}
