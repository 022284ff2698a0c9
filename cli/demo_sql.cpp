#include "cli/demo_sql.hpp"

#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <vector>

#include <fmt/format.h>

#include "cli/demo_mariadb.hpp"
#include "connectors/mariadb_client.hpp"
#include "connectors/table_registry.hpp"
#include "engine/jobs.hpp"
#include "runtime/errors.hpp"
#include "runtime/expr/functions.hpp"
#include "runtime/log.hpp"
#include "sql/diagnostics.hpp"
#include "sql/script.hpp"

namespace sluice {

namespace fs = std::filesystem;

namespace {

/// The compute tier of the scenario, over the topic's lines ("order
/// id=000001 amount=37.01 region=south"), exported to a file until SQL
/// reads topics itself.
constexpr const char* per_region_sql =
    R"(-- Orders and revenue per region, as the application logged them.
CREATE TABLE orders (
  line STRING,
  amount AS CAST(REGEXP_EXTRACT(line, 'amount=([0-9.]+)', 1) AS DECIMAL(10, 2)),
  region AS REGEXP_EXTRACT(line, 'region=([a-z]+)', 1)
) WITH ('connector' = 'filesystem', 'path' = '${env:ORDERS}',
        'format' = 'csv');

CREATE TABLE per_region (region STRING, orders BIGINT, revenue DECIMAL(38, 2))
  WITH ('connector' = 'print', 'path' = '${env:RESULT}');

-- The same numbers upserted into MariaDB, where a dashboard reads them.
CREATE TABLE per_region_db (
  region STRING, orders BIGINT, revenue DECIMAL(38, 2),
  PRIMARY KEY (region) NOT ENFORCED
) WITH ('connector' = 'mariadb', 'url' = '${env:DB_URL}',
        'table-name' = 'per_region', 'username' = 'sluice',
        'password' = '${env:DB_PASSWORD}', 'sink.create-table' = 'true');

CREATE VIEW totals AS
SELECT region, COUNT(*) AS orders, SUM(amount) AS revenue
FROM orders GROUP BY region;

INSERT INTO per_region SELECT * FROM totals;
INSERT INTO per_region_db SELECT * FROM totals;
)";

struct region_total {
  int64_t orders = 0;
  int64_t cents = 0;
};

/// What the application wrote: its order_line(i) for i in [1, written].
std::map<std::string, region_total> expected_totals(int64_t written) {
  std::map<std::string, region_total> r;
  for (int64_t i = 1; i <= written; ++i) {
    auto& t = r[i % 3 == 0 ? "north" : i % 3 == 1 ? "south" : "west"];
    ++t.orders;
    t.cents += (i * 37) % 500 * 100 + i % 100;
  }
  return r;
}

/// The last row of each region in the print sink's output
/// ("+U[south, 12, 345.67]").
std::map<std::string, std::string> last_rows(const fs::path& out) {
  std::map<std::string, std::string> r;
  std::ifstream in{out};
  std::string line;
  while (std::getline(in, line)) {
    auto open = line.find('[');
    auto comma = line.find(',', open);
    if (open == std::string::npos || comma == std::string::npos)
      continue;
    r[line.substr(open + 1, comma - open - 1)] = line;
  }
  return r;
}

/// The MariaDB table per_region against the application's log.
bool check_table(const demo_mariadb& db,
                 const std::map<std::string, region_total>& want) {
  mariadb::target root;
  root.host = "localhost";
  root.user = "root";
  root.socket = db.socket();
  root.database = "demo";
  mariadb::connection c;
  if (auto err = c.connect(root)) {
    log().error("demo: {}", describe(err));
    return false;
  }
  auto rows =
      c.query("SELECT region, orders, revenue FROM per_region ORDER BY region");
  if (!rows) {
    log().error("demo: {}", describe(rows.error()));
    return false;
  }
  bool all = rows->size() == want.size();
  for (auto& r : *rows) {
    auto region = r[0].value_or("NULL");
    auto text = fmt::format("{} {} {}", region, r[1].value_or("NULL"),
                            r[2].value_or("NULL"));
    auto it = want.find(region);
    auto expected =
        it == want.end()
            ? std::string{"no such region"}
            : fmt::format("{} {} {}.{:02}", region, it->second.orders,
                          it->second.cents / 100, it->second.cents % 100);
    bool ok = text == expected;
    all = all && ok;
    std::cout << fmt::format(
        "demo: MariaDB {} demo.per_region: {} ({})\n", db.url(), text,
        ok ? "matches the application's log" : "expected " + expected);
  }
  return all;
}

} // namespace

bool run_demo_sql(const fs::path& dir, const std::string& lines,
                  int64_t written) {
  auto compute = dir / "compute";
  fs::create_directories(compute);
  std::ofstream{compute / "orders.log"} << lines;
  std::ofstream{compute / "per_region.sql"} << per_region_sql;
  auto result = compute / "per_region.out";
  fs::remove(result);
  std::cout << "\ndemo: starting a private MariaDB server for the results "
               "(its log: "
            << (compute / "mariadb.log").string() << ")\n";
  auto db = demo_mariadb::start(compute / "mariadb.log");
  if (!db) {
    log().error("demo: {}", describe(db.error()));
    return false;
  }
  sql::compile_options co;
  co.getenv = [&](std::string_view name) -> std::optional<std::string> {
    if (name == "ORDERS")
      return (compute / "orders.log").string();
    if (name == "RESULT")
      return result.string();
    if (name == "DB_URL")
      return (*db)->url();
    if (name == "DB_PASSWORD")
      return (*db)->password();
    return std::nullopt;
  };
  std::vector<sql::sql_diagnostic> diags;
  auto script =
      sql::compile_script(per_region_sql, (compute / "per_region.sql").string(),
                          expr::function_registry::builtin(),
                          table_registry::builtin().infos(), co, diags);
  if (!diags.empty() || !script) {
    std::cerr << sql::render(diags, per_region_sql);
    return false;
  }
  std::cout << "\ndemo: compute: sluice sql " << (compute / "per_region.sql")
            << " over the topic's lines (orders.log):\n\n"
            << per_region_sql << '\n';
  auto runner = job_runner::make(std::move(script->jobs));
  if (!runner) {
    log().error("demo: {}", describe(runner.error()));
    return false;
  }
  if (auto err = (*runner)->start()) {
    log().error("demo: {}", describe(err));
    return false;
  }
  if (auto err = (*runner)->wait()) {
    log().error("demo: the SQL job failed: {}", describe(err));
    return false;
  }
  auto want = expected_totals(written);
  auto got = last_rows(result);
  bool all = got.size() == want.size();
  for (auto& [region, t] : want) {
    // The row's values; +I when the group's rows all came in one batch,
    // +U when it was updated since.
    auto row = fmt::format("[{}, {}, {}.{:02}]", region, t.orders,
                           t.cents / 100, t.cents % 100);
    auto it = got.find(region);
    auto ok = it != got.end() &&
              (it->second == "+I" + row || it->second == "+U" + row);
    all = all && ok;
    std::cout << fmt::format("demo: per_region {}: {} ({})\n", region,
                             it == got.end() ? "missing" : it->second,
                             ok ? "matches the application's log"
                                : "expected " + row);
  }
  return check_table(**db, want) && all;
}

} // namespace sluice
