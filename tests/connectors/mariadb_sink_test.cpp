#include <catch2/catch.hpp>

#include <chrono>
#include <thread>

#include "connectors/mariadb_sink.hpp"
#include "runtime/columnar/format.hpp"
#include "runtime/errors.hpp"
#include "tests/connectors/table_test_helpers.hpp"
#include "tests/support/mariadb_server.hpp"
#include "tests/support/process.hpp"

// The mariadb table sink against a real server (tests/support's
// mariadb_server): one server per TEST_CASE, the steps in order.

using namespace sluice;
using namespace sluice::columnar;

namespace {

using rows_t = std::vector<std::vector<std::string>>;

/// A sink of connector `mariadb` on `db`'s database.
table_sink_ptr make_sink(const test::mariadb_server& db,
                         const table_context& ctx,
                         std::map<std::string, std::string> with) {
  with.emplace("url", db.url());
  with.emplace("username", db.user());
  with.emplace("password", db.password());
  return test::make_table_sink("mariadb", ctx, with);
}

/// The mariadb sink behind `p`.
mariadb_sink& as_mariadb(const table_sink_ptr& p) {
  auto* m = dynamic_cast<mariadb_sink*>(p.get());
  REQUIRE(m != nullptr);
  return *m;
}

table_context keyed_context(const std::string& name, schema_ptr s,
                            std::vector<uint32_t> key) {
  auto ctx = test::make_table_context(name, std::move(s));
  ctx.primary_key = std::move(key);
  return ctx;
}

/// Rows of (shop BIGINT, minute TIMESTAMP, cnt BIGINT, total DECIMAL(18,2),
/// name STRING), each with its kind.
struct shop_rows {
  schema_ptr schema = make_schema({{"shop_id", int64_type(false)},
                                   {"window_start", timestamp_type(false)},
                                   {"cnt", int64_type()},
                                   {"total", decimal_type(18, 2)},
                                   {"name", string_type()}});
  row_batch batch{schema};

  void add(row_kind kind, int64_t shop, int64_t minute, int64_t cnt,
           int128 cents, std::string_view name) {
    auto r = batch.num_rows();
    batch.col(0).push<int64_t>(shop);
    batch.col(1).push<int64_t>(minute * 60'000);
    batch.col(2).push<int64_t>(cnt);
    batch.col(3).push<int128>(cents);
    batch.col(4).push_str(name);
    batch.set_kind(r, kind);
  }
};

/// Ticks `sink` until it holds nothing, at most 60 s.
void drain(table_sink& sink) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{60};
  while (sink.holding() && std::chrono::steady_clock::now() < deadline) {
    REQUIRE_FALSE(sink.tick());
    std::this_thread::sleep_for(std::chrono::milliseconds{20});
  }
  REQUIRE_FALSE(sink.holding());
}

} // namespace

TEST_CASE("the mariadb sink writes an upsert stream by its key",
          "[mariadb][e2e]") {
  test::mariadb_server db;
  db.start();
  shop_rows in;
  auto ctx = keyed_context("per_minute", in.schema, {0, 1});
  auto sink = make_sink(db, ctx,
                        {{"table-name", "per_minute"},
                         {"sink.create-table", "true"},
                         {"sink.buffer-flush.max-rows", "2"}});
  REQUIRE_FALSE(sink->open());
  CHECK_FALSE(sink->holding());

  // Inserts, then in one flush: shop 1 is updated twice (only the last
  // change is written), shop 2 is deleted, shop 3 is inserted then deleted.
  in.add(row_kind::insert, 1, 0, 1, 1000, "north");
  in.add(row_kind::insert, 2, 0, 1, 250, "south's");
  REQUIRE_FALSE(sink->write(in.batch));
  REQUIRE_FALSE(sink->flush());
  in.batch.clear();
  in.add(row_kind::update_before, 1, 0, 1, 1000, "north");
  in.add(row_kind::update_after, 1, 0, 2, 1500, "north");
  in.add(row_kind::update_before, 1, 0, 2, 1500, "north");
  in.add(row_kind::update_after, 1, 0, 3, 1999, "north");
  in.add(row_kind::del, 2, 0, 1, 250, "south's");
  in.add(row_kind::insert, 3, 1, 1, 5, "east");
  in.add(row_kind::insert, 4, 1, 7, 70, "west");
  in.add(row_kind::del, 3, 1, 1, 5, "east");
  REQUIRE_FALSE(sink->write(in.batch));
  REQUIRE_FALSE(sink->flush());
  CHECK(as_mariadb(sink).pending() == 0);
  sink->close();

  CHECK(db.query("SELECT shop_id, window_start, cnt, total, name FROM "
                 "per_minute ORDER BY shop_id") ==
        rows_t{{"1", "1970-01-01 00:00:00.000", "3", "19.99", "north"},
               {"4", "1970-01-01 00:01:00.000", "7", "0.70", "west"}});
  // The table the sink created has the declared key.
  CHECK(db.query("SELECT COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE "
                 "WHERE TABLE_SCHEMA = 'sluice' AND TABLE_NAME = 'per_minute' "
                 "AND CONSTRAINT_NAME = 'PRIMARY' ORDER BY ORDINAL_POSITION") ==
        rows_t{{"shop_id"}, {"window_start"}});
  CHECK(ctx.metrics->errors.load() == 0);
}

