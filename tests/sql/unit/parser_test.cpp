#include <catch2/catch.hpp>

#include "sql/parser.hpp"

using namespace sluice;
using namespace sluice::sql;

namespace {

std::vector<statement> parse_ok(std::string_view text) {
  auto result = parse_script(text, "s.sql");
  for (auto& d : result.diagnostics)
    UNSCOPED_INFO(render(d, text));
  REQUIRE(result.diagnostics.empty());
  return std::move(result.statements);
}

template <class T>
T& body(statement& s) {
  REQUIRE(std::holds_alternative<T>(s.body));
  return std::get<T>(s.body);
}

/// The only SELECT of a query statement.
select_core& only_select(statement& s) {
  auto& q = *body<query_stmt>(s).body;
  REQUIRE(q.selects.size() == 1);
  return q.selects[0];
}

select_core parse_select(std::string_view text) {
  auto ss = parse_ok(text);
  REQUIRE(ss.size() == 1);
  return std::move(only_select(ss[0]));
}

} // namespace

TEST_CASE("CREATE TABLE with columns, watermark, primary key and options",
          "[parser]") {
  auto ss = parse_ok(R"(
CREATE TABLE orders (
  id BIGINT NOT NULL,
  `user` VARCHAR(64),
  amount DECIMAL(10, 2),
  ratio double,
  ok BOOLEAN,
  qty INT,
  note STRING,
  ts TIMESTAMP(3),
  total AS amount * qty,
  pt AS PROCTIME(),
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND,
  PRIMARY KEY (id, `user`) NOT ENFORCED
) WITH (
  'connector' = 'filesystem',
  'path' = '${env:DATA_DIR}/orders.csv',
  'format' = 'csv'
);)");
  REQUIRE(ss.size() == 1);
  CHECK(ss[0].where.line == 2);
  CHECK(ss[0].where.column == 1);
  auto& t = body<create_table_stmt>(ss[0]);
  CHECK(t.name.name == "orders");
  CHECK(t.name.where.line == 2);
  CHECK(t.name.where.column == 14);
  CHECK_FALSE(t.temporary);
  REQUIRE(t.columns.size() == 10);
  CHECK(t.columns[0].name.name == "id");
  CHECK(t.columns[0].type == columnar::int64_type(false));
  CHECK(t.columns[0].type_where.column == 6);
  CHECK(t.columns[0].type_where.length == 15); // BIGINT NOT NULL
  CHECK(t.columns[1].name.name == "user");
  CHECK(t.columns[1].type == columnar::string_type());
  CHECK(t.columns[2].type == columnar::decimal_type(10, 2));
  CHECK(t.columns[3].type == columnar::float64_type());
  CHECK(t.columns[4].type == columnar::boolean_type());
  CHECK(t.columns[5].type == columnar::int32_type());
  CHECK(t.columns[6].type == columnar::string_type());
  CHECK(t.columns[7].type == columnar::timestamp_type());
  CHECK_FALSE(t.columns[7].computed);
  REQUIRE(t.columns[8].computed);
  CHECK(t.columns[8].computed->kind == expr_kind::binary);
  CHECK(t.columns[8].computed->op == op_kind::mul);
  REQUIRE(t.columns[9].computed);
  CHECK(t.columns[9].computed->name == "PROCTIME");
  REQUIRE(t.watermark);
  CHECK(t.watermark->where.line == 13);
  CHECK(t.watermark->where.column == 3);
  CHECK(t.watermark->column.name == "ts");
  CHECK(t.watermark->strategy->op == op_kind::sub);
  CHECK(t.watermark->strategy->args[1]->literal == literal_kind::interval);
  REQUIRE(t.primary_key);
  REQUIRE(t.primary_key->columns.size() == 2);
  CHECK(t.primary_key->columns[0].name == "id");
  CHECK(t.primary_key->columns[1].name == "user");
  REQUIRE(t.options.size() == 3);
  CHECK(t.options[0].key == "connector");
  CHECK(t.options[0].value == "filesystem");
  CHECK(t.options[0].key_where.line == 16);
  CHECK(t.options[0].key_where.column == 3);
  CHECK(t.options[0].value_where.column == 17);
  CHECK(t.options[0].env.empty());
  CHECK(t.options[1].value == "${env:DATA_DIR}/orders.csv");
  REQUIRE(t.options[1].env.size() == 1);
  CHECK(t.options[1].env[0].name == "DATA_DIR");
  CHECK(t.options[1].env[0].where.line == 17);
  CHECK(t.options[1].env[0].where.column == 13);
}

