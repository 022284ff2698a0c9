#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "runtime/columnar/types.hpp"

/// DECIMAL values (scaled 128-bit integers) and Flink's result types.
///
/// Result types follow Flink's LogicalTypeMerging (itself after SQL
/// Server), with INT as DECIMAL(10, 0) and BIGINT as DECIMAL(19, 0):
///   e1 + e2, e1 - e2: p = max(s1, s2) + max(p1 - s1, p2 - s2) + 1,
///                     s = max(s1, s2)
///   e1 * e2:          p = p1 + p2 + 1, s = s1 + s2
///   e1 / e2:          s = max(6, s1 + p2 + 1), p = p1 - s1 + s2 + s
///   e1 % e2:          s = max(s1, s2), p = min(p1 - s1, p2 - s2) + s
/// and, when p exceeds 38, p = 38 and the scale shrinks to keep the integer
/// digits, but not below min(s, 6). So `0.908 * price` (DECIMAL(3, 3) times
/// BIGINT) is DECIMAL(23, 3), as Nexmark q1's result in Flink.
/// Rounding when a scale shrinks is HALF_UP (away from zero at .5), as
/// Java's BigDecimal in Flink.
namespace sluice::expr::decimal {

using columnar::data_type;
using columnar::int128;

/// The DECIMAL view of an exact numeric type: INT -> DECIMAL(10, 0),
/// BIGINT -> DECIMAL(19, 0), DECIMAL as is; nullopt for other types.
std::optional<data_type> as_decimal(const data_type& t);

data_type add_type(const data_type& a, const data_type& b);
data_type multiply_type(const data_type& a, const data_type& b);
data_type divide_type(const data_type& a, const data_type& b);
data_type mod_type(const data_type& a, const data_type& b);
/// ROUND(DECIMAL(p, s), r).
data_type round_type(const data_type& a, int r);
/// A type both DECIMALs convert to without losing integer digits
/// (comparison, COALESCE, CASE).
data_type common_type(const data_type& a, const data_type& b);

/// The type of a literal as written: "0.908" -> DECIMAL(3, 3).
data_type literal_type(std::string_view text);

/// True when |v| < 10^precision.
bool fits(int128 v, int precision) noexcept;

/// `v` at scale `from` rescaled to `to` (HALF_UP when shrinking); nullopt
/// on overflow of 128 bits.
std::optional<int128> rescale(int128 v, int from, int to) noexcept;

/// a * b at scale sa + sb rescaled to `scale`; nullopt on overflow.
std::optional<int128> multiply(int128 a, int sa, int128 b, int sb,
                               int scale) noexcept;

/// a / b at `scale` (HALF_UP); nullopt on overflow or b == 0.
std::optional<int128> divide(int128 a, int sa, int128 b, int sb,
                             int scale) noexcept;

/// Rounds `v` at scale `s` to `digits` decimals (HALF_UP), keeping scale s.
int128 round_to(int128 v, int s, int digits) noexcept;

/// Floor / ceiling of `v` at scale `s`, as an integer at scale 0.
int128 floor_int(int128 v, int s) noexcept;
int128 ceil_int(int128 v, int s) noexcept;

/// "-12.340" for v = -12340, scale 3.
std::string to_string(int128 v, int scale);

/// Appends the text of `v` at `scale` to `out`.
void append(std::string& out, int128 v, int scale);

/// Parses "-12.34", "5", ".5", "1e3" (exponent allowed) at `scale`
/// (HALF_UP); nullopt when it is not a number or does not fit `precision`.
std::optional<int128> parse(std::string_view text, int precision,
                            int scale) noexcept;

/// The value as a double.
double to_double(int128 v, int scale) noexcept;

/// A double at `scale`, HALF_UP; nullopt when not finite or too large for
/// `precision`.
std::optional<int128> from_double(double d, int precision, int scale) noexcept;

} // namespace sluice::expr::decimal
