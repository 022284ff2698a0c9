#include "runtime/expr/type_rules.hpp"

#include "runtime/expr/decimal.hpp"

namespace sluice::expr {

bool is_integer(const data_type& t) noexcept {
  return t.id == type_id::int32 || t.id == type_id::int64;
}

bool is_numeric(const data_type& t) noexcept {
  return is_integer(t) || t.id == type_id::decimal || t.id == type_id::float64;
}

bool any_nullable(std::span<const data_type> types) noexcept {
  for (auto& t : types)
    if (t.nullable)
      return true;
  return false;
}

std::optional<data_type> common_numeric(const data_type& a,
                                        const data_type& b) {
  if (!is_numeric(a) || !is_numeric(b))
    return std::nullopt;
  auto nullable = a.nullable || b.nullable;
  if (a.id == type_id::float64 || b.id == type_id::float64)
    return columnar::float64_type(nullable);
  if (a.id == type_id::decimal || b.id == type_id::decimal)
    return with_nullable(
        decimal::common_type(*decimal::as_decimal(a), *decimal::as_decimal(b)),
        nullable);
  if (a.id == type_id::int64 || b.id == type_id::int64)
    return columnar::int64_type(nullable);
  return columnar::int32_type(nullable);
}

std::optional<data_type> common_type(std::span<const data_type> types) {
  std::optional<data_type> r;
  bool nullable = false;
  for (auto& t : types) {
    nullable = nullable || t.nullable;
    if (is_null(t))
      continue;
    if (!r) {
      r = t;
      continue;
    }
    if (is_numeric(*r) && is_numeric(t)) {
      r = common_numeric(*r, t);
    } else if (r->id != t.id) {
      return std::nullopt;
    }
  }
  if (!r)
    return data_type{}; // only NULLs
  r->nullable = nullable;
  return r;
}

bool can_cast(const data_type& from, const data_type& to) noexcept {
  if (from.id == to.id || is_null(from))
    return true;
  if (from.id == type_id::string || to.id == type_id::string)
    return from.id != type_id::null_type && to.id != type_id::null_type;
  auto num_or_bool = [](const data_type& t) {
    return is_numeric(t) || t.id == type_id::boolean;
  };
  if (num_or_bool(from) && num_or_bool(to))
    return true;
  if ((from.id == type_id::timestamp && to.id == type_id::int64) ||
      (from.id == type_id::int64 && to.id == type_id::timestamp))
    return true;
  return false;
}

} // namespace sluice::expr
