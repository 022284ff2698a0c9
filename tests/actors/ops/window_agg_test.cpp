#include <catch2/catch.hpp>

#include "actors/ops/window_agg.hpp"
#include "runtime/errors.hpp"
#include "tests/actors/ops/ops_support.hpp"

using namespace sluice;
using namespace sluice::columnar;
using namespace sluice::ops;
using sluice::ops::test::make_rows;
using sluice::ops::test::rows_text;
using strings = std::vector<std::string>;

namespace {

/// Input rows: key, event time, value.
schema_ptr events() {
  return make_schema(
      {{"k", string_type()}, {"ts", timestamp_type()}, {"v", int64_type()}}, 1);
}

window_spec tumble(int64_t size, int64_t offset = 0) {
  window_spec w;
  w.kind = window_kind::tumble;
  w.time_column = 1;
  w.size_ms = size;
  w.offset_ms = offset;
  return w;
}

window_spec hop(int64_t slide, int64_t size) {
  window_spec w;
  w.kind = window_kind::hop;
  w.time_column = 1;
  w.slide_ms = slide;
  w.size_ms = size;
  return w;
}

window_spec cumulate(int64_t step, int64_t size) {
  window_spec w;
  w.kind = window_kind::cumulate;
  w.time_column = 1;
  w.step_ms = step;
  w.size_ms = size;
  return w;
}

std::vector<agg_call> count_and_sum() {
  return {{agg_kind::count_star, -1, false, int64_type(false)},
          {agg_kind::sum, 2, false, int64_type()}};
}

window_agg_state make_state(window_spec w, std::vector<uint32_t> keys = {0},
                            std::vector<agg_call> aggs = count_and_sum()) {
  auto st = window_agg_state::make(std::move(w), std::move(keys),
                                   std::move(aggs), *events());
  REQUIRE(st);
  return std::move(*st);
}

/// Accumulates `rows` at watermark `wm`, returns the late rows as text.
strings add(window_agg_state& st,
            const std::vector<std::vector<std::string>>& rows,
            int64_t wm = min_timestamp) {
  row_batch late;
  accumulate(st, make_rows(events(), rows), wm, late);
  return rows_text(late);
}

strings fire_text(window_agg_state& st, int64_t wm) {
  row_batch out;
  fire(st, wm, out);
  return rows_text(out);
}

} // namespace

SCENARIO("a tumbling window fires at window_end - 1 and refuses rows of "
         "fired slices",
         "[ops][window]") {
  GIVEN("a TUMBLE of 10 ms counting and summing per key") {
    auto st = make_state(tumble(10));
    CHECK(add(st, {{"a", "1", "1"},
                   {"b", "5", "2"},
                   {"a", "9", "3"},
                   {"a", "10", "4"},
                   {"b", "19", "NULL"}})
              .empty());
    CHECK(st.slices.size() == 2);
    CHECK(st.num_keys() == 4);
    WHEN("the watermark is one before the end - 1") {
      THEN("nothing fires") {
        CHECK(fire_text(st, 8).empty());
        CHECK(st.windows_fired == 0);
      }
    }
    WHEN("the watermark reaches window_end - 1") {
      auto out = fire_text(st, 9);
      THEN("the first window fires with keys, window columns and aggregates") {
        CHECK(out == strings{"a|0|10|9|2|4", "b|0|10|9|1|2"});
        CHECK(st.slices.size() == 1);
        CHECK(st.windows_fired == 1);
      }
      AND_THEN(
          "a row at ts == W in the fired slice is late, counted and kept") {
        CHECK(add(st, {{"c", "9", "7"}}, 9) == strings{"c|9|7"});
        CHECK(st.late_rows == 1);
      }
      AND_THEN("a row at ts == W of an open slice is not late") {
        CHECK(add(st, {{"c", "15", "7"}}, 15).empty());
        CHECK(st.late_rows == 0);
        // The fired window's rows are gone even if the watermark stays.
        CHECK(add(st, {{"c", "3", "7"}}, 9) == strings{"c|3|7"});
        CHECK(fire_text(st, 19) ==
              strings{"a|10|20|19|1|4", "b|10|20|19|1|NULL", "c|10|20|19|1|7"});
        CHECK(st.slices.empty());
        CHECK(st.late_rows == 1);
      }
    }
  }
}

