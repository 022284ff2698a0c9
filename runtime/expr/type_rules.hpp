#pragma once

#include <optional>
#include <span>

#include "runtime/columnar/types.hpp"

/// Type rules shared by the function registry, the compiler and the
/// analyzer: families, common types, implicit and explicit casts.
namespace sluice::expr {

using columnar::data_type;
using columnar::type_id;

/// INT or BIGINT.
bool is_integer(const data_type& t) noexcept;

/// INT, BIGINT, DECIMAL or DOUBLE.
bool is_numeric(const data_type& t) noexcept;

/// The type of a bare NULL.
inline bool is_null(const data_type& t) noexcept {
  return t.id == type_id::null_type;
}

/// The type both numeric types convert to: DOUBLE if either is, else a
/// DECIMAL if either is (decimal::common_type), else the wider integer.
std::optional<data_type> common_numeric(const data_type& a, const data_type& b);

/// The type every one of `types` converts to implicitly (CASE, COALESCE,
/// IF, IN, comparisons): NULL adopts the other types, numerics widen,
/// otherwise all must have the same logical type. Nullable when any is.
std::optional<data_type> common_type(std::span<const data_type> types);

/// True when CAST(from AS to) is allowed: same type, between numerics and
/// BOOLEAN, anything to and from STRING, NULL to anything, TIMESTAMP to
/// and from BIGINT (seconds since the epoch, as Flink for TIMESTAMP_LTZ).
bool can_cast(const data_type& from, const data_type& to) noexcept;

/// `t` with `nullable` set.
inline data_type with_nullable(data_type t, bool nullable) noexcept {
  t.nullable = nullable;
  return t;
}

/// True when any of `types` is nullable.
bool any_nullable(std::span<const data_type> types) noexcept;

/// True when a and b are the same type but for nullability.
inline bool same_physical(const data_type& a, const data_type& b) noexcept {
  return a.id == b.id && (a.id != type_id::decimal || a.scale == b.scale);
}

} // namespace sluice::expr
