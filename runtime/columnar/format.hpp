#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "runtime/columnar/column.hpp"
#include "runtime/columnar/row_batch.hpp"
#include "runtime/columnar/types.hpp"
#include "runtime/json_text.hpp"

/// Values as text (CSV, print, JSON, late rows, test files) and text as
/// values (CSV and JSON sources, test files). Times are UTC.
namespace sluice::columnar {

/// A point in time split into calendar fields (proleptic Gregorian, UTC).
struct civil_time {
  int64_t year = 1970;
  uint32_t month = 1; ///< 1..12
  uint32_t day = 1;   ///< 1..31
  uint32_t hour = 0;
  uint32_t minute = 0;
  uint32_t second = 0;
  uint32_t millis = 0;
};

/// Days since 1970-01-01 of a calendar date (any year).
int64_t days_from_civil(int64_t year, uint32_t month, uint32_t day) noexcept;

/// The calendar fields of `ms` milliseconds since the epoch.
civil_time to_civil(int64_t ms) noexcept;

/// Milliseconds since the epoch of calendar fields.
int64_t from_civil(const civil_time& t) noexcept;

// -- rendering ---------------------------------------------------------------

/// "true" / "false".
void append_bool(bool v, std::string& out);

/// The shortest text that reads back to `v`; integral values keep ".0"
/// ("1.0"), and "NaN", "Infinity", "-Infinity" as Java (and Flink) write.
void append_double(double v, std::string& out);

/// A scaled decimal with exactly `scale` fraction digits ("-12.340").
void append_decimal(int128 v, uint8_t scale, std::string& out);

/// "YYYY-MM-DD HH:MM:SS.fff" (`precision` 0: no fraction).
void append_timestamp(int64_t ms, std::string& out, uint8_t precision = 3);

/// A day-time interval as Flink prints it: "+D HH:MM:SS.fff".
void append_interval(int64_t ms, std::string& out);

/// Appends value `row` of `c` as text, or `null_text` for a NULL.
void append_value(const column& c, size_t row, std::string& out,
                  std::string_view null_text = "NULL");

/// Value `row` of `c` as text.
std::string value_text(const column& c, size_t row,
                       std::string_view null_text = "NULL");

/// Appends one CSV field: quoted (quotes doubled) when it holds the
/// delimiter, the quote, a line break, or leading/trailing blanks.
void append_csv_field(std::string_view text, std::string& out,
                      char delimiter = ',', char quote = '"');

/// Appends physical row `row` of `b` as one CSV line without the line
/// break; a NULL is an empty field, an empty string is `""`.
void append_csv_row(const row_batch& b, size_t row, std::string& out,
                    char delimiter = ',', char quote = '"');

/// Appends `s` as a JSON string literal (quotes included; runtime/json_text).
using sluice::append_json_string;

/// Appends value `row` of `c` as JSON: numbers and booleans bare,
/// DECIMAL as a number, strings, timestamps and intervals quoted, `null`.
void append_json_value(const column& c, size_t row, std::string& out);

// -- parsing -----------------------------------------------------------------
// Numbers, booleans and times may be surrounded by blanks; strings are taken
// as they are. Errors are connector_errc::bad_input naming the text and type.

caf::expected<bool> parse_bool(std::string_view text); ///< true/false/1/0
caf::expected<int32_t> parse_int32(std::string_view text);
caf::expected<int64_t> parse_int64(std::string_view text);
caf::expected<double> parse_double(std::string_view text);

/// "[+-]digits[.digits][e[+-]digits]" scaled to `scale` digits (rounded
/// half away from zero); refuses values with more than `precision - scale`
/// integer digits.
caf::expected<int128> parse_decimal(std::string_view text, uint8_t precision,
                                    uint8_t scale);

/// "YYYY-MM-DD[( |T)HH:MM[:SS[.f...]]][Z]" as milliseconds since the epoch
/// (UTC; fraction digits past milliseconds are cut).
caf::expected<int64_t> parse_timestamp(std::string_view text);

/// "[+-]D HH:MM:SS[.fff]" (what `append_interval` writes) or an integer
/// number of milliseconds.
caf::expected<int64_t> parse_interval(std::string_view text);

/// Parses `text` as `c`'s type and appends it (a valid value). On error
/// appends nothing. NULL is the caller's business (an empty CSV field).
caf::error push_parsed(column& c, std::string_view text);

} // namespace sluice::columnar
