#include "actors/ops/window_join.hpp"

#include <algorithm>
#include <numeric>
#include <string>

#include <tsl/robin_map.h>

#include "actors/ops/group_table.hpp"
#include "runtime/columnar/hash.hpp"
#include "runtime/errors.hpp"

namespace sluice::ops {

using namespace columnar;

caf::expected<window_join_state>
window_join_state::make(window_spec window, std::vector<uint32_t> left_keys,
                        std::vector<uint32_t> right_keys, schema_ptr left,
                        schema_ptr right,
                        std::pair<uint32_t, uint32_t> left_window,
                        std::pair<uint32_t, uint32_t> right_window) {
  auto fail = [](const std::string& why) {
    return make_error(sql_errc::bad_plan, "window join: " + why);
  };
  if (!left || !right)
    return fail("both input schemas are needed");
  if (left_keys.size() != right_keys.size())
    return fail("left and right have different numbers of keys");
  for (size_t i = 0; i < left_keys.size(); ++i) {
    if (left_keys[i] >= left->size() || right_keys[i] >= right->size())
      return fail("key column out of range");
    if (left->fields[left_keys[i]].type.id !=
        right->fields[right_keys[i]].type.id)
      return fail("key " + std::to_string(i) + " has different types");
  }
  auto time_col = [](const schema& s, uint32_t c) {
    return c < s.size() && (s.fields[c].type.id == type_id::timestamp ||
                            s.fields[c].type.id == type_id::int64);
  };
  if (!time_col(*left, left_window.first) ||
      !time_col(*left, left_window.second) ||
      !time_col(*right, right_window.first) ||
      !time_col(*right, right_window.second))
    return fail("window_start / window_end must be TIMESTAMP columns");
  window_join_state st;
  std::vector<field> fs = left->fields;
  fs.insert(fs.end(), right->fields.begin(), right->fields.end());
  st.out_schema = make_schema(std::move(fs));
  st.window = std::move(window);
  st.left_keys = std::move(left_keys);
  st.right_keys = std::move(right_keys);
  st.start_col = {left_window.first, right_window.first};
  st.end_col = {left_window.second, right_window.second};
  st.inputs = {std::move(left), std::move(right)};
  return st;
}

size_t window_join_state::num_keys() const noexcept {
  size_t n = 0;
  for (auto& [w, sides] : windows)
    n += sides[0].rows.num_rows() + sides[1].rows.num_rows();
  return n;
}

size_t window_join_state::byte_size() const noexcept {
  size_t n = 0;
  for (auto& [w, sides] : windows)
    n += sides[0].rows.byte_size() + sides[1].rows.byte_size() + 64;
  return n;
}

void add(window_join_state& st, uint8_t port, const row_batch& in,
         int64_t watermark, row_batch& late) {
  auto& sc = st.scratch;
  auto rows = in.active(sc.rows);
  auto& sc_col = in.col(st.start_col[port]);
  auto& ec_col = in.col(st.end_col[port]);
  sc.late.clear();
  // Rows of one window usually come together: collect runs.
  std::vector<uint32_t> run;
  std::pair<int64_t, int64_t> run_key{0, 0};
  auto flush = [&] {
    if (run.empty())
      return;
    auto& side = st.windows[run_key][port];
    if (!side.rows.row_schema())
      side.rows.reset(st.inputs[port]);
    side.rows.append_rows(in, run);
    run.clear();
  };
  for (auto r : rows) {
    if (!sc_col.valid(r) || !ec_col.valid(r)) {
      ++st.null_time_rows;
      sc.late.push_back(r);
      continue;
    }
    auto end = ec_col.value<int64_t>(r);
    if (end - 1 <= watermark || end <= st.fired_end) {
      ++st.late_rows;
      sc.late.push_back(r);
      continue;
    }
    std::pair<int64_t, int64_t> key{end, sc_col.value<int64_t>(r)};
    if (key != run_key)
      flush();
    run_key = key;
    run.push_back(r);
  }
  flush();
  if (!sc.late.empty()) {
    if (!late.row_schema())
      late.reset(in.row_schema());
    late.append_rows(in, sc.late);
  }
}

namespace {

bool null_key(const row_batch& b, const std::vector<uint32_t>& keys,
              uint32_t r) {
  for (auto k : keys)
    if (!b.col(k).valid(r))
      return true;
  return false;
}

/// Appends the matching (left, right) row pairs of one window.
void join_window(window_join_state& st, const row_batch& left,
                 const row_batch& right) {
  auto& sc = st.scratch;
  auto build_left = left.num_rows() <= right.num_rows();
  auto& build = build_left ? left : right;
  auto& probe = build_left ? right : left;
  auto& bkeys = build_left ? st.left_keys : st.right_keys;
  auto& pkeys = build_left ? st.right_keys : st.left_keys;
  hash_keys(build, bkeys, sc.build_hashes);
  hash_keys(probe, pkeys, sc.probe_hashes);
  tsl::robin_map<uint64_t, uint32_t> head;
  sc.next.assign(build.num_rows(), no_group);
  // Chains in reverse so walking them visits build rows in order.
  for (auto b = static_cast<uint32_t>(build.num_rows()); b-- > 0;) {
    if (null_key(build, bkeys, b))
      continue;
    auto [it, fresh] = head.try_emplace(sc.build_hashes[b], b);
    if (!fresh) {
      sc.next[b] = it->second;
      it.value() = b;
    }
  }
  for (uint32_t p = 0; p < probe.num_rows(); ++p) {
    if (null_key(probe, pkeys, p))
      continue;
    auto it = head.find(sc.probe_hashes[p]);
    if (it == head.end())
      continue;
    for (auto b = it->second; b != no_group; b = sc.next[b]) {
      auto eq = true;
      for (size_t i = 0; i < bkeys.size() && eq; ++i)
        eq = equal_cells(build.col(bkeys[i]), b, probe.col(pkeys[i]), p);
      if (!eq)
        continue;
      sc.pairs_l.push_back(build_left ? b : p);
      sc.pairs_r.push_back(build_left ? p : b);
    }
  }
}

} // namespace

void fire(window_join_state& st, int64_t wm, expr::program* residual,
          expr::eval_context& ctx, row_batch& out) {
  if (!out.row_schema())
    out.reset(st.out_schema);
  auto& sc = st.scratch;
  auto nl = st.inputs[0]->size();
  while (!st.windows.empty()) {
    auto it = st.windows.begin();
    auto end = it->first.first;
    if (end - 1 > wm)
      break;
    auto& [left, right] = it->second;
    sc.pairs_l.clear();
    sc.pairs_r.clear();
    if (left.rows.num_rows() > 0 && right.rows.num_rows() > 0)
      join_window(st, left.rows, right.rows);
    if (!sc.pairs_l.empty()) {
      // (left row, right row) order.
      std::vector<uint32_t> order(sc.pairs_l.size());
      std::iota(order.begin(), order.end(), 0u);
      std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
        return std::pair{sc.pairs_l[a], sc.pairs_r[a]} <
               std::pair{sc.pairs_l[b], sc.pairs_r[b]};
      });
      std::vector<uint32_t> ls, rs;
      ls.reserve(order.size());
      rs.reserve(order.size());
      for (auto i : order) {
        ls.push_back(sc.pairs_l[i]);
        rs.push_back(sc.pairs_r[i]);
      }
      row_batch joined{st.out_schema};
      for (size_t c = 0; c < nl; ++c)
        joined.col(c).gather_from(left.rows.col(c), ls);
      for (size_t c = 0; c < st.inputs[1]->size(); ++c)
        joined.col(nl + c).gather_from(right.rows.col(c), rs);
      if (residual != nullptr)
        residual->filter(joined, ctx);
      st.rows_out += joined.active_rows();
      out.append_active(joined);
    }
    st.fired_end = std::max(st.fired_end, end);
    ++st.windows_fired;
    st.windows.erase(it);
  }
}

} // namespace sluice::ops
