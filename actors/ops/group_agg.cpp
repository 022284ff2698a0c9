#include "actors/ops/group_agg.hpp"

#include <algorithm>
#include <string>

#include "runtime/columnar/hash.hpp"
#include "runtime/errors.hpp"

namespace sluice::ops {

using namespace columnar;

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
  accs.update(in, rows, sc.gids);
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
  if (!out.row_schema())
    out.reset(out_schema);
  auto first = out.num_rows();
  for (size_t c = 0; c < keys.size(); ++c)
    out.col(c).gather_from(groups.keys.col(c), sc.changed);
  accs.emit(sc.changed, out, keys.size());
  if (out.num_columns() == 0)
    out.set_num_rows(first + sc.changed.size());
  for (size_t i = 0; i < sc.changed.size(); ++i) {
    auto g = sc.changed[i];
    out.set_kind(first + i,
                 emitted[g] != 0 ? row_kind::update_after : row_kind::insert);
    emitted[g] = 1;
  }
  rows_out += sc.changed.size();
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
