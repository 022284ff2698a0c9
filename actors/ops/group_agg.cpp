#include "actors/ops/group_agg.hpp"

#include <algorithm>
#include <cstring>
#include <string>

#include "runtime/columnar/hash.hpp"
#include "runtime/errors.hpp"

namespace sluice::ops {

using namespace columnar;

namespace {

/// Whether row `i` of `a` and row `j` of `b` (same type) hold the same
/// value; two NULLs are the same.
bool same_value(const column& a, size_t i, const column& b, size_t j) {
  if (a.valid(i) != b.valid(j))
    return false;
  if (!a.valid(i))
    return true;
  if (a.type().id == type_id::string)
    return a.str(i) == b.str(j);
  auto w = fixed_width(a.type().id);
  return std::memcmp(a.data().data() + i * w, b.data().data() + j * w, w) == 0;
}

} // namespace

caf::expected<group_agg_state> group_agg_state::make(std::vector<uint32_t> keys,
                                                     std::vector<agg_call> aggs,
                                                     int64_t ttl_ms,
                                                     const schema& in) {
  for (auto k : keys)
    if (k >= in.size())
      return make_error(sql_errc::bad_plan, "group aggregate: key column " +
                                                std::to_string(k) +
                                                " out of range");
  auto accs = accumulators::make(aggs, in);
  if (!accs)
    return accs.error();
  group_agg_state st;
  std::vector<field> fs;
  for (auto k : keys)
    fs.push_back(in.fields[k]);
  for (auto& f : agg_fields(aggs))
    fs.push_back(std::move(f));
  st.out_schema = make_schema(std::move(fs));
  st.keys = std::move(keys);
  st.aggs = std::move(aggs);
  st.ttl_ms = ttl_ms;
  st.accs = std::move(*accs);
  return st;
}

void group_agg_state::apply(const row_batch& in, int64_t now_ms,
                            row_batch& out) {
  auto& sc = scratch;
  auto rows = in.active(sc.rows);
  if (!in.kinds().empty()) {
    // Keep inserts and update_after rows; count retractions.
    std::vector<uint32_t> kept;
    kept.reserve(rows.size());
    for (auto r : rows) {
      auto k = in.kind(r);
      if (k == row_kind::insert || k == row_kind::update_after)
        kept.push_back(r);
      else
        ++retractions_skipped;
    }
    sc.rows = std::move(kept);
    rows = sc.rows;
  }
  if (rows.empty())
    return;
  std::vector<uint32_t> key_cols{keys};
  // Hash the chosen rows: a batch view with that selection.
  if (rows.size() == in.active_rows()) {
    hash_keys(in, key_cols, sc.hashes);
  } else {
    row_batch view{in.row_schema()};
    view.append_rows(in, rows);
    hash_keys(view, key_cols, sc.hashes);
  }
  groups.find_or_insert(in, key_cols, rows, sc.hashes, sc.gids);
  auto n = groups.size();
  accs.resize(n);
  last_access_ms.resize(n, now_ms);
  emitted.resize(n, 0);
  sc.stamp.resize(n, 0);
  if (++sc.epoch == 0) {
    std::fill(sc.stamp.begin(), sc.stamp.end(), 0);
    sc.epoch = 1;
  }
  sc.changed.clear();
  for (auto g : sc.gids) {
    last_access_ms[g] = now_ms;
    if (sc.stamp[g] != sc.epoch) {
      sc.stamp[g] = sc.epoch;
      sc.changed.push_back(g);
    }
  }
  // Without a TTL, a group whose aggregates come out as they were emits
  // nothing (Flink's GroupAggFunction): keep the emitted groups' values
  // from before this batch to compare.
  sc.seen.clear();
  if (ttl_ms <= 0)
    for (auto g : sc.changed)
      if (emitted[g] != 0)
        sc.seen.push_back(g);
  if (!sc.seen.empty()) {
    sc.before.reset(out_schema);
    accs.emit(sc.seen, sc.before, keys.size());
  }
  accs.update(in, rows, sc.gids);
  sc.after.reset(out_schema);
  for (size_t c = 0; c < keys.size(); ++c)
    sc.after.col(c).gather_from(groups.keys.col(c), sc.changed);
  accs.emit(sc.changed, sc.after, keys.size());
  if (sc.after.num_columns() == 0)
    sc.after.set_num_rows(sc.changed.size());
  // Rows to send: every changed group but those unchanged since they were
  // last emitted (`seen` is in `changed` order).
  sc.kept.clear();
  size_t next_seen = 0;
  for (uint32_t i = 0; i < sc.changed.size(); ++i) {
    auto g = sc.changed[i];
    if (next_seen < sc.seen.size() && sc.seen[next_seen] == g) {
      auto j = next_seen++;
      bool same = true;
      for (size_t c = keys.size(); same && c < out_schema->fields.size(); ++c)
        same = same_value(sc.after.col(c), i, sc.before.col(c), j);
      if (same)
        continue;
    }
    sc.kept.push_back(i);
  }
  if (!out.row_schema())
    out.reset(out_schema);
  auto first = out.num_rows();
  out.append_rows(sc.after, sc.kept);
  for (size_t k = 0; k < sc.kept.size(); ++k) {
    auto g = sc.changed[sc.kept[k]];
    out.set_kind(first + k,
                 emitted[g] != 0 ? row_kind::update_after : row_kind::insert);
    emitted[g] = 1;
  }
  rows_out += sc.kept.size();
  unchanged_skipped += sc.changed.size() - sc.kept.size();
}

size_t group_agg_state::expire(int64_t now_ms) {
  if (ttl_ms <= 0)
    return 0;
  std::vector<uint32_t> keep;
  for (uint32_t g = 0; g < groups.size(); ++g)
    if (last_access_ms[g] + ttl_ms > now_ms)
      keep.push_back(g);
  auto removed = groups.size() - keep.size();
  if (removed == 0)
    return 0;
  groups.keep(keep);
  accs.keep(keep);
  std::vector<int64_t> access;
  std::vector<uint8_t> sent;
  for (auto g : keep) {
    access.push_back(last_access_ms[g]);
    sent.push_back(emitted[g]);
  }
  last_access_ms = std::move(access);
  emitted = std::move(sent);
  scratch.stamp.assign(keep.size(), 0);
  expired_groups += removed;
  return removed;
}

size_t group_agg_state::byte_size() const noexcept {
  return groups.byte_size() + accs.byte_size() +
         last_access_ms.capacity() * sizeof(int64_t) + emitted.capacity();
}

} // namespace sluice::ops
