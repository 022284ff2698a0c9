// Micro-benchmarks of the batch hot path: appending events, encoding and
// decoding whole batches (the file channel's and the network's format),
// and the CRC32C every stored batch carries.
#include <string>

#include <benchmark/benchmark.h>

#include "runtime/crc32c.hpp"
#include "runtime/event_batch.hpp"

using namespace sluice;

namespace {

event_batch make_batch(size_t events, size_t size, bool headers) {
  std::string body(size, 'x');
  event_batch b;
  for (size_t i = 0; i < events; ++i) {
    b.append(body);
    if (headers) {
      b.add_header("timestamp", "1764042000000");
      b.add_header("host", "app-01");
    }
  }
  return b;
}

void BM_append(benchmark::State& state) {
  std::string body(100, 'x');
  event_batch b;
  b.reserve(1000, 1000 * 100);
  for (auto _ : state) {
    b.clear();
    for (int i = 0; i < 1000; ++i)
      b.append(body);
    benchmark::DoNotOptimize(b);
  }
  state.SetItemsProcessed(state.iterations() * 1000);
  state.SetBytesProcessed(state.iterations() * 1000 * 100);
}
BENCHMARK(BM_append);

void BM_encode(benchmark::State& state) {
  auto b = make_batch(1000, 100, state.range(0) != 0);
  std::vector<char> buf;
  for (auto _ : state) {
    buf.clear();
    b.encode(buf);
    benchmark::DoNotOptimize(buf.data());
  }
  state.SetItemsProcessed(state.iterations() * 1000);
  state.SetBytesProcessed(state.iterations() * b.encoded_size());
}
BENCHMARK(BM_encode)->Arg(0)->Arg(1);

void BM_decode(benchmark::State& state) {
  auto b = make_batch(1000, 100, state.range(0) != 0);
  std::vector<char> buf;
  b.encode(buf);
  for (auto _ : state) {
    auto back = event_batch::decode(buf);
    benchmark::DoNotOptimize(back);
  }
  state.SetItemsProcessed(state.iterations() * 1000);
  state.SetBytesProcessed(state.iterations() * buf.size());
}
BENCHMARK(BM_decode)->Arg(0)->Arg(1);

// The CRC32C of a buffer of `range(0)` bytes: the table path (slicing by 8)
// with `range(1) == 0`, the SSE4.2 path (three streams) with 1.
void BM_crc32c(benchmark::State& state) {
  std::string data(static_cast<size_t>(state.range(0)), '\0');
  for (size_t i = 0; i < data.size(); ++i)
    data[i] = static_cast<char>(i * 7);
  bool hardware = state.range(1) != 0;
  if (hardware && !crc32c::hardware_available()) {
    state.SkipWithError("no SSE4.2");
    return;
  }
  for (auto _ : state) {
    auto c = hardware ? crc32c::extend_hardware(0, data.data(), data.size())
                      : crc32c::extend_table(0, data.data(), data.size());
    benchmark::DoNotOptimize(c);
  }
  state.SetBytesProcessed(state.iterations() *
                          static_cast<int64_t>(data.size()));
}
BENCHMARK(BM_crc32c)
    ->Args({1024, 0})
    ->Args({1024, 1})
    ->Args({65536, 0})
    ->Args({65536, 1});

} // namespace

BENCHMARK_MAIN();