TEST_CASE("the last millisecond of a slice is late at W = that millisecond, "
          "the first of the next is not",
          "[ops][window]") {
  auto st = make_state(tumble(10));
  CHECK(add(st, {{"a", "19", "1"}, {"a", "20", "1"}}, 19) == strings{"a|19|1"});
  CHECK(add(st, {{"a", "18", "1"}}, 18).empty());
  CHECK(st.late_rows == 1);
  CHECK(fire_text(st, 19) == strings{"a|10|20|19|1|1"});
}

TEST_CASE("a tumbling window with an offset shifts the window starts",
          "[ops][window]") {
  auto st = make_state(tumble(10, 3));
  add(st,
      {{"a", "2", "1"}, {"a", "3", "1"}, {"a", "12", "1"}, {"a", "-8", "1"}});
  CHECK(fire_text(st, max_timestamp) ==
        strings{"a|-17|-7|-8|1|1", "a|-7|3|2|1|1", "a|3|13|12|2|2"});
}

TEST_CASE("HOP puts each row in size/slide windows", "[ops][window]") {
  auto st = make_state(hop(5, 15));
  add(st, {{"a", "7", "1"}, {"a", "12", "10"}, {"b", "13", "100"}});
  CHECK(st.slices.size() == 2);
  CHECK(fire_text(st, 9) == strings{"a|-5|10|9|1|1"});
  CHECK(fire_text(st, max_timestamp) ==
        strings{"a|0|15|14|2|11", "b|0|15|14|1|100", "a|5|20|19|2|11",
                "b|5|20|19|1|100", "a|10|25|24|1|10", "b|10|25|24|1|100"});
  CHECK(st.slices.empty());
  CHECK(st.windows_fired == 4);
  CHECK(st.rows_out == 7);
}

TEST_CASE("HOP skips windows without rows and a slice stays until its last "
          "window fired",
          "[ops][window]") {
  auto st = make_state(hop(10, 30), {});
  add(st, {{"a", "5", "1"}, {"a", "95", "2"}});
  CHECK(fire_text(st, 29) ==
        strings{"-20|10|9|1|1", "-10|20|19|1|1", "0|30|29|1|1"});
  CHECK(st.slices.size() == 1);
  // A row for slice 20 is late: the window [0, 30) that holds it fired.
  CHECK(add(st, {{"a", "15", "1"}}, 29) == strings{"a|15|1"});
  CHECK(fire_text(st, max_timestamp) ==
        strings{"70|100|99|1|2", "80|110|109|1|2", "90|120|119|1|2"});
}

TEST_CASE("CUMULATE windows grow by step from a size-aligned start",
          "[ops][window]") {
  auto st = make_state(cumulate(5, 15));
  add(st,
      {{"a", "1", "1"}, {"a", "6", "2"}, {"b", "11", "3"}, {"a", "16", "4"}});
  CHECK(fire_text(st, 4) == strings{"a|0|5|4|1|1"});
  CHECK(fire_text(st, 14) ==
        strings{"a|0|10|9|2|3", "a|0|15|14|2|3", "b|0|15|14|1|3"});
  // [0, 15) fired: a row for slice [10, 15) is late; one for [15, 20) is not.
  CHECK(add(st, {{"b", "14", "1"}, {"b", "15", "5"}}, 14) == strings{"b|14|1"});
  CHECK(fire_text(st, max_timestamp) ==
        strings{"a|15|20|19|1|4", "b|15|20|19|1|5", "a|15|25|24|1|4",
                "b|15|25|24|1|5", "a|15|30|29|1|4", "b|15|30|29|1|5"});
  CHECK(st.slices.empty());
}

