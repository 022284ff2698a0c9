#include <catch2/catch.hpp>

#include "actors/ops/accumulators.hpp"
#include "runtime/errors.hpp"
#include "tests/actors/ops/ops_support.hpp"

using namespace sluice;
using namespace sluice::columnar;
using namespace sluice::ops;
using sluice::ops::test::make_rows;
using sluice::ops::test::rows_text;

namespace {

schema_ptr input_schema() {
  return make_schema({{"i", int32_type()},
                      {"l", int64_type()},
                      {"d", float64_type()},
                      {"m", decimal_type(10, 2)},
                      {"s", string_type()},
                      {"t", timestamp_type()}});
}

agg_call call(agg_kind k, int32_t arg, data_type out, bool distinct = false) {
  return {k, arg, distinct, out};
}

std::vector<agg_call> all_calls() {
  return {
      call(agg_kind::count_star, -1, int64_type(false)), // 0
      call(agg_kind::count, 0, int64_type(false)),       // 1
      call(agg_kind::count, 4, int64_type(false), true), // 2
      call(agg_kind::sum, 0, int32_type()),              // 3
      call(agg_kind::sum, 1, int64_type()),              // 4
      call(agg_kind::sum, 2, float64_type()),            // 5
      call(agg_kind::sum, 3, decimal_type(38, 2)),       // 6
      call(agg_kind::avg, 0, int32_type()),              // 7
      call(agg_kind::avg, 3, decimal_type(38, 6)),       // 8
      call(agg_kind::avg, 2, float64_type()),            // 9
      call(agg_kind::min, 4, string_type()),             // 10
      call(agg_kind::max, 4, string_type()),             // 11
      call(agg_kind::min, 5, timestamp_type()),          // 12
      call(agg_kind::max, 3, decimal_type(10, 2)),       // 13
      call(agg_kind::first_value, 4, string_type()),     // 14
      call(agg_kind::last_value, 1, int64_type()),       // 15
  };
}

row_batch output_for(const std::vector<agg_call>& calls) {
  return row_batch{make_schema(agg_fields(calls))};
}

const std::vector<std::vector<std::string>> rows = {
    {"1", "10", "1.5", "1.25", "b", "100"},
    {"2", "NULL", "NULL", "2.50", "a", "50"},
    {"NULL", "30", "2.0", "NULL", "b", "NULL"},
    {"NULL", "NULL", "NULL", "NULL", "NULL", "NULL"},
    {"4", "-5", "2.5", "-0.75", "c", "200"},
};

const std::string group0 =
    "4|3|3|7|35|6.0|3.00|2|1.000000|2.0|a|c|50|2.50|b|-5";
const std::string group1 =
    "1|0|0|NULL|NULL|NULL|NULL|NULL|NULL|NULL|NULL|NULL|NULL|NULL|NULL|NULL";

} // namespace

TEST_CASE("every aggregate over two groups, one of them only NULLs",
          "[ops][accumulators]") {
  auto calls = all_calls();
  auto accs = accumulators::make(calls, *input_schema());
  REQUIRE(accs);
  accs->resize(2);
  auto b = make_rows(input_schema(), rows);
  std::vector<uint32_t> gids{0, 0, 0, 1, 0};
  accs->update(b, gids);
  auto out = output_for(calls);
  std::vector<uint32_t> groups{0, 1};
  accs->emit(groups, out, 0);
  CHECK(rows_text(out) == std::vector<std::string>{group0, group1});
  CHECK(accs->byte_size() > 0);
}

TEST_CASE("merging partial states gives the result of one state over all rows",
          "[ops][accumulators]") {
  auto calls = all_calls();
  auto first = accumulators::make(calls, *input_schema());
  auto second = accumulators::make(calls, *input_schema());
  auto total = accumulators::make(calls, *input_schema());
  REQUIRE(first);
  REQUIRE(second);
  REQUIRE(total);
  // The first state holds rows 0-1 in its group 0; the second rows 2-4 with
  // group ids swapped (its group 1 is the total's group 0).
  first->resize(1);
  auto b1 = make_rows(input_schema(), {rows[0], rows[1]});
  first->update(b1, std::vector<uint32_t>{0, 0});
  second->resize(2);
  auto b2 = make_rows(input_schema(), {rows[2], rows[3], rows[4]});
  second->update(b2, std::vector<uint32_t>{1, 0, 1});
  total->resize(2);
  total->merge(*first, std::vector<uint32_t>{0});
  total->merge(*second, std::vector<uint32_t>{1, 0});
  auto out = output_for(calls);
  total->emit(std::vector<uint32_t>{0, 1}, out, 0);
  CHECK(rows_text(out) == std::vector<std::string>{group0, group1});
}

