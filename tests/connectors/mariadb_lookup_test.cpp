#include <catch2/catch.hpp>

#include "connectors/mariadb_lookup.hpp"
#include "runtime/columnar/format.hpp"
#include "runtime/errors.hpp"
#include "tests/connectors/table_test_helpers.hpp"
#include "tests/support/mariadb_server.hpp"

// The mariadb lookup against a real server (tests/support's
// mariadb_server): one server per TEST_CASE, the steps in order (blocks,
// not sections: a section would start the server again).

using namespace sluice;
using namespace sluice::columnar;

namespace {

/// A lookup of MariaDB table `table` declared with `schema`, by `keys`.
table_lookup_ptr make_lookup(const test::mariadb_server& db,
                             const std::string& table, schema_ptr schema,
                             std::vector<uint32_t> keys) {
  auto ctx = test::make_table_context("dim", std::move(schema));
  ctx.lookup_keys = std::move(keys);
  return test::make_table_lookup("mariadb", ctx,
                                 {{"url", db.url()},
                                  {"table-name", table},
                                  {"username", db.user()},
                                  {"password", db.password()}});
}

/// The matches as "key-row:value,value", in the order they came.
std::vector<std::string> matches(const row_batch& out,
                                 const std::vector<uint32_t>& of) {
  std::vector<std::string> text;
  for (size_t i = 0; i < out.num_rows(); ++i) {
    auto line = std::to_string(of[i]) + ":";
    for (size_t c = 0; c < out.num_columns(); ++c) {
      if (c > 0)
        line += ',';
      append_value(out.col(c), i, line, "NULL");
    }
    text.push_back(line);
  }
  std::sort(text.begin(), text.end());
  return text;
}

} // namespace

TEST_CASE("the mariadb lookup reads the rows of a batch of keys",
          "[connectors][mariadb][lookup]") {
  test::mariadb_server db;
  db.start();
  db.exec("CREATE TABLE shops (id BIGINT NOT NULL, region VARCHAR(8) NOT "
          "NULL, name VARCHAR(64), opened DATETIME(3), PRIMARY KEY (id, "
          "region))");
  db.exec("INSERT INTO shops VALUES (1, 'n', 'north', '2026-01-02 "
          "03:04:05.678'), (2, 'n', 'two north', NULL), (2, 's', 'two south', "
          "NULL), (3, 'abc', 'lower', NULL), (4, 'ABC', 'upper', NULL)");
  auto schema = make_schema({{"id", int64_type(false)},
                             {"region", string_type(false)},
                             {"name", string_type()},
                             {"opened", timestamp_type()}});

  { // by one column: every row of each key, NULLs kept
    auto lookup = make_lookup(db, "shops", schema, {0});
    REQUIRE(!lookup->open());
    // Keys as an INT column: compared by value with the BIGINT id.
    row_batch keys{make_schema({{"shop", int32_type(false)}})};
    for (int32_t k : {2, 9, 1})
      keys.col(0).push<int32_t>(k);
    row_batch out{schema};
    std::vector<uint32_t> of;
    REQUIRE(!lookup->lookup(keys, out, of));
    CHECK(matches(out, of) ==
          std::vector<std::string>{"0:2,n,two north,NULL",
                                   "0:2,s,two south,NULL",
                                   "2:1,n,north,2026-01-02 03:04:05.678"});
    lookup->close();
  }

  { // by two columns, exactly: the server's case-blind match of 'ABC' for
    // 'abc' is left out
    auto lookup = make_lookup(db, "shops", schema, {0, 1});
    REQUIRE(!lookup->open());
    row_batch keys{make_schema(
        {{"id", int64_type(false)}, {"region", string_type(false)}})};
    auto add = [&](int64_t id, std::string_view region) {
      keys.col(0).push<int64_t>(id);
      keys.col(1).push_str(region);
    };
    add(2, "s");
    add(3, "ABC");
    add(4, "ABC");
    row_batch out{schema};
    std::vector<uint32_t> of;
    REQUIRE(!lookup->lookup(keys, out, of));
    CHECK(matches(out, of) == std::vector<std::string>{"0:2,s,two south,NULL",
                                                       "2:4,ABC,upper,NULL"});
  }

  { // a missing table or column is an error naming both tables
    auto missing = make_lookup(db, "nope", schema, {0});
    auto err = missing->open();
    REQUIRE(err);
    CHECK_THAT(describe(err), Catch::Contains("lookup table 'dim'") &&
                                  Catch::Contains("'nope' does not exist") &&
                                  !Catch::Contains("create-table"));
    CHECK(is_permanent(err));
    auto wider = make_schema({{"id", int64_type()}, {"city", string_type()}});
    auto no_column = make_lookup(db, "shops", wider, {0});
    err = no_column->open();
    REQUIRE(err);
    CHECK_THAT(describe(err), Catch::Contains("column 'city' is missing"));
  }

  { // a server that goes away is reported unreachable, and the lookup works
    // again once it is back
    auto lookup = make_lookup(db, "shops", schema, {0});
    REQUIRE(!lookup->open());
    row_batch keys{make_schema({{"id", int64_type(false)}})};
    keys.col(0).push<int64_t>(1);
    db.stop();
    row_batch out{schema};
    std::vector<uint32_t> of;
    auto err = lookup->lookup(keys, out, of);
    REQUIRE(err);
    CHECK(lookup->unreachable());
    CHECK(out.num_rows() == 0);
    CHECK(of.empty());
    CHECK_THAT(describe(err), !Catch::Contains(db.password()));
    db.start();
    REQUIRE(!lookup->lookup(keys, out, of));
    CHECK_FALSE(lookup->unreachable());
    CHECK(matches(out, of) ==
          std::vector<std::string>{"0:1,n,north,2026-01-02 03:04:05.678"});
  }
}
