#include <catch2/catch.hpp>

#include "actors/ops/window_join.hpp"
#include "runtime/errors.hpp"
#include "runtime/expr/functions.hpp"
#include "tests/actors/ops/ops_support.hpp"

using namespace sluice;
using namespace sluice::columnar;
using namespace sluice::ops;
using sluice::ops::test::make_rows;
using sluice::ops::test::rows_text;
using strings = std::vector<std::string>;

namespace {

window_spec inherited() {
  window_spec w;
  w.kind = window_kind::inherited;
  return w;
}

} // namespace

SCENARIO("q5's window join keeps the auctions whose count reaches the "
         "window's maximum",
         "[ops][join]") {
  auto left = make_schema({{"auction", int64_type()},
                           {"num", int64_type()},
                           {"window_start", timestamp_type(false)},
                           {"window_end", timestamp_type(false)}});
  auto right = make_schema({{"maxn", int64_type()},
                            {"window_start", timestamp_type(false)},
                            {"window_end", timestamp_type(false)}});
  auto st =
      window_join_state::make(inherited(), {}, {}, left, right, {2, 3}, {1, 2});
  REQUIRE(st);
  // num >= maxn over left ++ right: num is column 1, maxn column 4.
  expr::tree t;
  auto num = t.add_column(1, int64_type());
  auto maxn = t.add_column(4, int64_type());
  t.root = t.add_call(">=", boolean_type(), {num, maxn});
  auto residual = expr::program::compile(t, *st->out_schema,
                                         expr::function_registry::builtin());
  REQUIRE(residual);
  expr::eval_context ctx;
  row_batch late;
  add(*st, 0,
      make_rows(left, {{"1", "3", "0", "10"},
                       {"2", "5", "0", "10"},
                       {"3", "5", "0", "10"},
                       {"1", "2", "10", "20"},
                       {"4", "9", "20", "30"}}),
      min_timestamp, late);
  add(*st, 1, make_rows(right, {{"5", "0", "10"}, {"4", "10", "20"}}),
      min_timestamp, late);
  CHECK(late.num_rows() == 0);
  CHECK(st->windows.size() == 3);
  CHECK(st->num_keys() == 7);
  WHEN("the watermark reaches the first window's end - 1") {
    row_batch out;
    fire(*st, 9, &*residual, ctx, out);
    THEN("its pairs that pass the residual come out and the window is "
         "purged") {
      CHECK(rows_text(out) == strings{"2|5|0|10|5|0|10", "3|5|0|10|5|0|10"});
      CHECK(st->windows.size() == 2);
      CHECK(st->windows_fired == 1);
    }
    AND_THEN("rows for the fired window are late") {
      add(*st, 1, make_rows(right, {{"1", "0", "10"}}), 9, late);
      CHECK(rows_text(late) == strings{"1|0|10"});
      CHECK(st->late_rows == 1);
    }
    AND_THEN("windows where the residual fails or one side is empty emit "
             "nothing") {
      row_batch rest;
      fire(*st, max_timestamp, &*residual, ctx, rest);
      CHECK(rest.num_rows() == 0);
      CHECK(st->windows.empty());
      CHECK(st->windows_fired == 3);
    }
  }
}

TEST_CASE("a keyed window join matches equal keys only, never NULL keys, "
          "whichever side is smaller",
          "[ops][join]") {
  auto s = make_schema({{"k", string_type()},
                        {"v", int64_type()},
                        {"window_start", timestamp_type()},
                        {"window_end", timestamp_type()}});
  auto st =
      window_join_state::make(inherited(), {0}, {0}, s, s, {2, 3}, {2, 3});
  REQUIRE(st);
  row_batch late;
  add(*st, 0,
      make_rows(s, {{"a", "1", "0", "10"},
                    {"b", "2", "0", "10"},
                    {"NULL", "3", "0", "10"},
                    {"a", "4", "0", "10"},
                    {"x", "5", "10", "20"},
                    {"x", "6", "10", "20"},
                    {"y", "7", "10", "20"},
                    {"a", "8", "NULL", "20"}}),
      min_timestamp, late);
  add(*st, 1,
      make_rows(s, {{"a", "10", "0", "10"},
                    {"NULL", "20", "0", "10"},
                    {"c", "30", "0", "10"},
                    {"a", "40", "0", "10"},
                    {"x", "50", "10", "20"}}),
      min_timestamp, late);
  CHECK(st->null_time_rows == 1);
  CHECK(rows_text(late) == strings{"a|8|NULL|20"});
  row_batch out;
  expr::eval_context ctx;
  fire(*st, max_timestamp, nullptr, ctx, out);
  CHECK(rows_text(out) == strings{"a|1|0|10|a|10|0|10", "a|1|0|10|a|40|0|10",
                                  "a|4|0|10|a|10|0|10", "a|4|0|10|a|40|0|10",
                                  "x|5|10|20|x|50|10|20",
                                  "x|6|10|20|x|50|10|20"});
  CHECK(st->rows_out == 6);
  CHECK(st->byte_size() == 0);
}

TEST_CASE("window joins refuse keys of different types", "[ops][join]") {
  auto l = make_schema({{"k", string_type()},
                        {"ws", timestamp_type()},
                        {"we", timestamp_type()}});
  auto r = make_schema({{"k", int64_type()},
                        {"ws", timestamp_type()},
                        {"we", timestamp_type()}});
  auto bad =
      window_join_state::make(inherited(), {0}, {0}, l, r, {1, 2}, {1, 2});
  REQUIRE_FALSE(bad);
  CHECK(bad.error() == make_error(sql_errc::bad_plan));
  CHECK_FALSE(
      window_join_state::make(inherited(), {0}, {}, l, l, {1, 2}, {1, 2}));
  CHECK_FALSE(
      window_join_state::make(inherited(), {}, {}, l, l, {0, 2}, {1, 2}));
}
