#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "runtime/columnar/row_batch.hpp"

/// Hashing of key columns and hash partitioning, a batch at a time.
namespace sluice::columnar {

/// Hashes the key columns of every active row into `out` (resized to
/// `active_rows()`; `out[k]` belongs to the k-th active row). XXH3 64,
/// seedless, combined column by column: each column's value is hashed with
/// the hash so far as its seed. Same keys give the same hash on every node
/// and in every run: values are hashed as their little-endian bytes
/// (DOUBLE -0.0 as 0.0, every NaN as one NaN; strings by their bytes), a
/// NULL as a fixed value of its own. Key columns of different types are
/// hashed by their physical bytes, so join and group keys must share a
/// type (the analyzer casts them).
void hash_keys(const row_batch& b, std::span<const uint32_t> key_cols,
               std::vector<uint64_t>& out);

/// The target of a hash among `n`: the high bits of `hash * n` (Lemire's
/// multiply-shift). Targets keep every low bit of their keys' hashes, so a
/// target's hash table that uses the same hash is not left with a fraction
/// of its buckets.
inline uint32_t target_of(uint64_t hash, uint32_t n) noexcept {
  return static_cast<uint32_t>((static_cast<unsigned __int128>(hash) * n) >>
                               64);
}

/// Splits the active rows into `n` selections by `target_of(hash, n)`
/// (`hashes` from `hash_keys`): `out[t]` holds the physical indices of the
/// rows for target `t`, in batch order, ready for `append_rows`. Reuses the
/// capacity of `out`'s vectors.
void partition(const std::vector<uint64_t>& hashes, const row_batch& b,
               uint32_t n, std::vector<std::vector<uint32_t>>& out);

} // namespace sluice::columnar
