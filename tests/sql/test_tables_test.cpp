#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "connectors/table_registry.hpp"
#include "runtime/columnar/format.hpp"
#include "runtime/errors.hpp"
#include "tests/support/test_tables.hpp"

using namespace sluice;
using namespace sluice::columnar;

namespace {

schema_ptr kv_schema() {
  return make_schema(
      {{"k", string_type()}, {"v", int64_type()}, {"ts", timestamp_type()}}, 2);
}

table_context context(std::string name, uint32_t split = 0,
                      uint32_t splits = 1) {
  table_context ctx;
  ctx.name = std::move(name);
  ctx.schema = kv_schema();
  ctx.split = split;
  ctx.splits = splits;
  ctx.metrics = std::make_shared<component_metrics>(ctx.name, "operator");
  return ctx;
}

table_source_ptr make_source(const table_registry& tables,
                             const table_context& ctx) {
  auto* type = tables.find_source("values");
  REQUIRE(type != nullptr);
  auto src = type->make(ctx, options{});
  REQUIRE(src);
  REQUIRE(!(*src)->open());
  return std::move(*src);
}

/// The `k` values of a batch, in order.
std::vector<std::string> keys_of(const row_batch& b) {
  std::vector<std::string> out;
  for (size_t i = 0; i < b.num_rows(); ++i)
    out.emplace_back(b.col(0).str(i));
  return out;
}

int64_t ts(std::string_view text) {
  auto x = parse_timestamp(text);
  REQUIRE(x);
  return *x;
}

} // namespace

SCENARIO("a values source gives its rows up to each watermark step",
         "[test_tables]") {
  GIVEN("a table with two rows, a step, a row and an end") {
    auto data = std::make_shared<test::test_table_data>();
    auto tables = table_registry{};
    test::add_test_tables(tables, data);
    data->add_row("src", "a,1,1970-01-01 00:00:00.100");
    data->add_row("src", "b,NULL,1970-01-01 00:00:01.500");
    data->add_watermark("src", ts("1970-01-01 00:00:05"));
    data->add_row("src", "c,3,");
    data->end("src");
    CHECK(data->row_count("src") == 3);
    CHECK(data->ended("src"));
    CHECK_FALSE(data->has_input("other"));
    data->start_run();
    auto src = make_source(tables, context("src"));
    row_batch out{kv_schema()};
    THEN("the first poll gives the rows before the step, then moves it") {
      CHECK(src->source_watermark() == min_timestamp);
      auto st = src->poll(out, 100);
      REQUIRE(st);
      CHECK(*st == poll_status::more);
      CHECK(keys_of(out) == std::vector<std::string>{"a", "b"});
      CHECK(out.col(0).str(0) == "a");
      CHECK(out.col(1).value<int64_t>(0) == 1);
      CHECK_FALSE(out.col(1).valid(1));
      CHECK(out.col(2).value<int64_t>(1) == 1500);
      CHECK(src->source_watermark() == 5000);
      AND_THEN("the next poll gives the row after it, then the source ends") {
        out.clear();
        REQUIRE(*src->poll(out, 100) == poll_status::more);
        CHECK(keys_of(out) == std::vector<std::string>{"c"});
        CHECK_FALSE(out.col(2).valid(0));
        out.clear();
        CHECK(*src->poll(out, 100) == poll_status::finished);
        CHECK(out.num_rows() == 0);
      }
    }
    THEN("max_rows splits the rows before a step over polls") {
      REQUIRE(*src->poll(out, 1) == poll_status::more);
      CHECK(keys_of(out) == std::vector<std::string>{"a"});
      CHECK(src->source_watermark() == min_timestamp);
      REQUIRE(*src->poll(out, 1) == poll_status::more);
      CHECK(keys_of(out) == std::vector<std::string>{"a", "b"});
      CHECK(src->source_watermark() == 5000);
    }
  }
}

SCENARIO("a values table without an end stays idle", "[test_tables]") {
  auto data = std::make_shared<test::test_table_data>();
  auto tables = table_registry{};
  test::add_test_tables(tables, data);
  data->add_row("src", "a,1,1970-01-01 00:00:00.100");
  data->start_run();
  auto src = make_source(tables, context("src"));
  row_batch out{kv_schema()};
  REQUIRE(*src->poll(out, 10) == poll_status::more);
  CHECK(out.num_rows() == 1);
  CHECK(*src->poll(out, 10) == poll_status::idle);
  CHECK(*src->poll(out, 10) == poll_status::idle);
  CHECK(out.num_rows() == 1);
}

SCENARIO("a row that does not parse fails the poll, naming it",
         "[test_tables]") {
  auto data = std::make_shared<test::test_table_data>();
  auto tables = table_registry{};
  test::add_test_tables(tables, data);
  data->add_row("src", "a,one,1970-01-01 00:00:00.100");
  data->end("src");
  data->start_run();
  auto src = make_source(tables, context("src"));
  row_batch out{kv_schema()};
  auto st = src->poll(out, 10);
  REQUIRE_FALSE(st);
  CHECK_THAT(describe(st.error()),
             Catch::Contains("values table src row 1 (a,one,"));
  CHECK(out.num_rows() == 0);
}

