// Bound plan -> job_spec: one job per INSERT, stateless relations fused into
// the neighbouring stage.
#include "sql/planner.hpp"

#include <set>

#include <fmt/format.h>

#include "runtime/errors.hpp"
#include "runtime/option_strings.hpp"
#include "runtime/options.hpp"
#include "sql/planner_detail.hpp"

namespace sluice::sql {

namespace {

namespace ir = ::sluice::expr;
// The job description's window kinds, not the AST's (sql::window_kind).
using wkind = ::sluice::window_kind;
using namespace planning;

/// Columns a window TVF adds: not materialized before the window stage
/// that assigns windows, so they have no column of the stage's output.
constexpr int32_t virtual_start = -1;
constexpr int32_t virtual_end = -2;
constexpr int32_t virtual_time = -3;

/// The planned output of a relation: the stage that produces it and, per
/// column of the relation, the column of that stage's `out` (or a virtual
/// window column).
struct stream {
  uint32_t stage = 0;
  std::vector<int32_t> map;
  /// Below the virtual columns: the window TVF's window and the stage
  /// column of its DESCRIPTOR column (-1: none or dropped).
  window_spec tvf;
  int32_t window_source = -1;
};

/// True when every column of the relation is the same column of the stage.
bool identity(const stream& s, size_t width) {
  if (s.map.size() != width)
    return false;
  for (size_t i = 0; i < s.map.size(); ++i)
    if (s.map[i] != static_cast<int32_t>(i))
      return false;
  return true;
}

/// Plans the relations of one INSERT into the stages of one job.
class job_planner {
 public:
  job_planner(const bound_script& script, job_spec& job, uint32_t parallelism)
      : script_(script), job_(job), parallelism_(parallelism) {}

  /// Plans `r` and everything below it; its output stream.
  caf::expected<stream> plan(const rel& r) {
    switch (r.kind) {
    case rel_kind::scan:
      return plan_scan(r);
    case rel_kind::filter:
    case rel_kind::project:
      return plan_calc(r);
    case rel_kind::window_tvf: {
      auto in = plan_input(r, 0);
      if (!in)
        return in;
      in->tvf = r.window;
      in->window_source = r.window.time_column < in->map.size()
                              ? in->map[r.window.time_column]
                              : -1;
      for (auto v : {virtual_start, virtual_end, virtual_time})
        in->map.push_back(v);
      return in;
    }
    case rel_kind::aggregate:
      return plan_aggregate(r);
    case rel_kind::join:
      return plan_join(r);
    case rel_kind::lookup_join:
      return plan_lookup(r);
    case rel_kind::union_all:
    case rel_kind::values:
      break;
    }
    return fail(r, "UNION ALL and VALUES are not planned yet");
  }

  /// Adds the sink stage of `sink` reading `in` (the query's output).
  caf::error plan_sink(const bound_insert& ins, stream in) {
    auto& q = *ins.query;
    if (!identity(in, q.out.size()))
      if (auto err = materialize(q, in, q.out))
        return err;
    if (job_.stages[in.stage].out.size() != ins.sink.physical.size())
      return fail(q, "the query's columns do not reach the sink as planned")
          .error();
    auto& from = job_.stages[in.stage];
    edge e;
    e.from_stage = in.stage;
    uint32_t par = parallelism_;
    if (from.parallelism == parallelism_) {
      e.part = partitioning::forward;
    } else if (!ins.sink.primary_key.empty()) {
      e.part = partitioning::hash;
      e.keys = ins.sink.primary_key;
    } else {
      e.part = partitioning::single;
      par = 1;
    }
    auto& s = add_stage(fmt::format("sink {}", ins.sink.name), par,
                        sink_stage{ins.sink, !q.append_only});
    s.inputs.push_back(std::move(e));
    s.out = ins.sink.physical;
    return caf::none;
  }

