#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "actors/ops/group_table.hpp"
#include "connectors/lookup_options.hpp"
#include "runtime/columnar/row_batch.hpp"

namespace sluice::ops {

/// The keys of a lookup join and the table rows found for them: what one
/// batch of input rows needs, and, with a PARTIAL cache, what recent
/// batches needed.
///
/// A batch goes through it in three steps: `find` gives each input row's
/// key an entry (new ones empty) and lists the keys the table must be
/// asked for (new, or expired); `fill` stores the table's answer for them;
/// `matches` then gives each key's rows. `trim`, between batches, drops
/// expired keys and, over `max_rows` keys, the least recently used down to
/// 90% of it (entry ids change then); without a cache it drops everything.
/// Keys compare by value (group_table); a key with a NULL is never looked
/// up (`find` gives it no entry: SQL's = never holds for NULL).
class lookup_cache {
 public:
  /// `table` is the looked-up table's schema (the rows kept).
  lookup_cache(lookup_settings s, columnar::schema_ptr table);

  /// Entries of the active rows of `in` by their key columns `key_cols`:
  /// `entries[k]` for the k-th active row (no_group for a NULL key).
  /// `wanted` gets the entries to ask the table for, each once.
  void find(const columnar::row_batch& in, std::span<const uint32_t> key_cols,
            int64_t now_ms, std::vector<uint32_t>& entries,
            std::vector<uint32_t>& wanted);

  /// The key values of `entries`, one row each, in their order (what a
  /// lookup connector is asked).
  void keys_of(std::span<const uint32_t> entries,
               columnar::row_batch& out) const;

  /// Stores the answer for `wanted`: `found` rows with `of[i]` the index
  /// into `wanted` of row i's key.
  void fill(std::span<const uint32_t> wanted, const columnar::row_batch& found,
            std::span<const uint32_t> of, int64_t now_ms);

  /// The rows of `entry`: indices into `rows()`.
  std::span<const uint32_t> matches(uint32_t entry) const;

  /// Every kept table row.
  const columnar::row_batch& rows() const noexcept { return rows_; }

  /// Drops what the settings do not keep (see above).
  void trim(int64_t now_ms);

  /// Keys kept.
  size_t size() const noexcept { return keys_.size(); }

  /// Bytes held by keys, rows and bookkeeping.
  size_t byte_size() const noexcept;

  uint64_t hits = 0;      ///< input rows whose key was cached and fresh
  uint64_t misses = 0;    ///< keys asked of the table
  uint64_t evictions = 0; ///< keys dropped by `trim` (expired or over size)

 private:
  struct entry {
    int64_t written = 0;        ///< when the table answered for it
    int64_t accessed = 0;       ///< last input row that used it
    std::vector<uint32_t> rows; ///< into rows_
    uint64_t asked_in = 0;      ///< the last `find` that wanted it
    bool filled = false;
  };

  bool fresh(const entry& e, int64_t now_ms) const noexcept;

  lookup_settings cfg_;
  group_table keys_;
  std::vector<entry> entries_;
  columnar::row_batch rows_;
  size_t dead_rows_ = 0; ///< rows_ no entry points at any more
  uint64_t batch_ = 0;   ///< calls of `find`
  // Scratch of `find`.
  std::vector<uint32_t> active_, picked_, slot_, ids_;
  std::vector<uint64_t> hashes_, picked_hashes_;
};

} // namespace sluice::ops