SCENARIO("two splits share the rows and wait for each other at steps",
         "[test_tables]") {
  GIVEN("rows a b c, a step, rows d e, read by two splits") {
    auto data = std::make_shared<test::test_table_data>();
    auto tables = table_registry{};
    test::add_test_tables(tables, data);
    for (auto r : {"a,1,1970-01-01 00:00:00.000", "b,2,1970-01-01 00:00:00.000",
                   "c,3,1970-01-01 00:00:00.000"})
      data->add_row("src", r);
    data->add_watermark("src", 1000);
    for (auto r :
         {"d,4,1970-01-01 00:00:02.000", "e,5,1970-01-01 00:00:02.000"})
      data->add_row("src", r);
    data->end("src");
    data->start_run();
    auto s0 = make_source(tables, context("src", 0, 2));
    auto s1 = make_source(tables, context("src", 1, 2));
    row_batch o0{kv_schema()};
    row_batch o1{kv_schema()};
    WHEN("split 0 passes the step before split 1 moved") {
      REQUIRE(*s0->poll(o0, 100) == poll_status::more);
      CHECK(keys_of(o0) == std::vector<std::string>{"a", "c"});
      CHECK(s0->source_watermark() == 1000);
      THEN("split 0 holds its rows after the step until split 1 confirmed "
           "it") {
        CHECK(*s0->poll(o0, 100) == poll_status::idle);
        CHECK(keys_of(o0) == std::vector<std::string>{"a", "c"});
        REQUIRE(*s1->poll(o1, 100) == poll_status::more);
        CHECK(keys_of(o1) == std::vector<std::string>{"b"});
        CHECK(s1->source_watermark() == 1000);
        // Split 1 passed the step but its scan has not polled again.
        CHECK(*s0->poll(o0, 100) == poll_status::idle);
        REQUIRE(*s1->poll(o1, 100) == poll_status::more);
        CHECK(keys_of(o1) == std::vector<std::string>{"b", "d"});
        REQUIRE(*s0->poll(o0, 100) == poll_status::more);
        CHECK(keys_of(o0) == std::vector<std::string>{"a", "c", "e"});
        CHECK(*s0->poll(o0, 100) == poll_status::finished);
        CHECK(*s1->poll(o1, 100) == poll_status::finished);
      }
    }
  }
}

SCENARIO("a reader count named by the run makes splits wait for every scan",
         "[test_tables]") {
  auto data = std::make_shared<test::test_table_data>();
  auto tables = table_registry{};
  test::add_test_tables(tables, data);
  data->add_row("src", "a,1,1970-01-01 00:00:00.000");
  data->add_watermark("src", 1000);
  data->add_row("src", "b,2,1970-01-01 00:00:02.000");
  data->end("src");
  data->start_run({{"src", 2}});
  auto first = make_source(tables, context("src"));
  row_batch out{kv_schema()};
  REQUIRE(*first->poll(out, 10) == poll_status::more);
  CHECK(*first->poll(out, 10) == poll_status::idle);
  auto second = make_source(tables, context("src"));
  row_batch other{kv_schema()};
  REQUIRE(*second->poll(other, 10) == poll_status::more);
  CHECK(*first->poll(out, 10) == poll_status::idle);
  REQUIRE(*second->poll(other, 10) == poll_status::more);
  CHECK(keys_of(other) == std::vector<std::string>{"a", "b"});
  REQUIRE(*first->poll(out, 10) == poll_status::more);
  CHECK(keys_of(out) == std::vector<std::string>{"a", "b"});
}

SCENARIO("a collect sink keeps every row with its kind", "[test_tables]") {
  auto data = std::make_shared<test::test_table_data>();
  auto tables = table_registry{};
  test::add_test_tables(tables, data);
  auto* type = tables.find_sink("collect");
  REQUIRE(type != nullptr);
  CHECK(type->accepts_updates);
  data->start_run();
  auto ctx = context("out");
  auto snk = type->make(ctx, options{});
  REQUIRE(snk);
  REQUIRE(!(*snk)->open());
  row_batch b{kv_schema()};
  b.col(0).push_str("a");
  b.col(1).push<int64_t>(1);
  b.col(2).push<int64_t>(0);
  b.col(0).push_str("b");
  b.col(1).push_null();
  b.col(2).push<int64_t>(1500);
  b.col(0).push_str("skipped");
  b.col(1).push<int64_t>(3);
  b.col(2).push<int64_t>(0);
  b.set_kind(1, row_kind::update_after);
  b.set_selection({0, 1});
  REQUIRE(!(*snk)->write(b));
  CHECK(data->collected("out") ==
        std::vector<std::string>{"+I a 1 1970-01-01 00:00:00.000",
                                 "+U b null 1970-01-01 00:00:01.500"});
  CHECK(data->collected("other").empty());
  data->start_run();
  CHECK(data->collected("out").empty());
}

SCENARIO("collect sinks of parallel instances write concurrently",
         "[test_tables]") {
  auto data = std::make_shared<test::test_table_data>();
  auto tables = table_registry{};
  test::add_test_tables(tables, data);
  data->start_run();
  std::vector<std::thread> writers;
  for (uint32_t i = 0; i < 4; ++i)
    writers.emplace_back([&, i] {
      auto snk =
          tables.find_sink("collect")->make(context("out", i, 4), options{});
      row_batch b{kv_schema()};
      b.col(0).push_str("k" + std::to_string(i));
      b.col(1).push<int64_t>(i);
      b.col(2).push<int64_t>(0);
      for (int n = 0; n < 250; ++n)
        static_cast<void>((*snk)->write(b));
    });
  for (auto& t : writers)
    t.join();
  CHECK(data->collected("out").size() == 1000);
}
