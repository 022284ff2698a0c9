#pragma once

#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include <fmt/format.h>

/// The rows and queries of the SQL oracle (tests/e2e/sql_oracle_test.cpp)
/// and of its benchmark beside SQLite (benchmarks/sql_vs_sqlite.cpp): the
/// same rows, the same four aggregations, in sluice's SQL and in SQLite's.
namespace sluice::test::oracle {

/// One generated row: a key of 1000, a value, an event time in ms.
struct row {
  std::string k;
  int64_t v = 0;
  int64_t ts = 0;
};

/// "1970-01-01 HH:MM:SS.fff" for `ms` in the first day.
inline std::string ts_text(int64_t ms) {
  auto secs = ms / 1000;
  return fmt::format("1970-01-01 {:02}:{:02}:{:02}.{:03}", secs / 3600,
                     secs / 60 % 60, secs % 60, ms % 1000);
}

/// `n` rows every 2 ms from 10 s on, keys k0..k999, each up to 899 ms
/// earlier than its place (less than the watermark's 1 s delay: no row is
/// late). The same `n` gives the same rows.
inline std::vector<row> make_rows(size_t n) {
  std::vector<row> rows;
  rows.reserve(n);
  uint64_t x = 42;
  auto next = [&] {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    return x >> 33;
  };
  for (size_t i = 0; i < n; ++i) {
    auto k = next() % 1000;
    auto v = static_cast<int64_t>(next() % 2001) - 1000;
    auto d = static_cast<int64_t>(next() % 900);
    rows.push_back(
        {"k" + std::to_string(k), v, 10000 + static_cast<int64_t>(i) * 2 - d});
  }
  return rows;
}

/// Writes the rows as CSV (k,v,ts) into `files` files in `dir` (row i into
/// file i % files: one scan instance each).
inline void write_csv(const std::vector<row>& rows, const std::string& dir,
                      size_t files) {
  std::vector<std::ofstream> out;
  for (size_t f = 0; f < files; ++f)
    out.emplace_back(fmt::format("{}/part-{}.csv", dir, f));
  for (size_t i = 0; i < rows.size(); ++i)
    out[i % files] << rows[i].k << ',' << rows[i].v << ','
                   << ts_text(rows[i].ts) << '\n';
}

/// One aggregation: its window function for sluice and the same query for
/// SQLite over `t(k TEXT, v INTEGER, ts INTEGER)`.
struct query {
  const char* name;
  const char* tvf;
  std::string reference;
};

/// sluice's aggregates; SQLite's reference computes AVG of a BIGINT as
/// Flink does (an integer, truncated).
inline constexpr const char* aggs = "COUNT(*), SUM(v), MIN(v), MAX(v), AVG(v)";
inline constexpr const char* ref_aggs =
    "COUNT(*), SUM(v), MIN(v), MAX(v), SUM(v) / COUNT(*)";

inline std::vector<query> queries() {
  return {
      {"tumble", "TUMBLE(TABLE events, DESCRIPTOR(ts), INTERVAL '10' SECOND)",
       fmt::format("SELECT k, ts / 10000 * 10000 AS ws, ts / 10000 * 10000 + "
                   "10000, {} FROM t GROUP BY k, ws",
                   ref_aggs)},
      {"hop",
       "HOP(TABLE events, DESCRIPTOR(ts), INTERVAL '5' SECOND, INTERVAL '15' "
       "SECOND)",
       fmt::format("WITH o(o) AS (VALUES (0), (1), (2)) SELECT k, (ts / 5000 "
                   "- o) * 5000 AS ws, (ts / 5000 - o) * 5000 + 15000, {} "
                   "FROM t, o GROUP BY k, ws",
                   ref_aggs)},
      {"cumulate",
       "CUMULATE(TABLE events, DESCRIPTOR(ts), INTERVAL '5' SECOND, INTERVAL "
       "'20' SECOND)",
       fmt::format("WITH j(j) AS (VALUES (1), (2), (3), (4)) SELECT k, ts / "
                   "20000 * 20000 AS ws, ts / 20000 * 20000 + j * 5000 AS "
                   "we, {} FROM t, j WHERE ts / 20000 * 20000 + j * 5000 > "
                   "ts GROUP BY k, ws, we",
                   ref_aggs)},
      // A new session when the gap to the key's previous row is more than
      // 3 s (windows that touch merge, as Flink's).
      {"session",
       "SESSION(TABLE events PARTITION BY k, DESCRIPTOR(ts), INTERVAL '3' "
       "SECOND)",
       fmt::format("SELECT k, MIN(ts), MAX(ts) + 3000, {} FROM (SELECT *, "
                   "SUM(nw) OVER (PARTITION BY k ORDER BY ts ROWS UNBOUNDED "
                   "PRECEDING) AS sid FROM (SELECT *, CASE WHEN LAG(ts) OVER "
                   "(PARTITION BY k ORDER BY ts) IS NULL OR ts - LAG(ts) "
                   "OVER (PARTITION BY k ORDER BY ts) > 3000 THEN 1 ELSE 0 "
                   "END AS nw FROM t)) GROUP BY k, sid",
                   ref_aggs)},
  };
}

/// The source table over the CSV files in `in_dir`.
inline std::string source_ddl(const std::string& in_dir) {
  return fmt::format(R"(
CREATE TABLE events (k STRING, v BIGINT, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)
  WITH ('connector' = 'filesystem', 'path' = '{}', 'format' = 'csv');
)",
                     in_dir);
}

/// The sink table `out_NAME` and the INSERT of query `q` into it;
/// `sink_with` is the sink's WITH options.
inline std::string insert_of(const query& q, const std::string& sink_with) {
  return fmt::format(R"(
CREATE TABLE out_{name} (k STRING, ws TIMESTAMP(3), we TIMESTAMP(3),
  n BIGINT, s BIGINT, mn BIGINT, mx BIGINT, av BIGINT) WITH ({with});
INSERT INTO out_{name}
SELECT k, window_start, window_end, {aggs}
FROM TABLE({tvf}) GROUP BY k, window_start, window_end;
)",
                     fmt::arg("name", q.name), fmt::arg("with", sink_with),
                     fmt::arg("aggs", aggs), fmt::arg("tvf", q.tvf));
}

} // namespace sluice::test::oracle
