#include "actors/sink_group.hpp"

#include <algorithm>
#include <deque>
#include <map>
#include <optional>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/stateful_actor.hpp>

#include "runtime/atoms.hpp"
#include "runtime/errors.hpp"
#include "runtime/lease.hpp"
#include "runtime/log.hpp"

namespace sluice {

namespace {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

/// A member's take, answered when a lease is handed to it.
struct pending_take {
  caf::response_promise promise;
  uint64_t max_events = 0;
};

/// A running (or not) member of the group.
struct member_slot {
  caf::actor handle;              ///< invalid while it is not running
  std::deque<pending_take> takes; ///< its takes not answered yet, in order
  std::vector<uint64_t> holding;  ///< leases handed to it, oldest first
  uint64_t generation = 0;        ///< bumped per failure; stale timers check it
};

/// A channel lease the group holds, handed to a member or parked.
struct held_lease {
  lease value;
  bool failed_before = false; ///< a member rolled it back or died with it
};

struct group_state {
  sink_group_config cfg;
  std::unique_ptr<sink_group_policy> policy;
  std::vector<member_slot> slots;
  std::map<uint64_t, held_lease> leases;
  std::deque<uint64_t> parked; ///< leases waiting for a member, oldest first
  size_t outstanding = 0;      ///< takes sent to the channel, unanswered
  bool stopping = false;
  bool channel_gone = false;
  std::optional<size_t> active;
  std::optional<size_t> last_active; ///< the last member leases went to
  bool started = false;
  static inline const char* name = "sluice.sink_group";
};

using group_ptr = caf::stateful_actor<group_state>*;

void count(const std::shared_ptr<component_metrics>& m,
           std::atomic<uint64_t> component_metrics::*field, uint64_t n = 1) {
  if (m)
    ((*m).*field).fetch_add(n, std::memory_order_relaxed);
}

const std::string& member_name(group_ptr self, size_t i) {
  return self->state.cfg.members[i].name;
}

/// Copies the policy's view into the metrics and counts switches.
void publish(group_ptr self) {
  auto& st = self->state;
  for (size_t i = 0; i < st.slots.size(); ++i) {
    auto& m = st.cfg.members[i].metrics;
    if (!m)
      continue;
    auto& status = st.policy->member(i);
    m->set_group_state(st.cfg.name, to_string(status.state));
    m->failures.store(status.failures, std::memory_order_relaxed);
    m->penalty_ms.store(status.penalty.count(), std::memory_order_relaxed);
  }
  auto active = st.policy->active();
  std::string text;
  if (active) {
    text = member_name(self, *active);
  } else {
    for (size_t i = 0; i < st.slots.size(); ++i)
      if (st.policy->member(i).state == member_state::live)
        text += (text.empty() ? "" : ",") + member_name(self, i);
  }
  if (st.cfg.metrics)
    st.cfg.metrics->set_active(text);
  if (active != st.active) {
    if (st.started && active && active != st.last_active) {
      count(st.cfg.metrics, &component_metrics::switches);
      log().warn("sink group {}: leases go to {} now{}", st.cfg.name,
                 member_name(self, *active),
                 st.last_active
                     ? " (was " + member_name(self, *st.last_active) + ")"
                     : "");
    } else if (st.started && !active && st.active) {
      log().error("sink group {}: every member is down; holding leases, "
                  "taking no more",
                  st.cfg.name);
    }
    st.active = active;
    if (active)
      st.last_active = active;
  }
}

std::optional<size_t> index_of(group_ptr self, const caf::actor_addr& addr) {
  auto& slots = self->state.slots;
  for (size_t i = 0; i < slots.size(); ++i)
    if (slots[i].handle && slots[i].handle.address() == addr)
      return i;
  return std::nullopt;
}

/// Forgets lease `id` of `slot`; false when the member does not hold it.
bool release(member_slot& slot, uint64_t id) {
  auto i = std::find(slot.holding.begin(), slot.holding.end(), id);
  if (i == slot.holding.end())
    return false;
  slot.holding.erase(i);
  return true;
}

void hand(group_ptr self, size_t i, uint64_t id) {
  auto& st = self->state;
  auto& slot = st.slots[i];
  auto& held = st.leases.at(id);
  if (held.failed_before) {
    held.failed_before = false;
    count(st.cfg.metrics, &component_metrics::rerouted);
    count(st.cfg.metrics, &component_metrics::redelivered,
          held.value.batches.events());
    log().info("sink group {}: lease {} rerouted to {}", st.cfg.name, id,
               member_name(self, i));
  }
  slot.holding.push_back(id);
  auto promise = std::move(slot.takes.front().promise);
  slot.takes.pop_front();
  promise.deliver(held.value);
}

void take_from_channel(group_ptr self, uint64_t max_events);

/// Hands parked leases to ready members, then takes from the channel for
/// the eligible members still waiting.
void dispatch(group_ptr self) {
  auto& st = self->state;
  if (st.stopping)
    return;
  auto ready = [&] {
    std::vector<bool> r(st.slots.size());
    for (size_t i = 0; i < st.slots.size(); ++i)
      r[i] = st.slots[i].handle && !st.slots[i].takes.empty();
    return r;
  };
  while (!st.parked.empty()) {
    auto chosen = st.policy->choose(ready());
    if (!chosen)
      break;
    auto id = st.parked.front();
    st.parked.pop_front();
    hand(self, *chosen, id);
  }
  if (!st.parked.empty() || st.channel_gone)
    return;
  auto r = ready();
  size_t demand = 0;
  uint64_t n = 0;
  for (size_t i = 0; i < r.size(); ++i)
    if (r[i] && st.policy->eligible(i))
      for (auto& t : st.slots[i].takes) {
        ++demand;
        n = n == 0 ? t.max_events : std::min(n, t.max_events);
      }
  while (st.outstanding < demand) {
    ++st.outstanding;
    take_from_channel(self, n);
  }
}

void begin_stop(group_ptr self);

void take_from_channel(group_ptr self, uint64_t max_events) {
  auto& st = self->state;
  // The channel is local by construction: no timeout.
  self->request(st.cfg.channel, caf::infinite, take_atom::value, max_events)
      .then(
          [self](lease& l) {
            auto& st = self->state;
            --st.outstanding;
            if (l.id == 0) {
              begin_stop(self);
              return;
            }
            if (st.stopping) {
              self->send(st.cfg.channel, rollback_atom::value, l.id);
              return;
            }
            auto id = l.id;
            st.leases.emplace(id, held_lease{std::move(l)});
            st.parked.push_back(id);
            dispatch(self);
          },
          [self](caf::error& err) {
            auto& st = self->state;
            --st.outstanding;
            // A channel that ended is the down handler's business.
            if (err == caf::sec::request_receiver_down || st.stopping)
              return;
            log().error("sink group {}: its channel failed: {}", st.cfg.name,
                        describe(err));
            self->quit(err);
          });
}

void schedule_restart(group_ptr self, size_t i,
                      sink_group_policy::time_point until) {
  auto& st = self->state;
  auto delay = until - clock_type::now();
  if (delay < clock_type::duration::zero())
    delay = clock_type::duration::zero();
  self->delayed_send(self, delay, restart_atom::value, uint64_t{i},
                     st.slots[i].generation);
}

/// Member `i` failed: penalize it and plan its return.
void fail_member(group_ptr self, size_t i, const std::string& why) {
  auto& st = self->state;
  auto until = st.policy->failed(i, clock_type::now());
  auto& status = st.policy->member(i);
  ++st.slots[i].generation;
  count(st.cfg.metrics, &component_metrics::errors);
  log().warn("sink group {}: member {} failed ({}); penalty {} ms after {} "
             "consecutive failure(s)",
             st.cfg.name, member_name(self, i), why, status.penalty.count(),
             status.failures);
  publish(self);
  if (!st.stopping)
    schedule_restart(self, i, until);
}

/// Lease `id` came back from a failed member: the next member gets it.
void reroute(group_ptr self, uint64_t id, bool dispatch_now = true) {
  auto& st = self->state;
  auto i = st.leases.find(id);
  if (i == st.leases.end())
    return;
  i->second.failed_before = true;
  if (st.stopping) {
    if (!st.channel_gone)
      self->send(st.cfg.channel, rollback_atom::value, id);
    st.leases.erase(i);
    return;
  }
  // Parked leases go out in the order the channel handed them out (ids
  // grow), so a reroute keeps the events in order.
  st.parked.insert(std::upper_bound(st.parked.begin(), st.parked.end(), id),
                   id);
  if (dispatch_now)
    dispatch(self);
}

void maybe_finish(group_ptr self) {
  auto& st = self->state;
  if (!st.stopping)
    return;
  for (auto& slot : st.slots)
    if (slot.handle)
      return;
  self->quit();
}

void begin_stop(group_ptr self) {
  auto& st = self->state;
  if (st.stopping)
    return;
  st.stopping = true;
  for (auto& slot : st.slots) {
    for (auto& t : slot.takes)
      t.promise.deliver(lease{});
    slot.takes.clear();
    if (slot.handle)
      self->send(slot.handle, stop_atom::value);
  }
  for (auto id : st.parked) {
    if (!st.channel_gone)
      self->send(st.cfg.channel, rollback_atom::value, id);
    st.leases.erase(id);
  }
  st.parked.clear();
  self->delayed_send(self, 30s, timeout_atom::value);
  maybe_finish(self);
}

void spawn_member(group_ptr self, size_t i) {
  auto& st = self->state;
  auto& spec = st.cfg.members[i];
  auto handle =
      spec.spawn(self->system(), caf::actor_cast<sink_feed_actor>(self));
  if (!handle) {
    fail_member(self, i, "it could not be spawned");
    return;
  }
  self->monitor(handle);
  st.slots[i].handle = std::move(handle);
}

void probe(group_ptr self, size_t i) {
  auto& st = self->state;
  auto generation = st.slots[i].generation;
  st.policy->probing(i);
  publish(self);
  self->request(st.slots[i].handle, st.cfg.probe_timeout, probe_atom::value)
      .then(
          [self, i, generation](bool ok) {
            auto& st = self->state;
            if (st.slots[i].generation != generation ||
                st.policy->member(i).state != member_state::probing)
              return;
            if (!ok) {
              fail_member(self, i, "its probe failed");
              return;
            }
            st.policy->probe_passed(i);
            log().info("sink group {}: member {} passed its probe and is live "
                       "again",
                       st.cfg.name, member_name(self, i));
            publish(self);
            dispatch(self);
          },
          [self, i, generation](caf::error& err) {
            auto& st = self->state;
            if (st.slots[i].generation != generation ||
                st.policy->member(i).state != member_state::probing)
              return;
            // A member that died mid-probe is the down handler's business.
            if (err == caf::sec::request_receiver_down)
              return;
            fail_member(self, i, "its probe failed: " + describe(err));
          });
}

void on_restart(group_ptr self, size_t i, uint64_t generation) {
  auto& st = self->state;
  if (st.stopping || i >= st.slots.size() ||
      st.slots[i].generation != generation ||
      st.policy->member(i).state != member_state::penalized)
    return;
  if (!st.slots[i].handle) {
    count(st.cfg.members[i].metrics, &component_metrics::restarts);
    spawn_member(self, i);
    if (!st.slots[i].handle)
      return;
  }
  probe(self, i);
}

void on_member_down(group_ptr self, size_t i, const caf::error& reason) {
  auto& st = self->state;
  auto& slot = st.slots[i];
  slot.handle = nullptr;
  slot.takes.clear();
  auto ids = std::move(slot.holding);
  slot.holding.clear();
  // A member penalized already (it rolled back first) has its restart
  // planned.
  if (!st.stopping && st.policy->member(i).state != member_state::penalized)
    fail_member(self, i, reason ? "it ended: " + describe(reason) : "it ended");
  for (auto id : ids)
    reroute(self, id, false);
  dispatch(self);
  maybe_finish(self);
}

caf::behavior group_impl(group_ptr self, sink_group_config cfg) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  std::vector<member_status> members;
  for (auto& m : st.cfg.members)
    members.push_back({m.name, m.priority});
  auto policy = st.cfg.make_policy(std::move(members));
  if (!policy) {
    log().error("sink group {}: {}", st.cfg.name, describe(policy.error()));
    self->quit(policy.error());
    return {};
  }
  st.policy = std::move(*policy);
  st.slots.resize(st.cfg.members.size());
  self->monitor(st.cfg.channel);
  self->set_down_handler([self](caf::down_msg& msg) {
    auto& st = self->state;
    if (msg.source == st.cfg.channel.address()) {
      st.channel_gone = true;
      if (st.stopping || !msg.reason ||
          msg.reason == make_error(channel_errc::events_lost)) {
        begin_stop(self);
        return;
      }
      log().warn("sink group {}: its channel is gone", st.cfg.name);
      self->quit(msg.reason);
      return;
    }
    if (auto i = index_of(self, msg.source))
      on_member_down(self, *i, msg.reason);
  });
  publish(self);
  for (size_t i = 0; i < st.slots.size(); ++i)
    spawn_member(self, i);
  st.started = true;
  publish(self);
  return {
      [self](take_atom, uint64_t max_events) -> caf::result<lease> {
        auto& st = self->state;
        auto i = index_of(
            self, caf::actor_cast<caf::actor_addr>(self->current_sender()));
        if (!i)
          return make_error(channel_errc::unknown_lease,
                            "not a member of sink group " + st.cfg.name);
        if (st.stopping)
          return lease{};
        auto& slot = st.slots[*i];
        // A member may hold several leases (a forward sink keeps some in
        // flight); each take is answered with one.
        auto rp = self->make_response_promise();
        slot.takes.push_back(
            pending_take{rp, std::max<uint64_t>(1, max_events)});
        dispatch(self);
        return rp;
      },
      [self](commit_atom, uint64_t id) {
        auto& st = self->state;
        auto i = index_of(
            self, caf::actor_cast<caf::actor_addr>(self->current_sender()));
        if (!i || !release(st.slots[*i], id)) {
          log().error("sink group {}: commit of lease {} it does not hold "
                      "refused",
                      st.cfg.name, id);
          return;
        }
        if (auto l = st.leases.find(id); l != st.leases.end()) {
          if (st.cfg.metrics)
            st.cfg.metrics->add_out(l->second.value.batches.events(),
                                    l->second.value.batches.bytes());
          st.leases.erase(l);
        }
        if (!st.channel_gone)
          self->send(st.cfg.channel, commit_atom::value, id);
        // An older lease committed by a member already penalized again
        // does not undo its penalty.
        if (st.policy->member(*i).failures > 0 &&
            st.policy->member(*i).state == member_state::live) {
          st.policy->succeeded(*i);
          publish(self);
        }
        dispatch(self);
      },
      [self](rollback_atom, uint64_t id) {
        auto& st = self->state;
        auto i = index_of(
            self, caf::actor_cast<caf::actor_addr>(self->current_sender()));
        if (!i || !release(st.slots[*i], id)) {
          log().error("sink group {}: rollback of lease {} it does not hold "
                      "refused",
                      st.cfg.name, id);
          return;
        }
        count(st.cfg.metrics, &component_metrics::rollbacks);
        // A member that fails with several leases rolls each back: one
        // failure, one penalty.
        if (!st.stopping &&
            st.policy->member(*i).state != member_state::penalized)
          fail_member(self, *i, "it rolled back lease " + std::to_string(id));
        reroute(self, id);
      },
      [self](restart_atom, uint64_t i, uint64_t generation) {
        on_restart(self, static_cast<size_t>(i), generation);
      },
      [self](stop_atom) { begin_stop(self); },
      [self](timeout_atom) {
        // Members that outlive the stop's grace period are ended.
        for (auto& slot : self->state.slots)
          if (slot.handle)
            self->send_exit(slot.handle, caf::exit_reason::kill);
        self->quit();
      },
  };
}

} // namespace

caf::actor spawn_sink_group(caf::actor_system& sys, sink_group_config cfg) {
  return sys.spawn(group_impl, std::move(cfg));
}

} // namespace sluice
