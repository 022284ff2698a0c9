#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include <tsl/robin_map.h>

#include "runtime/columnar/row_batch.hpp"
#include "runtime/columnar/schema.hpp"

namespace sluice::ops {

/// Marks "no group" in group id vectors.
inline constexpr uint32_t no_group = UINT32_MAX;

/// Key -> dense group id (0, 1, 2, ... in order of first appearance), with
/// the keys kept in a row batch (the key arena) so they can be emitted.
///
/// Rows come with their key hashes (columnar::hash_keys); groups with equal
/// hashes are chained and told apart by comparing the key values, so hash
/// collisions cost time, never a wrong group. NULL keys equal each other
/// (SQL GROUP BY); DOUBLE keys compare as the hash sees them (-0.0 = 0.0,
/// every NaN one value).
struct group_table {
  columnar::row_batch keys;             ///< one row per group: the key columns
  std::vector<uint64_t> hashes;         ///< by group: its key hash
  std::vector<uint32_t> next_same_hash; ///< by group: chain, or no_group
  tsl::robin_map<uint64_t, uint32_t> first_by_hash;
  std::vector<uint32_t> scratch; ///< row indices of a call (not state)

  /// Number of groups.
  size_t size() const noexcept { return hashes.size(); }

  /// Finds or inserts the group of every active row of `in` (keys in
  /// columns `key_cols`; `row_hashes[k]` the hash of the k-th active row)
  /// and writes its id to `gids[k]`. The first call fixes the arena's
  /// schema from `in`'s key fields.
  void find_or_insert(const columnar::row_batch& in,
                      std::span<const uint32_t> key_cols,
                      std::span<const uint64_t> row_hashes,
                      std::vector<uint32_t>& gids);

  /// The same for physical rows `rows` of `in` (`row_hashes[k]` the hash
  /// of `rows[k]`).
  void find_or_insert(const columnar::row_batch& in,
                      std::span<const uint32_t> key_cols,
                      std::span<const uint32_t> rows,
                      std::span<const uint64_t> row_hashes,
                      std::vector<uint32_t>& gids);

  /// Like find_or_insert for another table's groups (its arena and hashes):
  /// `mapping[g]` = this table's id for their group `g`.
  void absorb(const group_table& other, std::vector<uint32_t>& mapping);

  /// Keeps only groups `keep` (ascending old ids), renumbered 0..n-1.
  void keep(std::span<const uint32_t> keep);

  /// Forgets every group; keeps the arena's schema.
  void clear();

  /// Bytes held by the arena, the chains and the hash map.
  size_t byte_size() const noexcept;

 private:
  uint32_t insert(const columnar::row_batch& in,
                  std::span<const uint32_t> key_cols, uint32_t row, uint64_t h);
};

/// True when row `a` of `x` and row `b` of `y` hold equal values of the
/// same type, NULL equal to NULL.
bool equal_cells(const columnar::column& x, size_t a, const columnar::column& y,
                 size_t b) noexcept;

} // namespace sluice::ops
