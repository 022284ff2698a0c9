// Micro-benchmarks of the filesystem table connector's text formats: Nexmark
// bids (7 columns: 3 BIGINT, 3 VARCHAR, a TIMESTAMP) written as CSV and JSON
// lines and read back into columns, a record at a time as the source does
// (finding each record's end included). `items` are rows; `bytes` are text.
#include <string>

#include <benchmark/benchmark.h>

#include "connectors/nexmark_model.hpp"
#include "connectors/table_files.hpp"
#include "runtime/columnar/row_batch.hpp"

using namespace sluice;

namespace {

/// 4096 bids, and their text in `fmt`.
struct bids {
  explicit bids(table_format::kind kind) {
    fmt.format = kind;
    nexmark::model_config cfg;
    cfg.seed = 1;
    cfg.first_event_time = 1'700'000'000'000;
    auto gen = std::move(*nexmark::generator::make(cfg));
    rows = columnar::row_batch{nexmark::table_schema(nexmark::event_kind::bid)};
    static_cast<void>(gen.fill(rows, nexmark::event_kind::bid, 0,
                               columnar::row_batch::default_rows));
    for (size_t i = 0; i < rows.num_rows(); ++i)
      encode(i, text);
  }

  void encode(size_t i, std::string& out) const {
    if (fmt.format == table_format::kind::csv)
      csv_encode_row(rows, i, fmt, out);
    else
      json_encode_row(rows, i, fmt, out);
  }

  table_format fmt;
  columnar::row_batch rows;
  std::string text;
};

void encode(benchmark::State& state, table_format::kind kind) {
  bids b{kind};
  std::string out;
  int64_t rows = 0;
  for (auto _ : state) {
    out.clear();
    for (size_t i = 0; i < b.rows.num_rows(); ++i)
      b.encode(i, out);
    benchmark::DoNotOptimize(out.data());
    rows += static_cast<int64_t>(b.rows.num_rows());
  }
  state.SetItemsProcessed(rows);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(b.text.size()));
}

void decode(benchmark::State& state, table_format::kind kind) {
  bids b{kind};
  columnar::row_batch out{b.rows.row_schema()};
  decode_scratch scratch;
  std::string_view text = b.text;
  int64_t rows = 0;
  for (auto _ : state) {
    out.clear();
    size_t pos = 0;
    while (pos < text.size()) {
      uint64_t lines = 0;
      auto end =
          kind == table_format::kind::csv
              ? csv_record_end(text, pos, b.fmt.delimiter, b.fmt.quote, lines)
              : text.find('\n', pos) + 1;
      auto record = text.substr(pos, end - pos - 1);
      auto err = kind == table_format::kind::csv
                     ? csv_decode_row(record, b.fmt, out, scratch)
                     : json_decode_row(record, b.fmt, out, scratch);
      if (err)
        state.SkipWithError("a row did not parse");
      pos = end;
    }
    rows += static_cast<int64_t>(out.num_rows());
  }
  state.SetItemsProcessed(rows);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(text.size()));
}

void BM_csv_encode(benchmark::State& state) {
  encode(state, table_format::kind::csv);
}
void BM_csv_decode(benchmark::State& state) {
  decode(state, table_format::kind::csv);
}
void BM_json_encode(benchmark::State& state) {
  encode(state, table_format::kind::json);
}
void BM_json_decode(benchmark::State& state) {
  decode(state, table_format::kind::json);
}
BENCHMARK(BM_csv_encode);
BENCHMARK(BM_csv_decode);
BENCHMARK(BM_json_encode);
BENCHMARK(BM_json_decode);

} // namespace

BENCHMARK_MAIN();
