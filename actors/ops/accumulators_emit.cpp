#include "actors/ops/accumulators.hpp"

#include "runtime/expr/decimal.hpp"

// The results of the accumulators, written as each call's `out` type.
namespace sluice::ops {

using namespace columnar;
namespace dec = expr::decimal;

namespace {

/// Appends an integer as the type of `out`.
void push_int(column& out, int64_t v) {
  switch (out.type().id) {
  case type_id::boolean:
    out.push<uint8_t>(v != 0 ? 1 : 0);
    return;
  case type_id::int32:
    out.push<int32_t>(static_cast<int32_t>(v));
    return;
  case type_id::int64:
  case type_id::timestamp:
  case type_id::interval_ms:
    out.push<int64_t>(v);
    return;
  case type_id::float64:
    out.push<double>(static_cast<double>(v));
    return;
  case type_id::decimal: {
    auto x = dec::rescale(v, 0, out.type().scale);
    if (x)
      out.push<int128>(*x);
    else
      out.push_null();
    return;
  }
  default:
    out.push_null();
  }
}

/// Appends a DECIMAL at `scale` as the type of `out`.
void push_dec(column& out, int128 v, int scale) {
  switch (out.type().id) {
  case type_id::decimal: {
    auto x = dec::rescale(v, scale, out.type().scale);
    if (x)
      out.push<int128>(*x);
    else
      out.push_null();
    return;
  }
  case type_id::float64:
    out.push<double>(dec::to_double(v, scale));
    return;
  default: {
    auto x = dec::rescale(v, scale, 0);
    if (x)
      push_int(out, static_cast<int64_t>(*x));
    else
      out.push_null();
  }
  }
}

void push_f64(column& out, double v) {
  if (out.type().id == type_id::float64) {
    out.push<double>(v);
    return;
  }
  if (out.type().id == type_id::decimal) {
    auto x = dec::from_double(v, out.type().precision, out.type().scale);
    if (x)
      out.push<int128>(*x);
    else
      out.push_null();
    return;
  }
  push_int(out, static_cast<int64_t>(v));
}

/// Appends group g's value of `s` as the type of `out`.
void push_value(const agg_state& s, uint32_t g, column& out) {
  switch (s.storage) {
  case agg_storage::i64:
    push_int(out, s.i64[g]);
    return;
  case agg_storage::f64:
    push_f64(out, s.f64[g]);
    return;
  case agg_storage::dec:
    push_dec(out, s.dec[g], s.arg.scale);
    return;
  case agg_storage::str:
    out.push_str(s.str[g]);
    return;
  case agg_storage::none:
    out.push_null();
  }
}

void push_avg(const agg_state& s, uint32_t g, column& out) {
  auto n = s.count[g];
  switch (s.storage) {
  case agg_storage::i64:
    if (out.type().id == type_id::decimal) {
      auto x = dec::divide(s.i64[g], 0, n, 0, out.type().scale);
      if (x)
        out.push<int128>(*x);
      else
        out.push_null();
    } else if (out.type().id == type_id::float64) {
      out.push<double>(static_cast<double>(s.i64[g]) / static_cast<double>(n));
    } else {
      push_int(out, s.i64[g] / n);
    }
    return;
  case agg_storage::f64:
    push_f64(out, s.f64[g] / static_cast<double>(n));
    return;
  case agg_storage::dec: {
    auto scale =
        out.type().id == type_id::decimal ? out.type().scale : s.arg.scale;
    auto x = dec::divide(s.dec[g], s.arg.scale, n, 0, scale);
    if (x)
      push_dec(out, *x, scale);
    else
      out.push_null();
    return;
  }
  default:
    out.push_null();
  }
}

} // namespace

void accumulators::emit(std::span<const uint32_t> groups, row_batch& out,
                        size_t first_col) const {
  for (size_t i = 0; i < states_.size(); ++i) {
    auto& s = states_[i];
    auto& c = out.col(first_col + i);
    c.reserve(c.size() + groups.size());
    switch (s.call.kind) {
    case agg_kind::count_star:
    case agg_kind::count:
      if (s.call.distinct) {
        for (auto g : groups)
          push_int(c, static_cast<int64_t>(s.distinct[g].size()));
      } else if (c.type().id == type_id::int64) {
        // The common case, COUNT as BIGINT: copy the counts.
        for (auto g : groups)
          c.push<int64_t>(s.count[g]);
      } else {
        for (auto g : groups)
          push_int(c, s.count[g]);
      }
      break;
    case agg_kind::sum:
      for (auto g : groups)
        if (s.count[g] == 0)
          c.push_null();
        else
          push_value(s, g, c);
      break;
    case agg_kind::avg:
      for (auto g : groups)
        if (s.count[g] == 0)
          c.push_null();
        else
          push_avg(s, g, c);
      break;
    default:
      for (auto g : groups)
        if (s.has[g] == 0)
          c.push_null();
        else
          push_value(s, g, c);
    }
  }
}

} // namespace sluice::ops
