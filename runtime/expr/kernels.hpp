#pragma once

#include "runtime/columnar/types.hpp"
#include "runtime/expr/functions.hpp"

/// The built-in kernels, by file (inside runtime/expr only).
namespace sluice::expr::kernels {

/// `=`, `<>`, `<`, `<=`, `>`, `>=` (kernels_compare.cpp).
void add_compare(function_registry& r);

/// `+`, `-`, `*`, `/`, `%`, NEG, ABS, ROUND, FLOOR, CEIL, MOD, POWER
/// (kernels_arith.cpp).
void add_arith(function_registry& r);

/// COALESCE, IF, NULLIF (kernels_cast.cpp).
void add_conditional(function_registry& r);

/// LOWER, UPPER, TRIM, SUBSTRING, CONCAT, CONCAT_WS, CHAR_LENGTH, REPLACE,
/// SPLIT_INDEX (kernels_string.cpp).
void add_string(function_registry& r);

/// REGEXP_EXTRACT (kernels_regex.cpp).
void add_regex(function_registry& r);

/// DATE_FORMAT, FROM_UNIXTIME, UNIX_TIMESTAMP, TO_TIMESTAMP,
/// CURRENT_TIMESTAMP, PROCTIME, EXTRACT (kernels_time.cpp).
void add_time(function_registry& r);

/// CAST(from AS to) (kernels_cast.cpp); can_cast(from, to) must hold.
kernel_fn cast(const columnar::data_type& from, const columnar::data_type& to);

/// args[0] LIKE args[1] [ESCAPE args[2]], all STRING (kernels_regex.cpp).
void like(std::span<const columnar::column* const> args,
          std::span<const uint32_t> rows, columnar::column& out,
          eval_context& ctx);

/// The comparison kernel `name` ("=", "<", ...) for two arguments of type
/// `t` (compare.cpp); IN and BETWEEN reuse it.
kernel_fn comparison(std::string_view name, const columnar::data_type& t);

} // namespace sluice::expr::kernels
