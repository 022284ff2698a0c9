// Micro-benchmarks of expression evaluation, a batch of 4096 rows at a
// time: Nexmark q1's DECIMAL product, q2's filter, LIKE, DATE_FORMAT, and
// an embedder's function per value against the same function vectorized.
#include <string>

#include <benchmark/benchmark.h>

#include "runtime/columnar/row_batch.hpp"
#include "runtime/columnar/schema.hpp"
#include "runtime/expr/decimal.hpp"
#include "runtime/expr/functions.hpp"
#include "runtime/expr/program.hpp"

using namespace sluice;
using namespace sluice::expr;

namespace {

constexpr size_t rows = columnar::row_batch::default_rows;

/// Bids: auction BIGINT, price BIGINT, url STRING, dateTime TIMESTAMP(3).
columnar::row_batch make_bids() {
  columnar::row_batch b{
      columnar::make_schema({{"auction", columnar::int64_type()},
                             {"price", columnar::int64_type()},
                             {"url", columnar::string_type()},
                             {"dateTime", columnar::timestamp_type()}})};
  for (size_t i = 0; i < rows; ++i) {
    b.col(0).push<int64_t>(1000 + static_cast<int64_t>(i * 7919 % 5000));
    b.col(1).push<int64_t>(static_cast<int64_t>(i * 31 % 100000));
    b.col(2).push_str(i % 3 == 0
                          ? "https://www.nexmark.com/item/" + std::to_string(i)
                          : "https://shop.example/" + std::to_string(i));
    b.col(3).push<int64_t>(1700000000000 + static_cast<int64_t>(i) * 37);
  }
  return b;
}

program compile(const tree& t, const columnar::row_batch& b,
                const function_registry& fns) {
  auto p = program::compile(t, *b.row_schema(), fns);
  if (!p)
    throw std::runtime_error("benchmark expression does not compile");
  return std::move(*p);
}

void run(benchmark::State& state, const tree& t,
         const function_registry& fns = function_registry::builtin()) {
  auto b = make_bids();
  auto p = compile(t, b, fns);
  eval_context ctx;
  for (auto _ : state)
    benchmark::DoNotOptimize(&p.eval(b, ctx));
  state.SetItemsProcessed(state.iterations() * rows);
}

void BM_q1_decimal_product(benchmark::State& state) {
  tree t;
  auto f = t.add_literal(columnar::int128{908}, decimal::literal_type("0.908"));
  t.root = t.add_call("*", {}, {f, t.add_column(1, columnar::int64_type())});
  run(state, t);
}
BENCHMARK(BM_q1_decimal_product);

void BM_q2_mod_filter(benchmark::State& state) {
  tree t;
  auto m = t.add_call("MOD", {},
                      {t.add_column(0, columnar::int64_type()),
                       t.add_literal(int64_t{123}, columnar::int32_type())});
  t.root = t.add_call("=", {},
                      {m, t.add_literal(int64_t{0}, columnar::int32_type())});
  auto fns = function_registry::builtin();
  auto b = make_bids();
  auto p = compile(t, b, fns);
  eval_context ctx;
  for (auto _ : state) {
    b.select_all();
    p.filter(b, ctx);
    benchmark::DoNotOptimize(b.active_rows());
  }
  state.SetItemsProcessed(state.iterations() * rows);
}
BENCHMARK(BM_q2_mod_filter);

void BM_like_prefix(benchmark::State& state) {
  tree t;
  t.root = t.add_op(op::like, {},
                    {t.add_column(2, columnar::string_type()),
                     t.add_literal(std::string{"https://www.nexmark.com/%"},
                                   columnar::string_type())});
  run(state, t);
}
BENCHMARK(BM_like_prefix);

void BM_like_general(benchmark::State& state) {
  tree t;
  t.root = t.add_op(op::like, {},
                    {t.add_column(2, columnar::string_type()),
                     t.add_literal(std::string{"%nexmark%item_1%"},
                                   columnar::string_type())});
  run(state, t);
}
BENCHMARK(BM_like_general);

void BM_date_format(benchmark::State& state) {
  tree t;
  t.root = t.add_call("DATE_FORMAT", {},
                      {t.add_column(3, columnar::timestamp_type()),
                       t.add_literal(std::string{"yyyy-MM-dd HH:mm"},
                                     columnar::string_type())});
  run(state, t);
}
BENCHMARK(BM_date_format);

void BM_udf_per_value(benchmark::State& state) {
  auto fns = function_registry::builtin();
  fns.add_scalar("SCALE", [](int64_t x) { return x * 3 + 1; });
  tree t;
  t.root = t.add_call("SCALE", {}, {t.add_column(1, columnar::int64_type())});
  run(state, t, fns);
}
BENCHMARK(BM_udf_per_value);

void BM_udf_vectorized(benchmark::State& state) {
  auto fns = function_registry::builtin();
  function_def f;
  f.name = "SCALE";
  f.resolve = [](std::span<const columnar::data_type> got)
      -> caf::expected<columnar::data_type> {
    return got[0];
  };
  f.bind = [](std::span<const columnar::data_type>,
              const columnar::data_type&) -> kernel_fn {
    return [](std::span<const columnar::column* const> args,
              std::span<const uint32_t> sel, columnar::column& out,
              eval_context& ctx) {
      prepare_fixed(out, ctx.batch_rows);
      auto in = args[0]->values<int64_t>();
      auto o = out.values_mut<int64_t>();
      // The benchmark's prices have no NULLs; a real kernel checks valid().
      for (auto i : sel)
        o[i] = in[i] * 3 + 1;
    };
  };
  fns.add_vectorized(std::move(f));
  tree t;
  t.root = t.add_call("SCALE", {}, {t.add_column(1, columnar::int64_type())});
  run(state, t, fns);
}
BENCHMARK(BM_udf_vectorized);

} // namespace

BENCHMARK_MAIN();