TEST_CASE("CREATE TABLE variants: TEMPORARY, IF NOT EXISTS, column key",
          "[parser]") {
  auto ss = parse_ok("create temporary table if not exists t (\n"
                     "  k STRING PRIMARY KEY NOT ENFORCED COMMENT 'key',\n"
                     "  v BIGINT NULL\n"
                     ") COMMENT 'x' WITH ()");
  auto& t = body<create_table_stmt>(ss[0]);
  CHECK(t.temporary);
  CHECK(t.if_not_exists);
  REQUIRE(t.primary_key);
  REQUIRE(t.primary_key->columns.size() == 1);
  CHECK(t.primary_key->columns[0].name == "k");
  CHECK(t.primary_key->where.line == 2);
  CHECK(t.primary_key->where.column == 12);
  CHECK(t.columns[1].type == columnar::int64_type(true));
  CHECK(t.options.empty());
  auto more = parse_ok("CREATE TABLE u (a INT, CONSTRAINT pk PRIMARY KEY (a) "
                       "NOT ENFORCED)");
  CHECK(body<create_table_stmt>(more[0]).primary_key);
}

TEST_CASE("SQL type names map to the columnar types", "[parser]") {
  auto type_of = [](std::string type) {
    auto ss = parse_ok("CREATE TABLE t (c " + type + ")");
    return body<create_table_stmt>(ss[0]).columns.at(0).type;
  };
  CHECK(type_of("INT") == columnar::int32_type());
  CHECK(type_of("integer") == columnar::int32_type());
  CHECK(type_of("BIGINT") == columnar::int64_type());
  CHECK(type_of("DOUBLE") == columnar::float64_type());
  CHECK(type_of("DOUBLE PRECISION") == columnar::float64_type());
  CHECK(type_of("BOOLEAN NOT NULL") == columnar::boolean_type(false));
  CHECK(type_of("DECIMAL") == columnar::decimal_type(10, 0));
  CHECK(type_of("DECIMAL(38)") == columnar::decimal_type(38, 0));
  CHECK(type_of("DECIMAL(23, 3)") == columnar::decimal_type(23, 3));
  CHECK(type_of("NUMERIC(5, 5)") == columnar::decimal_type(5, 5));
  CHECK(type_of("DEC(1, 0)") == columnar::decimal_type(1, 0));
  CHECK(type_of("VARCHAR") == columnar::string_type());
  CHECK(type_of("VARCHAR(2147483647)") == columnar::string_type());
  CHECK(type_of("CHAR(3)") == columnar::string_type());
  CHECK(type_of("STRING NOT NULL") == columnar::string_type(false));
  CHECK(type_of("TIMESTAMP(3)") == columnar::timestamp_type());
  CHECK(type_of("TIMESTAMP") == columnar::timestamp_type());
  CHECK(type_of("TIMESTAMP(3) WITHOUT TIME ZONE") ==
        columnar::timestamp_type());
}

TEST_CASE("types outside the limits are refused with the reason", "[parser]") {
  auto error_of = [](std::string type) {
    auto result = parse_script("CREATE TABLE t (c " + type + ")", "s.sql");
    REQUIRE(result.diagnostics.size() == 1);
    return result.diagnostics[0];
  };
  auto d = error_of("DECIMAL(39, 2)");
  CHECK(d.message == "DECIMAL precision must be between 1 and 38, found 39");
  CHECK(d.where.column == 27);
  CHECK(d.code == diag_code::syntax);
  CHECK(error_of("DECIMAL(0)").message ==
        "DECIMAL precision must be between 1 and 38, found 0");
  CHECK(error_of("DECIMAL(5, 6)").message ==
        "DECIMAL scale must be between 0 and the precision (5), found 6");
  CHECK(error_of("DECIMAL(99999999999999999999)").message ==
        "DECIMAL precision must be between 1 and 38, found "
        "99999999999999999999");
  CHECK(error_of("VARCHAR(0)").message ==
        "VARCHAR length must be between 1 and 2147483647, found 0");
  auto ts = error_of("TIMESTAMP(6)");
  CHECK(ts.message == "TIMESTAMP(6) is not supported: sluice keeps "
                      "milliseconds, use TIMESTAMP(3)");
  CHECK(ts.code == diag_code::unsupported);
  auto f = error_of("FLOAT");
  CHECK(f.message == "type FLOAT is not supported: use BOOLEAN, INT, BIGINT, "
                     "DOUBLE, DECIMAL(p, s), VARCHAR, STRING or TIMESTAMP(3)");
  CHECK(f.code == diag_code::unsupported);
  CHECK(error_of("BLOB").message ==
        "unknown type 'BLOB': expected BOOLEAN, INT, BIGINT, DOUBLE, "
        "DECIMAL(p, s), VARCHAR, STRING or TIMESTAMP(3)");
  CHECK(error_of("DECIMAL(10,").message ==
        "expected an integer for the type's scale, found ')'");
}

