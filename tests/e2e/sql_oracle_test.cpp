// The SQL oracle: `sluice sql` computes TUMBLE, HOP, CUMULATE and SESSION
// aggregates per key over a million generated rows (CSV files in, CSV
// files out); SQLite computes the same from the same rows with plain SQL;
// the results must be equal as multisets. The rows are out of order by
// less than the watermark's delay, so none is late.
// SLUICE_ORACLE_ROWS sets the row count (the sanitizer run lowers it).
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <sqlite3.h>

#include "tests/support/oracle_data.hpp"
#include "tests/support/process.hpp"

using namespace sluice::test;
using namespace sluice::test::oracle;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

/// "1970-01-01 HH:MM:SS.fff" as ms (and the day before: HOP windows
/// start before the first row).
/// INT64_MIN for any other text.
int64_t ts_ms(const std::string& text) {
  auto day = text.substr(0, 11);
  if (text.size() != 23 || (day != "1970-01-01 " && day != "1969-12-31 "))
    return INT64_MIN;
  auto num = [&](size_t at, size_t len) {
    return std::stoll(text.substr(at, len));
  };
  auto ms =
      ((num(11, 2) * 60 + num(14, 2)) * 60 + num(17, 2)) * 1000 + num(20, 3);
  return day == "1970-01-01 " ? ms : ms - 86400000;
}

/// Every line of every file in `dir`, window columns (fields 1 and 2) as
/// ms, sorted.
std::vector<std::string> engine_rows(const std::string& dir) {
  std::vector<std::string> result;
  for (auto& e : fs::directory_iterator(dir)) {
    std::ifstream in{e.path()};
    std::string line;
    while (std::getline(in, line)) {
      std::vector<std::string> f;
      std::stringstream ls{line};
      std::string x;
      while (std::getline(ls, x, ','))
        f.push_back(x);
      // A malformed line stays as it is and will differ from SQLite's.
      if (f.size() == 8) {
        f[1] = std::to_string(ts_ms(f[1]));
        f[2] = std::to_string(ts_ms(f[2]));
      }
      std::string joined;
      for (auto& y : f)
        joined += (joined.empty() ? "" : ",") + y;
      result.push_back(std::move(joined));
    }
  }
  std::sort(result.begin(), result.end());
  return result;
}

std::vector<std::string> sqlite_rows(sqlite3* db, const std::string& sql) {
  sqlite3_stmt* st = nullptr;
  INFO(sql);
  REQUIRE(sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) == SQLITE_OK);
  std::vector<std::string> result;
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    std::string line;
    for (int c = 0; c < sqlite3_column_count(st); ++c) {
      auto* t = reinterpret_cast<const char*>(sqlite3_column_text(st, c));
      line += (c == 0 ? "" : ",") + std::string{t ? t : ""};
    }
    result.push_back(std::move(line));
  }
  REQUIRE(rc == SQLITE_DONE);
  sqlite3_finalize(st);
  std::sort(result.begin(), result.end());
  return result;
}

void exec(sqlite3* db, const std::string& sql) {
  char* err = nullptr;
  auto rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
  INFO((err ? err : ""));
  sqlite3_free(err);
  REQUIRE(rc == SQLITE_OK);
}

} // namespace

TEST_CASE("TUMBLE, HOP, CUMULATE and SESSION aggregates per key equal "
          "SQLite's over the same rows",
          "[e2e][sql][oracle]") {
  size_t n = 1000000;
  if (auto* env = std::getenv("SLUICE_ORACLE_ROWS"))
    n = std::stoul(env);
  temp_dir dir;
  auto rows = make_rows(n);
  // Two files (two scan instances at parallelism 2): even and odd rows.
  fs::create_directories(dir / "in");
  write_csv(rows, dir / "in", 2);
  auto script = source_ddl(dir / "in");
  auto qs = queries();
  for (auto& q : qs) {
    fs::create_directories(dir / q.name);
    script +=
        insert_of(q, fmt::format("'connector' = 'filesystem', 'path' = '{}/', "
                                 "'format' = 'csv'",
                                 dir / q.name));
  }
  std::ofstream{dir / "oracle.sql"} << script;
  process p;
  auto log = dir / "run.log";
  REQUIRE(process::start(
      p, {SLUICE_BINARY, "sql", dir / "oracle.sql", "--parallelism", "2"},
      log));
  auto code = p.wait(300s);
  INFO(read_file(log));
  REQUIRE(code);
  REQUIRE(*code == 0);
  CHECK(!std::regex_search(read_file(log), std::regex{"late_rows=[1-9]"}));
  // Producers kept within their credit (a chunk over it is refused).
  CHECK(read_file(log).find("refused a chunk") == std::string::npos);

  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(":memory:", &db) == SQLITE_OK);
  exec(db, "CREATE TABLE t (k TEXT, v INTEGER, ts INTEGER)");
  exec(db, "BEGIN");
  sqlite3_stmt* ins = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, "INSERT INTO t VALUES (?, ?, ?)", -1, &ins,
                             nullptr) == SQLITE_OK);
  for (auto& r : rows) {
    sqlite3_bind_text(ins, 1, r.k.c_str(), -1, SQLITE_STATIC);
    sqlite3_bind_int64(ins, 2, r.v);
    sqlite3_bind_int64(ins, 3, r.ts);
    if (sqlite3_step(ins) != SQLITE_DONE)
      FAIL("SQLite insert: " << sqlite3_errmsg(db));
    sqlite3_reset(ins);
  }
  sqlite3_finalize(ins);
  exec(db, "COMMIT");
  // One loop, not sections: a section would run the whole case again.
  for (auto& q : qs) {
    INFO("query " << q.name);
    {
      auto expected = sqlite_rows(db, q.reference);
      auto got = engine_rows(dir / q.name);
      REQUIRE(!expected.empty());
      CHECK(got.size() == expected.size());
      // Equal as multisets; on a difference, show the first one.
      auto [a, b] = std::mismatch(got.begin(), got.end(), expected.begin(),
                                  expected.end());
      INFO("first difference: sluice "
           << (a == got.end() ? "<none>" : *a) << " / SQLite "
           << (b == expected.end() ? "<none>" : *b));
      CHECK(got == expected);
    }
  }
  sqlite3_close(db);
}