  /// Adds a sink for late rows and points every window and join stage at
  /// it (nothing when the job has neither).
  void plan_late_rows(const table_spec& late) {
    auto id = static_cast<int32_t>(job_.stages.size());
    bool any = false;
    for (auto& s : job_.stages) {
      if (auto* w = std::get_if<window_stage>(&s.core)) {
        w->late_stage = id;
        any = true;
      } else if (auto* j = std::get_if<join_stage>(&s.core)) {
        j->late_stage = id;
        any = true;
      }
    }
    if (!any)
      return;
    auto& s = add_stage(fmt::format("late {}", late.name), 1,
                        sink_stage{late, false});
    s.out = late.physical;
  }

 private:
  caf::expected<stream> fail(const rel& r, std::string what) const {
    return make_error(sql_errc::bad_plan,
                      fmt::format("{}:{}:{}: {}", r.where.file, r.where.line,
                                  r.where.column, what));
  }

  template <class Core>
  stage_spec& add_stage(std::string name, uint32_t par, Core core) {
    stage_spec s;
    s.id = static_cast<uint32_t>(job_.stages.size());
    // Names identify a stage's metrics: a second stage of the same name
    // (a table read twice) gets its id.
    for (auto& other : job_.stages)
      if (other.name == name) {
        name = fmt::format("{}#{}", name, s.id);
        break;
      }
    s.name = std::move(name);
    s.parallelism = par;
    s.core = std::move(core);
    job_.stages.push_back(std::move(s));
    return job_.stages.back();
  }

  caf::expected<stream> plan_input(const rel& r, size_t i) {
    if (r.inputs.size() <= i || !r.inputs[i])
      return fail(r, fmt::format("relation without input {}", i));
    return plan(*r.inputs[i]);
  }

  /// Appends a stateless step to the stage of `s`: a scan's `pre`, any
  /// other stage's `post`.
  void append(stream& s, calc_step step) {
    auto& st = job_.stages[s.stage];
    st.out = step.out;
    if (std::holds_alternative<scan_stage>(st.core))
      st.pre.push_back(std::move(step));
    else
      st.post.push_back(std::move(step));
  }

  /// `t` with its columns renumbered through `map`; an error when it reads
  /// a window column that only the window stage above will assign.
  caf::expected<ir::tree> remap(const rel& r, const ir::tree& t,
                                const std::vector<int32_t>& map) const {
    auto nodes = reachable(t);
    if (!nodes)
      return fail(r, "a malformed expression").error();
    ir::tree out = t;
    for (auto n : *nodes) {
      auto& x = out.nodes[n];
      if (x.kind != ir::op::column)
        continue;
      if (x.index >= map.size())
        return fail(r, fmt::format("column {} outside its {} input columns",
                                   x.index, map.size()))
            .error();
      if (map[x.index] < 0)
        return fail(r, "an expression over window_start, window_end or "
                       "window_time below the aggregate that assigns the "
                       "windows is not supported yet")
            .error();
      x.index = static_cast<uint32_t>(map[x.index]);
    }
    return out;
  }

  /// A column through `map`, which must be materialized.
  caf::expected<uint32_t> column(const rel& r, uint32_t c,
                                 const std::vector<int32_t>& map) const {
    if (c >= map.size() || map[c] < 0)
      return fail(r, fmt::format("column {} is not available to the stage", c))
          .error();
    return static_cast<uint32_t>(map[c]);
  }