TEST_CASE("CREATE VIEW, INSERT INTO, SET, EXPLAIN and a bare query",
          "[parser]") {
  auto ss =
      parse_ok("CREATE TEMPORARY VIEW v (a, b) AS SELECT x, y FROM t;\n"
               "CREATE VIEW w AS SELECT * FROM v;\n"
               "INSERT INTO out (k, n) SELECT k, COUNT(*) FROM t GROUP BY k;\n"
               "INSERT INTO out2 (SELECT a FROM t);\n"
               "SET 'parallelism.default' = '4';\n"
               "SET table.exec.state.ttl = '1 h';\n"
               "EXPLAIN INSERT INTO out SELECT 1 AS k, 2 AS n;\n"
               "EXPLAIN PLAN FOR SELECT 1;\n"
               "SELECT 1;;;\n");
  REQUIRE(ss.size() == 9);
  auto& v = body<create_view_stmt>(ss[0]);
  CHECK(v.temporary);
  CHECK(v.name.name == "v");
  REQUIRE(v.columns.size() == 2);
  CHECK(v.columns[1].name == "b");
  CHECK(v.body->selects[0].items.size() == 2);
  auto& w = body<create_view_stmt>(ss[1]);
  CHECK_FALSE(w.temporary);
  CHECK(w.body->selects[0].items[0].kind == select_item::star);
  auto& i = body<insert_stmt>(ss[2]);
  CHECK(i.table.name == "out");
  CHECK(i.table.where.line == 3);
  CHECK(i.table.where.column == 13);
  REQUIRE(i.columns.size() == 2);
  CHECK(i.columns[0].name == "k");
  CHECK(i.body->selects[0].group_by.size() == 1);
  auto& i2 = body<insert_stmt>(ss[3]);
  CHECK(i2.columns.empty());
  CHECK(i2.body->selects.size() == 1);
  auto& s1 = body<set_stmt>(ss[4]);
  CHECK(s1.option.key == "parallelism.default");
  CHECK(s1.option.value == "4");
  auto& s2 = body<set_stmt>(ss[5]);
  CHECK(s2.option.key == "table.exec.state.ttl");
  CHECK(s2.option.value == "1 h");
  auto& e = body<explain_stmt>(ss[6]);
  REQUIRE(e.inner);
  CHECK(e.inner->where.line == 7);
  CHECK(e.inner->where.column == 9);
  CHECK(body<insert_stmt>(*e.inner).table.name == "out");
  auto& e2 = body<explain_stmt>(ss[7]);
  CHECK(std::holds_alternative<query_stmt>(e2.inner->body));
  CHECK(ss[7].where.line == 8);
  CHECK(std::holds_alternative<query_stmt>(ss[8].body));
}

TEST_CASE("SELECT lists: DISTINCT, *, t.*, aliases with and without AS",
          "[parser]") {
  auto s = parse_select("SELECT DISTINCT *, t.*, a, b AS bb, c cc, "
                        "`d e` `f g`, count(*) num FROM t");
  CHECK(s.distinct);
  REQUIRE(s.items.size() == 7);
  CHECK(s.items[0].kind == select_item::star);
  CHECK(s.items[1].kind == select_item::qualified_star);
  CHECK(s.items[1].qualifier == "t");
  CHECK(s.items[2].kind == select_item::value);
  CHECK_FALSE(s.items[2].alias);
  REQUIRE(s.items[3].alias);
  CHECK(s.items[3].alias->name == "bb");
  CHECK(s.items[3].alias->where.column == 33);
  CHECK(s.items[4].alias->name == "cc");
  CHECK(s.items[5].expression->name == "d e");
  CHECK(s.items[5].alias->name == "f g");
  CHECK(s.items[6].expression->star_arg);
  CHECK(s.items[6].alias->name == "num");
  REQUIRE(s.from);
  CHECK(s.from->kind == table_ref_kind::table);
  CHECK(s.from->name.name == "t");
}

