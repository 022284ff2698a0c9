#include "actors/supervisor.hpp"

#include <algorithm>
#include <chrono>
#include <deque>
#include <set>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/sec.hpp>
#include <caf/stateful_actor.hpp>

#include "runtime/atoms.hpp"
#include "runtime/errors.hpp"
#include "runtime/log.hpp"

namespace sluice {

namespace {

using clock = std::chrono::steady_clock;

struct child_state {
  caf::actor handle;
  bool running = false;
  bool ended = false;                     ///< ended normally; not restarted
  uint64_t generation = 0;                ///< invalidates stale restart timers
  std::deque<clock::time_point> failures; ///< within the window
  std::set<caf::actor_addr> replaced;     ///< killed by us on purpose
};

/// Everything a supervisor owns.
struct supervisor_state {
  supervisor_config cfg;
  std::vector<child_state> children; ///< parallel to cfg.children
  child_handles handles;
  bool stopping = false;
  bool drain = false; ///< the stop asks draining children to drain
  int phase = -1;     ///< the stop phase under way
  caf::error failure;
  static inline const char* name = "sluice.supervisor";
};

using supervisor_ptr = caf::stateful_actor<supervisor_state>*;

size_t index_of(supervisor_ptr self, const std::string& name) {
  auto& specs = self->state.cfg.children;
  for (size_t i = 0; i < specs.size(); ++i)
    if (specs[i].name == name)
      return i;
  return specs.size();
}

size_t index_of(supervisor_ptr self, const caf::actor_addr& addr) {
  auto& cs = self->state.children;
  for (size_t i = 0; i < cs.size(); ++i)
    if (cs[i].handle && cs[i].handle.address() == addr)
      return i;
  return cs.size();
}

/// True when a child that `i` depends on is down: its restart will start
/// `i` again, so `i` neither counts a failure nor restarts on its own.
bool dependency_down(supervisor_ptr self, size_t i) {
  auto& st = self->state;
  auto& name = st.cfg.children[i].name;
  for (size_t k = 0; k < st.children.size(); ++k) {
    auto& deps = st.cfg.children[k].dependents;
    if (!st.children[k].running && !st.children[k].ended &&
        std::find(deps.begin(), deps.end(), name) != deps.end())
      return true;
  }
  return false;
}

/// Shows child `i`'s state in its metrics (for `sluice status`).
void show_state(supervisor_ptr self, size_t i, const char* state) {
  if (auto& m = self->state.cfg.children[i].metrics)
    m->set_state(state);
}

bool start_child(supervisor_ptr self, size_t i) {
  auto& st = self->state;
  auto& spec = st.cfg.children[i];
  auto handle = spec.start(self->system(), st.handles);
  if (!handle) {
    log().error("{}: cannot start {}", st.cfg.name, spec.name);
    return false;
  }
  self->monitor(handle);
  st.children[i].handle = handle;
  st.children[i].running = true;
  st.children[i].ended = false;
  st.handles[spec.name] = handle;
  show_state(self, i, "running");
  return true;
}

void next_phase(supervisor_ptr self);

/// Asks child `i` to stop, to drain first when the stop drains and it can.
void ask_to_stop(supervisor_ptr self, size_t i) {
  auto& st = self->state;
  if (st.drain && st.cfg.children[i].drains)
    self->send(st.children[i].handle, stop_atom::value, drain_atom::value);
  else
    self->send(st.children[i].handle, stop_atom::value);
}

void escalate(supervisor_ptr self, caf::error err) {
  auto& st = self->state;
  st.failure = std::move(err);
  st.stopping = true;
  for (auto& c : st.children)
    if (c.running)
      self->send_exit(c.handle, caf::exit_reason::kill);
  self->quit(st.failure);
}

int64_t backoff_ms(const restart_policy& p, size_t failures) {
  auto ms = p.initial_backoff_ms;
  for (size_t i = 1; i < failures && ms < p.max_backoff_ms; ++i)
    ms *= 2;
  return std::min(ms, p.max_backoff_ms);
}

void restart(supervisor_ptr self, size_t i) {
  auto& st = self->state;
  auto& spec = st.cfg.children[i];
  // Stop the dependents first: they hold the old handle.
  std::vector<size_t> deps;
  for (auto& dep : spec.dependents) {
    auto j = index_of(self, dep);
    if (j == st.children.size())
      continue;
    deps.push_back(j);
    auto& c = st.children[j];
    ++c.generation;
    if (c.running) {
      c.replaced.insert(c.handle.address());
      self->send_exit(c.handle, caf::exit_reason::user_shutdown);
      c.running = false;
    }
  }
  if (spec.metrics)
    spec.metrics->restarts.fetch_add(1, std::memory_order_relaxed);
  log().info("{}: restarting {}", st.cfg.name, spec.name);
  if (!start_child(self, i)) {
    escalate(self, make_error(supervisor_errc::max_restarts_exceeded,
                              "cannot restart " + spec.name));
    return;
  }
  for (auto j : deps) {
    if (st.children[j].ended)
      continue;
    if (auto& m = st.cfg.children[j].metrics)
      m->restarts.fetch_add(1, std::memory_order_relaxed);
    if (!start_child(self, j))
      continue;
    // During a stop, a dependent whose phase was already asked to stop (a
    // source restarted with its channel while the sources stop) is asked
    // again at once: it must not run on until the phase times out.
    if (st.stopping && st.cfg.children[j].stop_phase <= st.phase)
      ask_to_stop(self, j);
  }
}

void on_child_failed(supervisor_ptr self, size_t i, const caf::error& reason) {
  auto& st = self->state;
  auto& spec = st.cfg.children[i];
  auto& c = st.children[i];
  if (is_permanent(reason)) {
    auto msg = spec.name +
               " failed with an error no restart can cure: " + describe(reason);
    log().critical("{}: giving up: {}", st.cfg.name, msg);
    show_state(self, i, "failed");
    escalate(self, make_error(supervisor_errc::permanent_failure, msg));
    return;
  }
  auto now = clock::now();
  auto window = std::chrono::milliseconds{st.cfg.policy.window_ms};
  while (!c.failures.empty() && now - c.failures.front() > window)
    c.failures.pop_front();
  c.failures.push_back(now);
  if (static_cast<int64_t>(c.failures.size()) > st.cfg.policy.max_restarts) {
    auto msg = spec.name + " failed " + std::to_string(c.failures.size()) +
               " times within " + std::to_string(st.cfg.policy.window_ms) +
               " ms; last error: " + describe(reason);
    log().critical("{}: giving up: {}", st.cfg.name, msg);
    show_state(self, i, "failed");
    escalate(self, make_error(supervisor_errc::max_restarts_exceeded, msg));
    return;
  }
  show_state(self, i, "restarting");
  auto delay = backoff_ms(st.cfg.policy, c.failures.size());
  log().warn("{}: {} failed ({}); restart {} in {} ms", st.cfg.name, spec.name,
             describe(reason), c.failures.size(), delay);
  self->delayed_send(self, std::chrono::milliseconds{delay},
                     restart_atom::value, uint64_t{i}, c.generation);
}

bool phase_done(supervisor_ptr self, int phase) {
  auto& st = self->state;
  for (size_t i = 0; i < st.children.size(); ++i)
    if (st.cfg.children[i].stop_phase == phase && st.children[i].running)
      return false;
  return true;
}

void begin_stop(supervisor_ptr self, bool drain) {
  auto& st = self->state;
  if (st.stopping)
    return;
  st.stopping = true;
  st.drain = drain;
  next_phase(self);
}

void next_phase(supervisor_ptr self) {
  auto& st = self->state;
  for (;;) {
    // The lowest phase with a running child.
    int phase = -1;
    for (size_t i = 0; i < st.children.size(); ++i)
      if (st.children[i].running &&
          (phase < 0 || st.cfg.children[i].stop_phase < phase))
        phase = st.cfg.children[i].stop_phase;
    if (phase < 0) {
      self->quit(st.failure);
      return;
    }
    st.phase = phase;
    for (size_t i = 0; i < st.children.size(); ++i) {
      if (!st.children[i].running || st.cfg.children[i].stop_phase != phase)
        continue;
      ask_to_stop(self, i);
    }
    self->delayed_send(self, std::chrono::milliseconds{st.cfg.phase_timeout_ms},
                       timeout_atom::value, phase);
    return;
  }
}

bool finish_phase_ended(supervisor_ptr self) {
  auto& st = self->state;
  if (st.cfg.finish_phase < 0)
    return false;
  bool any = false;
  for (size_t i = 0; i < st.children.size(); ++i) {
    if (st.cfg.children[i].stop_phase != st.cfg.finish_phase)
      continue;
    any = true;
    if (!st.children[i].ended)
      return false;
  }
  return any;
}

caf::behavior supervisor_impl(supervisor_ptr self, supervisor_config cfg) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  st.children.resize(st.cfg.children.size());
  for (size_t i = 0; i < st.children.size(); ++i) {
    if (!start_child(self, i)) {
      escalate(self, make_error(supervisor_errc::max_restarts_exceeded,
                                "cannot start " + st.cfg.children[i].name));
      return {};
    }
  }
  self->set_down_handler([self](caf::down_msg& msg) {
    auto& st = self->state;
    auto i = index_of(self, msg.source);
    if (i == st.children.size()) {
      // A replaced child's old incarnation, or a stranger.
      return;
    }
    auto& c = st.children[i];
    c.running = false;
    if (c.replaced.erase(msg.source) > 0)
      return;
    show_state(self, i, st.stopping || !msg.reason ? "stopped" : "restarting");
    if (st.stopping) {
      auto failed = msg.reason && msg.reason != caf::exit_reason::user_shutdown;
      // A child whose phase was not asked to stop yet (a sink while its
      // channel drains) is still needed: it restarts as usual.
      if (failed && st.cfg.children[i].stop_phase > st.phase &&
          !dependency_down(self, i)) {
        on_child_failed(self, i, msg.reason);
        return;
      }
      if (failed && msg.reason == make_error(channel_errc::events_lost)) {
        // The channel logged it; a run that lost events does not end
        // cleanly.
        if (!st.failure)
          st.failure = msg.reason;
      } else if (failed) {
        log().warn("{}: {} ended with {} while stopping", st.cfg.name,
                   st.cfg.children[i].name, describe(msg.reason));
      }
      if (phase_done(self, st.phase))
        next_phase(self);
      return;
    }
    if (!msg.reason) {
      c.ended = true;
      if (finish_phase_ended(self)) {
        log().info("{}: every source has finished; draining and stopping",
                   st.cfg.name);
        begin_stop(self, true);
      }
      return;
    }
    if (dependency_down(self, i)) {
      log().info("{}: {} stopped with its dependency ({})", st.cfg.name,
                 st.cfg.children[i].name, describe(msg.reason));
      return;
    }
    on_child_failed(self, i, msg.reason);
  });
  return {
      [self](get_atom, const std::string& name) -> caf::result<caf::actor> {
        auto& st = self->state;
        auto i = index_of(self, name);
        if (i == st.children.size() || !st.children[i].running)
          return caf::make_error(caf::sec::invalid_argument,
                                 "no running child named " + name);
        return st.children[i].handle;
      },
      [self](restart_atom, uint64_t i, uint64_t generation) {
        auto& st = self->state;
        if (i >= st.children.size())
          return;
        // During a stop, only children whose phase is still to come restart.
        if (st.stopping && st.cfg.children[i].stop_phase <= st.phase)
          return;
        auto& c = st.children[i];
        if (c.running || c.generation != generation || dependency_down(self, i))
          return;
        ++c.generation;
        restart(self, i);
      },
      [self](stop_atom) { begin_stop(self, false); },
      [self](timeout_atom, int phase) {
        auto& st = self->state;
        if (!st.stopping || st.phase != phase)
          return;
        for (size_t i = 0; i < st.children.size(); ++i) {
          if (st.children[i].running &&
              st.cfg.children[i].stop_phase == phase) {
            log().warn("{}: {} did not stop in time; killing it", st.cfg.name,
                       st.cfg.children[i].name);
            self->send_exit(st.children[i].handle, caf::exit_reason::kill);
          }
        }
      },
  };
}

} // namespace

caf::actor spawn_supervisor(caf::actor_system& sys, supervisor_config cfg) {
  return sys.spawn(supervisor_impl, std::move(cfg));
}

} // namespace sluice