TEST_CASE("COUNT DISTINCT counts each non-NULL value once per group",
          "[ops][accumulators]") {
  auto s = make_schema({{"x", int64_type()}, {"d", float64_type()}});
  std::vector<agg_call> calls{call(agg_kind::count, 0, int64_type(), true),
                              call(agg_kind::count, 1, int64_type(), true)};
  auto accs = accumulators::make(calls, *s);
  REQUIRE(accs);
  accs->resize(2);
  auto b = make_rows(s, {{"1", "0.0"},
                         {"1", "-0.0"},
                         {"2", "NaN"},
                         {"NULL", "NaN"},
                         {"1", "NULL"},
                         {"1", "1.0"}});
  accs->update(b, std::vector<uint32_t>{0, 0, 0, 0, 1, 1});
  auto out = output_for(calls);
  accs->emit(std::vector<uint32_t>{0, 1}, out, 0);
  // -0.0 = 0.0 and NaN = NaN, as the group keys.
  CHECK(rows_text(out) == std::vector<std::string>{"2|2", "1|1"});
}

TEST_CASE("clear_group and keep forget and renumber groups",
          "[ops][accumulators]") {
  auto s = make_schema({{"x", int64_type()}});
  std::vector<agg_call> calls{call(agg_kind::sum, 0, int64_type()),
                              call(agg_kind::max, 0, int64_type())};
  auto accs = accumulators::make(calls, *s);
  REQUIRE(accs);
  accs->resize(3);
  auto b = make_rows(s, {{"1"}, {"2"}, {"3"}, {"4"}});
  accs->update(b, std::vector<uint32_t>{0, 1, 2, 2});
  accs->clear_group(1);
  auto out = output_for(calls);
  accs->emit(std::vector<uint32_t>{0, 1, 2}, out, 0);
  CHECK(rows_text(out) == std::vector<std::string>{"1|1", "NULL|NULL", "7|4"});
  accs->keep(std::vector<uint32_t>{2, 0});
  CHECK(accs->size() == 2);
  out.clear();
  accs->emit(std::vector<uint32_t>{0, 1}, out, 0);
  CHECK(rows_text(out) == std::vector<std::string>{"7|4", "1|1"});
}

TEST_CASE("AVG keeps the argument's integer type and rounds DECIMAL half up",
          "[ops][accumulators]") {
  auto s = make_schema({{"l", int64_type()}, {"m", decimal_type(5, 1)}});
  std::vector<agg_call> calls{call(agg_kind::avg, 0, int64_type()),
                              call(agg_kind::avg, 1, decimal_type(38, 1))};
  auto accs = accumulators::make(calls, *s);
  REQUIRE(accs);
  accs->resize(2);
  auto b =
      make_rows(s, {{"-7", "0.1"}, {"0", "0.2"}, {"7", "1.0"}, {"8", "1.1"}});
  accs->update(b, std::vector<uint32_t>{0, 0, 1, 1});
  auto out = output_for(calls);
  accs->emit(std::vector<uint32_t>{0, 1}, out, 0);
  // -7/2 truncates toward zero (Java); 0.3/2 = 0.15 -> 0.2; 2.1/2 = 1.05 -> 1.1
  CHECK(rows_text(out) == std::vector<std::string>{"-3|0.2", "7|1.1"});
}

TEST_CASE("aggregates refuse arguments they cannot take",
          "[ops][accumulators]") {
  auto s = input_schema();
  CHECK_FALSE(accumulators::make({call(agg_kind::sum, 4, string_type())}, *s));
  CHECK_FALSE(
      accumulators::make({call(agg_kind::avg, 5, timestamp_type())}, *s));
  CHECK_FALSE(
      accumulators::make({call(agg_kind::sum, 0, int32_type(), true)}, *s));
  CHECK_FALSE(accumulators::make({call(agg_kind::max, 9, int32_type())}, *s));
  auto bad = accumulators::make({call(agg_kind::min, -1, int32_type())}, *s);
  REQUIRE_FALSE(bad);
  CHECK(bad.error() == make_error(sql_errc::bad_plan));
}

TEST_CASE("FIRST_VALUE and LAST_VALUE skip NULLs; MIN and MAX of timestamps",
          "[ops][accumulators]") {
  auto s = make_schema({{"x", int64_type()}, {"t", timestamp_type()}});
  std::vector<agg_call> calls{call(agg_kind::first_value, 0, int64_type()),
                              call(agg_kind::last_value, 0, int64_type()),
                              call(agg_kind::min, 1, timestamp_type()),
                              call(agg_kind::max, 1, timestamp_type())};
  auto accs = accumulators::make(calls, *s);
  REQUIRE(accs);
  accs->resize(1);
  auto b = make_rows(s, {{"NULL", "NULL"},
                         {"5", "-20"},
                         {"6", "NULL"},
                         {"7", "1700000000000"},
                         {"NULL", "3"}});
  accs->update(b, std::vector<uint32_t>{0, 0, 0, 0, 0});
  auto out = output_for(calls);
  accs->emit(std::vector<uint32_t>{0}, out, 0);
  CHECK(rows_text(out) == std::vector<std::string>{"5|7|-20|1700000000000"});
}
