#include <algorithm>
#include <map>
#include <random>

#include <catch2/catch.hpp>

#include "actors/ops/window_agg.hpp"
#include "tests/actors/ops/ops_support.hpp"

using namespace sluice;
using namespace sluice::columnar;
using namespace sluice::ops;
using sluice::ops::test::rows_text;

namespace {

/// Every window (start, end) that holds `ts`, by brute force.
std::vector<std::pair<int64_t, int64_t>> windows_of(const window_spec& w,
                                                    int64_t ts) {
  std::vector<std::pair<int64_t, int64_t>> out;
  auto floor_div = [](int64_t a, int64_t b) {
    return a / b - ((a % b != 0) && ((a < 0) != (b < 0)) ? 1 : 0);
  };
  if (w.kind == window_kind::hop) {
    for (auto end = (floor_div(ts, w.slide_ms) + 1) * w.slide_ms;
         end - w.size_ms <= ts; end += w.slide_ms)
      out.emplace_back(end - w.size_ms, end);
  } else {
    auto start = floor_div(ts, w.size_ms) * w.size_ms;
    for (auto end = start + w.step_ms; end <= start + w.size_ms;
         end += w.step_ms)
      if (ts < end)
        out.emplace_back(start, end);
  }
  return out;
}

/// The end of the slice of `ts` (slide or step).
int64_t slice_end_of(const window_spec& w, int64_t ts) {
  auto s = w.kind == window_kind::hop ? w.slide_ms : w.step_ms;
  auto m = ((ts % s) + s) % s;
  return ts - m + s;
}

void check_against_brute_force(window_spec w, uint32_t seed) {
  auto s = make_schema(
      {{"k", int64_type()}, {"ts", timestamp_type()}, {"v", int64_type()}});
  std::vector<agg_call> aggs{{agg_kind::count_star, -1, false, int64_type()},
                             {agg_kind::sum, 2, false, int64_type()}};
  auto st = window_agg_state::make(w, {0}, aggs, *s);
  REQUIRE(st);
  std::mt19937 rng{seed};
  // (end, start, key) -> (count, sum) over the rows that were not late.
  std::map<std::tuple<int64_t, int64_t, int64_t>, std::pair<int64_t, int64_t>>
      expected;
  uint64_t expected_late = 0;
  std::vector<std::string> got;
  int64_t wm = min_timestamp;
  int64_t max_ts = -1000;
  row_batch late, out;
  for (int batch = 0; batch < 40; ++batch) {
    row_batch b{s};
    for (int i = 0; i < 50; ++i) {
      // Mostly advancing times with some disorder (up to 60 ms back).
      auto ts = batch * 25 + static_cast<int64_t>(rng() % 80) - 60;
      auto k = static_cast<int64_t>(rng() % 7);
      auto v = static_cast<int64_t>(rng() % 100);
      b.col(0).push<int64_t>(k);
      b.col(1).push<int64_t>(ts);
      b.col(2).push<int64_t>(v);
      max_ts = std::max(max_ts, ts);
      if (slice_end_of(w, ts) - 1 <= wm) {
        ++expected_late;
        continue;
      }
      for (auto [ws, we] : windows_of(w, ts)) {
        auto& e = expected[{we, ws, k}];
        e.first += 1;
        e.second += v;
      }
    }
    accumulate(*st, b, wm, late);
    wm = std::max(wm, max_ts - 30);
    fire(*st, wm, out);
  }
  fire(*st, max_timestamp, out);
  CHECK(st->late_rows == expected_late);
  CHECK(late.num_rows() == expected_late);
  CHECK(expected_late > 0); // the disorder did produce late rows
  std::vector<std::string> want;
  for (auto& [key, agg] : expected) {
    auto [we, ws, k] = key;
    want.push_back(std::to_string(k) + "|" + std::to_string(ws) + "|" +
                   std::to_string(we) + "|" + std::to_string(we - 1) + "|" +
                   std::to_string(agg.first) + "|" +
                   std::to_string(agg.second));
  }
  got = rows_text(out);
  // Windows come out in end order; within a window the order is the
  // groups' arrival, so compare sorted and check the end order separately.
  auto ends = out.col(2).values<int64_t>();
  CHECK(std::is_sorted(ends.begin(), ends.end()));
  std::sort(want.begin(), want.end());
  std::sort(got.begin(), got.end());
  CHECK(got == want);
  CHECK(st->slices.empty());
}

} // namespace

TEST_CASE("HOP with disorder and a moving watermark matches a brute force "
          "count per window",
          "[ops][window]") {
  window_spec w;
  w.kind = window_kind::hop;
  w.time_column = 1;
  w.slide_ms = 10;
  w.size_ms = 40;
  for (uint32_t seed : {1u, 2u, 3u})
    check_against_brute_force(w, seed);
}

TEST_CASE("CUMULATE with disorder and a moving watermark matches a brute "
          "force count per window",
          "[ops][window]") {
  window_spec w;
  w.kind = window_kind::cumulate;
  w.time_column = 1;
  w.step_ms = 10;
  w.size_ms = 50;
  for (uint32_t seed : {4u, 5u, 6u})
    check_against_brute_force(w, seed);
}