  caf::expected<stream> plan_scan(const rel& r) {
    if (r.table < 0 || static_cast<size_t>(r.table) >= script_.tables.size())
      return fail(r, fmt::format("scan of unknown table {}", r.table));
    auto& t = script_.tables[static_cast<size_t>(r.table)];
    scan_stage core{t, 0, 0};
    core.idle_timeout_ms = job_.opts.idle_timeout_ms;
    if (!t.watermark)
      for (auto& [name, def] : t.computed)
        if (def.nodes[def.root].kind == ir::op::call &&
            def.nodes[def.root].function == "PROCTIME")
          core.processing_time = true;
    if (auto i = t.options.find("scan.watermark.idle-timeout");
        i != t.options.end())
      if (auto d = parse_flink_duration(i->second))
        core.idle_timeout_ms = *d;
    auto& s = add_stage(fmt::format("scan {}", t.name), parallelism_,
                        std::move(core));
    s.out = t.physical;
    stream out;
    out.stage = s.id;
    if (!t.computed.empty()) {
      // One projection of physical ++ computed columns, each computed
      // expression inlined (they may read the computed columns before them).
      auto physical = static_cast<uint32_t>(t.physical.size());
      std::vector<const ir::tree*> defs;
      calc_step step;
      for (uint32_t i = 0; i < physical; ++i) {
        ir::tree c;
        c.root = c.add_column(i, t.physical.fields[i].type);
        step.exprs.push_back(std::move(c));
      }
      for (auto& [name, def] : t.computed) {
        ir::tree c;
        auto root = copy_inlined(c, def, def.root, defs, physical, 0);
        if (!root)
          return fail(r,
                      fmt::format("computed column '{}' is malformed", name));
        c.root = *root;
        step.exprs.push_back(std::move(c));
        defs.push_back(&def);
      }
      step.out = r.out;
      std::get<scan_stage>(s.core).watermark_step = 1;
      append(out, std::move(step));
    }
    if (job_.stages[out.stage].out.size() != r.out.size())
      return fail(r, "the table's columns do not match its scan");
    job_.stages[out.stage].out.rowtime = r.out.rowtime;
    for (size_t i = 0; i < r.out.size(); ++i)
      out.map.push_back(static_cast<int32_t>(i));
    return out;
  }

  caf::expected<stream> plan_calc(const rel& r) {
    auto in = plan_input(r, 0);
    if (!in)
      return in;
    // An expression over window columns not computed yet, or a projection
    // that keeps them but drops the column that assigns them: compute them
    // now (TUMBLE), while that column is there.
    bool keeps_virtual = false;
    bool keeps_source = false;
    bool reads_virtual = false;
    for (auto& e : r.exprs) {
      auto nodes = reachable(e);
      if (!nodes)
        continue; // remap reports it
      auto& root = e.nodes[e.root];
      bool bare = r.kind == rel_kind::project && root.kind == ir::op::column;
      for (auto n : *nodes) {
        auto& x = e.nodes[n];
        if (x.kind != ir::op::column || x.index >= in->map.size())
          continue;
        auto m = in->map[x.index];
        if (bare) {
          keeps_virtual = keeps_virtual || m < 0;
          keeps_source = keeps_source || (m >= 0 && m == in->window_source);
        } else {
          reads_virtual = reads_virtual || m < 0;
        }
      }
    }
    if ((reads_virtual || (keeps_virtual && !keeps_source)) && r.inputs[0])
      if (auto err = materialize(*r.inputs[0], *in, r.inputs[0]->out))
        return err;
    if (r.kind == rel_kind::filter) {
      if (r.exprs.size() != 1)
        return fail(r, "a filter without one predicate");
      auto t = remap(r, r.exprs[0], in->map);
      if (!t)
        return t.error();
      calc_step step{true, {std::move(*t)}, job_.stages[in->stage].out};
      append(*in, std::move(step));
      return in;
    }
    if (r.exprs.size() != r.out.size())
      return fail(r, "a projection whose expressions and columns differ");

    calc_step step;
    std::vector<int32_t> map;
    int32_t source = -1;
    for (size_t i = 0; i < r.exprs.size(); ++i) {
      auto& e = r.exprs[i];
      if (e.root < e.nodes.size() && e.nodes[e.root].kind == ir::op::column &&
          e.nodes[e.root].index < in->map.size() &&
          in->map[e.nodes[e.root].index] < 0) {
        map.push_back(in->map[e.nodes[e.root].index]); // still virtual
        continue;
      }
      auto t = remap(r, e, in->map);
      if (!t)
        return t.error();
      auto& root = t->nodes[t->root];
      if (root.kind == ir::op::column && in->window_source >= 0 &&
          root.index == static_cast<uint32_t>(in->window_source) && source < 0)
        source = static_cast<int32_t>(step.exprs.size());
      if (r.out.rowtime == static_cast<int32_t>(i))
        step.out.rowtime = static_cast<int32_t>(step.exprs.size());
      map.push_back(static_cast<int32_t>(step.exprs.size()));
      step.exprs.push_back(std::move(*t));
      step.out.fields.push_back(r.out.fields[i]);
    }
    append(*in, std::move(step));
    in->map = std::move(map);
    in->window_source = source;
    return in;
  }

