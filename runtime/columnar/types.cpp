#include "runtime/columnar/types.hpp"

#include <fmt/format.h>

namespace sluice::columnar {

const char* to_string(type_id t) noexcept {
  switch (t) {
  case type_id::null_type:
    return "NULL";
  case type_id::boolean:
    return "BOOLEAN";
  case type_id::int32:
    return "INT";
  case type_id::int64:
    return "BIGINT";
  case type_id::float64:
    return "DOUBLE";
  case type_id::decimal:
    return "DECIMAL";
  case type_id::string:
    return "STRING";
  case type_id::timestamp:
    return "TIMESTAMP";
  case type_id::interval_ms:
    return "INTERVAL";
  }
  return "UNKNOWN";
}

std::string to_string(const data_type& t) {
  std::string out;
  switch (t.id) {
  case type_id::decimal:
    out = fmt::format("DECIMAL({}, {})", t.precision, t.scale);
    break;
  case type_id::timestamp:
    out = fmt::format("TIMESTAMP({})", t.precision == 0 ? 3 : t.precision);
    break;
  default:
    out = to_string(t.id);
  }
  if (!t.nullable)
    out += " NOT NULL";
  return out;
}

size_t fixed_width(type_id t) noexcept {
  switch (t) {
  case type_id::boolean:
    return 1;
  case type_id::int32:
    return 4;
  case type_id::int64:
  case type_id::float64:
  case type_id::timestamp:
  case type_id::interval_ms:
    return 8;
  case type_id::decimal:
    return 16;
  case type_id::string:
  case type_id::null_type:
    return 0;
  }
  return 0;
}

int128 pow10_i128(int n) noexcept {
  int128 r = 1;
  for (int i = 0; i < n && i < 38; ++i)
    r *= 10;
  return r;
}

} // namespace sluice::columnar
