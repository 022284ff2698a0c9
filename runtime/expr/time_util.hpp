#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

/// Timestamps (ms since the epoch, UTC) as calendar fields, formatted and
/// parsed with Java's SimpleDateFormat letters, as Flink's DATE_FORMAT,
/// FROM_UNIXTIME, UNIX_TIMESTAMP and TO_TIMESTAMP take them.
namespace sluice::expr::time {

/// A timestamp's calendar fields (proleptic Gregorian, UTC).
struct civil {
  int64_t year = 1970;
  int month = 1; ///< 1..12
  int day = 1;   ///< 1..31
  int hour = 0;
  int minute = 0;
  int second = 0;
  int millis = 0;
};

/// Days since 1970-01-01 -> year, month, day.
civil civil_from_days(int64_t days) noexcept;

/// Year, month, day -> days since 1970-01-01.
int64_t days_from_civil(int64_t y, int m, int d) noexcept;

/// Milliseconds since the epoch -> fields.
civil to_civil(int64_t ms) noexcept;

/// Fields -> milliseconds since the epoch.
int64_t from_civil(const civil& c) noexcept;

/// 0 = Monday ... 6 = Sunday.
int weekday(int64_t days) noexcept;

/// One piece of a compiled pattern.
struct pattern_token {
  char letter =
      0; ///< 'y', 'M', 'd', 'H', 'h', 'm', 's', 'S', 'a', 'E', 'D'; 0 = text
  int width = 0;    ///< how many times the letter repeats
  std::string text; ///< literal text (letter == 0)
};

/// A compiled SimpleDateFormat pattern ("yyyy-MM-dd HH:mm:ss").
struct pattern {
  std::vector<pattern_token> tokens;
  std::string source;
};

/// Compiles `text`; nullopt for an unsupported letter or an unclosed quote.
/// Letters: y M d H h m s S a E D; '...' quotes text, '' is a quote.
std::optional<pattern> compile(std::string_view text);

/// The default of Flink's time functions.
inline constexpr std::string_view default_pattern = "yyyy-MM-dd HH:mm:ss";

/// Appends `ms` formatted by `p` to `out`.
void format(int64_t ms, const pattern& p, std::string& out);

/// Parses `text` with `p`; nullopt when it does not match. Missing fields
/// default to 1970-01-01 00:00:00.000.
std::optional<int64_t> parse(std::string_view text, const pattern& p);

/// Parses the SQL forms of a timestamp: "yyyy-MM-dd", "yyyy-MM-dd HH:mm",
/// "yyyy-MM-dd HH:mm:ss[.fraction]", with 'T' or ' ' between date and time
/// and an optional trailing 'Z'; nullopt otherwise.
std::optional<int64_t> parse_sql(std::string_view text);

/// Appends "yyyy-MM-dd HH:mm:ss.SSS" to `out` (Flink's TIMESTAMP(3) text).
void append_sql(int64_t ms, std::string& out);

/// A field of EXTRACT, upper case: YEAR QUARTER MONTH WEEK DAY DOY DOW
/// HOUR MINUTE SECOND MILLISECOND EPOCH; nullopt for an unknown unit.
enum class field {
  year,
  quarter,
  month,
  week,
  day,
  doy,
  dow,
  hour,
  minute,
  second,
  millisecond,
  epoch
};
std::optional<field> parse_field(std::string_view upper);

/// EXTRACT(f FROM ms). WEEK is the ISO week, DOW 1 = Sunday .. 7 =
/// Saturday (as Calcite), SECOND the whole seconds, MILLISECOND seconds *
/// 1000 + millis (as Calcite), EPOCH whole seconds since the epoch.
int64_t extract(field f, int64_t ms) noexcept;

/// Floor division of ms by a unit (for negative timestamps).
inline int64_t floor_div(int64_t a, int64_t b) noexcept {
  auto q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

} // namespace sluice::expr::time
