#include <algorithm>

#include "runtime/expr/kernel_util.hpp"
#include "runtime/expr/program.hpp"

// The interpreter: follows the compiled steps from the root, one kernel
// call per step per batch, narrowing the selection for AND, OR and CASE.

namespace sluice::expr {

namespace {

using columnar::column;
using columnar::int128;
using columnar::type_id;
using rows_t = std::span<const uint32_t>;

int64_t as_i64(const scalar& v) {
  if (auto* x = std::get_if<int64_t>(&v))
    return *x;
  if (auto* x = std::get_if<bool>(&v))
    return *x ? 1 : 0;
  if (auto* x = std::get_if<double>(&v))
    return static_cast<int64_t>(*x);
  if (auto* x = std::get_if<int128>(&v))
    return static_cast<int64_t>(*x);
  return 0;
}

} // namespace

void fill_literal(const scalar& v, column& out, size_t n) {
  out.clear();
  auto& t = out.type();
  if (std::holds_alternative<std::monostate>(v)) {
    for (size_t i = 0; i < n; ++i)
      out.push_null();
    return;
  }
  switch (t.id) {
  case type_id::boolean:
    for (size_t i = 0; i < n; ++i)
      out.push<uint8_t>(as_i64(v) != 0);
    break;
  case type_id::int32:
    for (size_t i = 0; i < n; ++i)
      out.push<int32_t>(static_cast<int32_t>(as_i64(v)));
    break;
  case type_id::int64:
  case type_id::timestamp:
  case type_id::interval_ms:
    for (size_t i = 0; i < n; ++i)
      out.push<int64_t>(as_i64(v));
    break;
  case type_id::float64: {
    double d = 0;
    if (auto* x = std::get_if<double>(&v))
      d = *x;
    else if (auto* x = std::get_if<int128>(&v))
      d = static_cast<double>(*x);
    else
      d = static_cast<double>(as_i64(v));
    for (size_t i = 0; i < n; ++i)
      out.push<double>(d);
    break;
  }
  case type_id::decimal: {
    // int128: the scaled value; an integer: the value, scaled here.
    int128 x = 0;
    if (auto* p = std::get_if<int128>(&v))
      x = *p;
    else
      x = static_cast<int128>(as_i64(v)) * columnar::pow10_i128(t.scale);
    for (size_t i = 0; i < n; ++i)
      out.push<int128>(x);
    break;
  }
  case type_id::string: {
    std::string_view s;
    if (auto* p = std::get_if<std::string>(&v))
      s = *p;
    for (size_t i = 0; i < n; ++i)
      out.push_str(s);
    break;
  }
  case type_id::null_type:
    for (size_t i = 0; i < n; ++i)
      out.push_null();
    break;
  }
}

scalar read_cell(const column& c, size_t i) {
  if (!c.valid(i))
    return std::monostate{};
  switch (c.type().id) {
  case type_id::boolean:
    return c.values<uint8_t>()[i] != 0;
  case type_id::int32:
    return int64_t{c.values<int32_t>()[i]};
  case type_id::int64:
  case type_id::timestamp:
  case type_id::interval_ms:
    return c.values<int64_t>()[i];
  case type_id::float64:
    return c.values<double>()[i];
  case type_id::decimal:
    return c.values<int128>()[i];
  case type_id::string:
    return std::string{c.str(i)};
  case type_id::null_type:
    break;
  }
  return std::monostate{};
}

const column* program::run_literal(step& st, eval_context& ctx) {
  if (st.literal_rows != ctx.batch_rows) {
    fill_literal(st.literal, st.out, ctx.batch_rows);
    st.literal_rows = ctx.batch_rows;
  }
  return &st.out;
}

const column* program::run(uint32_t s, const columnar::row_batch& in,
                           rows_t rows, eval_context& ctx) {
  auto& st = steps_[s];
  switch (st.kind) {
  case op::column:
    return &in.col(st.input);
  case op::literal:
    return run_literal(st, ctx);
  case op::call:
  case op::cast:
  case op::like:
    for (size_t k = 0; k < st.args.size(); ++k)
      st.arg_cols[k] = run(st.args[k], in, rows, ctx);
    st.kernel(st.arg_cols, rows, st.out, ctx);
    return &st.out;
  case op::not_: {
    auto* a = run(st.args[0], in, rows, ctx);
    prepare_fixed(st.out, ctx.batch_rows);
    auto v = a->values<uint8_t>();
    auto o = st.out.values_mut<uint8_t>();
    for (auto i : rows) {
      if (a->valid(i))
        o[i] = !v[i];
      else
        st.out.set_null(i);
    }
    return &st.out;
  }
  case op::is_null:
  case op::is_not_null: {
    auto* a = run(st.args[0], in, rows, ctx);
    prepare_fixed(st.out, ctx.batch_rows);
    auto o = st.out.values_mut<uint8_t>();
    uint8_t when_null = st.kind == op::is_null ? 1 : 0;
    for (auto i : rows)
      o[i] = a->valid(i) ? !when_null : when_null;
    return &st.out;
  }
  case op::and_:
    return run_logic(st, true, in, rows, ctx);
  case op::or_:
    return run_logic(st, false, in, rows, ctx);
  case op::case_when:
    return run_case(st, in, rows, ctx);
  case op::in_list:
  case op::between:
    return run_in(st, in, rows, ctx);
  }
  return &st.out;
}

// AND: FALSE decides; OR: TRUE decides. The right side runs on the rows
// the left did not decide.
const column* program::run_logic(step& st, bool is_and,
                                 const columnar::row_batch& in, rows_t rows,
                                 eval_context& ctx) {
  auto* l = run(st.args[0], in, rows, ctx);
  auto lv = l->values<uint8_t>();
  uint8_t decides = is_and ? 0 : 1;
  auto& rest = st.sel_a;
  rest.clear();
  for (auto i : rows)
    if (!(l->valid(i) && lv[i] == decides))
      rest.push_back(i);
  const column* r = nullptr;
  if (!rest.empty())
    r = run(st.args[1], in, rest, ctx);
  prepare_fixed(st.out, ctx.batch_rows);
  auto o = st.out.values_mut<uint8_t>();
  std::span<const uint8_t> rv;
  if (r != nullptr)
    rv = r->values<uint8_t>();
  for (auto i : rows) {
    bool l_ok = l->valid(i);
    if (l_ok && lv[i] == decides) {
      o[i] = decides;
      continue;
    }
    bool r_ok = r->valid(i);
    if (r_ok && rv[i] == decides)
      o[i] = decides;
    else if (l_ok && r_ok)
      o[i] = !decides;
    else
      st.out.set_null(i);
  }
  return &st.out;
}

// CASE: each WHEN runs on the rows no earlier WHEN took; each THEN on the
// rows its WHEN took; ELSE on the rest.
const column* program::run_case(step& st, const columnar::row_batch& in,
                                rows_t rows, eval_context& ctx) {
  auto n = ctx.batch_rows;
  st.pick.assign(n, -1);
  auto& remaining = st.sel_a;
  auto& next = st.sel_b;
  auto& taken = st.sel_c;
  remaining.assign(rows.begin(), rows.end());
  auto branches = st.args.size() / 2;
  bool has_else = st.args.size() % 2 == 1;
  st.arg_cols.assign(st.args.size(), nullptr);
  for (size_t k = 0; k < branches && !remaining.empty(); ++k) {
    auto* w = run(st.args[2 * k], in, remaining, ctx);
    auto wv = w->values<uint8_t>();
    taken.clear();
    next.clear();
    for (auto i : remaining) {
      if (w->valid(i) && wv[i])
        taken.push_back(i);
      else
        next.push_back(i);
    }
    if (!taken.empty()) {
      st.arg_cols[2 * k + 1] = run(st.args[2 * k + 1], in, taken, ctx);
      for (auto i : taken)
        st.pick[i] = static_cast<int16_t>(2 * k + 1);
    }
    std::swap(remaining, next);
  }
  if (has_else && !remaining.empty()) {
    st.arg_cols.back() = run(st.args.back(), in, remaining, ctx);
    for (auto i : remaining)
      st.pick[i] = static_cast<int16_t>(st.args.size() - 1);
  }
  auto& out = st.out;
  if (out.type().id == type_id::string) {
    string_builder b{out, n};
    for (auto i : rows) {
      auto k = st.pick[i];
      if (k < 0 || !st.arg_cols[k]->valid(i))
        b.put_null(i);
      else
        b.put(i, st.arg_cols[k]->str(i));
    }
    return &out;
  }
  prepare_fixed(out, n);
  for (auto i : rows) {
    auto k = st.pick[i];
    if (k < 0)
      out.set_null(i);
    else
      util::copy_fixed(*st.arg_cols[k], i, out);
  }
  return &out;
}

// IN: TRUE when an element equals, else NULL when x or an element is
// NULL, else FALSE. BETWEEN: x >= lo AND x <= hi.
const column* program::run_in(step& st, const columnar::row_batch& in,
                              rows_t rows, eval_context& ctx) {
  for (size_t k = 0; k < st.args.size(); ++k)
    st.arg_cols[k] = run(st.args[k], in, rows, ctx);
  const column* pair[2];
  for (size_t k = 0; k < st.more.size(); ++k) {
    pair[0] = st.arg_cols[0];
    pair[1] = st.arg_cols[st.kind == op::between ? k + 1 : k + 1];
    st.more[k](std::span<const column* const>{pair, 2}, rows, st.tmp[k], ctx);
  }
  prepare_fixed(st.out, ctx.batch_rows);
  auto o = st.out.values_mut<uint8_t>();
  bool is_in = st.kind == op::in_list;
  for (auto i : rows) {
    bool any_true = false;
    bool any_false = false;
    bool any_null = false;
    for (auto& c : st.tmp) {
      if (!c.valid(i))
        any_null = true;
      else if (c.values<uint8_t>()[i])
        any_true = true;
      else
        any_false = true;
    }
    if (is_in) {
      if (any_true)
        o[i] = 1;
      else if (any_null)
        st.out.set_null(i);
      else
        o[i] = 0;
    } else {
      if (any_false)
        o[i] = 0;
      else if (any_null)
        st.out.set_null(i);
      else
        o[i] = 1;
    }
  }
  return &st.out;
}

const columnar::column& program::eval(const columnar::row_batch& in,
                                      rows_t rows, eval_context& ctx) {
  ctx.batch_rows = in.num_rows();
  // Kernels write string results in row order: sort a selection that is
  // not (a selection in another order still selects the same rows).
  if (!std::is_sorted(rows.begin(), rows.end())) {
    sorted_.assign(rows.begin(), rows.end());
    std::sort(sorted_.begin(), sorted_.end());
    rows = sorted_;
  }
  return *run(root_, in, rows, ctx);
}

const columnar::column& program::eval(const columnar::row_batch& in,
                                      eval_context& ctx) {
  auto rows = in.active(all_rows_);
  return eval(in, rows, ctx);
}

void program::filter(columnar::row_batch& in, eval_context& ctx) {
  auto rows = in.active(all_rows_);
  auto& c = eval(in, rows, ctx);
  auto v = c.values<uint8_t>();
  keep_.clear();
  for (auto i : rows)
    if (c.valid(i) && v[i])
      keep_.push_back(i);
  if (keep_.size() == rows.size())
    return; // nothing filtered out
  in.set_selection(keep_);
}

} // namespace sluice::expr