  /// Keeps only the columns an aggregate reads (keys, arguments, window
  /// columns) before its shuffle, renumbering what reads them.
  void prune(stream& in, std::vector<uint32_t>& keys,
             std::vector<agg_call>& aggs, window_spec& w,
             std::vector<uint32_t>& hash_keys) {
    auto& from = job_.stages[in.stage].out;
    std::vector<int32_t> renum(from.size(), -1);
    auto use = [&](uint32_t c) {
      if (c < renum.size())
        renum[c] = 0;
    };
    for (auto k : keys)
      use(k);
    for (auto& a : aggs)
      if (a.kind != agg_kind::count_star && a.arg >= 0)
        use(static_cast<uint32_t>(a.arg));
    if (w.kind != wkind::none) {
      use(w.time_column);
      if (w.kind == wkind::inherited) {
        use(w.start_column);
        use(w.end_column);
      }
      for (auto p : w.partition_by)
        use(p);
    }
    calc_step step;
    for (uint32_t c = 0; c < renum.size(); ++c) {
      if (renum[c] < 0)
        continue;
      renum[c] = static_cast<int32_t>(step.exprs.size());
      if (from.rowtime == static_cast<int32_t>(c))
        step.out.rowtime = renum[c];
      ir::tree t;
      t.root = t.add_column(c, from.fields[c].type);
      step.exprs.push_back(std::move(t));
      step.out.fields.push_back(from.fields[c]);
    }
    // Nothing to gain, or nothing left to carry the rows (COUNT(*) alone).
    if (step.exprs.empty() || step.exprs.size() == from.size())
      return;
    auto to = [&](uint32_t& c) {
      c = static_cast<uint32_t>(renum[c]);
    };
    for (auto& k : keys)
      to(k);
    for (auto& k : hash_keys)
      to(k);
    for (auto& a : aggs)
      if (a.kind != agg_kind::count_star && a.arg >= 0)
        a.arg = renum[static_cast<size_t>(a.arg)];
    if (w.kind != wkind::none) {
      to(w.time_column);
      if (w.kind == wkind::inherited) {
        to(w.start_column);
        to(w.end_column);
      }
      for (auto& p : w.partition_by)
        to(p);
    }
    append(in, std::move(step));
  }

  caf::expected<stream> plan_aggregate(const rel& r) {
    auto in = plan_input(r, 0);
    if (!in)
      return in;
    auto& map = in->map;
    std::vector<uint32_t> keys;
    for (auto k : r.group_keys) {
      auto c = column(r, k, map);
      if (!c)
        return c.error();
      keys.push_back(*c);
    }
    std::vector<agg_call> aggs = r.aggs;
    for (auto& a : aggs) {
      if (a.kind == agg_kind::count_star)
        continue;
      if (a.arg < 0)
        return fail(r, "an aggregate without its argument");
      auto c = column(r, static_cast<uint32_t>(a.arg), map);
      if (!c)
        return c.error();
      a.arg = static_cast<int32_t>(*c);
    }
    bool windowed = r.window.kind != wkind::none;
    auto w = r.window;
    auto hash_keys = keys;
    if (windowed) {
      auto t = column(r, w.time_column, map);
      if (!t)
        return t.error();
      w.time_column = *t;
      if (w.kind == wkind::inherited) {
        auto s = column(r, w.start_column, map);
        auto e = column(r, w.end_column, map);
        if (!s || !e)
          return fail(r, "the input's window columns are not available");
        w.start_column = *s;
        w.end_column = *e;
        // A window of the input lives in one instance: hash on it too.
        hash_keys.push_back(*s);
        hash_keys.push_back(*e);
      } else {
        w.start_column = 0;
        w.end_column = 0;
      }
      for (auto& p : w.partition_by) {
        auto c = column(r, p, map);
        if (!c)
          return c.error();
        p = *c;
      }
    }
    prune(*in, keys, aggs, w, hash_keys);
    edge e;
    e.from_stage = in->stage;
    uint32_t par = parallelism_;
    if (hash_keys.empty()) {
      e.part = partitioning::single; // a global aggregate
      par = 1;
    } else {
      e.part = partitioning::hash;
      e.keys = hash_keys;
    }
    auto id = job_.stages.size();
    auto& s = windowed
                  ? add_stage(fmt::format("window_agg#{}", id), par,
                              window_stage{w, keys, aggs, -1})
                  : add_stage(fmt::format("group_agg#{}", id), par,
                              group_stage{keys, aggs, job_.opts.state_ttl_ms});
    s.inputs.push_back(std::move(e));
    s.out = r.out;
    s.emits_updates = !windowed;
    stream out;
    out.stage = s.id;
    for (size_t i = 0; i < r.out.size(); ++i)
      out.map.push_back(static_cast<int32_t>(i));
    return out;
  }

