#include "actors/ops/lookup_cache.hpp"

#include <algorithm>

#include "runtime/columnar/hash.hpp"

namespace sluice::ops {

using namespace columnar;

lookup_cache::lookup_cache(lookup_settings s, schema_ptr table)
    : cfg_(s), rows_(std::move(table)) {}

bool lookup_cache::fresh(const entry& e, int64_t now_ms) const noexcept {
  if (!e.filled)
    return false;
  if (cfg_.write_ttl > 0 && now_ms - e.written >= cfg_.write_ttl)
    return false;
  if (cfg_.access_ttl > 0 && now_ms - e.accessed >= cfg_.access_ttl)
    return false;
  return true;
}

void lookup_cache::find(const row_batch& in, std::span<const uint32_t> key_cols,
                        int64_t now_ms, std::vector<uint32_t>& entries,
                        std::vector<uint32_t>& wanted) {
  auto active = in.active(active_);
  entries.assign(active.size(), no_group);
  wanted.clear();
  // Rows whose key has no NULL (`slot_`: their place among the active
  // rows) and their hashes.
  picked_.clear();
  slot_.clear();
  for (uint32_t k = 0; k < active.size(); ++k) {
    bool null = false;
    for (auto c : key_cols)
      null = null || !in.col(c).valid(active[k]);
    if (!null) {
      picked_.push_back(active[k]);
      slot_.push_back(k);
    }
  }
  if (picked_.empty())
    return;
  hash_keys(in, key_cols, hashes_); // by active row
  picked_hashes_.clear();
  for (auto k : slot_)
    picked_hashes_.push_back(hashes_[k]);
  keys_.find_or_insert(in, key_cols, picked_, picked_hashes_, ids_);
  if (entries_.size() < keys_.size())
    entries_.resize(keys_.size());
  ++batch_; // marks the entries asked for in this batch
  for (size_t i = 0; i < ids_.size(); ++i) {
    auto id = ids_[i];
    entries[slot_[i]] = id;
    auto& e = entries_[id];
    if (fresh(e, now_ms)) {
      ++hits;
      e.accessed = now_ms;
    } else if (e.asked_in != batch_) {
      e.asked_in = batch_;
      wanted.push_back(id);
    }
  }
  misses += wanted.size();
}

void lookup_cache::keys_of(std::span<const uint32_t> ids,
                           row_batch& out) const {
  out.reset(keys_.keys.row_schema());
  out.append_rows(keys_.keys, ids);
}

void lookup_cache::fill(std::span<const uint32_t> wanted,
                        const row_batch& found, std::span<const uint32_t> of,
                        int64_t now_ms) {
  for (auto id : wanted) {
    auto& e = entries_[id];
    dead_rows_ += e.rows.size();
    e.rows.clear();
    e.filled = true;
    e.written = now_ms;
    e.accessed = now_ms;
  }
  if (found.num_rows() == 0)
    return;
  auto base = static_cast<uint32_t>(rows_.num_rows());
  std::vector<uint32_t> all(found.num_rows());
  for (uint32_t i = 0; i < all.size(); ++i)
    all[i] = i;
  rows_.append_rows(found, all);
  for (uint32_t i = 0; i < of.size() && i < found.num_rows(); ++i)
    if (of[i] < wanted.size())
      entries_[wanted[of[i]]].rows.push_back(base + i);
}

std::span<const uint32_t> lookup_cache::matches(uint32_t id) const {
  if (id >= entries_.size())
    return {};
  return entries_[id].rows;
}

void lookup_cache::trim(int64_t now_ms) {
  if (!cfg_.cache) {
    evictions += keys_.size();
    keys_.clear();
    entries_.clear();
    rows_.clear();
    dead_rows_ = 0;
    return;
  }
  std::vector<uint32_t> keep;
  keep.reserve(entries_.size());
  for (uint32_t id = 0; id < entries_.size(); ++id) {
    auto& e = entries_[id];
    bool missing = e.filled && e.rows.empty() && !cfg_.cache_missing;
    if (fresh(e, now_ms) && !missing)
      keep.push_back(id);
  }
  if (keep.size() > cfg_.max_rows) {
    // Over the limit: keep the most recently used 90%.
    auto target = std::max<size_t>(1, cfg_.max_rows - cfg_.max_rows / 10);
    std::nth_element(keep.begin(), keep.begin() + static_cast<long>(target),
                     keep.end(), [&](uint32_t a, uint32_t b) {
                       return entries_[a].accessed > entries_[b].accessed;
                     });
    keep.resize(target);
    std::sort(keep.begin(), keep.end());
  }
  bool dense = keep.size() == entries_.size();
  if (dense && dead_rows_ <= rows_.num_rows() / 2)
    return;
  evictions += entries_.size() - keep.size();
  // Renumber the keys and move the kept rows to a fresh arena.
  std::vector<entry> kept;
  kept.reserve(keep.size());
  row_batch rows{rows_.row_schema()};
  std::vector<uint32_t> from;
  for (auto id : keep) {
    auto& e = entries_[id];
    entry n = e;
    n.rows.clear();
    for (auto r : e.rows) {
      n.rows.push_back(static_cast<uint32_t>(from.size()));
      from.push_back(r);
    }
    kept.push_back(std::move(n));
  }
  rows.append_rows(rows_, from);
  if (!dense)
    keys_.keep(keep);
  entries_ = std::move(kept);
  rows_ = std::move(rows);
  dead_rows_ = 0;
}

size_t lookup_cache::byte_size() const noexcept {
  size_t n = keys_.byte_size() + rows_.byte_size() +
             entries_.capacity() * sizeof(entry);
  for (auto& e : entries_)
    n += e.rows.capacity() * sizeof(uint32_t);
  return n;
}

} // namespace sluice::ops