TEST_CASE("FROM: tables, aliases, subqueries and joins", "[parser]") {
  auto s = parse_select(
      "SELECT * FROM a AS x JOIN b y ON x.k = y.k LEFT JOIN (SELECT k FROM c) "
      "z ON z.k = x.k INNER JOIN d ON TRUE LEFT OUTER JOIN e ON TRUE, f "
      "CROSS JOIN g WHERE x.v > 0");
  REQUIRE(s.from);
  // ((((a JOIN b) LEFT JOIN sub) JOIN d) LEFT JOIN e), (f CROSS JOIN g)
  auto& comma = *s.from;
  CHECK(comma.kind == table_ref_kind::join);
  CHECK(comma.join == join_type::cross);
  CHECK_FALSE(comma.condition);
  auto& fg = *comma.right;
  CHECK(fg.join == join_type::cross);
  CHECK(fg.left->name.name == "f");
  CHECK(fg.right->name.name == "g");
  auto& le = *comma.left;
  CHECK(le.join == join_type::left);
  CHECK(le.right->name.name == "e");
  auto& jd = *le.left;
  CHECK(jd.join == join_type::inner);
  auto& lsub = *jd.left;
  CHECK(lsub.join == join_type::left);
  CHECK(lsub.right->kind == table_ref_kind::subquery);
  CHECK(lsub.right->alias->name == "z");
  REQUIRE(lsub.right->subquery);
  CHECK(lsub.right->subquery->selects[0].from->name.name == "c");
  auto& ab = *lsub.left;
  CHECK(ab.join == join_type::inner);
  CHECK(ab.left->name.name == "a");
  CHECK(ab.left->alias->name == "x");
  CHECK(ab.right->alias->name == "y");
  REQUIRE(ab.condition);
  CHECK(ab.condition->op == op_kind::eq);
  CHECK(ab.where.column == 22); // the JOIN keyword
  CHECK(s.where_clause);
}

TEST_CASE("FOR SYSTEM_TIME AS OF after a table", "[parser]") {
  auto s = parse_select("SELECT o.id, r.rate FROM orders AS o "
                        "JOIN rates FOR SYSTEM_TIME AS OF o.proc_time AS r "
                        "ON o.cur = r.cur");
  auto& j = *s.from;
  REQUIRE(j.right->system_time);
  CHECK(j.right->system_time->kind == expr_kind::column_ref);
  CHECK(j.right->system_time->qualifier == "o");
  CHECK(j.right->system_time->name == "proc_time");
  CHECK(j.right->alias->name == "r");
  CHECK_FALSE(j.left->system_time);
}

TEST_CASE("window table-valued functions", "[parser]") {
  auto s = parse_select(
      "SELECT * FROM TABLE(TUMBLE(TABLE bid, DESCRIPTOR(`dateTime`), "
      "INTERVAL '10' SECOND))");
  auto& t = *s.from;
  CHECK(t.kind == table_ref_kind::window);
  CHECK(t.window == window_kind::tumble);
  CHECK(t.input.name == "bid");
  CHECK(t.time_column.name == "dateTime");
  CHECK(t.time_column.where.column == 50);
  REQUIRE(t.window_args.size() == 1);
  CHECK(t.window_args[0]->unit == time_unit::second);
  CHECK_FALSE(t.alias);

  auto tumble_offset = parse_select("SELECT * FROM TABLE(TUMBLE(TABLE bid, "
                                    "DESCRIPTOR(ts), INTERVAL '1' HOUR, "
                                    "INTERVAL '15' MINUTE)) AS w");
  CHECK(tumble_offset.from->window_args.size() == 2);
  CHECK(tumble_offset.from->alias->name == "w");

  auto hop = parse_select(
      "SELECT * FROM TABLE(HOP(TABLE bid, DESCRIPTOR(ts), INTERVAL '2' SECOND, "
      "INTERVAL '10' SECOND))");
  CHECK(hop.from->window == window_kind::hop);
  REQUIRE(hop.from->window_args.size() == 2);
  CHECK(hop.from->window_args[0]->text == "2");
  CHECK(hop.from->window_args[1]->text == "10");

  auto cumulate = parse_select(
      "SELECT * FROM TABLE(CUMULATE(TABLE bid, DESCRIPTOR(ts), INTERVAL '1' "
      "MINUTE, INTERVAL '1' HOUR))");
  CHECK(cumulate.from->window == window_kind::cumulate);
  CHECK(cumulate.from->window_args.size() == 2);

  auto session = parse_select(
      "SELECT * FROM TABLE(SESSION(TABLE bid PARTITION BY (bidder, auction), "
      "DESCRIPTOR(ts), INTERVAL '5' MINUTE))");
  CHECK(session.from->window == window_kind::session);
  REQUIRE(session.from->partition_keys.size() == 2);
  CHECK(session.from->partition_keys[0].name == "bidder");
  CHECK(session.from->partition_keys[1].name == "auction");
  CHECK(session.from->window_args.size() == 1);
  auto one_key =
      parse_select("SELECT * FROM TABLE(SESSION(TABLE bid PARTITION BY bidder, "
                   "DESCRIPTOR(ts), INTERVAL '5' MINUTE))");
  REQUIRE(one_key.from->partition_keys.size() == 1);
  CHECK(one_key.from->partition_keys[0].name == "bidder");
}

