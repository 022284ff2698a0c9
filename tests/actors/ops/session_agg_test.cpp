#include <catch2/catch.hpp>

#include "actors/ops/session_agg.hpp"
#include "runtime/errors.hpp"
#include "tests/actors/ops/ops_support.hpp"

using namespace sluice;
using namespace sluice::columnar;
using namespace sluice::ops;
using sluice::ops::test::make_rows;
using sluice::ops::test::rows_text;
using strings = std::vector<std::string>;

namespace {

schema_ptr events() {
  return make_schema(
      {{"k", string_type()}, {"ts", timestamp_type()}, {"v", int64_type()}}, 1);
}

session_agg_state make_state(int64_t gap = 10) {
  window_spec w;
  w.kind = window_kind::session;
  w.time_column = 1;
  w.gap_ms = gap;
  std::vector<agg_call> aggs{{agg_kind::count_star, -1, false, int64_type()},
                             {agg_kind::sum, 2, false, int64_type()},
                             {agg_kind::first_value, 2, false, int64_type()}};
  auto st = session_agg_state::make(w, {0}, aggs, *events());
  REQUIRE(st);
  return std::move(*st);
}

strings add(session_agg_state& st,
            const std::vector<std::vector<std::string>>& rows,
            int64_t wm = min_timestamp) {
  row_batch late;
  accumulate(st, make_rows(events(), rows), wm, late);
  return rows_text(late);
}

strings fire_text(session_agg_state& st, int64_t wm) {
  row_batch out;
  fire(st, wm, out);
  return rows_text(out);
}

} // namespace

SCENARIO("sessions per key fire at end - 1 in end order", "[ops][session]") {
  auto st = make_state();
  CHECK(
      add(st,
          {{"a", "0", "1"}, {"a", "5", "2"}, {"b", "3", "4"}, {"a", "30", "8"}})
          .empty());
  CHECK(st.num_keys() == 3);
  CHECK(fire_text(st, 11).empty());
  CHECK(fire_text(st, 14) == strings{"b|3|13|12|1|4|4", "a|0|15|14|2|3|1"});
  CHECK(st.num_keys() == 1);
  CHECK(st.sessions_fired == 2);
  WHEN("a row falls into the fired session's range") {
    THEN("it is late, even where its own window is still open") {
      CHECK(add(st, {{"a", "14", "1"}}, 14) == strings{"a|14|1"});
      CHECK(st.late_rows == 1);
    }
  }
  WHEN("a row's own window passed the watermark") {
    THEN("it is late unless it joins an open session") {
      CHECK(add(st, {{"c", "12", "1"}, {"c", "2", "2"}, {"d", "1", "3"}}, 14) ==
            strings{"d|1|3"});
      CHECK(st.late_rows == 1);
      CHECK(fire_text(st, max_timestamp) ==
            strings{"c|2|22|21|2|3|1", "a|30|40|39|1|8|8"});
    }
  }
}

TEST_CASE("a row between two sessions bridges them into one",
          "[ops][session]") {
  auto st = make_state();
  add(st, {{"a", "50", "1"}, {"a", "65", "2"}, {"a", "90", "4"}});
  CHECK(st.num_keys() == 3);
  add(st, {{"a", "58", "8"}});
  CHECK(st.num_keys() == 2);
  // [80, 90) touches [90, 100): they merge; [50, 75) stays apart.
  add(st, {{"a", "80", "16"}});
  CHECK(st.num_keys() == 2);
  // [75, 85) touches [50, 75) and [80, 100): all three become one.
  add(st, {{"a", "75", "32"}});
  CHECK(st.num_keys() == 1);
  CHECK(fire_text(st, max_timestamp) == strings{"a|50|100|99|6|63|1"});
  CHECK(st.num_keys() == 0);
  CHECK(st.free_slots.size() == st.sessions.size());
}

TEST_CASE("sessions: NULL times are counted apart, slots are reused",
          "[ops][session]") {
  auto st = make_state(5);
  CHECK(add(st, {{"a", "NULL", "1"}, {"a", "1", "2"}}) == strings{"a|NULL|1"});
  CHECK(st.null_time_rows == 1);
  CHECK(st.late_rows == 0);
  CHECK(fire_text(st, 5) == strings{"a|1|6|5|1|2|2"});
  add(st, {{"b", "100", "7"}});
  CHECK(st.sessions.size() == 1); // the freed slot
  CHECK(fire_text(st, 104) == strings{"b|100|105|104|1|7|7"});
  window_spec w;
  w.kind = window_kind::session;
  w.gap_ms = 0;
  auto bad = session_agg_state::make(w, {0}, {}, *events());
  REQUIRE_FALSE(bad);
  CHECK(bad.error() == make_error(sql_errc::bad_plan));
}
