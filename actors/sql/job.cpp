#include "actors/sql/job.hpp"

#include <algorithm>
#include <chrono>
#include <deque>
#include <map>
#include <optional>
#include <random>
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
  /// Instances by stage id (of the current run).
  std::vector<std::vector<operator_actor>> instances;
  size_t running = 0;
  bool stopping = false;
  // -- restarts (job_options::restart) --
  /// The instances of a failed run are going down; once none runs, the
  /// job starts again after `delay_ms`.
  bool restarting = false;
  int64_t delay_ms = 0;
  uint32_t restarts = 0;        ///< over the job's life
  uint32_t since_reset = 0;     ///< exponential-delay: since the last reset
  int64_t backoff_ms = 0;       ///< exponential-delay: the last delay
  int64_t started_ms = 0;       ///< when the current run started
  std::deque<int64_t> failures; ///< failure-rate: times within the interval
  std::shared_ptr<restart_memo> memo = std::make_shared<restart_memo>();
  std::minstd_rand rng{std::random_device{}()};
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
      oc.memo = st.memo;
      oc.find_topic = st.cfg.find_topic;
      if (st.restarts > 0)
        oc.metrics->restarts.fetch_add(1, std::memory_order_relaxed);
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

int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

/// How long to wait before restarting after failure `err`; none when the
/// strategy gives up (or never restarts, or `err` is permanent).
std::optional<int64_t> restart_delay(job_state& st, const caf::error& err) {
  using kind = restart_strategy::kind;
  auto& r = st.cfg.job.opts.restart;
  if (is_permanent(err))
    return std::nullopt;
  auto now = steady_ms();
  switch (r.type) {
  case kind::none:
    return std::nullopt;
  case kind::fixed_delay:
    if (st.restarts >= r.attempts)
      return std::nullopt;
    return r.delay_ms;
  case kind::failure_rate:
    st.failures.push_back(now);
    while (!st.failures.empty() && st.failures.front() <= now - r.interval_ms)
      st.failures.pop_front();
    if (st.failures.size() > r.max_failures)
      return std::nullopt;
    return r.delay_ms;
  case kind::exponential_delay: {
    if (now - st.started_ms >= r.reset_after_ms) {
      st.backoff_ms = 0;
      st.since_reset = 0;
    }
    if (r.max_attempts > 0 && st.since_reset >= r.max_attempts)
      return std::nullopt;
    ++st.since_reset;
    st.backoff_ms =
        st.backoff_ms == 0
            ? r.delay_ms
            : std::min<int64_t>(
                  r.max_delay_ms,
                  static_cast<int64_t>(static_cast<double>(st.backoff_ms) *
                                       r.multiplier));
    std::uniform_real_distribution<double> spread{-r.jitter, r.jitter};
    auto d = static_cast<double>(st.backoff_ms) * (1 + spread(st.rng));
    return std::max<int64_t>(0, static_cast<int64_t>(d));
  }
  }
  return std::nullopt;
}

void kill_instances(job_ptr self) {
  for (auto& stage : self->state.instances)
    for (auto& a : stage)
      self->send_exit(a, caf::exit_reason::kill);
}

/// Kills every instance of a failed run and watches them go. An actor that
/// receives an exit message unlinks from its sender before it quits, so a
/// killed instance's exit never comes back over the link: a monitor's
/// down message does (at once for one already gone).
void kill_for_restart(job_ptr self) {
  auto& st = self->state;
  st.running = 0;
  for (auto& stage : st.instances)
    for (auto& a : stage) {
      self->monitor(a);
      ++st.running;
    }
  kill_instances(self);
}

/// Every instance of the failed run is gone: start again after the delay,
/// or end if the job was stopped meanwhile.
void maybe_schedule_restart(job_ptr self) {
  auto& st = self->state;
  if (st.running > 0)
    return;
  st.instances.clear();
  if (st.stopping) {
    log().info("job {}: stopped before its restart", st.cfg.job.name);
    self->quit();
    return;
  }
  self->delayed_send(self, std::chrono::milliseconds{st.delay_ms},
                     restart_atom::value);
}

void start_run(job_ptr self) {
  auto& st = self->state;
  st.started_ms = steady_ms();
  spawn_instances(self);
  if (st.restarts == 0)
    log().info("job {}: started {} stage(s)", st.cfg.job.name,
               st.cfg.job.stages.size());
  else
    log().info("job {}: restarted from the beginning of its sources "
               "(restart {})",
               st.cfg.job.name, st.restarts);
}

job_actor::behavior_type job_fn(job_ptr self, job_config cfg) {
  self->state.cfg = std::move(cfg);
  self->set_exit_handler([self](caf::exit_msg& msg) {
    auto& st = self->state;
    if (st.restarting)
      return; // the down messages count the failed run's instances
    if (msg.reason) {
      if (msg.reason == caf::exit_reason::user_shutdown ||
          msg.reason == caf::exit_reason::kill) {
        // The runtime is shutting down (or this job was killed): end
        // with it.
      } else if (auto delay = st.stopping ? std::nullopt
                                          : restart_delay(st, msg.reason)) {
        ++st.restarts;
        log().warn("job {}: an operator failed: {}; restarting the job in "
                   "{} ms (restart {}, {})",
                   st.cfg.job.name, describe(msg.reason), *delay, st.restarts,
                   to_string(st.cfg.job.opts.restart.type));
        st.restarting = true;
        st.delay_ms = *delay;
        kill_for_restart(self);
        return;
      } else {
        auto& r = st.cfg.job.opts.restart;
        if (r.type == restart_strategy::kind::none || st.stopping)
          log().error("job {}: an operator failed: {}", st.cfg.job.name,
                      describe(msg.reason));
        else if (is_permanent(msg.reason))
          log().error("job {}: an operator failed with an error no restart "
                      "can cure: {}",
                      st.cfg.job.name, describe(msg.reason));
        else
          log().error("job {}: an operator failed: {}; the {} restart "
                      "strategy gives up after {} restart(s)",
                      st.cfg.job.name, describe(msg.reason), to_string(r.type),
                      st.restarts);
      }
      kill_instances(self);
      self->quit(msg.reason);
      return;
    }
    if (st.running > 0 && --st.running == 0) {
      log().info("job {}: finished", st.cfg.job.name);
      self->quit();
    }
  });
  self->set_down_handler([self](caf::down_msg&) {
    auto& st = self->state;
    if (!st.restarting || st.running == 0)
      return;
    --st.running;
    maybe_schedule_restart(self);
  });
  start_run(self);
  return {
      [self](stop_atom) {
        auto& st = self->state;
        if (st.restarting) {
          // Between runs: nothing to stop but the restart.
          st.stopping = true;
          maybe_schedule_restart(self);
          return;
        }
        stop_job(self);
      },
      [self](restart_atom) {
        auto& st = self->state;
        if (!st.restarting || st.stopping)
          return;
        st.restarting = false;
        start_run(self);
      },
  };
}

} // namespace

job_actor spawn_job(caf::actor_system& sys, job_config cfg) {
  return sys.spawn(job_fn, std::move(cfg));
}

} // namespace sluice
