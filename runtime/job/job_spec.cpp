#include "runtime/job/job_spec.hpp"

#include <fmt/format.h>

namespace sluice {

const char* to_string(window_kind x) noexcept {
  switch (x) {
  case window_kind::none:
    return "none";
  case window_kind::tumble:
    return "tumble";
  case window_kind::hop:
    return "hop";
  case window_kind::cumulate:
    return "cumulate";
  case window_kind::session:
    return "session";
  case window_kind::inherited:
    return "inherited";
  }
  return "?";
}

const char* to_string(agg_kind x) noexcept {
  switch (x) {
  case agg_kind::count_star:
    return "COUNT(*)";
  case agg_kind::count:
    return "COUNT";
  case agg_kind::sum:
    return "SUM";
  case agg_kind::avg:
    return "AVG";
  case agg_kind::min:
    return "MIN";
  case agg_kind::max:
    return "MAX";
  case agg_kind::first_value:
    return "FIRST_VALUE";
  case agg_kind::last_value:
    return "LAST_VALUE";
  }
  return "?";
}

const char* to_string(partitioning x) noexcept {
  switch (x) {
  case partitioning::forward:
    return "forward";
  case partitioning::hash:
    return "hash";
  case partitioning::single:
    return "single";
  case partitioning::broadcast:
    return "broadcast";
  }
  return "?";
}

const char* core_name(const stage_spec& s) noexcept {
  static constexpr const char* names[] = {"scan", "window", "group",
                                          "join", "sink",   "lookup"};
  return names[s.core.index()];
}

namespace {

/// The number of input ports of a stage's core.
size_t ports_of(const stage_spec& s) {
  if (std::holds_alternative<scan_stage>(s.core))
    return 0;
  if (std::holds_alternative<join_stage>(s.core))
    return 2;
  return 1;
}

std::string columns_text(const std::vector<uint32_t>& cols,
                         const columnar::schema& in) {
  std::string out;
  for (auto c : cols) {
    if (!out.empty())
      out += ", ";
    out += c < in.size() ? in.fields[c].name : fmt::format("#{}", c);
  }
  return out;
}

std::string window_text(const window_spec& w) {
  switch (w.kind) {
  case window_kind::tumble:
    return fmt::format("TUMBLE(size {} ms)", w.size_ms);
  case window_kind::hop:
    return fmt::format("HOP(slide {} ms, size {} ms)", w.slide_ms, w.size_ms);
  case window_kind::cumulate:
    return fmt::format("CUMULATE(step {} ms, size {} ms)", w.step_ms,
                       w.size_ms);
  case window_kind::session:
    return fmt::format("SESSION(gap {} ms)", w.gap_ms);
  case window_kind::inherited:
    return "window of the input";
  case window_kind::none:
    break;
  }
  return "no window";
}

std::string aggs_text(const std::vector<agg_call>& aggs,
                      const columnar::schema& in) {
  std::string out;
  for (auto& a : aggs) {
    if (!out.empty())
      out += ", ";
    if (a.kind == agg_kind::count_star) {
      out += "COUNT(*)";
      continue;
    }
    auto arg = a.arg >= 0 && static_cast<size_t>(a.arg) < in.size()
                   ? in.fields[static_cast<size_t>(a.arg)].name
                   : fmt::format("#{}", a.arg);
    out += fmt::format("{}({}{})", to_string(a.kind),
                       a.distinct ? "DISTINCT " : "", arg);
  }
  return out;
}

/// The schema a stage's core reads: the producer's `out` after `pre`.
const columnar::schema* input_schema(const job_spec& j, const stage_spec& s) {
  if (!s.pre.empty())
    return &s.pre.back().out;
  if (s.inputs.empty() || s.inputs[0].from_stage >= j.stages.size())
    return nullptr;
  return &j.stages[s.inputs[0].from_stage].out;
}

} // namespace

std::vector<std::string> validate(const job_spec& j) {
  std::vector<std::string> problems;
  auto say = [&](const stage_spec& s, std::string what) {
    problems.push_back(fmt::format("stage {} ({}): {}", s.id, s.name, what));
  };
  if (j.stages.empty())
    problems.emplace_back("the job has no stages");
  // Sinks that window and join stages name for their late rows may have no
  // input edge: late rows reach them outside the edges.
  std::vector<bool> late_target(j.stages.size(), false);
  for (auto& s : j.stages) {
    int32_t late = -1;
    if (auto* w = std::get_if<window_stage>(&s.core))
      late = w->late_stage;
    else if (auto* jn = std::get_if<join_stage>(&s.core))
      late = jn->late_stage;
    if (late >= 0 && static_cast<size_t>(late) < j.stages.size())
      late_target[static_cast<size_t>(late)] = true;
  }
  auto check_late = [&](const stage_spec& s, int32_t late) {
    if (late >= 0 && (static_cast<size_t>(late) >= j.stages.size() ||
                      !std::holds_alternative<sink_stage>(
                          j.stages[static_cast<size_t>(late)].core)))
      problems.push_back(fmt::format("stage {} ({}): late rows to stage {}, "
                                     "which is no sink",
                                     s.id, s.name, late));
  };
  for (size_t i = 0; i < j.stages.size(); ++i) {
    auto& s = j.stages[i];
    if (s.id != i)
      say(s, fmt::format("its id should be {}", i));
    if (s.parallelism == 0)
      say(s, "parallelism 0");
    auto ports = ports_of(s);
    if (ports == 0 && !s.inputs.empty())
      say(s, "a scan has no inputs");
    if (ports > 0 && s.inputs.empty() && !late_target[i])
      say(s, "no input");
    std::vector<bool> port_used(ports, false);
    for (auto& e : s.inputs) {
      if (e.from_stage >= i) {
        say(s, fmt::format("input from stage {}, which does not come before "
                           "it",
                           e.from_stage));
        continue;
      }
      if (e.port >= ports) {
        say(s, fmt::format("input port {}, the core has {}", e.port, ports));
        continue;
      }
      port_used[e.port] = true;
      auto& from = j.stages[e.from_stage];
      if (e.part == partitioning::hash && e.keys.empty())
        say(s,
            fmt::format("hash edge from stage {} without keys", e.from_stage));
      for (auto k : e.keys)
        if (k >= from.out.size())
          say(s, fmt::format("key column {} outside stage {}'s {} columns", k,
                             e.from_stage, from.out.size()));
      if (e.part == partitioning::forward && from.parallelism != s.parallelism)
        say(s, fmt::format("forward edge from stage {} with parallelism {} "
                           "into parallelism {}",
                           e.from_stage, from.parallelism, s.parallelism));
      if (e.part == partitioning::single && s.parallelism != 1)
        say(s, "a single edge into more than one instance");
    }
    for (size_t p = 0; p < ports; ++p)
      if (!port_used[p] && !s.inputs.empty())
        say(s, fmt::format("nothing feeds input port {}", p));
    if (auto* w = std::get_if<window_stage>(&s.core)) {
      if (w->window.kind == window_kind::none)
        say(s, "a window stage without a window");
      check_late(s, w->late_stage);
    }
    if (auto* jn = std::get_if<join_stage>(&s.core)) {
      check_late(s, jn->late_stage);
      if (jn->left_keys.size() != jn->right_keys.size())
        say(s, fmt::format("{} left keys but {} right keys",
                           jn->left_keys.size(), jn->right_keys.size()));
      for (auto& e : s.inputs) {
        if (e.from_stage >= i || e.port > 1)
          continue;
        auto& from = j.stages[e.from_stage].out;
        auto& win = e.port == 0 ? jn->left_window : jn->right_window;
        auto& keys = e.port == 0 ? jn->left_keys : jn->right_keys;
        auto width = from.size();
        if (win.first >= width || win.second >= width)
          say(s, fmt::format("window columns ({}, {}) of port {} outside its "
                             "{} input columns",
                             win.first, win.second, e.port, width));
        for (auto k : keys)
          if (k >= width)
            say(s, fmt::format("join key column {} of port {} outside its {} "
                               "input columns",
                               k, e.port, width));
      }
    }
    if (auto* in = input_schema(j, s)) {
      auto check_cols = [&](const std::vector<uint32_t>& cols,
                            const char* what) {
        for (auto c : cols)
          if (c >= in->size())
            say(s, fmt::format("{} column {} outside its {} input columns",
                               what, c, in->size()));
      };
      auto check_aggs = [&](const std::vector<agg_call>& aggs) {
        for (auto& a : aggs)
          if (a.kind != agg_kind::count_star &&
              (a.arg < 0 || static_cast<size_t>(a.arg) >= in->size()))
            say(s, fmt::format("{} of column {} outside its {} input columns",
                               to_string(a.kind), a.arg, in->size()));
      };
      if (auto* w = std::get_if<window_stage>(&s.core)) {
        check_cols(w->keys, "key");
        check_aggs(w->aggs);
      } else if (auto* g = std::get_if<group_stage>(&s.core)) {
        check_cols(g->keys, "key");
        check_aggs(g->aggs);
      } else if (auto* l = std::get_if<lookup_stage>(&s.core)) {
        check_cols(l->left_keys, "lookup key");
      }
    }
    if (auto* l = std::get_if<lookup_stage>(&s.core)) {
      if (l->left_keys.empty() || l->left_keys.size() != l->table_keys.size())
        say(s, fmt::format("{} input keys for {} table keys",
                           l->left_keys.size(), l->table_keys.size()));
      for (auto k : l->table_keys)
        if (k >= l->table.physical.size())
          say(s, fmt::format("table key column {} outside table '{}''s {} "
                             "columns",
                             k, l->table.name, l->table.physical.size()));
    }
  }
  return problems;
}

const char* to_string(restart_strategy::kind k) noexcept {
  switch (k) {
  case restart_strategy::kind::none:
    return "none";
  case restart_strategy::kind::fixed_delay:
    return "fixed-delay";
  case restart_strategy::kind::failure_rate:
    return "failure-rate";
  case restart_strategy::kind::exponential_delay:
    return "exponential-delay";
  }
  return "?";
}

namespace {

std::string restart_text(const restart_strategy& r) {
  using kind = restart_strategy::kind;
  switch (r.type) {
  case kind::none:
    return {};
  case kind::fixed_delay:
    return fmt::format(", restarts: fixed-delay, {} attempt(s), {} ms apart",
                       r.attempts, r.delay_ms);
  case kind::failure_rate:
    return fmt::format(", restarts: failure-rate, at most {} failure(s) per "
                       "{} ms, {} ms apart",
                       r.max_failures, r.interval_ms, r.delay_ms);
  case kind::exponential_delay:
    return fmt::format(", restarts: exponential-delay, {} ms x {} up to {} ms",
                       r.delay_ms, r.multiplier, r.max_delay_ms);
  }
  return {};
}

} // namespace

std::string to_text(const job_spec& j) {
  std::string out = fmt::format("job {} (parallelism {}, batch {} rows{})\n",
                                j.name, j.opts.parallelism, j.opts.batch_rows,
                                restart_text(j.opts.restart));
  for (auto& s : j.stages) {
    out += fmt::format("  [{}] {} x{}", s.id, s.name, s.parallelism);
    if (s.emits_updates)
      out += " (updates)";
    out += '\n';
    for (auto& e : s.inputs) {
      out += fmt::format("      <- [{}] {}", e.from_stage, to_string(e.part));
      if (!e.keys.empty() && e.from_stage < j.stages.size())
        out += fmt::format(" by ({})",
                           columns_text(e.keys, j.stages[e.from_stage].out));
      if (s.inputs.size() > 1)
        out += fmt::format(" into port {}", e.port);
      out += '\n';
    }
    for (auto& c : s.pre)
      out += fmt::format("      pre: {} -> ({})\n",
                         c.is_filter ? "filter" : "project",
                         columnar::to_string(c.out));
    static const columnar::schema none;
    auto* in = input_schema(j, s);
    if (!in)
      in = &none;
    std::visit(
        [&](auto& core) {
          using T = std::decay_t<decltype(core)>;
          if constexpr (std::is_same_v<T, scan_stage>) {
            out += fmt::format("      reads {} ({})", core.table.name,
                               core.table.connector);
            if (core.table.watermark)
              out += ", watermark";
            else if (core.processing_time)
              out += ", processing-time watermark";
            out += '\n';
          } else if constexpr (std::is_same_v<T, window_stage>) {
            out += fmt::format(
                "      {} by ({}): {}\n", window_text(core.window),
                columns_text(core.keys, *in), aggs_text(core.aggs, *in));
            if (core.late_stage >= 0)
              out += fmt::format("      late rows -> [{}]\n", core.late_stage);
          } else if constexpr (std::is_same_v<T, group_stage>) {
            out += fmt::format("      group by ({}): {}",
                               columns_text(core.keys, *in),
                               aggs_text(core.aggs, *in));
            if (core.state_ttl_ms > 0)
              out += fmt::format(", state ttl {} ms", core.state_ttl_ms);
            out += '\n';
          } else if constexpr (std::is_same_v<T, join_stage>) {
            out += fmt::format("      window join {} on {} left / {} right "
                               "keys{}\n",
                               window_text(core.window), core.left_keys.size(),
                               core.right_keys.size(),
                               core.residual ? " and a condition" : "");
            if (core.late_stage >= 0)
              out += fmt::format("      late rows -> [{}]\n", core.late_stage);
          } else if constexpr (std::is_same_v<T, lookup_stage>) {
            std::string keys;
            for (size_t k = 0; k < core.left_keys.size(); ++k) {
              auto l = core.left_keys[k];
              auto r = k < core.table_keys.size() ? core.table_keys[k] : 0;
              keys += fmt::format("{}{} = {}.{}", keys.empty() ? "" : ", ",
                                  l < in->size() ? in->fields[l].name
                                                 : std::to_string(l),
                                  core.table.name,
                                  r < core.table.physical.size()
                                      ? core.table.physical.fields[r].name
                                      : std::to_string(r));
            }
            out += fmt::format("      {}lookup {} ({}) on {}{}\n",
                               core.outer ? "left " : "", core.table.name,
                               core.table.connector, keys,
                               core.residual ? " and a condition" : "");
          } else {
            out += fmt::format("      writes {} ({}{})\n", core.table.name,
                               core.table.connector,
                               core.upsert ? ", upsert" : "");
          }
        },
        s.core);
    for (auto& c : s.post)
      out += fmt::format("      post: {} -> ({})\n",
                         c.is_filter ? "filter" : "project",
                         columnar::to_string(c.out));
  }
  return out;
}

} // namespace sluice
