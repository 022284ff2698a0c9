#include "actors/ops/group_table.hpp"

#include <cmath>
#include <cstring>
#include <numeric>

namespace sluice::ops {

using namespace columnar;

namespace {

template <class T>
bool same(T a, T b) noexcept {
  return a == b;
}

template <>
bool same(double a, double b) noexcept {
  return a == b || (std::isnan(a) && std::isnan(b));
}

template <class T>
bool equal_fixed(const column& x, size_t a, const column& y,
                 size_t b) noexcept {
  return same(x.value<T>(a), y.value<T>(b));
}

} // namespace

bool equal_cells(const column& x, size_t a, const column& y,
                 size_t b) noexcept {
  auto va = x.valid(a);
  auto vb = y.valid(b);
  if (!va || !vb)
    return va == vb;
  switch (x.type().id) {
  case type_id::null_type:
    return true;
  case type_id::boolean:
    return equal_fixed<uint8_t>(x, a, y, b);
  case type_id::int32:
    return equal_fixed<int32_t>(x, a, y, b);
  case type_id::int64:
  case type_id::timestamp:
  case type_id::interval_ms:
    return equal_fixed<int64_t>(x, a, y, b);
  case type_id::float64:
    return equal_fixed<double>(x, a, y, b);
  case type_id::decimal:
    return equal_fixed<int128>(x, a, y, b);
  case type_id::string:
    return x.str(a) == y.str(b);
  }
  return false;
}

uint32_t group_table::insert(const row_batch& in,
                             std::span<const uint32_t> key_cols, uint32_t row,
                             uint64_t h) {
  auto gid = static_cast<uint32_t>(hashes.size());
  for (size_t c = 0; c < key_cols.size(); ++c)
    keys.col(c).gather_from(in.col(key_cols[c]), std::span{&row, 1});
  if (key_cols.empty())
    keys.set_num_rows(gid + 1);
  hashes.push_back(h);
  next_same_hash.push_back(no_group);
  return gid;
}

void group_table::find_or_insert(const row_batch& in,
                                 std::span<const uint32_t> key_cols,
                                 std::span<const uint64_t> row_hashes,
                                 std::vector<uint32_t>& gids) {
  auto rows = in.active(scratch);
  find_or_insert(in, key_cols, rows, row_hashes, gids);
}

void group_table::find_or_insert(const row_batch& in,
                                 std::span<const uint32_t> key_cols,
                                 std::span<const uint32_t> rows,
                                 std::span<const uint64_t> row_hashes,
                                 std::vector<uint32_t>& gids) {
  if (!keys.row_schema()) {
    std::vector<field> fs;
    for (auto c : key_cols)
      fs.push_back(in.row_schema()->fields[c]);
    keys.reset(make_schema(std::move(fs)));
  }
  auto n = rows.size();
  gids.resize(n);
  for (size_t k = 0; k < n; ++k) {
    auto row = rows[k];
    auto h = row_hashes[k];
    auto [it, fresh] = first_by_hash.try_emplace(h, no_group);
    if (fresh) {
      auto gid = insert(in, key_cols, row, h);
      it.value() = gid;
      gids[k] = gid;
      continue;
    }
    auto g = it->second;
    for (;;) {
      auto eq = true;
      for (size_t c = 0; c < key_cols.size() && eq; ++c)
        eq = equal_cells(keys.col(c), g, in.col(key_cols[c]), row);
      if (eq)
        break;
      if (next_same_hash[g] == no_group) {
        auto gid = insert(in, key_cols, row, h);
        next_same_hash[g] = gid;
        g = gid;
        break;
      }
      g = next_same_hash[g];
    }
    gids[k] = g;
  }
}

void group_table::absorb(const group_table& other,
                         std::vector<uint32_t>& mapping) {
  std::vector<uint32_t> cols(other.keys.num_columns());
  std::iota(cols.begin(), cols.end(), 0u);
  if (other.keys.row_schema() == nullptr) {
    mapping.clear();
    return;
  }
  find_or_insert(other.keys, cols, other.hashes, mapping);
}

void group_table::keep(std::span<const uint32_t> keep) {
  row_batch kept{keys.row_schema()};
  scratch.clear();
  std::vector<uint32_t> rows{keep.begin(), keep.end()};
  if (kept.row_schema())
    kept.append_rows(keys, rows);
  if (kept.num_columns() == 0)
    kept.set_num_rows(rows.size());
  std::vector<uint64_t> hs;
  hs.reserve(rows.size());
  for (auto g : rows)
    hs.push_back(hashes[g]);
  keys = std::move(kept);
  hashes = std::move(hs);
  next_same_hash.assign(hashes.size(), no_group);
  first_by_hash.clear();
  // Rebuild the chains; ids stay in order, so each chain keeps its order.
  std::vector<uint32_t> last(hashes.size(), no_group);
  for (uint32_t g = 0; g < hashes.size(); ++g) {
    auto [it, fresh] = first_by_hash.try_emplace(hashes[g], g);
    if (fresh) {
      last[g] = g;
      continue;
    }
    auto head = it->second;
    next_same_hash[last[head]] = g;
    last[head] = g;
  }
}

void group_table::clear() {
  keys.clear();
  hashes.clear();
  next_same_hash.clear();
  first_by_hash.clear();
}

size_t group_table::byte_size() const noexcept {
  return keys.byte_size() + hashes.capacity() * sizeof(uint64_t) +
         next_same_hash.capacity() * sizeof(uint32_t) +
         first_by_hash.bucket_count() *
             (sizeof(uint64_t) + sizeof(uint32_t) + sizeof(uint32_t));
}

} // namespace sluice::ops
