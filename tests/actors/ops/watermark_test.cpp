#include <catch2/catch.hpp>

#include "actors/ops/state_limit.hpp"
#include "actors/ops/watermark.hpp"
#include "runtime/columnar/chunk.hpp"
#include "runtime/errors.hpp"

using namespace sluice;
using namespace sluice::ops;
using columnar::max_timestamp;
using columnar::min_timestamp;

TEST_CASE("the watermark is the minimum over the inputs and never goes down",
          "[ops][watermark]") {
  watermark_tracker wm;
  wm.resize(3);
  CHECK_FALSE(wm.update(0, 100, 0));
  CHECK(wm.current == min_timestamp);
  CHECK_FALSE(wm.update(1, 50, 0));
  CHECK(wm.update(2, 70, 0));
  CHECK(wm.current == 50);
  CHECK(wm.update(1, 200, 0));
  CHECK(wm.current == 70);
  // A lower watermark from an input is ignored.
  CHECK_FALSE(wm.update(2, 10, 0));
  CHECK(wm.input_wm[2] == 70);
  CHECK(wm.current == 70);
  CHECK(wm.update(2, 150, 0));
  CHECK(wm.current == 100);
}

TEST_CASE("an idle input is left out of the minimum until it sends again",
          "[ops][watermark]") {
  watermark_tracker wm;
  wm.resize(2);
  CHECK_FALSE(wm.update(0, 100, 0));
  CHECK(wm.update(1, 20, chunk_idle));
  CHECK(wm.current == 100);
  CHECK(wm.active_inputs() == 1);
  // Back from idle with a lower watermark: the combined one holds (it never
  // goes down) until the returning input passes it.
  CHECK_FALSE(wm.update(1, 30, 0));
  CHECK(wm.current == 100);
  CHECK(wm.active_inputs() == 2);
  CHECK_FALSE(wm.update(0, 300, 0));
  CHECK(wm.current == 100);
  CHECK(wm.update(1, 150, 0));
  CHECK(wm.current == 150);
}

TEST_CASE("when every input is idle the watermark moves to the highest of "
          "theirs",
          "[ops][watermark]") {
  watermark_tracker wm;
  wm.resize(2);
  wm.update(0, 40, 0);
  CHECK(wm.update(1, 60, 0));
  CHECK(wm.current == 40);
  // Input 0 goes idle: input 1 alone decides.
  CHECK(wm.update(0, 80, chunk_idle));
  CHECK(wm.current == 60);
  // Both idle: the highest of their watermarks (Flink's valve).
  CHECK(wm.update(1, 70, chunk_idle));
  CHECK(wm.current == 80);
  CHECK(wm.active_inputs() == 0);
  // Idle in the other order, with the higher one going quiet first.
  watermark_tracker other;
  other.resize(2);
  other.update(0, 9900, 0);
  CHECK_FALSE(other.update(0, 9900, chunk_idle)); // input 1 still at the min
  CHECK(other.update(1, columnar::min_timestamp, chunk_idle));
  CHECK(other.current == 9900);
}

TEST_CASE("an ended input counts as the end of time", "[ops][watermark]") {
  watermark_tracker wm;
  wm.resize(2);
  CHECK_FALSE(wm.update(0, 10, chunk_end));
  CHECK(wm.current == min_timestamp);
  CHECK(wm.update(1, 500, 0));
  CHECK(wm.current == 500);
  CHECK(wm.update(1, 600, chunk_end));
  CHECK(wm.current == max_timestamp);
  // An ended input stays ended, even if a late idle flag arrives.
  CHECK_FALSE(wm.update(0, 20, chunk_idle));
  CHECK(wm.ended[0] == 1);
  CHECK(wm.current == max_timestamp);
}

TEST_CASE("the state limit fails with state_limit naming the stage",
          "[ops][watermark]") {
  CHECK_FALSE(check_state_limit("w", 100, 100));
  CHECK_FALSE(check_state_limit("w", 1000, 0));
  auto err = check_state_limit("window_agg#2", 101, 100);
  REQUIRE(err);
  CHECK(err == make_error(sql_errc::state_limit));
  CHECK_THAT(describe(err), Catch::Contains("window_agg#2"));
}
