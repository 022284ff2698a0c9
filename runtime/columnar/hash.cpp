#include "runtime/columnar/hash.hpp"

#include <cmath>
#include <cstring>
#include <limits>

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace sluice::columnar {

namespace {

/// What a NULL key part contributes: the hash of no bytes, seeded with the
/// hash so far xor this constant (distinct from an empty string).
constexpr uint64_t null_salt = 0x9e3779b97f4a7c15ULL;

/// The rows to visit: all (k is the row) or a selection.
struct all_rows {
  uint32_t operator()(std::span<const uint32_t>, size_t k) const noexcept {
    return static_cast<uint32_t>(k);
  }
};

struct selected_rows {
  uint32_t operator()(std::span<const uint32_t> sel, size_t k) const noexcept {
    return sel[k];
  }
};

inline uint64_t hash_null(uint64_t seed) noexcept {
  return XXH3_64bits_withSeed(nullptr, 0, seed ^ null_salt);
}

template <class T>
inline T canonical(T v) noexcept {
  return v;
}

template <>
inline double canonical(double v) noexcept {
  if (v == 0.0)
    return 0.0;
  if (std::isnan(v))
    return std::numeric_limits<double>::quiet_NaN();
  return v;
}

/// Folds a fixed-width column into `h` (one hash per active row).
template <class T, class Rows, bool Nulls>
void fold_fixed(const column& c, std::span<const uint32_t> sel, Rows rows,
                std::span<uint64_t> h) noexcept {
  const char* data = c.data().data();
  for (size_t k = 0; k < h.size(); ++k) {
    auto r = rows(sel, k);
    if constexpr (Nulls) {
      if (!c.valid(r)) {
        h[k] = hash_null(h[k]);
        continue;
      }
    }
    T v;
    std::memcpy(&v, data + size_t{r} * sizeof(T), sizeof(T));
    v = canonical(v);
    h[k] = XXH3_64bits_withSeed(&v, sizeof(T), h[k]);
  }
}

template <class Rows, bool Nulls>
void fold_string(const column& c, std::span<const uint32_t> sel, Rows rows,
                 std::span<uint64_t> h) noexcept {
  const char* data = c.data().data();
  const uint32_t* off = c.offsets().data();
  for (size_t k = 0; k < h.size(); ++k) {
    auto r = rows(sel, k);
    if constexpr (Nulls) {
      if (!c.valid(r)) {
        h[k] = hash_null(h[k]);
        continue;
      }
    }
    h[k] = XXH3_64bits_withSeed(data + off[r], off[r + 1] - off[r], h[k]);
  }
}

template <class Rows, bool Nulls>
void fold(const column& c, std::span<const uint32_t> sel, Rows rows,
          std::span<uint64_t> h) noexcept {
  switch (c.type().id) {
  case type_id::null_type:
    for (auto& x : h)
      x = hash_null(x);
    return;
  case type_id::boolean:
    return fold_fixed<uint8_t, Rows, Nulls>(c, sel, rows, h);
  case type_id::int32:
    return fold_fixed<int32_t, Rows, Nulls>(c, sel, rows, h);
  case type_id::int64:
  case type_id::timestamp:
  case type_id::interval_ms:
    return fold_fixed<int64_t, Rows, Nulls>(c, sel, rows, h);
  case type_id::float64:
    return fold_fixed<double, Rows, Nulls>(c, sel, rows, h);
  case type_id::decimal:
    return fold_fixed<int128, Rows, Nulls>(c, sel, rows, h);
  case type_id::string:
    return fold_string<Rows, Nulls>(c, sel, rows, h);
  }
}

template <class Rows>
void fold_column(const column& c, std::span<const uint32_t> sel, Rows rows,
                 std::span<uint64_t> h) noexcept {
  if (c.has_nulls())
    fold<Rows, true>(c, sel, rows, h);
  else
    fold<Rows, false>(c, sel, rows, h);
}

} // namespace

void hash_keys(const row_batch& b, std::span<const uint32_t> key_cols,
               std::vector<uint64_t>& out) {
  out.assign(b.active_rows(), 0);
  std::span<uint64_t> h{out};
  for (auto i : key_cols) {
    auto& c = b.col(i);
    if (b.all_selected())
      fold_column(c, {}, all_rows{}, h);
    else
      fold_column(c, b.selection(), selected_rows{}, h);
  }
}

void partition(const std::vector<uint64_t>& hashes, const row_batch& b,
               uint32_t n, std::vector<std::vector<uint32_t>>& out) {
  out.resize(n);
  for (auto& v : out)
    v.clear();
  if (n == 0)
    return;
  auto sel = b.selection();
  auto all = b.all_selected();
  for (size_t k = 0; k < hashes.size(); ++k) {
    auto row = all ? static_cast<uint32_t>(k) : sel[k];
    out[target_of(hashes[k], n)].push_back(row);
  }
}

} // namespace sluice::columnar