TEST_CASE("the mariadb sink appends without a key and sets refused rows "
          "aside",
          "[mariadb][e2e]") {
  test::mariadb_server db;
  db.start();
  db.exec("CREATE TABLE events (id BIGINT NOT NULL, note VARCHAR(5))");
  auto schema = make_schema({{"id", int64_type()}, {"note", string_type()}});
  test::temp_dir dir;
  auto ctx = test::make_table_context("events", schema);
  ctx.dead_letter_path = dir / "events.dead-letter";
  auto sink = make_sink(db, ctx, {{"table-name", "events"}});
  REQUIRE_FALSE(sink->open());
  row_batch rows{schema};
  auto add = [&](std::optional<int64_t> id, std::string_view note) {
    if (id)
      rows.col(0).push<int64_t>(*id);
    else
      rows.col(0).push_null();
    rows.col(1).push_str(note);
  };
  add(1, "a");
  add(2, "too long for five");
  add(std::nullopt, "b"); // NULL into NOT NULL
  add(4, "d\\'\n");
  REQUIRE_FALSE(sink->write(rows));
  REQUIRE_FALSE(sink->flush());
  sink->close();

  CHECK(db.query("SELECT id, note FROM events ORDER BY id") ==
        rows_t{{"1", "a"}, {"4", "d\\'\n"}});
  CHECK(ctx.metrics->errors.load() == 2);
  auto dead = test::read_file(dir / "events.dead-letter");
  CHECK_THAT(dead, Catch::Contains("too long for five"));
  CHECK_THAT(dead, Catch::Contains("Data too long"));
  CHECK_THAT(dead, Catch::Contains("cannot be null"));
}

TEST_CASE("the mariadb sink checks the table at start", "[mariadb][e2e]") {
  test::mariadb_server db;
  db.start();
  db.exec("CREATE TABLE t (shop_id BIGINT NOT NULL, window_start DATETIME(3) "
          "NOT NULL, cnt INT, total DECIMAL(18,2), name VARCHAR(20), "
          "PRIMARY KEY (shop_id, window_start))");
  shop_rows in;
  auto refused = [&](std::map<std::string, std::string> with,
                     std::vector<uint32_t> key, schema_ptr s = nullptr) {
    auto ctx = keyed_context("results", s ? s : in.schema, std::move(key));
    auto sink = make_sink(db, ctx, std::move(with));
    auto err = sink->open();
    REQUIRE(err);
    CHECK(is_permanent(err));
    return describe(err);
  };
  // cnt is INT in the server but BIGINT in the script.
  CHECK_THAT(refused({{"table-name", "t"}}, {0, 1}),
             Catch::Contains("column 'cnt' is BIGINT but int(11) in MariaDB "
                             "table 't'"));
  CHECK_THAT(refused({{"table-name", "missing"}}, {0, 1}),
             Catch::Contains("MariaDB table 'missing' does not exist"));
  auto extra = make_schema({{"shop_id", int64_type(false)},
                            {"window_start", timestamp_type(false)},
                            {"city", string_type()}});
  CHECK_THAT(refused({{"table-name", "t"}}, {0, 1}, extra),
             Catch::Contains("column 'city' is missing from MariaDB table "
                             "'t' (it has shop_id, window_start, cnt, total, "
                             "name)"));
  auto two = make_schema({{"shop_id", int64_type(false)},
                          {"window_start", timestamp_type(false)}});
  CHECK_THAT(refused({{"table-name", "t"}}, {0}, two),
             Catch::Contains("PRIMARY KEY (shop_id) is not a primary or "
                             "unique key of MariaDB table 't'"));
  // A wrong password is refused by the server, for good.
  auto ctx = keyed_context("results", two, {0, 1});
  auto bad = test::make_table_sink("mariadb", ctx,
                                   {{"url", db.url()},
                                    {"table-name", "t"},
                                    {"username", db.user()},
                                    {"password", "not-the-password"}});
  auto err = bad->open();
  REQUIRE(err);
  CHECK(is_permanent(err));
  CHECK_THAT(describe(err), Catch::Contains("Access denied"));
  CHECK_THAT(describe(err), !Catch::Contains("not-the-password"));
}

TEST_CASE("the mariadb sink holds its rows while the server is down and "
          "writes them when it is back",
          "[mariadb][e2e]") {
  test::mariadb_server db;
  db.start();
  shop_rows in;
  auto ctx = keyed_context("per_minute", in.schema, {0, 1});
  auto sink = make_sink(db, ctx,
                        {{"table-name", "per_minute"},
                         {"sink.create-table", "true"},
                         {"sink.buffer-flush.max-rows", "100"}});
  REQUIRE_FALSE(sink->open());
  for (int64_t i = 0; i < 250; ++i)
    in.add(row_kind::insert, i, 0, i, i * 100, "before");
  REQUIRE_FALSE(sink->write(in.batch));
  REQUIRE_FALSE(sink->flush());
  CHECK_FALSE(sink->holding());

  db.stop();
  in.batch.clear();
  for (int64_t i = 0; i < 250; ++i)
    in.add(row_kind::update_after, i, 0, i + 1, i * 100 + 1, "after");
  for (int64_t i = 250; i < 300; ++i)
    in.add(row_kind::insert, i, 0, i, 0, "new");
  REQUIRE_FALSE(sink->write(in.batch));
  REQUIRE_FALSE(sink->flush());
  // The server is down: the rows wait in the sink.
  CHECK(sink->holding());
  CHECK(as_mariadb(sink).pending() == 300);
  REQUIRE_FALSE(sink->tick());
  CHECK(sink->holding());

  db.start();
  drain(*sink);
  CHECK(as_mariadb(sink).pending() == 0);
  CHECK(as_mariadb(sink).reconnects() == 1);
  sink->close();
  CHECK(db.query("SELECT COUNT(*), SUM(cnt), SUM(name = 'after'), SUM(name = "
                 "'new') FROM per_minute") ==
        rows_t{{"300", std::to_string(250 * 251 / 2 + (250 + 299) * 25), "250",
                "50"}});
}
