#pragma once

#include <cstdint>
#include <string>
#include <vector>

/// The scenario's order lines, for the tests of the compute tier: order
/// `n` of shop 1..21 (21 has no name in the shops table), an amount in
/// cents and an event time 50 ms after order n - 1 from 2026-01-01 UTC.
/// Lines are `NNNNNNNNN,SS,AAA.CC,YYYY-MM-DD HH:MM:SS.fff` (44 bytes with
/// the line break: fixed width, and led by the order number).
namespace sluice::test::orders {

inline constexpr int shops = 20;       ///< shops 1..20 have names
inline constexpr int64_t step_ms = 50; ///< between two orders
inline constexpr int64_t base_ms = 1'767'225'600'000; ///< 2026-01-01 00:00

struct order {
  int64_t n = 0;
  int shop = 0;
  int64_t cents = 0;
  int64_t ts = 0;
};

/// Order `n` (the same `n`, the same order).
order order_of(int64_t n);

/// "2026-01-01 HH:MM:SS.fff" of a time on that day.
std::string ts_text(int64_t ms);

/// The line of order `o`, with its line break.
std::string line_of(const order& o);

/// Shop `s`'s name: "shop-<s>".
std::string shop_name(int s);

/// `INSERT INTO shops VALUES (1, 'shop-1'), ...` for shops 1..20.
std::string shops_insert();

/// What SQLite computes over `orders` and the shops: per shop (inner join
/// with the names) and one-minute window, the count and the sum, as lines
/// `shop,name,window_start,count,sum` (sum with two decimals), sorted.
std::vector<std::string> per_minute_oracle(const std::vector<order>& orders);

} // namespace sluice::test::orders
