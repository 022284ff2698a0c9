#include <catch2/catch.hpp>

#include <chrono>
#include <thread>

#include <errmsg.h>
#include <mysqld_error.h>

#include "connectors/mariadb_client.hpp"
#include "connectors/mariadb_sink.hpp"
#include "connectors/mariadb_table.hpp"
#include "runtime/columnar/format.hpp"
#include "runtime/errors.hpp"
#include "tests/connectors/table_test_helpers.hpp"
#include "tests/support/ports.hpp"
#include "tests/support/sql_jobs.hpp"

using namespace sluice;
using namespace sluice::mariadb;

TEST_CASE("a MariaDB url gives host, port and database", "[mariadb_unit]") {
  auto t = parse_url("jdbc:mysql://db.example:3307/shop");
  REQUIRE(t);
  CHECK(t->host == "db.example");
  CHECK(t->port == 3307);
  CHECK(t->database == "shop");
  CHECK(t->where() == "db.example:3307/shop");
  auto d = parse_url("jdbc:mariadb://127.0.0.1/results");
  REQUIRE(d);
  CHECK(d->port == 3306);
  CHECK(parse_url("mysql://h:1/x"));
}

TEST_CASE("a bad MariaDB url says what is wrong", "[mariadb_unit]") {
  auto why = [](std::string_view url) {
    auto t = parse_url(url);
    REQUIRE_FALSE(t);
    return describe(t.error());
  };
  CHECK_THAT(why("jdbc:postgresql://h/x"),
             Catch::Contains("not mysql:// or mariadb://"));
  CHECK_THAT(why("jdbc:mysql://h:3306"), Catch::Contains("no database"));
  CHECK_THAT(why("jdbc:mysql://h:3306/"), Catch::Contains("no database"));
  CHECK_THAT(why("jdbc:mysql://h:99999/x"),
             Catch::Contains("'99999' is not a port"));
  CHECK_THAT(why("jdbc:mysql://:1/x"), Catch::Contains("no host"));
  CHECK_THAT(why("jdbc:mysql://u:p@h/x"),
             Catch::Contains("credentials belong in"));
  CHECK_THAT(why("jdbc:mysql://h/x?useSSL=false"),
             Catch::Contains("url parameters are not supported"));
}

TEST_CASE("MariaDB errors are sorted by what a retry can do",
          "[mariadb_unit]") {
  CHECK(classify(0) == failure::none);
  CHECK(classify(CR_CONNECTION_ERROR) == failure::connection);
  CHECK(classify(CR_SERVER_GONE_ERROR) == failure::connection);
  CHECK(classify(CR_SERVER_LOST) == failure::connection);
  CHECK(classify(ER_SERVER_SHUTDOWN) == failure::connection);
  CHECK(classify(ER_LOCK_DEADLOCK) == failure::transient);
  CHECK(classify(ER_LOCK_WAIT_TIMEOUT) == failure::transient);
  CHECK(classify(ER_DATA_TOO_LONG) == failure::data);
  CHECK(classify(ER_BAD_NULL_ERROR) == failure::data);
  CHECK(classify(ER_NO_SUCH_TABLE) == failure::permanent);
  CHECK(classify(ER_ACCESS_DENIED_ERROR) == failure::permanent);
  CHECK(classify(ER_BAD_FIELD_ERROR) == failure::permanent);
  // Unknown: tried again, then the job's restart strategy decides.
  CHECK(classify(9999) == failure::transient);
}

