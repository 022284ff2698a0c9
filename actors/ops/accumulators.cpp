#include "actors/ops/accumulators.hpp"

#include <cmath>
#include <cstring>
#include <limits>
#include <string_view>
#include <type_traits>

#include "runtime/errors.hpp"

namespace sluice::ops {

using namespace columnar;

namespace {

agg_storage storage_of(type_id t) noexcept {
  switch (t) {
  case type_id::boolean:
  case type_id::int32:
  case type_id::int64:
  case type_id::timestamp:
  case type_id::interval_ms:
    return agg_storage::i64;
  case type_id::float64:
    return agg_storage::f64;
  case type_id::decimal:
    return agg_storage::dec;
  case type_id::string:
    return agg_storage::str;
  case type_id::null_type:
    break;
  }
  return agg_storage::none;
}

/// Calls f(group, value) for every active row whose value is not NULL.
template <class T, class F>
void visit_fixed(const column& c, std::span<const uint32_t> rows,
                 std::span<const uint32_t> gids, F&& f) {
  auto v = c.values<T>();
  if (!c.has_nulls()) {
    for (size_t k = 0; k < rows.size(); ++k)
      f(gids[k], v[rows[k]]);
    return;
  }
  for (size_t k = 0; k < rows.size(); ++k)
    if (c.valid(rows[k]))
      f(gids[k], v[rows[k]]);
}

/// Visits the non-NULL values of `c` as int64_t, double, int128 or
/// string_view (by storage).
template <class F>
void visit_values(const column& c, std::span<const uint32_t> rows,
                  std::span<const uint32_t> gids, F&& f) {
  switch (c.type().id) {
  case type_id::boolean:
    visit_fixed<uint8_t>(c, rows, gids,
                         [&](uint32_t g, uint8_t v) { f(g, int64_t{v}); });
    return;
  case type_id::int32:
    visit_fixed<int32_t>(c, rows, gids,
                         [&](uint32_t g, int32_t v) { f(g, int64_t{v}); });
    return;
  case type_id::int64:
  case type_id::timestamp:
  case type_id::interval_ms:
    visit_fixed<int64_t>(c, rows, gids, f);
    return;
  case type_id::float64:
    visit_fixed<double>(c, rows, gids, f);
    return;
  case type_id::decimal:
    visit_fixed<int128>(c, rows, gids, f);
    return;
  case type_id::string: {
    auto has_nulls = c.has_nulls();
    for (size_t k = 0; k < rows.size(); ++k)
      if (!has_nulls || c.valid(rows[k]))
        f(gids[k], c.str(rows[k]));
    return;
  }
  case type_id::null_type:
    return;
  }
}

/// The vector of `s` that holds values of type T.
template <class T>
auto& slots(agg_state& s) {
  if constexpr (std::is_same_v<T, int64_t>)
    return s.i64;
  else if constexpr (std::is_same_v<T, double>)
    return s.f64;
  else if constexpr (std::is_same_v<T, int128>)
    return s.dec;
  else
    return s.str;
}

template <class T>
const auto& slots(const agg_state& s) {
  return slots<T>(const_cast<agg_state&>(s));
}

template <class T>
void store(agg_state& s, uint32_t g, T v) {
  if constexpr (std::is_same_v<T, std::string_view>)
    s.str[g].assign(v);
  else
    slots<T>(s)[g] = v;
}

/// The bytes COUNT(DISTINCT) keeps for a value.
template <class T>
std::string distinct_bytes(T v) {
  if constexpr (std::is_same_v<T, std::string_view>) {
    return std::string{v};
  } else {
    if constexpr (std::is_same_v<T, double>) {
      if (v == 0.0)
        v = 0.0;
      if (std::isnan(v))
        v = std::numeric_limits<double>::quiet_NaN();
    }
    std::string out(sizeof(T), '\0');
    std::memcpy(out.data(), &v, sizeof(T));
    return out;
  }
}

inline int64_t wrap_add(int64_t a, int64_t b) noexcept {
  return static_cast<int64_t>(static_cast<uint64_t>(a) +
                              static_cast<uint64_t>(b));
}

inline int128 wrap_add(int128 a, int128 b) noexcept {
  using u128 = unsigned __int128;
  return static_cast<int128>(static_cast<u128>(a) + static_cast<u128>(b));
}

/// Calls f with the storage's value type (a value of it, unused).
template <class F>
void with_storage(agg_storage st, F&& f) {
  switch (st) {
  case agg_storage::i64:
    f(int64_t{});
    return;
  case agg_storage::f64:
    f(double{});
    return;
  case agg_storage::dec:
    f(int128{});
    return;
  case agg_storage::str:
    f(std::string_view{});
    return;
  case agg_storage::none:
    return;
  }
}

void update_state(agg_state& s, const column* arg,
                  std::span<const uint32_t> rows,
                  std::span<const uint32_t> gids) {
  switch (s.call.kind) {
  case agg_kind::count_star:
    for (auto g : gids)
      ++s.count[g];
    return;
  case agg_kind::count:
    if (s.call.distinct)
      visit_values(*arg, rows, gids, [&](uint32_t g, auto v) {
        s.distinct[g].insert(distinct_bytes(v));
      });
    else if (!arg->has_nulls())
      for (auto g : gids)
        ++s.count[g];
    else
      for (size_t k = 0; k < rows.size(); ++k)
        s.count[gids[k]] += arg->valid(rows[k]) ? 1 : 0;
    return;
  case agg_kind::sum:
  case agg_kind::avg:
    visit_values(*arg, rows, gids, [&](uint32_t g, auto v) {
      using T = decltype(v);
      ++s.count[g];
      if constexpr (std::is_same_v<T, double>)
        s.f64[g] += v;
      else if constexpr (std::is_same_v<T, int64_t> ||
                         std::is_same_v<T, int128>)
        slots<T>(s)[g] = wrap_add(slots<T>(s)[g], v);
    });
    return;
  case agg_kind::min:
  case agg_kind::max: {
    auto is_min = s.call.kind == agg_kind::min;
    visit_values(*arg, rows, gids, [&](uint32_t g, auto v) {
      using T = decltype(v);
      auto& cur = slots<T>(s)[g];
      if (s.has[g] == 0 || (is_min ? v < T{cur} : T{cur} < v)) {
        store<T>(s, g, v);
        s.has[g] = 1;
      }
    });
    return;
  }
  case agg_kind::first_value:
    visit_values(*arg, rows, gids, [&](uint32_t g, auto v) {
      if (s.has[g] == 0) {
        store(s, g, v);
        s.has[g] = 1;
      }
    });
    return;
  case agg_kind::last_value:
    visit_values(*arg, rows, gids, [&](uint32_t g, auto v) {
      store(s, g, v);
      s.has[g] = 1;
    });
    return;
  }
}

template <class V>
void gather(V& v, std::span<const uint32_t> keep) {
  if (v.empty())
    return;
  V out;
  out.reserve(keep.size());
  for (auto g : keep)
    out.push_back(std::move(v[g]));
  v = std::move(out);
}

} // namespace

caf::expected<accumulators> accumulators::make(std::vector<agg_call> calls,
                                               const schema& in) {
  accumulators result;
  for (size_t i = 0; i < calls.size(); ++i) {
    auto& c = calls[i];
    auto fail = [&](const std::string& why) {
      return make_error(sql_errc::bad_plan, "aggregate " + std::to_string(i) +
                                                " (" + to_string(c.kind) +
                                                "): " + why);
    };
    agg_state s;
    s.call = c;
    if (c.kind != agg_kind::count_star) {
      if (c.arg < 0 || static_cast<size_t>(c.arg) >= in.size())
        return fail("argument column out of range");
      s.arg = in.fields[c.arg].type;
      s.storage = storage_of(s.arg.id);
    }
    if (c.distinct && c.kind != agg_kind::count)
      return fail("DISTINCT is only supported in COUNT");
    auto numeric = s.storage == agg_storage::i64 ||
                   s.storage == agg_storage::f64 ||
                   s.storage == agg_storage::dec;
    switch (c.kind) {
    case agg_kind::count_star:
      break;
    case agg_kind::count:
      if (c.distinct && s.storage == agg_storage::none)
        return fail("argument of type " + to_string(s.arg));
      break;
    case agg_kind::sum:
    case agg_kind::avg:
      if (!numeric || s.arg.id == type_id::boolean ||
          s.arg.id == type_id::timestamp)
        return fail("argument of type " + to_string(s.arg));
      break;
    default:
      if (s.storage == agg_storage::none)
        return fail("argument of type " + to_string(s.arg));
    }
    result.states_.push_back(std::move(s));
  }
  return result;
}

void accumulators::resize(size_t groups) {
  groups_ = groups;
  for (auto& s : states_) {
    switch (s.call.kind) {
    case agg_kind::count_star:
      s.count.resize(groups, 0);
      continue;
    case agg_kind::count:
      if (s.call.distinct)
        s.distinct.resize(groups);
      else
        s.count.resize(groups, 0);
      continue;
    case agg_kind::sum:
    case agg_kind::avg:
      s.count.resize(groups, 0);
      break;
    default:
      s.has.resize(groups, 0);
    }
    with_storage(s.storage, [&](auto v) {
      using T = decltype(v);
      if constexpr (std::is_same_v<T, std::string_view>)
        s.str.resize(groups);
      else
        slots<T>(s).resize(groups, T{});
    });
  }
}

void accumulators::update(const row_batch& in, std::span<const uint32_t> gids) {
  update(in, in.active(scratch_), gids);
}

void accumulators::update(const row_batch& in, std::span<const uint32_t> rows,
                          std::span<const uint32_t> gids) {
  for (auto& s : states_)
    update_state(s, s.call.arg >= 0 ? &in.col(s.call.arg) : nullptr, rows,
                 gids);
}

template <class Theirs, class Mine>
void accumulators::merge_impl(const accumulators& other, size_t n, Theirs their,
                              Mine mine) {
  for (size_t c = 0; c < states_.size(); ++c) {
    auto& s = states_[c];
    auto& o = other.states_[c];
    switch (s.call.kind) {
    case agg_kind::count_star:
    case agg_kind::count:
      if (s.call.distinct) {
        for (size_t i = 0; i < n; ++i)
          s.distinct[mine(i)].insert(o.distinct[their(i)].begin(),
                                     o.distinct[their(i)].end());
      } else {
        for (size_t i = 0; i < n; ++i)
          s.count[mine(i)] += o.count[their(i)];
      }
      continue;
    case agg_kind::sum:
    case agg_kind::avg:
      for (size_t i = 0; i < n; ++i)
        s.count[mine(i)] += o.count[their(i)];
      with_storage(s.storage, [&](auto v) {
        using T = decltype(v);
        if constexpr (std::is_same_v<T, double>) {
          for (size_t i = 0; i < n; ++i)
            s.f64[mine(i)] += o.f64[their(i)];
        } else if constexpr (!std::is_same_v<T, std::string_view>) {
          for (size_t i = 0; i < n; ++i)
            slots<T>(s)[mine(i)] =
                wrap_add(slots<T>(s)[mine(i)], slots<T>(o)[their(i)]);
        }
      });
      continue;
    default:
      break;
    }
    auto kind = s.call.kind;
    with_storage(s.storage, [&](auto v) {
      using T = decltype(v);
      for (size_t i = 0; i < n; ++i) {
        auto t = their(i);
        if (o.has[t] == 0)
          continue;
        auto m = mine(i);
        const auto& theirs = slots<T>(o)[t];
        auto take = s.has[m] == 0;
        if (!take) {
          const auto& cur = slots<T>(s)[m];
          if (kind == agg_kind::min)
            take = T{theirs} < T{cur};
          else if (kind == agg_kind::max)
            take = T{cur} < T{theirs};
          else
            take = kind == agg_kind::last_value;
        }
        if (take) {
          slots<T>(s)[m] = theirs;
          s.has[m] = 1;
        }
      }
    });
  }
}

void accumulators::merge(const accumulators& other,
                         std::span<const uint32_t> map) {
  merge_impl(
      other, map.size(), [](size_t i) { return i; },
      [map](size_t i) { return map[i]; });
}

void accumulators::merge_group(uint32_t from, uint32_t to) {
  if (from == to)
    return;
  merge_impl(
      *this, 1, [from](size_t) { return from; }, [to](size_t) { return to; });
}

void accumulators::clear_group(uint32_t g) {
  for (auto& s : states_) {
    if (!s.count.empty())
      s.count[g] = 0;
    if (!s.has.empty())
      s.has[g] = 0;
    if (!s.i64.empty())
      s.i64[g] = 0;
    if (!s.f64.empty())
      s.f64[g] = 0;
    if (!s.dec.empty())
      s.dec[g] = 0;
    if (!s.str.empty())
      s.str[g].clear();
    if (!s.distinct.empty())
      s.distinct[g].clear();
  }
}

void accumulators::keep(std::span<const uint32_t> keep) {
  for (auto& s : states_) {
    gather(s.count, keep);
    gather(s.i64, keep);
    gather(s.f64, keep);
    gather(s.dec, keep);
    gather(s.str, keep);
    gather(s.has, keep);
    gather(s.distinct, keep);
  }
  groups_ = keep.size();
}

size_t accumulators::byte_size() const noexcept {
  size_t n = scratch_.capacity() * sizeof(uint32_t);
  for (auto& s : states_) {
    n += s.count.capacity() * sizeof(int64_t) +
         s.i64.capacity() * sizeof(int64_t) +
         s.f64.capacity() * sizeof(double) + s.dec.capacity() * sizeof(int128) +
         s.has.capacity() + s.str.capacity() * sizeof(std::string);
    for (auto& x : s.str)
      if (x.capacity() > 15)
        n += x.capacity();
    for (auto& d : s.distinct) {
      n += sizeof(d) + d.bucket_count() * (sizeof(std::string) + 8);
      for (auto& x : d)
        if (x.capacity() > 15)
          n += x.capacity();
    }
  }
  return n;
}

std::vector<field> agg_fields(const std::vector<agg_call>& calls) {
  std::vector<field> out;
  for (size_t i = 0; i < calls.size(); ++i)
    out.push_back({"agg" + std::to_string(i), calls[i].out});
  return out;
}

} // namespace sluice::ops
