#include "tests/support/orders.hpp"

#include <algorithm>
#include <stdexcept>

#include <fmt/format.h>
#include <sqlite3.h>

namespace sluice::test::orders {

order order_of(int64_t n) {
  auto x = static_cast<uint64_t>(n) * 6364136223846793005ULL +
           1442695040888963407ULL;
  auto y = x * 6364136223846793005ULL + 1442695040888963407ULL;
  return {n, static_cast<int>((x >> 33) % (shops + 1)) + 1,
          static_cast<int64_t>((y >> 33) % 100'000), base_ms + n * step_ms};
}

std::string ts_text(int64_t ms) {
  auto in_day = ms - base_ms;
  if (in_day < 0 || in_day >= 86'400'000)
    throw std::out_of_range{"an order time outside 2026-01-01"};
  return fmt::format("2026-01-01 {:02}:{:02}:{:02}.{:03}", in_day / 3'600'000,
                     in_day / 60'000 % 60, in_day / 1000 % 60, in_day % 1000);
}

std::string line_of(const order& o) {
  return fmt::format("{:09},{:02},{:03}.{:02},{}\n", o.n, o.shop, o.cents / 100,
                     o.cents % 100, ts_text(o.ts));
}

std::string shop_name(int s) {
  return fmt::format("shop-{}", s);
}

std::string shops_insert() {
  std::string sql = "INSERT INTO shops VALUES ";
  for (int s = 1; s <= shops; ++s)
    sql += fmt::format("{}({}, '{}')", s > 1 ? "," : "", s, shop_name(s));
  return sql;
}

std::vector<std::string> per_minute_oracle(const std::vector<order>& orders) {
  sqlite3* db = nullptr;
  if (sqlite3_open(":memory:", &db) != SQLITE_OK)
    throw std::runtime_error{"SQLite: cannot open a memory database"};
  auto exec = [&](const std::string& sql) {
    char* err = nullptr;
    auto rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
    std::string text = err != nullptr ? err : "";
    sqlite3_free(err);
    if (rc != SQLITE_OK)
      throw std::runtime_error{"SQLite: " + sql + ": " + text};
  };
  exec("CREATE TABLE orders (shop INTEGER, cents INTEGER, ts INTEGER)");
  exec("CREATE TABLE shops (id INTEGER, name TEXT)");
  exec(shops_insert());
  exec("BEGIN");
  for (auto& o : orders)
    exec(fmt::format("INSERT INTO orders VALUES ({}, {}, {})", o.shop, o.cents,
                     o.ts));
  exec("COMMIT");
  sqlite3_stmt* st = nullptr;
  auto sql = "SELECT o.shop, s.name, o.ts / 60000 * 60000, COUNT(*), "
             "SUM(o.cents) FROM orders o JOIN shops s ON o.shop = s.id "
             "GROUP BY o.ts / 60000, o.shop, s.name";
  if (sqlite3_prepare_v2(db, sql, -1, &st, nullptr) != SQLITE_OK)
    throw std::runtime_error{std::string{"SQLite: "} + sqlite3_errmsg(db)};
  std::vector<std::string> rows;
  while (sqlite3_step(st) == SQLITE_ROW) {
    auto cents = sqlite3_column_int64(st, 4);
    rows.push_back(
        fmt::format("{},{},{},{},{}.{:02}", sqlite3_column_int64(st, 0),
                    reinterpret_cast<const char*>(sqlite3_column_text(st, 1)),
                    ts_text(sqlite3_column_int64(st, 2)),
                    sqlite3_column_int64(st, 3), cents / 100, cents % 100));
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  std::sort(rows.begin(), rows.end());
  return rows;
}

} // namespace sluice::test::orders