TEST_CASE("values become SQL literals", "[mariadb_unit]") {
  using namespace columnar;
  connection db; // not connected: strings are escaped without a charset
  auto text = [&](const column& c, size_t row) {
    std::string out;
    db.append_value(c, row, out);
    return out;
  };
  column b{boolean_type()};
  b.push<uint8_t>(1);
  b.push_null();
  CHECK(text(b, 0) == "TRUE");
  CHECK(text(b, 1) == "NULL");
  column i{int64_type()};
  i.push<int64_t>(-42);
  CHECK(text(i, 0) == "-42");
  column d{float64_type()};
  d.push<double>(0.1);
  d.push<double>(std::numeric_limits<double>::infinity());
  CHECK(text(d, 0) == "0.1");
  CHECK(text(d, 1) == "NULL");
  CHECK(db.lost_values == 1);
  column dec{decimal_type(18, 2)};
  dec.push<int128>(-1234);
  CHECK(text(dec, 0) == "-12.34");
  column s{string_type()};
  s.push_str("it's a \\ \"test\"\n");
  CHECK(text(s, 0) == "'it\\'s a \\\\ \\\"test\\\"\\n'");
  column ts{timestamp_type()};
  ts.push<int64_t>(60'500);
  CHECK(text(ts, 0) == "'1970-01-01 00:01:00.500'");
}

TEST_CASE("names are quoted with backticks", "[mariadb_unit]") {
  CHECK(quote_name("shop") == "`shop`");
  CHECK(quote_name("a`b") == "`a``b`");
}

TEST_CASE("CREATE TABLE follows the declared columns and key",
          "[mariadb_unit]") {
  using namespace columnar;
  schema s{{{"shop_id", int64_type()},
            {"window_start", timestamp_type()},
            {"n", int32_type()},
            {"total", decimal_type(18, 2)},
            {"name", string_type()},
            {"ok", boolean_type()},
            {"ratio", float64_type()}}};
  CHECK(create_table_sql("per_minute", s, {0, 1}) ==
        "CREATE TABLE IF NOT EXISTS `per_minute` (`shop_id` BIGINT NOT NULL, "
        "`window_start` DATETIME(3) NOT NULL, `n` INT, `total` "
        "DECIMAL(18,2), `name` TEXT, `ok` BOOLEAN, `ratio` DOUBLE, PRIMARY "
        "KEY (`shop_id`, `window_start`)) ENGINE=InnoDB DEFAULT "
        "CHARSET=utf8mb4");
  schema k{{{"name", string_type()}}};
  CHECK_THAT(create_table_sql("t", k, {0}),
             Catch::Contains("`name` VARCHAR(255) NOT NULL"));
  CHECK_THAT(create_table_sql("t", k, {}), Catch::Contains("`name` TEXT)"));
}

TEST_CASE("a server column takes a declared type when the values fit",
          "[mariadb_unit]") {
  using namespace columnar;
  CHECK(takes("bigint", int64_type()));
  CHECK(takes("decimal", int64_type()));
  CHECK_FALSE(takes("int", int64_type()));
  CHECK(takes("bigint", int32_type()));
  CHECK_FALSE(takes("smallint", int32_type()));
  CHECK(takes("varchar", string_type()));
  CHECK(takes("longtext", string_type()));
  CHECK_FALSE(takes("int", string_type()));
  CHECK(takes("datetime", timestamp_type()));
  CHECK(takes("timestamp", timestamp_type()));
  CHECK_FALSE(takes("date", timestamp_type()));
  CHECK(takes("decimal", decimal_type(10, 2)));
  CHECK_FALSE(takes("bigint", decimal_type(10, 2)));
  CHECK(takes("double", float64_type()));
  CHECK(takes("tinyint", boolean_type()));
}

TEST_CASE("a sink whose server is unreachable holds its rows, then fails "
          "after its outage timeout",
          "[mariadb_unit]") {
  using namespace columnar;
  // A port nobody listens on: connections are refused at once.
  auto port = test::free_port();
  REQUIRE(port != 0);
  auto schema = make_schema({{"k", int64_type()}, {"v", string_type()}});
  auto ctx = test::make_table_context("out", schema);
  auto sink = test::make_table_sink(
      "mariadb", ctx,
      {{"url", "jdbc:mysql://127.0.0.1:" + std::to_string(port) + "/x"},
       {"table-name", "t"},
       {"username", "u"},
       {"password", "secret-password"},
       {"sink.outage-timeout", "300 ms"}});
  REQUIRE_FALSE(sink->open());
  CHECK(sink->holding());
  row_batch rows{schema};
  for (int64_t k = 0; k < 3; ++k) {
    rows.col(0).push<int64_t>(k);
    rows.col(1).push_str("v");
  }
  rows.set_num_rows(3);
  REQUIRE_FALSE(sink->write(rows));
  CHECK(sink->holding());
  caf::error err;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{10};
  while (!err && std::chrono::steady_clock::now() < deadline) {
    err = sink->tick();
    std::this_thread::sleep_for(std::chrono::milliseconds{20});
  }
  REQUIRE(err);
  auto text = describe(err);
  CHECK_THAT(text, Catch::Contains("unreachable for"));
  CHECK_THAT(text, Catch::Contains("3 row(s) not written"));
  CHECK_THAT(text, !Catch::Contains("secret-password"));
  CHECK_FALSE(is_permanent(err));
}

TEST_CASE("a mariadb table with a PRIMARY KEY takes an update stream",
          "[mariadb_unit]") {
  auto jobs = test::compile_jobs(R"(
CREATE TABLE src (k STRING, v BIGINT) WITH ('connector' = 'filesystem',
  'path' = 'never-read', 'format' = 'csv');
CREATE TABLE totals (k STRING, n BIGINT, PRIMARY KEY (k) NOT ENFORCED)
  WITH ('connector' = 'mariadb', 'url' = 'jdbc:mysql://127.0.0.1:1/never',
        'table-name' = 'totals');
INSERT INTO totals SELECT k, COUNT(*) FROM src GROUP BY k;
)",
                                 {});
  REQUIRE(jobs.size() == 1);
}