  /// Makes the columns of `s` those of its relation (`out`), computing
  /// the window columns of a TUMBLE TVF that no aggregate materialized. A
  /// HOP or CUMULATE row belongs to several windows: no projection makes
  /// those, so they are refused.
  caf::error materialize(const rel& r, stream& s, const columnar::schema& out) {
    auto& w = s.tvf;
    bool virtuals = false;
    for (auto m : s.map)
      virtuals = virtuals || m < 0;
    if (virtuals &&
        (w.kind != wkind::tumble || w.size_ms % 1000 != 0 ||
         w.offset_ms % 1000 != 0 || w.size_ms <= 0 || s.window_source < 0))
      return fail(r, "window_start, window_end and window_time of this window "
                     "TVF exist only in a window aggregate above it (a TUMBLE "
                     "of whole seconds excepted): a window join or INSERT "
                     "directly over it is not supported yet (aggregate "
                     "first, as Nexmark q5 does)")
          .error();
    auto& from = job_.stages[s.stage].out;
    calc_step step;
    for (size_t i = 0; i < s.map.size() && i < out.size(); ++i) {
      ir::tree t;
      auto m = s.map[i];
      if (m >= 0) {
        t.root = t.add_column(static_cast<uint32_t>(m),
                              from.fields[static_cast<size_t>(m)].type);
      } else {
        auto src = static_cast<uint32_t>(s.window_source);
        int64_t add = m == virtual_start ? 0
                      : m == virtual_end ? w.size_ms
                                         : w.size_ms - 1;
        t.root = tumble_column(t, src, from.fields[src].type, w, add);
      }
      step.out.fields.push_back({out.fields[i].name, t.nodes[t.root].type});
      step.exprs.push_back(std::move(t));
    }
    step.out.rowtime = out.rowtime;
    append(s, std::move(step));
    s.map.clear();
    for (size_t i = 0; i < out.size(); ++i)
      s.map.push_back(static_cast<int32_t>(i));
    s.window_source = -1;
    return caf::none;
  }

  caf::expected<stream> plan_join(const rel& r) {
    if (r.inputs.size() != 2 || r.left_keys.size() < 2 ||
        r.left_keys.size() != r.right_keys.size())
      return fail(r, "a window join needs two inputs and their window "
                     "columns");
    auto left = plan_input(r, 0);
    if (!left)
      return left;
    auto right = plan_input(r, 1);
    if (!right)
      return right;
    if (!identity(*left, r.inputs[0]->out.size()))
      if (auto err = materialize(r, *left, r.inputs[0]->out))
        return err;
    if (!identity(*right, r.inputs[1]->out.size()))
      if (auto err = materialize(r, *right, r.inputs[1]->out))
        return err;
    join_stage core;
    core.window = r.window;
    core.left_keys = r.left_keys;
    core.right_keys = r.right_keys;
    if (!r.exprs.empty())
      core.residual = r.exprs[0];
    core.left_window = {r.left_keys[0], r.left_keys[1]};
    core.right_window = {r.right_keys[0], r.right_keys[1]};
    auto id = job_.stages.size();
    auto& s = add_stage(fmt::format("window_join#{}", id), parallelism_,
                        std::move(core));
    s.inputs.push_back({left->stage, 0, partitioning::hash, r.left_keys});
    s.inputs.push_back({right->stage, 1, partitioning::hash, r.right_keys});
    s.out = r.out;
    stream out;
    out.stage = s.id;
    for (size_t i = 0; i < r.out.size(); ++i)
      out.map.push_back(static_cast<int32_t>(i));
    return out;
  }

