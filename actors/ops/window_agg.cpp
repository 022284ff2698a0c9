#include "actors/ops/window_agg.hpp"

#include <algorithm>
#include <numeric>
#include <string>

#include "runtime/columnar/hash.hpp"
#include "runtime/errors.hpp"

namespace sluice::ops {

using namespace columnar;

namespace {

bool is_time(const data_type& t) {
  return t.id == type_id::timestamp || t.id == type_id::int64;
}

/// Appends the windows' rows: keys, window columns, aggregates.
void emit_groups(window_agg_state& st, const group_table& groups,
                 const accumulators& accs, int64_t start, int64_t end,
                 row_batch& out) {
  auto n = groups.size();
  auto nk = st.keys.size();
  for (size_t c = 0; c < nk; ++c)
    out.col(c).append_range(groups.keys.col(c), 0, n);
  auto& cs = out.col(nk);
  auto& ce = out.col(nk + 1);
  auto& ct = out.col(nk + 2);
  if (st.window.kind == window_kind::inherited) {
    // The start is the last key column of the arena.
    cs.append_range(groups.keys.col(nk), 0, n);
  } else {
    for (size_t i = 0; i < n; ++i)
      cs.push<int64_t>(start);
  }
  for (size_t i = 0; i < n; ++i) {
    ce.push<int64_t>(end);
    ct.push<int64_t>(end - 1);
  }
  std::vector<uint32_t> ids(n);
  std::iota(ids.begin(), ids.end(), 0u);
  accs.emit(ids, out, nk + 3);
  if (out.num_columns() == 0)
    out.set_num_rows(out.num_rows() + n);
  st.rows_out += n;
  ++st.windows_fired;
}

} // namespace

schema_ptr window_output_schema(const std::vector<uint32_t>& keys,
                                const std::vector<agg_call>& aggs,
                                const schema& in) {
  std::vector<field> fs;
  for (auto k : keys)
    fs.push_back(in.fields[k]);
  fs.push_back({"window_start", timestamp_type(false)});
  fs.push_back({"window_end", timestamp_type(false)});
  fs.push_back({"window_time", timestamp_type(false)});
  auto rowtime = static_cast<int32_t>(fs.size() - 1);
  for (auto& f : agg_fields(aggs))
    fs.push_back(std::move(f));
  return make_schema(std::move(fs), rowtime);
}

caf::expected<window_agg_state>
window_agg_state::make(window_spec window, std::vector<uint32_t> keys,
                       std::vector<agg_call> aggs, const schema& in) {
  auto assign = slicing::make(window);
  if (!assign)
    return assign.error();
  auto fail = [](const std::string& why) {
    return make_error(sql_errc::bad_plan, "window aggregate: " + why);
  };
  for (auto k : keys)
    if (k >= in.size())
      return fail("key column " + std::to_string(k) + " out of range");
  if (window.kind == window_kind::inherited) {
    if (window.start_column >= in.size() || window.end_column >= in.size() ||
        !is_time(in.fields[window.start_column].type) ||
        !is_time(in.fields[window.end_column].type))
      return fail("window_start / window_end must be TIMESTAMP columns");
  } else if (window.time_column >= in.size() ||
             !is_time(in.fields[window.time_column].type)) {
    return fail("the time column must be a TIMESTAMP column");
  }
  auto proto = accumulators::make(aggs, in);
  if (!proto)
    return proto.error();
  window_agg_state st;
  st.group_cols = keys;
  if (window.kind == window_kind::inherited)
    st.group_cols.push_back(window.start_column);
  st.out_schema = window_output_schema(keys, aggs, in);
  st.window = std::move(window);
  st.keys = std::move(keys);
  st.aggs = std::move(aggs);
  st.assign = *assign;
  st.proto = std::move(*proto);
  return st;
}

size_t window_agg_state::num_keys() const noexcept {
  size_t n = 0;
  for (auto& [end, s] : slices)
    n += s.groups.size();
  return n;
}

size_t window_agg_state::byte_size() const noexcept {
  size_t n = 0;
  for (auto& [end, s] : slices)
    n += s.groups.byte_size() + s.accs.byte_size() + sizeof(s) + 32;
  return n;
}

void accumulate(window_agg_state& st, const row_batch& in, int64_t watermark,
                row_batch& late) {
  auto& sc = st.scratch;
  auto rows = in.active(sc.rows);
  if (rows.empty())
    return;
  auto n = rows.size();
  hash_keys(in, st.group_cols, sc.hashes);
  auto inherited = st.window.kind == window_kind::inherited;
  auto& tcol = in.col(inherited ? st.window.end_column : st.window.time_column);
  const column* scol = inherited ? &in.col(st.window.start_column) : nullptr;
  auto tvals = tcol.values<int64_t>();
  sc.late.clear();
  sc.ends.clear();
  sc.bucket_by_end.clear();
  sc.bucket_of.assign(n, UINT32_MAX);
  uint32_t last = UINT32_MAX;
  for (size_t k = 0; k < n; ++k) {
    auto r = rows[k];
    if (!tcol.valid(r) || (scol != nullptr && !scol->valid(r))) {
      ++st.null_time_rows;
      sc.late.push_back(r);
      continue;
    }
    auto e = inherited ? tvals[r] : st.assign.slice_end(tvals[r]);
    if (e - 1 <= watermark || e < st.next_fire_end) {
      ++st.late_rows;
      sc.late.push_back(r);
      continue;
    }
    if (last == UINT32_MAX || sc.ends[last] != e) {
      auto [it, fresh] = st.scratch.bucket_by_end.try_emplace(
          e, static_cast<uint32_t>(sc.ends.size()));
      if (fresh)
        sc.ends.push_back(e);
      last = it->second;
    }
    sc.bucket_of[k] = last;
  }
  if (!sc.late.empty()) {
    if (!late.row_schema())
      late.reset(in.row_schema());
    late.append_rows(in, sc.late);
  }
  // Counting sort of the rows by slice, then one pass per slice.
  auto buckets = sc.ends.size();
  sc.offsets.assign(buckets + 1, 0);
  for (auto b : sc.bucket_of)
    if (b != UINT32_MAX)
      ++sc.offsets[b + 1];
  for (size_t b = 0; b < buckets; ++b)
    sc.offsets[b + 1] += sc.offsets[b];
  auto total = sc.offsets[buckets];
  sc.sorted.resize(total);
  sc.sorted_hashes.resize(total);
  sc.pos.assign(sc.offsets.begin(), sc.offsets.end() - 1);
  for (size_t k = 0; k < n; ++k) {
    auto b = sc.bucket_of[k];
    if (b == UINT32_MAX)
      continue;
    sc.sorted[sc.pos[b]] = rows[k];
    sc.sorted_hashes[sc.pos[b]] = sc.hashes[k];
    ++sc.pos[b];
  }
  for (size_t b = 0; b < buckets; ++b) {
    auto [it, fresh] = st.slices.try_emplace(sc.ends[b]);
    auto& sl = it->second;
    if (fresh)
      sl.accs = st.proto;
    auto from = sc.offsets[b];
    auto count = sc.offsets[b + 1] - from;
    std::span<const uint32_t> brows{sc.sorted.data() + from, count};
    std::span<const uint64_t> bhashes{sc.sorted_hashes.data() + from, count};
    sl.groups.find_or_insert(in, st.group_cols, brows, bhashes, sc.gids);
    sl.accs.resize(sl.groups.size());
    sl.accs.update(in, brows, sc.gids);
  }
}

void fire(window_agg_state& st, int64_t wm, row_batch& out) {
  if (!out.row_schema())
    out.reset(st.out_schema);
  auto kind = st.window.kind;
  std::vector<uint32_t> mapping;
  while (!st.slices.empty()) {
    auto first = st.slices.begin()->first;
    auto end = std::max(first, st.next_fire_end);
    if (end - 1 > wm)
      break;
    auto start =
        kind == window_kind::inherited ? 0 : st.assign.window_start(end);
    if (kind == window_kind::tumble || kind == window_kind::inherited) {
      auto& sl = st.slices.begin()->second;
      emit_groups(st, sl.groups, sl.accs, start, end, out);
    } else {
      group_table groups;
      auto accs = st.proto;
      for (auto it = st.slices.upper_bound(start);
           it != st.slices.end() && it->first <= end; ++it) {
        groups.absorb(it->second.groups, mapping);
        accs.resize(groups.size());
        accs.merge(it->second.accs, mapping);
      }
      emit_groups(st, groups, accs, start, end, out);
    }
    st.next_fire_end = st.assign.next_window_end(end);
    while (!st.slices.empty() &&
           st.assign.last_window_end(st.slices.begin()->first) <
               st.next_fire_end)
      st.slices.erase(st.slices.begin());
  }
}

} // namespace sluice::ops
