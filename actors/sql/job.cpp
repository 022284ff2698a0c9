#include "actors/sql/job.hpp"

#include <map>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/exit_reason.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <fmt/format.h>

#include "actors/sql/operator.hpp"
#include "runtime/errors.hpp"
#include "runtime/log.hpp"

namespace sluice {

namespace {

struct job_state {
  job_config cfg;
  /// Instances by stage id.
  std::vector<std::vector<operator_actor>> instances;
  size_t running = 0;
  bool stopping = false;
  static inline const char* name = "sluice.job";
};

using job_ptr = job_actor::stateful_pointer<job_state>;

/// The rows a consumer lets each producer have in flight.
uint64_t credit_of(const job_options& o) {
  return 4 * static_cast<uint64_t>(o.batch_rows);
}

/// Spawns every instance, last stage first.
void spawn_instances(job_ptr self) {
  auto& st = self->state;
  auto& job = st.cfg.job;
  auto n = job.stages.size();
  st.instances.resize(n);
  // Who sends to whom: per stage, the stage its rows go to (edge) and the
  // stage its late rows go to; per consumer port, the first producer index
  // of each producing stage.
  struct consumer {
    int32_t stage = -1;
    const edge* e = nullptr;
  };
  std::vector<consumer> out(n);
  std::vector<int32_t> late(n, -1);
  std::vector<std::array<uint32_t, 2>> producers(n, {0, 0});
  std::map<std::pair<uint32_t, uint32_t>, uint32_t> base; // (from, to)
  std::vector<std::array<columnar::schema_ptr, 2>> inputs(n);
  for (uint32_t c = 0; c < n; ++c) {
    auto& s = job.stages[c];
    for (auto& e : s.inputs) {
      out[e.from_stage] = {static_cast<int32_t>(c), &e};
      base[{e.from_stage, c}] = producers[c][e.port];
      producers[c][e.port] += job.stages[e.from_stage].parallelism;
      inputs[c][e.port] = std::make_shared<const columnar::schema>(
          job.stages[e.from_stage].out);
    }
  }
  for (uint32_t p = 0; p < n; ++p) {
    int32_t l = -1;
    if (auto* w = std::get_if<window_stage>(&job.stages[p].core))
      l = w->late_stage;
    else if (auto* j = std::get_if<join_stage>(&job.stages[p].core))
      l = j->late_stage;
    if (l < 0 || static_cast<size_t>(l) >= n)
      continue;
    late[p] = l;
    base[{p, static_cast<uint32_t>(l)}] = producers[l][0];
    producers[l][0] += job.stages[p].parallelism;
    inputs[l][0] = late_rows_schema();
  }
  for (size_t k = n; k-- > 0;) {
    auto& s = job.stages[k];
    bool detached = blocking_stage(s, *st.cfg.tables);
    for (uint32_t i = 0; i < s.parallelism; ++i) {
      operator_config oc;
      oc.job = job.name;
      oc.stage = s;
      oc.index = i;
      oc.opts = job.opts;
      oc.producers = producers[k];
      oc.inputs = inputs[k];
      oc.credit = credit_of(job.opts);
      oc.tables = st.cfg.tables;
      oc.fns = st.cfg.fns;
      oc.metrics = st.cfg.metrics->get(
          fmt::format("{}/{}#{}", job.name, s.name, i), "operator");
      if (auto c = out[k]; c.stage >= 0) {
        operator_output o;
        o.targets = st.instances[c.stage];
        o.part = c.e->part;
        o.keys = c.e->keys;
        o.port = c.e->port;
        o.producer =
            base[{static_cast<uint32_t>(k), static_cast<uint32_t>(c.stage)}] +
            i;
        oc.out = std::move(o);
      } else if (!std::holds_alternative<sink_stage>(s.core)) {
        // A stage nobody reads (cannot come from the planner): its rows
        // go nowhere; give it an output so that it still ends.
        log().warn("job {}: stage {} has no consumer", job.name, s.name);
      }
      if (late[k] >= 0) {
        operator_output o;
        o.targets = st.instances[late[k]];
        o.part = partitioning::single;
        o.producer =
            base[{static_cast<uint32_t>(k), static_cast<uint32_t>(late[k])}] +
            i;
        oc.late = std::move(o);
      }
      st.instances[k].push_back(spawn_operator(self, std::move(oc), detached));
      ++st.running;
    }
  }
}

void stop_job(job_ptr self) {
  auto& st = self->state;
  if (st.stopping)
    return;
  st.stopping = true;
  log().info("job {}: stopping", st.cfg.job.name);
  // Every other operator learns of the stop before the scans end its
  // inputs (a scan's end is sent after the scan got its stop, and that
  // after the others got theirs).
  for (size_t k = 0; k < st.instances.size(); ++k)
    if (!std::holds_alternative<scan_stage>(st.cfg.job.stages[k].core))
      for (auto& a : st.instances[k])
        self->send(a, stop_atom::value);
  for (size_t k = 0; k < st.instances.size(); ++k)
    if (std::holds_alternative<scan_stage>(st.cfg.job.stages[k].core))
      for (auto& a : st.instances[k])
        self->send(a, stop_atom::value);
}

job_actor::behavior_type job_fn(job_ptr self, job_config cfg) {
  self->state.cfg = std::move(cfg);
  self->set_exit_handler([self](caf::exit_msg& msg) {
    auto& st = self->state;
    if (msg.reason) {
      if (msg.reason == caf::exit_reason::user_shutdown ||
          msg.reason == caf::exit_reason::kill) {
        // The runtime is shutting down (or this job was killed): end
        // with it.
      } else {
        log().error("job {}: an operator failed: {}", st.cfg.job.name,
                    describe(msg.reason));
      }
      for (auto& stage : st.instances)
        for (auto& a : stage)
          self->send_exit(a, caf::exit_reason::kill);
      self->quit(msg.reason);
      return;
    }
    if (st.running > 0 && --st.running == 0) {
      log().info("job {}: finished", st.cfg.job.name);
      self->quit();
    }
  });
  spawn_instances(self);
  log().info("job {}: started {} stage(s)", self->state.cfg.job.name,
             self->state.cfg.job.stages.size());
  return {
      [self](stop_atom) { stop_job(self); },
  };
}

} // namespace

job_actor spawn_job(caf::actor_system& sys, job_config cfg) {
  return sys.spawn(job_fn, std::move(cfg));
}

} // namespace sluice