TEST_CASE("window functions with the wrong number of arguments", "[parser]") {
  auto error_of = [](std::string from) {
    auto result = parse_script("SELECT * FROM " + from, "s.sql");
    REQUIRE(result.diagnostics.size() == 1);
    return result.diagnostics[0];
  };
  auto d = error_of("TABLE(HOP(TABLE bid, DESCRIPTOR(ts), INTERVAL '2' "
                    "SECOND))");
  CHECK(d.message == "HOP takes a slide, a size and an optional offset after "
                     "DESCRIPTOR(...), found 1 argument");
  CHECK(d.code == diag_code::bad_window);
  CHECK(d.where.column == 21);
  CHECK(d.where.length == 3);
  CHECK(error_of("TABLE(SESSION(TABLE bid PARTITION BY k, DESCRIPTOR(ts)))")
            .message ==
        "SESSION takes a gap after DESCRIPTOR(...), found 0 arguments");
  CHECK(error_of("TABLE(TUMBLE(bid, DESCRIPTOR(ts), INTERVAL '1' SECOND))")
            .message ==
        "expected TABLE before the input table of TUMBLE, found 'bid'");
  CHECK(error_of("TABLE(SLIDE(TABLE bid))").message ==
        "expected TUMBLE, HOP, CUMULATE or SESSION after TABLE(, found "
        "'SLIDE'");
  CHECK(error_of("TABLE(TUMBLE(TABLE bid, ts, INTERVAL '1' SECOND))").message ==
        "expected DESCRIPTOR for the time column of TUMBLE, found 'ts'");
}

TEST_CASE("WHERE, GROUP BY with legacy window calls, HAVING", "[parser]") {
  auto s = parse_select(
      "SELECT user_id, TUMBLE_START(ts, INTERVAL '1' MINUTE) AS ws, SUM(v) "
      "FROM t WHERE v > 0 GROUP BY user_id, TUMBLE(ts, INTERVAL '1' MINUTE) "
      "HAVING SUM(v) > 10");
  REQUIRE(s.where_clause);
  REQUIRE(s.group_by.size() == 2);
  CHECK(s.group_by[1]->kind == expr_kind::call);
  CHECK(s.group_by[1]->name == "TUMBLE");
  CHECK(s.group_by[1]->args.size() == 2);
  REQUIRE(s.having);
  CHECK(s.having->op == op_kind::gt);

  auto hop = parse_select("SELECT HOP_END(ts, INTERVAL '1' MINUTE, INTERVAL "
                          "'5' MINUTE) FROM t GROUP BY HOP(ts, INTERVAL '1' "
                          "MINUTE, INTERVAL '5' MINUTE), SESSION(ts, "
                          "INTERVAL '30' SECOND)");
  CHECK(hop.group_by[0]->name == "HOP");
  CHECK(hop.group_by[1]->name == "SESSION");
}

TEST_CASE("UNION ALL, ORDER BY and LIMIT", "[parser]") {
  auto ss = parse_ok("SELECT a FROM t UNION ALL SELECT b FROM u UNION ALL "
                     "(SELECT c FROM v) ORDER BY a DESC, 2 ASC LIMIT 10");
  auto& q = *body<query_stmt>(ss[0]).body;
  REQUIRE(q.selects.size() == 3);
  CHECK(q.selects[2].from->name.name == "v");
  REQUIRE(q.order_by.size() == 2);
  CHECK(q.order_by[0].descending);
  CHECK_FALSE(q.order_by[1].descending);
  REQUIRE(q.limit);
  CHECK(q.limit->text == "10");
  auto u = parse_script("SELECT a FROM t UNION SELECT b FROM u", "s.sql");
  REQUIRE(u.diagnostics.size() == 1);
  CHECK(u.diagnostics[0].message ==
        "expected ALL after UNION (sluice runs UNION ALL only), found "
        "'SELECT'");
}

