// The planner's helpers: tree copies, the TUMBLE window columns, settings.
#include "sql/planner_detail.hpp"

#include <charconv>

#include "runtime/option_strings.hpp"
#include "runtime/options.hpp"
#include "sql/restart_settings.hpp"

namespace sluice::sql::planning {

namespace ir = ::sluice::expr;

std::optional<std::vector<uint32_t>> reachable(const ir::tree& t) {
  std::vector<uint32_t> out;
  std::vector<bool> seen(t.nodes.size(), false);
  std::vector<uint32_t> todo{t.root};
  while (!todo.empty()) {
    auto n = todo.back();
    todo.pop_back();
    if (n >= t.nodes.size())
      return std::nullopt;
    if (seen[n])
      continue;
    seen[n] = true;
    out.push_back(n);
    for (auto a : t.nodes[n].args)
      todo.push_back(a);
  }
  return out;
}

std::optional<uint32_t> copy_inlined(ir::tree& dst, const ir::tree& src,
                                     uint32_t n,
                                     const std::vector<const ir::tree*>& defs,
                                     uint32_t physical, int depth) {
  if (n >= src.nodes.size() || depth > 10'000)
    return std::nullopt;
  auto& x = src.nodes[n];
  if (x.kind == ir::op::column && x.index >= physical &&
      x.index - physical < defs.size()) {
    auto& d = *defs[x.index - physical];
    return copy_inlined(dst, d, d.root, defs, physical, depth + 1);
  }
  ir::node y = x;
  y.args.clear();
  if (x.kind == ir::op::literal) {
    if (x.index >= src.literals.size())
      return std::nullopt;
    dst.literals.push_back(src.literals[x.index]);
    y.index = static_cast<uint32_t>(dst.literals.size() - 1);
  }
  for (auto a : x.args) {
    auto c = copy_inlined(dst, src, a, defs, physical, depth + 1);
    if (!c)
      return std::nullopt;
    y.args.push_back(*c);
  }
  return dst.add(std::move(y));
}

std::optional<int64_t> int_setting(const std::map<std::string, std::string>& s,
                                   const std::string& key) {
  auto i = s.find(key);
  if (i == s.end())
    return std::nullopt;
  int64_t n = 0;
  auto& v = i->second;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc{} || p != v.data() + v.size() || n <= 0)
    return std::nullopt;
  return n;
}

int64_t duration_setting(const std::map<std::string, std::string>& s,
                         const std::string& key, int64_t fallback) {
  auto i = s.find(key);
  if (i == s.end())
    return fallback;
  auto d = parse_flink_duration(i->second);
  return d ? *d : fallback;
}

job_options options_of(const std::map<std::string, std::string>& settings,
                       uint32_t parallelism) {
  job_options o;
  o.parallelism = parallelism;
  if (auto n = int_setting(settings, "sluice.batch-rows"))
    o.batch_rows = static_cast<size_t>(*n);
  o.idle_timeout_ms =
      duration_setting(settings, "table.exec.source.idle-timeout", 0);
  o.state_ttl_ms = duration_setting(settings, "table.exec.state.ttl", 0);
  if (auto i = settings.find("sluice.state.max-bytes"); i != settings.end())
    if (auto b = parse_bytes(i->second); b && *b > 0)
      o.state_max_bytes = static_cast<uint64_t>(*b);
  o.restart = restart_strategy_of(settings);
  o.settings = settings;
  return o;
}

uint32_t tumble_column(ir::tree& t, uint32_t ts,
                       const columnar::data_type& ts_type, const window_spec& w,
                       int64_t add_ms) {
  // start = CAST(secs - MOD(MOD(secs - offset, size) + size, size) AS
  // TIMESTAMP), in seconds (a CAST of a TIMESTAMP to BIGINT gives seconds);
  // the double MOD keeps times before 1970 in the right window.
  auto i64 = columnar::int64_type(true);
  auto lit = [&](int64_t v) {
    // Built in place: a moved scalar trips GCC 12's maybe-uninitialized.
    t.literals.emplace_back(std::in_place_type<int64_t>, v);
    auto i = static_cast<uint32_t>(t.literals.size() - 1);
    return t.add(
        ir::node{ir::op::literal, columnar::int64_type(false), i, {}, {}});
  };
  auto size = w.size_ms / 1000;
  auto secs = t.add_op(ir::op::cast, i64, {t.add_column(ts, ts_type)});
  auto x = t.add_call("-", i64, {secs, lit(w.offset_ms / 1000)});
  auto m1 = t.add_call("MOD", i64, {x, lit(size)});
  auto m2 = t.add_call("+", i64, {m1, lit(size)});
  auto m3 = t.add_call("MOD", i64, {m2, lit(size)});
  auto start_s = t.add_call("-", i64, {secs, m3});
  auto start =
      t.add_op(ir::op::cast, columnar::timestamp_type(true), {start_s});
  if (add_ms == 0)
    return start;
  auto iv = t.add_literal(add_ms, columnar::interval_type(false));
  return t.add_call("+", columnar::timestamp_type(true), {start, iv});
}

} // namespace sluice::sql::planning
