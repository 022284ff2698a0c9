// Micro-benchmarks of the Nexmark generator: events made per second, alone
// and written into a table's columns (what the nexmark source does per poll).
// `rows` counts the table's rows; `events` counts the event numbers they
// cover, persons, auctions and bids alike, as the published Nexmark figures
// count them.
#include <benchmark/benchmark.h>

#include "connectors/nexmark_model.hpp"
#include "runtime/columnar/row_batch.hpp"

using namespace sluice;
using namespace sluice::nexmark;

namespace {

generator make_generator() {
  model_config cfg;
  cfg.seed = 1;
  cfg.first_event_time = 1'700'000'000'000;
  return std::move(*generator::make(cfg));
}

/// Bids as structs (string views into the pools): the model alone.
void BM_make_bid(benchmark::State& state) {
  auto g = make_generator();
  uint64_t n = 0;
  int64_t rows = 0;
  for (auto _ : state) {
    n = g.next_owned(n, event_kind::bid);
    auto b = g.make_bid(n++);
    benchmark::DoNotOptimize(b);
    ++rows;
  }
  state.SetItemsProcessed(rows);
  state.counters["events"] =
      benchmark::Counter(static_cast<double>(n), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_make_bid);

/// One table's rows into a batch of 4096 (cleared and refilled).
void BM_fill(benchmark::State& state) {
  auto table = static_cast<event_kind>(state.range(0));
  auto g = make_generator();
  columnar::row_batch batch{table_schema(table)};
  uint64_t next = 0;
  int64_t rows = 0;
  int64_t bytes = 0;
  for (auto _ : state) {
    batch.clear();
    auto res = g.fill(batch, table, next, columnar::row_batch::default_rows);
    if (!res) {
      state.SkipWithError("fill failed");
      break;
    }
    next = res->next;
    rows += static_cast<int64_t>(res->rows);
    bytes += static_cast<int64_t>(batch.byte_size());
    benchmark::DoNotOptimize(batch);
  }
  state.SetLabel(std::string{to_string(table)});
  state.SetItemsProcessed(rows);
  state.SetBytesProcessed(bytes);
  state.counters["events"] = benchmark::Counter(
      static_cast<double>(g.owned_before(next)), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_fill)
    ->Arg(static_cast<int>(event_kind::person))
    ->Arg(static_cast<int>(event_kind::auction))
    ->Arg(static_cast<int>(event_kind::bid));

/// Every event into its own table's batch: the three tables at once.
void BM_fill_all_tables(benchmark::State& state) {
  auto g = make_generator();
  columnar::row_batch persons{table_schema(event_kind::person)};
  columnar::row_batch auctions{table_schema(event_kind::auction)};
  columnar::row_batch bids{table_schema(event_kind::bid)};
  constexpr uint64_t step = 4096;
  uint64_t from = 0;
  for (auto _ : state) {
    persons.clear();
    auctions.clear();
    bids.clear();
    // Each table takes the kinds of event numbers [from, from + step).
    auto until = from + step;
    auto ok = g.fill(persons, event_kind::person, from, step, until) &&
              g.fill(auctions, event_kind::auction, from, step, until) &&
              g.fill(bids, event_kind::bid, from, step, until);
    if (!ok) {
      state.SkipWithError("fill failed");
      break;
    }
    from = until;
    benchmark::DoNotOptimize(bids);
  }
  state.SetItemsProcessed(static_cast<int64_t>(from));
  state.counters["events"] = benchmark::Counter(static_cast<double>(from),
                                                benchmark::Counter::kIsRate);
}
BENCHMARK(BM_fill_all_tables);

} // namespace

BENCHMARK_MAIN();