TEST_CASE("statement errors say what was expected and what was found",
          "[parser]") {
  auto error_of = [](std::string text) {
    auto result = parse_script(text, "s.sql");
    REQUIRE(result.diagnostics.size() == 1);
    CHECK(result.statements.empty());
    return result.diagnostics[0].message;
  };
  CHECK(error_of("CREATE TABLE t (a INT WITH ('x' = 'y')") ==
        "expected ')' after the column list, found 'WITH'");
  CHECK(error_of("CREATE TABLE t (a INT) WITH ('x' = 1)") ==
        "option values are string literals: write '1'");
  CHECK(error_of("CREATE TABLE t (a INT) WITH (x = 'y')") ==
        "expected a string literal for an option key, found 'x'");
  CHECK(error_of("CREATE TABLE t (a INT, PRIMARY KEY (a))") ==
        "expected NOT ENFORCED after PRIMARY KEY (Flink does not enforce "
        "primary keys), found ')'");
  CHECK(error_of("CREATE TABLE t (ts TIMESTAMP(3), WATERMARK FOR ts AS ts, "
                 "WATERMARK FOR ts AS ts)") ==
        "a table has one WATERMARK declaration; the first is at 1:34");
  CHECK(error_of("CREATE TABEL t (a INT)") ==
        "expected TABLE or VIEW after CREATE, found 'TABEL'");
  CHECK(error_of("INSERT t SELECT 1") ==
        "expected INTO after INSERT, found 't'");
  CHECK(error_of("SELEC a FROM t") ==
        "expected a statement (CREATE TABLE, CREATE VIEW, INSERT INTO, "
        "SET, EXPLAIN or SELECT), found 'SELEC'");
  CHECK(error_of("SELECT a FROM t WHERE") == "expected an expression, found "
                                             "the end of the script");
  CHECK(error_of("SELECT a FROM t GROUP k") ==
        "expected BY after GROUP, found 'k'");
  CHECK(error_of("SELECT a FROM") == "expected a table, a subquery or "
                                     "TABLE(...) in FROM, found the end of "
                                     "the script");
  CHECK(error_of("SELECT a FROM t JOIN u") == "expected ON after the joined "
                                              "table, found the end of the "
                                              "script");
  CHECK(error_of("SELECT a FROM t x y") ==
        "expected ';' after the statement, found 'y'");
  CHECK(error_of("SELECT FROM t") ==
        "expected a column or an expression in the SELECT list, found "
        "'FROM'");
  CHECK(error_of("WITH x AS (SELECT 1) SELECT * FROM x") ==
        "WITH (common table expressions) is not supported: use CREATE "
        "VIEW");
  CHECK(error_of("SELECT 'a_very_long_string_literal_\xC3\xA9\xC3\xA9\xC3\xA9_"
                 "and_more' 'x'") == "expected ';' after the statement, found "
                                     "''x''");
  // 40 bytes would end inside the é: the excerpt stops before it.
  CHECK(error_of("SELECT 1 '01234567890123456789012345678901234567\xC3\xA9'") ==
        "expected ';' after the statement, found "
        "''01234567890123456789012345678901234567...'");
  CHECK(error_of("CREATE VIEW v SELECT 1") ==
        "expected AS after the view's name, found 'SELECT'");
}

TEST_CASE("statement sets are read, their INSERTs kept one by one",
          "[parser]") {
  auto ss = parse_ok("EXECUTE STATEMENT SET BEGIN\n"
                     "  INSERT INTO a SELECT * FROM t;\n"
                     "  INSERT INTO b SELECT * FROM t;\n"
                     "END;\n"
                     "BEGIN STATEMENT SET;\n"
                     "INSERT INTO c SELECT * FROM t;\n"
                     "END;");
  REQUIRE(ss.size() == 3);
  CHECK(body<insert_stmt>(ss[0]).table.name == "a");
  CHECK(body<insert_stmt>(ss[1]).table.name == "b");
  CHECK(body<insert_stmt>(ss[2]).table.name == "c");
  auto stray = parse_script("END;", "s.sql");
  REQUIRE(stray.diagnostics.size() == 1);
}
