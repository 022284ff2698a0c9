#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>
#include <type_traits>

#include "runtime/columnar/column.hpp"
#include "runtime/expr/functions.hpp"
#include "runtime/expr/type_rules.hpp"

/// Loops that typed kernels share (inside runtime/expr only).
namespace sluice::expr::util {

using columnar::column;
using columnar::int128;
using args_t = std::span<const column* const>;
using rows_t = std::span<const uint32_t>;

/// The physical type of a logical value type (bool is stored as uint8_t).
template <class T>
using store_t = std::conditional_t<std::is_same_v<T, bool>, uint8_t, T>;

/// Calls `f(i)` for every row of `rows`; a dense contiguous loop when the
/// rows are the whole batch (so the compiler can vectorize it).
template <class F>
inline void each(rows_t rows, size_t n, F&& f) {
  if (rows.size() == n) {
    for (uint32_t i = 0; i < n; ++i)
      f(i);
  } else {
    for (auto i : rows)
      f(i);
  }
}

/// out[i] = Op(a[i]) for the valid rows; NULL in -> NULL out. `Op::apply`
/// returns false to make the row NULL.
template <class A, class R, class Op>
void unary(args_t args, rows_t rows, column& out, eval_context& ctx) {
  prepare_fixed(out, ctx.batch_rows);
  auto a = args[0]->values<store_t<A>>();
  auto o = out.values_mut<store_t<R>>();
  auto& ca = *args[0];
  each(rows, ctx.batch_rows, [&](uint32_t i) {
    if (!ca.valid(i) || !Op::apply(static_cast<A>(a[i]), o[i], ctx))
      out.set_null(i);
  });
}

/// out[i] = Op(a[i], b[i]) for the rows valid in both.
template <class A, class B, class R, class Op>
void binary(args_t args, rows_t rows, column& out, eval_context& ctx) {
  prepare_fixed(out, ctx.batch_rows);
  auto a = args[0]->values<store_t<A>>();
  auto b = args[1]->values<store_t<B>>();
  auto o = out.values_mut<store_t<R>>();
  if (!args[0]->has_nulls() && !args[1]->has_nulls()) {
    each(rows, ctx.batch_rows, [&](uint32_t i) {
      if (!Op::apply(static_cast<A>(a[i]), static_cast<B>(b[i]), o[i], ctx))
        out.set_null(i);
    });
    return;
  }
  auto& ca = *args[0];
  auto& cb = *args[1];
  each(rows, ctx.batch_rows, [&](uint32_t i) {
    if (!ca.valid(i) || !cb.valid(i) ||
        !Op::apply(static_cast<A>(a[i]), static_cast<B>(b[i]), o[i], ctx))
      out.set_null(i);
  });
}

/// Applies `f(i)` to rows valid in every argument; the others become NULL
/// in a fixed-width `out` prepared by the caller.
template <class F>
void valid_rows(args_t args, rows_t rows, column& out, size_t n, F&& f) {
  if (no_nulls(args)) {
    each(rows, n, f);
    return;
  }
  each(rows, n, [&](uint32_t i) {
    if (all_valid(args, i))
      f(i);
    else
      out.set_null(i);
  });
}

} // namespace sluice::expr::util

namespace sluice::expr::util {

/// Copies row `i` of `src` (value and validity) into fixed-width `out`,
/// which has at least i + 1 rows; same physical type.
inline void copy_fixed(const column& src, uint32_t i, column& out) {
  auto w = columnar::fixed_width(out.type().id);
  if (!src.valid(i)) {
    out.set_null(i);
    return;
  }
  out.set_valid(i);
  std::memcpy(out.data().data() + i * w, src.data().data() + i * w, w);
}

/// True when rows `i` of `a` and `b` (both valid, same physical type) hold
/// equal values.
bool equal_at(const column& a, const column& b, uint32_t i) noexcept;

} // namespace sluice::expr::util

namespace sluice::expr::util {

/// A function with fixed parameter kinds, one letter each: 'S' STRING,
/// 'I' INT or BIGINT (given to the kernel as BIGINT), 'T' TIMESTAMP,
/// 'N' numeric (given as DOUBLE), 'X' anything as it is; the letters from
/// `min_args` on are optional; a trailing '*' repeats the last kind. A
/// bare NULL fits every kind. The result is `result`, nullable when an
/// argument is. `signature` is shown in the error ("(STRING, INT[, INT])").
function_def simple_def(std::string name, std::string signature,
                        std::string kinds, size_t min_args,
                        columnar::data_type result, kernel_fn kernel);

} // namespace sluice::expr::util

namespace sluice::expr::util {

/// A STRING result: `f(i, buf)` fills `buf` for a row whose arguments are
/// all valid and returns false to make it NULL. Other rows are NULL.
template <class F>
void string_rows(args_t args, rows_t rows, column& out, eval_context& ctx,
                 F&& f) {
  string_builder b{out, ctx.batch_rows};
  std::string buf;
  bool dense = no_nulls(args);
  for (auto i : rows) {
    buf.clear();
    if ((dense || all_valid(args, i)) && f(i, buf))
      b.put(i, buf);
    else
      b.put_null(i);
  }
}

/// Bytes of the UTF-8 code point starting with `c` (1 for a stray byte).
inline size_t utf8_len(unsigned char c) noexcept {
  if (c < 0x80)
    return 1;
  if ((c >> 5) == 0x6)
    return 2;
  if ((c >> 4) == 0xE)
    return 3;
  if ((c >> 3) == 0x1E)
    return 4;
  return 1;
}

/// Code points in `s`.
inline size_t utf8_count(std::string_view s) noexcept {
  size_t n = 0;
  for (auto c : s)
    n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

} // namespace sluice::expr::util
