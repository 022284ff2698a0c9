// The SQL oracle's four aggregations (TUMBLE, HOP, CUMULATE, SESSION per
// key: count, sum, min, max, avg) over the same generated rows, by sluice
// and by SQLite in memory, in the same run.
//
//   sql_vs_sqlite [ROWS] [PARALLELISM]     (defaults: 1000000, 1)
//
// sluice: the filesystem source reads the rows as CSV from a temporary
// directory (parsing included), a blackhole sink, run in-process with
// job_runner, timed from start to the end of the job. SQLite: the rows are
// inserted with one prepared statement in one transaction (timed apart),
// then each query is prepared and stepped to its last row (timed). Rows/s
// = input rows / seconds.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <sqlite3.h>

#include "connectors/table_registry.hpp"
#include "engine/jobs.hpp"
#include "runtime/errors.hpp"
#include "runtime/expr/functions.hpp"
#include "runtime/log.hpp"
#include "sql/diagnostics.hpp"
#include "sql/script.hpp"
#include "tests/support/oracle_data.hpp"

using namespace sluice;
using namespace sluice::test::oracle;
namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;

namespace {

double seconds_since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "sql_vs_sqlite: %s\n", what.c_str());
  std::exit(1);
}

/// Runs `q` with sluice; returns seconds and the rows it emitted.
std::pair<double, uint64_t> run_sluice(const query& q, const std::string& in,
                                       uint32_t parallelism) {
  auto text = source_ddl(in) + insert_of(q, "'connector' = 'blackhole'");
  sql::compile_options co;
  co.parallelism = parallelism;
  std::vector<sql::sql_diagnostic> diags;
  auto script =
      sql::compile_script(text, "bench.sql", expr::function_registry::builtin(),
                          table_registry::builtin().infos(), co, diags);
  if (!diags.empty() || !script)
    die(sql::render(diags, text));
  auto runner = job_runner::make(std::move(script->jobs));
  if (!runner)
    die(describe(runner.error()));
  auto t0 = clock_type::now();
  if (auto err = (*runner)->start())
    die(describe(err));
  if (auto err = (*runner)->wait())
    die(describe(err));
  auto secs = seconds_since(t0);
  uint64_t out = 0;
  for (auto& s : (*runner)->stages())
    if (s.name.find("/sink ") != std::string::npos)
      out += s.rows_in;
  return {secs, out};
}

} // namespace

int main(int argc, char** argv) {
  size_t n = argc > 1 ? std::stoul(argv[1]) : 1000000;
  uint32_t par = argc > 2 ? static_cast<uint32_t>(std::stoul(argv[2])) : 1;
  set_log_level("warn");
  auto rows = make_rows(n);
  auto dir = fs::temp_directory_path() /
             fmt::format("sql_vs_sqlite.{}", static_cast<long>(getpid()));
  fs::create_directories(dir / "in");
  write_csv(rows, dir / "in", par);

  sqlite3* db = nullptr;
  if (sqlite3_open(":memory:", &db) != SQLITE_OK)
    die("cannot open SQLite");
  auto exec = [&](const char* sql) {
    if (sqlite3_exec(db, sql, nullptr, nullptr, nullptr) != SQLITE_OK)
      die(sqlite3_errmsg(db));
  };
  auto t0 = clock_type::now();
  exec("CREATE TABLE t (k TEXT, v INTEGER, ts INTEGER)");
  exec("BEGIN");
  sqlite3_stmt* ins = nullptr;
  sqlite3_prepare_v2(db, "INSERT INTO t VALUES (?, ?, ?)", -1, &ins, nullptr);
  for (auto& r : rows) {
    sqlite3_bind_text(ins, 1, r.k.c_str(), -1, SQLITE_STATIC);
    sqlite3_bind_int64(ins, 2, r.v);
    sqlite3_bind_int64(ins, 3, r.ts);
    if (sqlite3_step(ins) != SQLITE_DONE)
      die(sqlite3_errmsg(db));
    sqlite3_reset(ins);
  }
  sqlite3_finalize(ins);
  exec("COMMIT");
  auto load = seconds_since(t0);

  std::printf("rows=%zu parallelism=%u SQLite %s; SQLite load %.3f s\n", n, par,
              sqlite3_libversion(), load);
  std::printf("%-9s %12s %12s %12s %12s %12s %8s\n", "query", "sluice s",
              "sluice r/s", "SQLite s", "SQLite r/s", "+load r/s", "ratio");
  for (auto& q : queries()) {
    auto [secs, out] = run_sluice(q, dir / "in", par);
    sqlite3_stmt* st = nullptr;
    auto t1 = clock_type::now();
    if (sqlite3_prepare_v2(db, q.reference.c_str(), -1, &st, nullptr) !=
        SQLITE_OK)
      die(sqlite3_errmsg(db));
    uint64_t ref_rows = 0;
    while (sqlite3_step(st) == SQLITE_ROW)
      ++ref_rows;
    sqlite3_finalize(st);
    auto ref = seconds_since(t1);
    if (ref_rows != out)
      die(fmt::format("{}: sluice emitted {} rows, SQLite {}", q.name, out,
                      ref_rows));
    std::printf("%-9s %12.3f %12.0f %12.3f %12.0f %12.0f %8.2f\n", q.name, secs,
                n / secs, ref, n / ref, n / (ref + load),
                (n / secs) / (n / ref));
  }
  sqlite3_close(db);
  fs::remove_all(dir);
  return 0;
}
