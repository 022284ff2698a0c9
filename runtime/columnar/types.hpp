#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>

/// The logical SQL types of the columnar core, and their physical storage.
namespace sluice::columnar {

/// Logical SQL types. Physical storage in brackets.
enum class type_id : uint8_t {
  null_type = 0, ///< the type of a bare NULL literal before coercion
  boolean,       ///< BOOLEAN [uint8_t 0/1]
  int32,         ///< INT [int32_t]
  int64,         ///< BIGINT [int64_t]
  float64,       ///< DOUBLE [double]
  decimal,       ///< DECIMAL(p,s), p <= 38 [__int128 scaled by 10^s]
  string,        ///< VARCHAR/STRING [uint32 offsets (n+1) + bytes]
  timestamp,     ///< TIMESTAMP(3) [int64 ms since the epoch, UTC, no zone]
  interval_ms,   ///< INTERVAL day-time [int64 ms]; literals and arithmetic
};

/// The largest type_id value (for decoders that check a byte from the wire).
inline constexpr uint8_t max_type_id =
    static_cast<uint8_t>(type_id::interval_ms);

/// A SQL type: the logical type, its parameters and nullability.
struct data_type {
  type_id id = type_id::null_type;
  uint8_t precision = 0; ///< decimal: 1..38; timestamp: 3
  uint8_t scale = 0;     ///< decimal: 0..precision
  bool nullable = true;

  friend bool operator==(const data_type&, const data_type&) = default;
};

/// A signed 128-bit integer: the storage of DECIMAL values.
using int128 = __int128;

/// The largest DECIMAL precision.
inline constexpr uint8_t max_decimal_precision = 38;

/// "DECIMAL(23, 3)", "TIMESTAMP(3)", "BIGINT NOT NULL", ...
std::string to_string(const data_type& t);

/// The SQL name of a logical type without parameters ("BIGINT").
const char* to_string(type_id t) noexcept;

/// Bytes per value of a fixed-width type; 0 for string and null_type.
size_t fixed_width(type_id t) noexcept;

/// 10^n for 0 <= n <= 38.
int128 pow10_i128(int n) noexcept;

/// Shorthands for building types.
inline data_type boolean_type(bool nullable = true) {
  return {type_id::boolean, 0, 0, nullable};
}
inline data_type int32_type(bool nullable = true) {
  return {type_id::int32, 0, 0, nullable};
}
inline data_type int64_type(bool nullable = true) {
  return {type_id::int64, 0, 0, nullable};
}
inline data_type float64_type(bool nullable = true) {
  return {type_id::float64, 0, 0, nullable};
}
inline data_type decimal_type(uint8_t precision, uint8_t scale,
                              bool nullable = true) {
  return {type_id::decimal, precision, scale, nullable};
}
inline data_type string_type(bool nullable = true) {
  return {type_id::string, 0, 0, nullable};
}
inline data_type timestamp_type(bool nullable = true) {
  return {type_id::timestamp, 3, 0, nullable};
}
inline data_type interval_type(bool nullable = true) {
  return {type_id::interval_ms, 0, 0, nullable};
}

/// "No watermark yet": before every event time.
inline constexpr int64_t min_timestamp = std::numeric_limits<int64_t>::min();

/// "End of time": a bounded input has ended; every window fires.
inline constexpr int64_t max_timestamp = std::numeric_limits<int64_t>::max();

} // namespace sluice::columnar
