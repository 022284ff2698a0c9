// The mariadb table sink's upsert throughput, on the rows mariadb_insert_peer
// writes (benchmarks/mariadb.sh runs both against one server):
//
//   mariadb_sink_bench HOST PORT USER PASSWORD DB TABLE ROWS BATCH
//
// Recreates TABLE as the peer does, builds the rows as the
// job hands them to a sink (batches of 1024 rows), then times `write` of
// every batch and the final `flush` with 'sink.buffer-flush.max-rows' =
// BATCH. Prints `rows=N seconds=S rows_per_s=R`.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "connectors/mariadb_client.hpp"
#include "connectors/mariadb_sink.hpp"
#include "runtime/errors.hpp"
#include "runtime/metrics.hpp"

using namespace sluice;
using namespace sluice::columnar;

namespace {

// As in mariadb_insert_peer.c: row i is shop i % 1000 in the window i / 1000
// minutes after 2024-01-01 00:00:00 UTC.
constexpr int64_t first_window_ms = 1704067200LL * 1000;
constexpr int64_t shops = 1000;

int fail(const std::string& what) {
  std::fprintf(stderr, "mariadb_sink_bench: %s\n", what.c_str());
  return 1;
}

} // namespace

int main(int argc, char** argv) {
  if (argc != 9) {
    std::fprintf(stderr, "usage: mariadb_sink_bench HOST PORT USER PASSWORD "
                         "DB TABLE ROWS BATCH\n");
    return 2;
  }
  mariadb::target t;
  t.host = argv[1];
  t.port = static_cast<uint16_t>(std::atoi(argv[2]));
  t.user = argv[3];
  t.password = argv[4];
  t.database = argv[5];
  std::string table = argv[6];
  auto rows = std::strtoll(argv[7], nullptr, 10);
  auto batch = std::strtoll(argv[8], nullptr, 10);
  if (rows <= 0 || batch <= 0)
    return fail("ROWS and BATCH must be positive");

  auto schema = make_schema({{"shop_id", int64_type(false)},
                             {"window_start", timestamp_type(false)},
                             {"cnt", int64_type()},
                             {"total", decimal_type(18, 2)},
                             {"name", string_type()}});
  {
    mariadb::connection db;
    if (auto err = db.connect(t))
      return fail(describe(err));
    if (!db.exec("DROP TABLE IF EXISTS " + mariadb::quote_name(table)))
      return fail(db.last_text());
    // The peer's table, column for column (a TEXT column, which the sink
    // would create for a STRING, costs the server more than VARCHAR).
    if (!db.exec("CREATE TABLE " + mariadb::quote_name(table) +
                 " (shop_id BIGINT, window_start DATETIME(3), cnt BIGINT, "
                 "total DECIMAL(18,2), name VARCHAR(64), PRIMARY KEY "
                 "(shop_id, window_start))"))
      return fail(db.last_text());
  }

  std::vector<row_batch> input;
  char name[32];
  for (int64_t i = 0; i < rows; ++i) {
    if (i % 1024 == 0)
      input.emplace_back(schema);
    auto& b = input.back();
    auto shop = i % shops;
    b.col(0).push<int64_t>(shop);
    b.col(1).push<int64_t>(first_window_ms + (i / shops) * 60'000);
    b.col(2).push<int64_t>(i);
    b.col(3).push<int128>(static_cast<int128>(i) * 125);
    std::snprintf(name, sizeof name, "shop-%lld", static_cast<long long>(shop));
    b.col(4).push_str(name);
  }

  table_context ctx;
  ctx.name = "bench";
  ctx.schema = schema;
  ctx.metrics = std::make_shared<component_metrics>("bench", "sink");
  ctx.primary_key = {0, 1};
  mariadb_sink_settings s;
  s.target = t;
  s.table = table;
  s.max_rows = static_cast<size_t>(batch);
  s.interval_ms = 0;
  mariadb_sink sink{ctx, s};
  if (auto err = sink.open())
    return fail(describe(err));
  auto start = std::chrono::steady_clock::now();
  for (auto& b : input)
    if (auto err = sink.write(b))
      return fail(describe(err));
  if (auto err = sink.flush())
    return fail(describe(err));
  if (sink.holding())
    return fail("the server went away during the run");
  auto seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  sink.close();
  std::printf("rows=%lld seconds=%.3f rows_per_s=%.0f\n",
              static_cast<long long>(rows), seconds,
              static_cast<double>(rows) / seconds);
  return 0;
}
