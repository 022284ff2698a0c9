// Micro-benchmarks of the columnar core's hot paths: encoding and decoding
// row batches (what crosses nodes between operators), gathering selected
// rows, and hashing key columns to partition rows among 2, 8 or 64
// operator instances. Batches look like Nexmark bids, 4096 rows.
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "runtime/columnar/codec.hpp"
#include "runtime/columnar/hash.hpp"
#include "runtime/columnar/row_batch.hpp"

using namespace sluice::columnar;

namespace {

constexpr size_t rows = row_batch::default_rows;

row_batch bids() {
  auto s = make_schema({{"auction", int64_type(false)},
                        {"bidder", int64_type(false)},
                        {"price", int64_type(false)},
                        {"channel", string_type()},
                        {"url", string_type()},
                        {"dateTime", timestamp_type(false)},
                        {"extra", string_type()}},
                       5);
  row_batch b{s};
  std::mt19937_64 rng{42};
  const char* channels[] = {"Google", "Facebook", "Baidu", "Apple"};
  for (size_t i = 0; i < rows; ++i) {
    b.col(0).push<int64_t>(1000 + static_cast<int64_t>(rng() % 10000));
    b.col(1).push<int64_t>(2000 + static_cast<int64_t>(rng() % 50000));
    b.col(2).push<int64_t>(static_cast<int64_t>(rng() % 100000));
    b.col(3).push_str(channels[rng() % 4]);
    b.col(4).push_str("https://www.nexmark.com/item.htm?query=1&channel_id=" +
                      std::to_string(rng() % 100000));
    b.col(5).push<int64_t>(1700000000000 + static_cast<int64_t>(i));
    if (rng() % 10 == 0)
      b.col(6).push_null();
    else
      b.col(6).push_str(std::string(rng() % 40, 'x'));
  }
  return b;
}

/// Every other row, as a filter leaves them.
std::vector<uint32_t> half() {
  std::vector<uint32_t> sel;
  std::mt19937 rng{7};
  for (uint32_t i = 0; i < rows; ++i)
    if (rng() % 2 == 0)
      sel.push_back(i);
  return sel;
}

void BM_encode(benchmark::State& state) {
  auto b = bids();
  if (state.range(0) != 0)
    b.set_selection(half());
  std::vector<char> buf;
  for (auto _ : state) {
    buf.clear();
    encode(b, buf);
    benchmark::DoNotOptimize(buf.data());
  }
  state.SetItemsProcessed(state.iterations() * b.active_rows());
  state.SetBytesProcessed(state.iterations() * encoded_size(b));
}
BENCHMARK(BM_encode)->ArgName("selection")->Arg(0)->Arg(1);

void BM_decode_into(benchmark::State& state) {
  auto b = bids();
  std::vector<char> buf;
  encode(b, buf);
  row_batch out;
  for (auto _ : state) {
    auto err = decode_into(buf, out);
    benchmark::DoNotOptimize(err);
    benchmark::DoNotOptimize(out.num_rows());
  }
  state.SetItemsProcessed(state.iterations() * rows);
  state.SetBytesProcessed(state.iterations() * buf.size());
}
BENCHMARK(BM_decode_into);

void BM_gather(benchmark::State& state) {
  auto b = bids();
  auto sel = half();
  row_batch out{b.row_schema()};
  for (auto _ : state) {
    out.clear();
    out.append_rows(b, sel);
    benchmark::DoNotOptimize(out.num_rows());
  }
  state.SetItemsProcessed(state.iterations() * sel.size());
}
BENCHMARK(BM_gather);

void BM_compact(benchmark::State& state) {
  auto b = bids();
  auto sel = half();
  row_batch work{b.row_schema()};
  for (auto _ : state) {
    state.PauseTiming();
    work.clear();
    work.append_active(b);
    work.set_selection(sel);
    state.ResumeTiming();
    work.compact();
    benchmark::DoNotOptimize(work.num_rows());
  }
  state.SetItemsProcessed(state.iterations() * sel.size());
}
BENCHMARK(BM_compact);

void BM_hash_partition(benchmark::State& state) {
  auto b = bids();
  auto n = static_cast<uint32_t>(state.range(0));
  std::vector<uint32_t> keys{0};
  std::vector<uint64_t> hashes;
  std::vector<std::vector<uint32_t>> parts;
  for (auto _ : state) {
    hash_keys(b, keys, hashes);
    partition(hashes, b, n, parts);
    benchmark::DoNotOptimize(parts.data());
  }
  state.SetItemsProcessed(state.iterations() * rows);
}
BENCHMARK(BM_hash_partition)->ArgName("targets")->Arg(2)->Arg(8)->Arg(64);

void BM_hash_string_keys(benchmark::State& state) {
  auto b = bids();
  std::vector<uint32_t> keys{3, 4};
  std::vector<uint64_t> hashes;
  for (auto _ : state) {
    hash_keys(b, keys, hashes);
    benchmark::DoNotOptimize(hashes.data());
  }
  state.SetItemsProcessed(state.iterations() * rows);
}
BENCHMARK(BM_hash_string_keys);

} // namespace

BENCHMARK_MAIN();