TEST_CASE("inherited windows group by the input's window columns",
          "[ops][window]") {
  // q5's second aggregate: max(num) per window over (auction, window_start,
  // window_end, num).
  auto s = make_schema({{"auction", int64_type()},
                        {"window_start", timestamp_type(false)},
                        {"window_end", timestamp_type(false)},
                        {"num", int64_type()}});
  window_spec w;
  w.kind = window_kind::inherited;
  w.start_column = 1;
  w.end_column = 2;
  std::vector<agg_call> aggs{{agg_kind::max, 3, false, int64_type()}};
  auto st = window_agg_state::make(w, {}, aggs, *s);
  REQUIRE(st);
  row_batch late;
  accumulate(*st,
             make_rows(s, {{"1", "0", "10", "3"},
                           {"2", "0", "10", "5"},
                           {"1", "10", "20", "2"},
                           {"3", "5", "10", "9"}}),
             min_timestamp, late);
  CHECK(late.num_rows() == 0);
  row_batch out;
  fire(*st, 9, out);
  CHECK(rows_text(out) == strings{"0|10|9|5", "5|10|9|9"});
  accumulate(*st, make_rows(s, {{"4", "0", "10", "1"}, {"4", "10", "20", "7"}}),
             9, late);
  CHECK(rows_text(late) == strings{"4|0|10|1"});
  CHECK(st->late_rows == 1);
  out.clear();
  fire(*st, 19, out);
  CHECK(rows_text(out) == strings{"10|20|19|7"});
}

TEST_CASE("rows with a NULL event time go to the late rows, counted apart",
          "[ops][window]") {
  auto st = make_state(tumble(10));
  CHECK(add(st, {{"a", "NULL", "1"}, {"a", "3", "2"}}) == strings{"a|NULL|1"});
  CHECK(st.null_time_rows == 1);
  CHECK(st.late_rows == 0);
  CHECK(fire_text(st, 9) == strings{"a|0|10|9|1|2"});
}

TEST_CASE("a window aggregate over 100k keys sums exactly", "[ops][window]") {
  auto s = make_schema(
      {{"k", int64_type()}, {"ts", timestamp_type()}, {"v", int64_type()}});
  window_spec w = hop(10, 20);
  std::vector<agg_call> aggs{{agg_kind::count_star, -1, false, int64_type()},
                             {agg_kind::sum, 2, false, int64_type()}};
  auto st = window_agg_state::make(w, {0}, aggs, *s);
  REQUIRE(st);
  row_batch late;
  constexpr int64_t keys = 100'000;
  for (int64_t from = 0; from < 2 * keys; from += 4096) {
    row_batch b{s};
    for (int64_t i = from; i < std::min(2 * keys, from + 4096); ++i) {
      b.col(0).push<int64_t>(i % keys);
      b.col(1).push<int64_t>(i < keys ? 3 : 13); // slices 10 and 20
      b.col(2).push<int64_t>(i);
    }
    accumulate(*st, b, min_timestamp, late);
  }
  CHECK(st->num_keys() == 2 * keys);
  row_batch out;
  fire(*st, max_timestamp, out);
  // Windows ending 10 (slice 10), 20 (both slices), 30 (slice 20).
  REQUIRE(out.num_rows() == 3 * keys);
  auto sums = out.col(5).values<int64_t>();
  auto counts = out.col(4).values<int64_t>();
  for (int64_t k = 0; k < keys; k += 997) {
    CHECK(sums[k] == k);
    CHECK(sums[keys + k] == 2 * k + keys);
    CHECK(counts[keys + k] == 2);
    CHECK(sums[2 * keys + k] == k + keys);
  }
  CHECK(st->slices.empty());
}

TEST_CASE("window aggregates refuse bad windows and columns", "[ops][window]") {
  auto s = events();
  auto aggs = count_and_sum();
  CHECK_FALSE(window_agg_state::make(hop(4, 10), {0}, aggs, *s));
  CHECK_FALSE(window_agg_state::make(cumulate(3, 10), {0}, aggs, *s));
  CHECK_FALSE(window_agg_state::make(tumble(0), {0}, aggs, *s));
  CHECK_FALSE(window_agg_state::make(tumble(10), {7}, aggs, *s));
  auto w = tumble(10);
  w.time_column = 0; // a STRING
  auto bad = window_agg_state::make(w, {0}, aggs, *s);
  REQUIRE_FALSE(bad);
  CHECK(bad.error() == make_error(sql_errc::bad_plan));
}

TEST_CASE("a window aggregate reads only the selected rows of its input",
          "[ops][window]") {
  auto st = make_state(tumble(10));
  auto b = make_rows(events(), {{"a", "1", "1"},
                                {"a", "2", "10"},
                                {"b", "3", "100"},
                                {"a", "4", "1000"}});
  b.set_selection({1, 3});
  row_batch late;
  accumulate(st, b, min_timestamp, late);
  CHECK(fire_text(st, 9) == strings{"a|0|10|9|2|1010"});
}
