#include "actors/ops/session_agg.hpp"

#include <algorithm>
#include <string>

#include "actors/ops/window_agg.hpp"
#include "runtime/columnar/hash.hpp"
#include "runtime/errors.hpp"

namespace sluice::ops {

using namespace columnar;

caf::expected<session_agg_state>
session_agg_state::make(window_spec window, std::vector<uint32_t> keys,
                        std::vector<agg_call> aggs, const schema& in) {
  auto fail = [](const std::string& why) {
    return make_error(sql_errc::bad_plan, "session window: " + why);
  };
  if (window.kind != window_kind::session)
    return fail("not a SESSION window");
  if (window.gap_ms <= 0)
    return fail("gap must be positive");
  if (window.time_column >= in.size() ||
      (in.fields[window.time_column].type.id != type_id::timestamp &&
       in.fields[window.time_column].type.id != type_id::int64))
    return fail("the time column must be a TIMESTAMP column");
  for (auto k : keys)
    if (k >= in.size())
      return fail("key column " + std::to_string(k) + " out of range");
  auto accs = accumulators::make(aggs, in);
  if (!accs)
    return accs.error();
  session_agg_state st;
  st.out_schema = window_output_schema(keys, aggs, in);
  st.window = std::move(window);
  st.keys = std::move(keys);
  st.aggs = std::move(aggs);
  st.accs = std::move(*accs);
  return st;
}

size_t session_agg_state::byte_size() const noexcept {
  size_t n = key_groups.byte_size() + accs.byte_size() +
             sessions.capacity() * sizeof(session) +
             fired_until.capacity() * sizeof(int64_t) +
             by_end.size() * (sizeof(std::pair<int64_t, uint32_t>) + 32);
  for (auto& v : by_key)
    n += sizeof(v) + v.capacity() * sizeof(uint32_t);
  return n;
}

namespace {

uint32_t new_slot(session_agg_state& st, uint32_t key, int64_t start,
                  int64_t end) {
  uint32_t slot;
  if (!st.free_slots.empty()) {
    slot = st.free_slots.back();
    st.free_slots.pop_back();
  } else {
    slot = static_cast<uint32_t>(st.sessions.size());
    st.sessions.emplace_back();
    st.accs.resize(st.sessions.size());
  }
  st.sessions[slot] = {start, end, key, true};
  st.by_end.emplace(end, slot);
  return slot;
}

void free_slot(session_agg_state& st, uint32_t slot) {
  auto& s = st.sessions[slot];
  st.by_end.erase({s.end, slot});
  s.alive = false;
  st.accs.clear_group(slot);
  st.free_slots.push_back(slot);
}

/// The slot of the session a row at `ts` of key `key` goes to, merging
/// the sessions it bridges; no_group when it is late.
uint32_t place(session_agg_state& st, uint32_t key, int64_t ts, int64_t wm) {
  auto gap = st.window.gap_ms;
  auto lo = ts;
  auto hi = ts + gap;
  auto& open = st.by_key[key];
  // Sessions touching [lo, hi] (TimeWindow.intersects: start <= other.end
  // and end >= other.start); `open` is sorted by start and disjoint.
  auto first = std::find_if(open.begin(), open.end(), [&](uint32_t s) {
    return st.sessions[s].end >= lo;
  });
  auto last = first;
  while (last != open.end() && st.sessions[*last].start <= hi)
    ++last;
  if (first == last) {
    if (hi - 1 <= wm)
      return no_group;
    auto slot = new_slot(st, key, lo, hi);
    open.insert(first, slot);
    return slot;
  }
  auto keep = *first;
  auto& k = st.sessions[keep];
  auto start = std::min(k.start, lo);
  auto end = std::max(hi, k.end);
  for (auto it = first + 1; it != last; ++it) {
    end = std::max(end, st.sessions[*it].end);
    st.accs.merge_group(*it, keep);
    free_slot(st, *it);
  }
  open.erase(first + 1, last);
  if (end != k.end) {
    st.by_end.erase({k.end, keep});
    st.by_end.emplace(end, keep);
  }
  k.start = start;
  k.end = end;
  return keep;
}

} // namespace

void accumulate(session_agg_state& st, const row_batch& in, int64_t watermark,
                row_batch& late) {
  auto& sc = st.scratch;
  auto rows = in.active(sc.rows);
  if (rows.empty())
    return;
  hash_keys(in, st.keys, sc.hashes);
  st.key_groups.find_or_insert(in, st.keys, rows, sc.hashes, sc.kids);
  st.by_key.resize(st.key_groups.size());
  st.fired_until.resize(st.key_groups.size(), min_timestamp);
  auto& tcol = in.col(st.window.time_column);
  sc.late.clear();
  for (size_t k = 0; k < rows.size(); ++k) {
    auto r = rows[k];
    if (!tcol.valid(r)) {
      ++st.null_time_rows;
      sc.late.push_back(r);
      continue;
    }
    auto ts = tcol.value<int64_t>(r);
    auto key = sc.kids[k];
    auto slot =
        ts < st.fired_until[key] ? no_group : place(st, key, ts, watermark);
    if (slot == no_group) {
      ++st.late_rows;
      sc.late.push_back(r);
      continue;
    }
    sc.one.assign(1, slot);
    st.accs.update(in, std::span{&rows[k], 1}, sc.one);
  }
  if (!sc.late.empty()) {
    if (!late.row_schema())
      late.reset(in.row_schema());
    late.append_rows(in, sc.late);
  }
}

void fire(session_agg_state& st, int64_t wm, row_batch& out) {
  if (!out.row_schema())
    out.reset(st.out_schema);
  auto& sc = st.scratch;
  sc.fired.clear();
  sc.fired_keys.clear();
  for (auto& [end, slot] : st.by_end) {
    if (end - 1 > wm)
      break;
    sc.fired.push_back(slot);
    sc.fired_keys.push_back(st.sessions[slot].key);
  }
  if (sc.fired.empty())
    return;
  auto nk = st.keys.size();
  for (size_t c = 0; c < nk; ++c)
    out.col(c).gather_from(st.key_groups.keys.col(c), sc.fired_keys);
  for (auto slot : sc.fired) {
    auto& s = st.sessions[slot];
    out.col(nk).push<int64_t>(s.start);
    out.col(nk + 1).push<int64_t>(s.end);
    out.col(nk + 2).push<int64_t>(s.end - 1);
  }
  st.accs.emit(sc.fired, out, nk + 3);
  for (auto slot : sc.fired) {
    auto& s = st.sessions[slot];
    auto key = s.key;
    st.fired_until[key] = std::max(st.fired_until[key], s.end);
    auto& open = st.by_key[key];
    open.erase(std::find(open.begin(), open.end(), slot));
    free_slot(st, slot);
  }
  st.sessions_fired += sc.fired.size();
  st.rows_out += sc.fired.size();
}

} // namespace sluice::ops
