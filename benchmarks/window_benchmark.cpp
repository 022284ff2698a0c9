// Micro-benchmarks of the operator kernels: a window aggregate over
// Nexmark-like bids (count, sum and max of the price per auction) for
// TUMBLE and HOP (q5's 2 s / 10 s), and the non-windowed GROUP BY. Each
// iteration aggregates one batch of 4096 rows whose event times advance
// 1 ms per row (4 s per batch), and fires the windows the watermark
// (event time - 4 s, as the Nexmark DDL) closes.
#include <cstdint>
#include <random>
#include <vector>

#include <benchmark/benchmark.h>

#include "actors/ops/group_agg.hpp"
#include "actors/ops/window_agg.hpp"
#include "runtime/columnar/row_batch.hpp"

using namespace sluice;
using namespace sluice::columnar;
using namespace sluice::ops;

namespace {

constexpr size_t rows = row_batch::default_rows;

schema_ptr bid_schema() {
  return make_schema({{"auction", int64_type(false)},
                      {"price", int64_type(false)},
                      {"dateTime", timestamp_type(false)}},
                     2);
}

/// Bids over `keys` auctions; times start at `t0`, 1 ms apart.
row_batch bids(int64_t keys, int64_t t0, std::mt19937_64& rng) {
  row_batch b{bid_schema()};
  for (size_t i = 0; i < rows; ++i) {
    b.col(0).push<int64_t>(1000 + static_cast<int64_t>(rng() % keys));
    b.col(1).push<int64_t>(static_cast<int64_t>(rng() % 100000));
    b.col(2).push<int64_t>(t0 + static_cast<int64_t>(i));
  }
  return b;
}

std::vector<agg_call> aggs() {
  return {{agg_kind::count_star, -1, false, int64_type(false)},
          {agg_kind::sum, 1, false, int64_type()},
          {agg_kind::max, 1, false, int64_type()}};
}

void run_window(benchmark::State& state, window_spec w) {
  auto keys = state.range(0);
  auto st = window_agg_state::make(w, {0}, aggs(), *bid_schema());
  if (!st) {
    state.SkipWithError("bad window");
    return;
  }
  std::mt19937_64 rng{42};
  // Pre-built batches, times shifted per iteration.
  std::vector<row_batch> batches;
  for (int i = 0; i < 16; ++i)
    batches.push_back(bids(keys, 0, rng));
  row_batch late;
  row_batch out;
  int64_t t0 = 1'700'000'000'000;
  size_t i = 0;
  uint64_t emitted = 0;
  int64_t wm = min_timestamp;
  for (auto _ : state) {
    auto& b = batches[i++ % batches.size()];
    auto ts = b.col(2).values_mut<int64_t>();
    for (size_t r = 0; r < ts.size(); ++r)
      ts[r] = t0 + static_cast<int64_t>(r);
    // The rows come before the watermark they let through.
    accumulate(*st, b, wm, late);
    t0 += static_cast<int64_t>(rows);
    wm = t0 - 4000;
    fire(*st, wm, out);
    late.clear();
    emitted += out.num_rows();
    out.clear();
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(rows));
  state.counters["rows_out"] = static_cast<double>(emitted);
  state.counters["late"] = static_cast<double>(st->late_rows);
}

void BM_tumble_10s(benchmark::State& state) {
  window_spec w;
  w.kind = window_kind::tumble;
  w.time_column = 2;
  w.size_ms = 10'000;
  run_window(state, w);
}

void BM_hop_2s_10s(benchmark::State& state) {
  window_spec w;
  w.kind = window_kind::hop;
  w.time_column = 2;
  w.slide_ms = 2'000;
  w.size_ms = 10'000;
  run_window(state, w);
}

void BM_group_agg(benchmark::State& state) {
  auto keys = state.range(0);
  auto st = group_agg_state::make({0}, aggs(), 0, *bid_schema());
  if (!st) {
    state.SkipWithError("bad aggregate");
    return;
  }
  std::mt19937_64 rng{42};
  std::vector<row_batch> batches;
  for (int i = 0; i < 16; ++i)
    batches.push_back(bids(keys, 0, rng));
  row_batch out;
  size_t i = 0;
  for (auto _ : state) {
    st->apply(batches[i++ % batches.size()], 0, out);
    out.clear();
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(rows));
}

} // namespace

BENCHMARK(BM_tumble_10s)->Arg(1000)->Arg(100000);
BENCHMARK(BM_hop_2s_10s)->Arg(1000)->Arg(100000);
BENCHMARK(BM_group_agg)->Arg(1000)->Arg(100000);

BENCHMARK_MAIN();
