#include <catch2/catch.hpp>

#include "actors/ops/group_agg.hpp"
#include "tests/actors/ops/ops_support.hpp"

using namespace sluice;
using namespace sluice::columnar;
using namespace sluice::ops;
using sluice::ops::test::make_rows;
using sluice::ops::test::rows_text;
using strings = std::vector<std::string>;

namespace {

schema_ptr input() {
  return make_schema({{"k", string_type()}, {"v", int64_type()}});
}

group_agg_state make_state(int64_t ttl = 0) {
  std::vector<agg_call> aggs{{agg_kind::count_star, -1, false, int64_type()},
                             {agg_kind::sum, 1, false, int64_type()}};
  auto st = group_agg_state::make({0}, aggs, ttl, *input());
  REQUIRE(st);
  return std::move(*st);
}

/// Applies `rows` at `now`; returns the output rows as "kind|row".
strings apply(group_agg_state& st,
              const std::vector<std::vector<std::string>>& rows, int64_t now) {
  row_batch out;
  st.apply(make_rows(input(), rows), now, out);
  strings result;
  auto text = rows_text(out);
  for (size_t i = 0; i < text.size(); ++i)
    result.push_back(std::string{to_string(out.kind(i))} + " " + text[i]);
  return result;
}

} // namespace

SCENARIO("a non-windowed GROUP BY emits an insert, then update_after rows, "
         "one per changed group per batch",
         "[ops][group_agg]") {
  auto st = make_state();
  CHECK(apply(st, {{"a", "1"}, {"b", "2"}, {"a", "3"}}, 100) ==
        strings{"+I a|2|4", "+I b|1|2"});
  CHECK(apply(st, {{"a", "5"}, {"a", "NULL"}}, 200) == strings{"+U a|4|9"});
  CHECK(apply(st, {{"c", "1"}, {"b", "1"}}, 300) ==
        strings{"+I c|1|1", "+U b|2|3"});
  CHECK(st.num_keys() == 3);
  CHECK(st.rows_out == 5);
  // Without a TTL nothing expires.
  CHECK(st.expire(1'000'000) == 0);
  CHECK(st.byte_size() > 0);
}

SCENARIO("groups idle for the TTL are forgotten and start again from zero",
         "[ops][group_agg]") {
  GIVEN("a TTL of 1000 ms") {
    auto st = make_state(1000);
    apply(st, {{"a", "1"}, {"b", "2"}}, 100);
    apply(st, {{"a", "3"}}, 500);
    WHEN("the processing time is one before b's expiry") {
      THEN("nothing expires") {
        CHECK(st.expire(1099) == 0);
        CHECK(st.num_keys() == 2);
      }
    }
    WHEN("b has been idle for the TTL") {
      REQUIRE(st.expire(1100) == 1);
      THEN("only a stays, and b starts from zero as an insert") {
        CHECK(st.num_keys() == 1);
        CHECK(st.expired_groups == 1);
        CHECK(apply(st, {{"b", "7"}, {"a", "1"}}, 1200) ==
              strings{"+I b|1|7", "+U a|3|5"});
        // Both were touched at 1200.
        CHECK(st.expire(2199) == 0);
        CHECK(st.expire(2200) == 2);
        CHECK(st.num_keys() == 0);
        CHECK(apply(st, {{"a", "2"}}, 2300) == strings{"+I a|1|2"});
      }
    }
  }
}

TEST_CASE("retractions in the input are counted, not aggregated",
          "[ops][group_agg]") {
  auto st = make_state();
  auto b = make_rows(input(), {{"a", "1"}, {"a", "10"}, {"a", "100"}});
  b.set_kind(1, row_kind::update_before);
  row_batch out;
  st.apply(b, 0, out);
  CHECK(rows_text(out) == strings{"a|2|101"});
  CHECK(st.retractions_skipped == 1);
}

TEST_CASE("a group aggregate over 100k keys with a selection",
          "[ops][group_agg]") {
  auto st = make_state();
  auto s = input();
  row_batch b{s};
  for (int i = 0; i < 100'000; ++i) {
    b.col(0).push_str("k" + std::to_string(i % 50'000));
    b.col(1).push<int64_t>(i);
  }
  std::vector<uint32_t> sel;
  for (uint32_t i = 0; i < 100'000; i += 2)
    sel.push_back(i);
  b.set_selection(sel);
  row_batch out;
  st.apply(b, 0, out);
  // Even rows: keys k0, k2, ... each twice (i and i + 50000).
  REQUIRE(out.num_rows() == 25'000);
  CHECK(st.num_keys() == 25'000);
  CHECK(rows_text(out)[0] == "k0|2|50000");
  CHECK(rows_text(out)[24'999] == "k49998|2|149996");
}