  /// A lookup join: a stage of the input's parallelism fed by a forward
  /// edge, so each instance looks up the rows of one input instance.
  caf::expected<stream> plan_lookup(const rel& r) {
    if (r.inputs.size() != 1 || r.left_keys.empty() ||
        r.left_keys.size() != r.right_keys.size() || r.table < 0 ||
        static_cast<size_t>(r.table) >= script_.tables.size())
      return fail(r, "a lookup join needs its input, table and keys");
    auto in = plan_input(r, 0);
    if (!in)
      return in;
    if (!identity(*in, r.inputs[0]->out.size()))
      if (auto err = materialize(r, *in, r.inputs[0]->out))
        return err;
    lookup_stage core;
    core.table = script_.tables[static_cast<size_t>(r.table)];
    core.left_keys = r.left_keys;
    core.table_keys = r.right_keys;
    core.outer = r.outer;
    if (!r.exprs.empty())
      core.residual = r.exprs[0];
    auto par = job_.stages[in->stage].parallelism;
    auto name =
        fmt::format("lookup#{} {}", job_.stages.size(), core.table.name);
    auto& s = add_stage(std::move(name), par, std::move(core));
    s.inputs.push_back({in->stage, 0, partitioning::forward, {}});
    s.out = r.out;
    s.emits_updates = !r.append_only;
    stream out;
    out.stage = s.id;
    for (size_t i = 0; i < r.out.size(); ++i)
      out.map.push_back(static_cast<int32_t>(i));
    return out;
  }

  const bound_script& script_;
  job_spec& job_;
  uint32_t parallelism_;
};

} // namespace

caf::expected<planned_script> plan_script(const bound_script& script,
                                          const plan_options& opts) {
  planned_script out;
  uint32_t par = opts.parallelism;
  if (par == 0)
    par = static_cast<uint32_t>(
        int_setting(script.settings, "parallelism.default").value_or(1));
  const table_spec* late = nullptr;
  if (auto i = script.settings.find("sluice.late-rows.table");
      i != script.settings.end()) {
    for (auto& t : script.tables)
      if (t.name == i->second)
        late = &t;
    if (late == nullptr)
      return make_error(
          sql_errc::bad_plan,
          fmt::format("late-rows table '{}' is not declared", i->second));
  }
  std::set<std::string> names;
  for (auto& ins : script.inserts) {
    if (!ins.query)
      return make_error(sql_errc::bad_plan, "an INSERT without a query");
    job_spec job;
    job.name = ins.sink.name;
    for (int n = 2; names.count(job.name) > 0; ++n)
      job.name = fmt::format("{}#{}", ins.sink.name, n);
    names.insert(job.name);
    job.opts = options_of(script.settings, par);
    job_planner p{script, job, par};
    auto s = p.plan(*ins.query);
    if (!s)
      return s.error();
    if (auto err = p.plan_sink(ins, *s))
      return err;
    if (late != nullptr)
      p.plan_late_rows(*late);
    if (auto problems = validate(job); !problems.empty()) {
      std::string text;
      for (auto& x : problems)
        text += (text.empty() ? "" : "; ") + x;
      return make_error(sql_errc::bad_plan,
                        fmt::format("job {}: {}", job.name, text));
    }
    std::map<std::string, int> reads;
    for (auto& st : job.stages)
      if (auto* sc = std::get_if<scan_stage>(&st.core))
        ++reads[sc->table.name];
    for (auto& [table, n] : reads)
      if (n > 1)
        out.notes.push_back(
            fmt::format("job {} reads table '{}' {} times: each use is "
                        "planned on its own (no sub-plan reuse yet)",
                        job.name, table, n));
    out.jobs.push_back(std::move(job));
  }
  return out;
}

} // namespace sluice::sql
