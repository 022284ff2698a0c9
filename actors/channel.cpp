#include "actors/channel.hpp"

#include <algorithm>
#include <chrono>
#include <deque>
#include <map>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <fmt/format.h>

#include "runtime/atoms.hpp"
#include "runtime/errors.hpp"
#include "runtime/log.hpp"

namespace sluice {

namespace {

using namespace std::chrono_literals;

/// The channel's own messages (timers), beside its public interface.
using channel_impl_actor = channel_actor::extend<caf::reacts_to<sync_atom>,
                                                 caf::reacts_to<timeout_atom>,
                                                 caf::reacts_to<tick_atom>>;

struct attached_source {
  source_feedback_actor handle;
  std::string name;      ///< the source's component name; may be empty
  uint64_t window = 0;   ///< credit the source wants outstanding
  uint64_t granted = 0;  ///< credit given and not yet used by puts
  uint64_t last_seq = 0; ///< seq of its newest put
  bool over_credit_logged = false; ///< logs its first put over credit only
};

struct pending_ack {
  source_feedback_actor source;
  uint64_t seq = 0;
  std::string source_name;
  std::string progress; ///< the source's token after this batch, if any
};

struct pending_progress {
  std::string source_name;
  caf::response_promise promise;
};

struct pending_put {
  source_feedback_actor source;
  uint64_t seq = 0;
  event_batch batch;
  std::string source_name; ///< empty for a source attached without one
  std::string progress;    ///< where the source resumes after this batch
};

struct lease_info {
  caf::actor_addr owner;
  uint64_t events = 0;
  uint64_t bytes = 0;
};

struct pending_take {
  caf::actor_addr sink;
  uint64_t max_events = 0;
  caf::response_promise promise;
};

/// Everything a channel actor owns. The store holds the events; the rest is
/// bookkeeping of who may send and who waits.
struct channel_state {
  channel_config cfg;
  channel_store_ptr store;
  std::vector<attached_source> sources;
  size_t next_grant = 0;             ///< the source `grant_all` serves first
  std::vector<pending_ack> to_ack;   ///< appended, awaiting sync
  std::deque<pending_put> unwritten; ///< accepted, not yet appended
  std::deque<pending_take> takes;    ///< sinks waiting for data
  std::map<uint64_t, lease_info> leases;
  /// Where each source resumes: the token of its newest batch made durable
  /// (a durable store keeps it too).
  std::map<std::string, std::string> progress;
  /// Progress requests waiting until the source's earlier puts are durable.
  std::vector<pending_progress> progress_waiters;
  std::vector<caf::actor_addr> monitored_sinks;
  bool sync_scheduled = false;
  bool dirty = false; ///< commits not yet persisted by a sync
  bool retry_scheduled = false;
  bool stopping = false;
  bool draining = false; ///< a stop that waits for every event to leave
  bool room_warned = false;
  bool room_check_scheduled = false;
  std::chrono::steady_clock::time_point stop_deadline;
  static inline const char* name = "sluice.channel";
};

using channel_ptr = channel_impl_actor::stateful_pointer<channel_state>;

void update_gauges(channel_ptr self) {
  auto& st = self->state;
  st.cfg.metrics->fill_events.store(st.store->events(),
                                    std::memory_order_relaxed);
  st.cfg.metrics->fill_bytes.store(st.store->bytes(),
                                   std::memory_order_relaxed);
  st.cfg.metrics->sources_attached.store(st.sources.size(),
                                         std::memory_order_relaxed);
}

uint64_t outstanding_credit(const channel_state& st) {
  uint64_t n = 0;
  for (auto& s : st.sources)
    n += s.granted;
  return n;
}

/// Credit this channel can still give without passing its capacity.
uint64_t free_credit(channel_ptr self) {
  auto& st = self->state;
  if (st.stopping)
    return 0;
  auto held = st.store->events();
  for (auto& p : st.unwritten)
    held += p.batch.size();
  auto used = held + outstanding_credit(st);
  if (used >= st.cfg.capacity || st.store->bytes() >= st.cfg.byte_capacity)
    return 0;
  std::string why;
  auto need = st.cfg.transaction_capacity * 128;
  if (!st.store->has_room(need, why) &&
      (st.store->make_room(), !st.store->has_room(need, why))) {
    if (st.store->broken()) {
      log().error("channel {}: its store failed; restarting from the log",
                  st.cfg.name);
      self->quit(make_error(channel_errc::io_error, "store failed"));
      return 0;
    }
    if (!st.room_warned) {
      log().error("channel {}: {}; pausing its sources until space frees",
                  st.cfg.name, why);
      st.cfg.metrics->errors.fetch_add(1, std::memory_order_relaxed);
      st.room_warned = true;
    }
    // Space may come back without a commit here (another program freed
    // it): look again in a second.
    if (!st.room_check_scheduled) {
      st.room_check_scheduled = true;
      self->delayed_send(self, std::chrono::seconds{1}, tick_atom::value);
    }
    return 0;
  }
  if (st.room_warned) {
    log().info("channel {}: space available again; resuming sources",
               st.cfg.name);
    st.room_warned = false;
  }
  return st.cfg.capacity - used;
}

/// Tops up `src` to its window within free capacity; returns the grant.
/// No source's window passes its share of the capacity, so credit an idle
/// source holds never starves the others.
uint64_t top_up(channel_ptr self, attached_source& src) {
  auto& st = self->state;
  auto sources = std::max(st.cfg.expected_sources, st.sources.size());
  auto share = std::max<uint64_t>(1, st.cfg.capacity / sources);
  auto window = std::min(src.window, share);
  if (src.granted >= window)
    return 0;
  auto grant = std::min(window - src.granted, free_credit(self));
  src.granted += grant;
  return grant;
}

void grant_all(channel_ptr self) {
  auto& st = self->state;
  auto n = st.sources.size();
  // Start where the last round stopped, so scarce credit goes round.
  for (size_t k = 0; k < n; ++k) {
    auto& src = st.sources[(st.next_grant + k) % n];
    if (auto c = top_up(self, src); c > 0)
      self->send(src.handle, credit_atom::value, c);
  }
  if (n > 0)
    st.next_grant = (st.next_grant + 1) % n;
}

attached_source* find_source(channel_ptr self, const caf::actor_addr& addr) {
  for (auto& s : self->state.sources)
    if (s.handle.address() == addr)
      return &s;
  return nullptr;
}

attached_source* find_source(channel_ptr self,
                             const caf::strong_actor_ptr& sender) {
  return find_source(self, caf::actor_cast<caf::actor_addr>(sender));
}

std::string display_name(const attached_source& s) {
  return s.name.empty() ? "(unnamed)" : "'" + s.name + "'";
}

/// Answers a message that breaks the protocol: logged, counted, and sent
/// back to its sender as `channel_errc::protocol`.
caf::error refuse(channel_ptr self, std::string why) {
  auto& st = self->state;
  st.cfg.metrics->protocol_errors.fetch_add(1, std::memory_order_relaxed);
  st.cfg.metrics->errors.fetch_add(1, std::memory_order_relaxed);
  log().error("channel {}: protocol violation, refused: {}", st.cfg.name, why);
  return make_error(channel_errc::protocol, std::move(why));
}

void maybe_finish_stop(channel_ptr self);

void serve_takes(channel_ptr self) {
  auto& st = self->state;
  if (st.stopping && !st.draining) {
    // A persisting stop hands out nothing more; the sinks stop.
    for (auto& t : st.takes)
      t.promise.deliver(lease{});
    st.takes.clear();
    return;
  }
  while (!st.takes.empty() && st.store->takeable_events() > 0) {
    auto take = std::move(st.takes.front());
    st.takes.pop_front();
    auto l = st.store->take(take.max_events);
    if (!l) {
      log().error("channel {}: cannot read queued events: {}", st.cfg.name,
                  describe(l.error()));
      st.cfg.metrics->errors.fetch_add(1, std::memory_order_relaxed);
      take.promise.deliver(l.error());
      continue;
    }
    st.leases.emplace(
        l->id, lease_info{take.sink, l->batches.events(), l->batches.bytes()});
    take.promise.deliver(std::move(*l));
  }
}

void schedule_sync(channel_ptr self) {
  if (!self->state.sync_scheduled) {
    self->state.sync_scheduled = true;
    self->send(self, sync_atom::value);
  }
}

/// Appends accepted puts to the store; stops at the first failure (disk
/// full) and keeps the rest in memory for a retry.
void append_unwritten(channel_ptr self) {
  auto& st = self->state;
  while (!st.unwritten.empty()) {
    auto& p = st.unwritten.front();
    auto events = p.batch.size();
    auto bytes = p.batch.byte_size();
    auto err =
        p.progress.empty() || p.source_name.empty()
            ? st.store->append(std::move(p.batch))
            : st.store->append(std::move(p.batch), p.source_name, p.progress);
    if (err) {
      st.cfg.metrics->errors.fetch_add(1, std::memory_order_relaxed);
      if (st.store->broken()) {
        log().error("channel {}: {}; restarting from the log", st.cfg.name,
                    describe(err));
        self->quit(err);
        return;
      }
      log().error("channel {}: cannot store a batch: {}; holding {} batch(es) "
                  "in memory and retrying",
                  st.cfg.name, describe(err), st.unwritten.size());
      if (!st.retry_scheduled) {
        st.retry_scheduled = true;
        self->delayed_send(self, 500ms, sync_atom::value);
      }
      return;
    }
    st.cfg.metrics->add_in(events, bytes);
    st.to_ack.push_back({std::move(p.source), p.seq, std::move(p.source_name),
                         std::move(p.progress)});
    st.unwritten.pop_front();
  }
}

/// True while a put of source `name` is not yet durable.
bool has_pending_puts(const channel_state& st, const std::string& name) {
  return std::any_of(st.unwritten.begin(), st.unwritten.end(),
                     [&](auto& p) { return p.source_name == name; }) ||
         std::any_of(st.to_ack.begin(), st.to_ack.end(),
                     [&](auto& a) { return a.source_name == name; });
}

std::string progress_of(const channel_state& st, const std::string& name) {
  auto i = st.progress.find(name);
  return i == st.progress.end() ? std::string{} : i->second;
}

/// Answers the progress requests whose source has nothing in flight (or
/// all of them, when `all`).
void serve_progress(channel_ptr self, bool all = false) {
  auto& st = self->state;
  auto& ws = st.progress_waiters;
  for (auto i = ws.begin(); i != ws.end();) {
    if (!all && has_pending_puts(st, i->source_name)) {
      ++i;
      continue;
    }
    i->promise.deliver(progress_of(st, i->source_name));
    i = ws.erase(i);
  }
}

void do_sync(channel_ptr self) {
  auto& st = self->state;
  st.sync_scheduled = false;
  st.retry_scheduled = false;
  append_unwritten(self);
  if (st.to_ack.empty() && !st.dirty)
    return;
  if (auto err = st.store->sync()) {
    // After a failed fdatasync the kernel may have dropped the pages, and
    // a second try can report success for data that never reached the
    // disk: no ack goes out; the channel fails and its restart recovers
    // from what the log really holds.
    st.cfg.metrics->errors.fetch_add(1, std::memory_order_relaxed);
    log().error("channel {}: sync failed: {}; restarting from the log",
                st.cfg.name, describe(err));
    self->quit(err);
    return;
  }
  st.dirty = false;
  for (auto& a : st.to_ack) {
    if (!a.progress.empty() && !a.source_name.empty())
      st.progress[a.source_name] = std::move(a.progress);
    auto* src = find_source(self, a.source.address());
    uint64_t grant = src ? top_up(self, *src) : 0;
    self->send(a.source, ack_atom::value, a.seq, grant);
  }
  st.to_ack.clear();
  serve_progress(self);
  update_gauges(self);
  serve_takes(self);
}

/// Forgets rolled-back lease `id` and counts its events as redelivered.
void count_rollback(channel_ptr self, uint64_t id) {
  auto& st = self->state;
  auto& m = *st.cfg.metrics;
  m.rollbacks.fetch_add(1, std::memory_order_relaxed);
  if (auto i = st.leases.find(id); i != st.leases.end()) {
    m.redelivered.fetch_add(i->second.events, std::memory_order_relaxed);
    st.leases.erase(i);
  }
}

void rollback_leases_of(channel_ptr self, const caf::actor_addr& sink) {
  auto& st = self->state;
  std::vector<uint64_t> ids;
  for (auto& [id, info] : st.leases)
    if (info.owner == sink)
      ids.push_back(id);
  // Roll back newest first so the oldest ends up at the head.
  for (auto i = ids.rbegin(); i != ids.rend(); ++i) {
    if (auto err = st.store->rollback(*i))
      log().error("channel {}: rollback of lease {} failed: {}", st.cfg.name,
                  *i, describe(err));
    count_rollback(self, *i);
  }
  st.takes.erase(std::remove_if(st.takes.begin(), st.takes.end(),
                                [&](auto& t) { return t.sink == sink; }),
                 st.takes.end());
}

void finish_stop(channel_ptr self) {
  auto& st = self->state;
  append_unwritten(self);
  if (auto err = st.store->sync()) {
    // Nothing is acked: sources keep their positions for the next run.
    log().error("channel {}: final sync failed: {}", st.cfg.name,
                describe(err));
    st.cfg.metrics->errors.fetch_add(1, std::memory_order_relaxed);
    self->quit(err);
    return;
  }
  for (auto& a : st.to_ack) {
    if (!a.progress.empty() && !a.source_name.empty())
      st.progress[a.source_name] = std::move(a.progress);
    self->send(a.source, ack_atom::value, a.seq, uint64_t{0});
  }
  st.to_ack.clear();
  // Leased events count too: a sink still holding a lease at the end of
  // the drain never commits it.
  auto left = st.store->events();
  caf::error lost;
  if (left > 0 && st.cfg.drain_on_stop) {
    // Nothing keeps them: the run must not end as a clean stop.
    lost =
        make_error(channel_errc::events_lost,
                   std::to_string(left) +
                       " undelivered event(s) lost in channel " + st.cfg.name +
                       " (memory channel; not drained within "
                       "drain_timeout)");
    log().error("channel {}: {}", st.cfg.name, describe(lost));
    st.cfg.metrics->errors.fetch_add(1, std::memory_order_relaxed);
  } else if (left > 0) {
    log().info("channel {}: {} event(s) persisted for the next run",
               st.cfg.name, left);
  }
  for (auto& t : st.takes)
    t.promise.deliver(lease{});
  st.takes.clear();
  serve_progress(self, true);
  update_gauges(self);
  st.store->close();
  self->quit(lost);
}

void maybe_finish_stop(channel_ptr self) {
  auto& st = self->state;
  if (!st.stopping)
    return;
  bool drained = st.draining ? st.store->events() == 0 && st.unwritten.empty()
                             : st.leases.empty();
  if (drained || std::chrono::steady_clock::now() >= st.stop_deadline)
    finish_stop(self);
}

void begin_stop(channel_ptr self, bool drain) {
  auto& st = self->state;
  if (st.stopping)
    return;
  st.stopping = true;
  st.draining = drain;
  auto timeout = std::chrono::milliseconds{st.cfg.drain_timeout_ms};
  st.stop_deadline = std::chrono::steady_clock::now() + timeout;
  self->delayed_send(self, timeout, timeout_atom::value);
  serve_takes(self);
  maybe_finish_stop(self);
}

caf::result<uint64_t> attach(channel_ptr self, uint64_t window,
                             std::string name) {
  auto& st = self->state;
  auto src = caf::actor_cast<source_feedback_actor>(self->current_sender());
  if (!src)
    return make_error(channel_errc::stopped, "anonymous source");
  if (st.stopping)
    return make_error(channel_errc::stopped, st.cfg.name + " is stopping");
  auto* s = find_source(self, src.address());
  if (s != nullptr) {
    // Attached again: the same registration with its new name and window.
    s->name = std::move(name);
    s->window = window;
  } else {
    self->monitor(src);
    s = &st.sources.emplace_back(
        attached_source{src, std::move(name), window, 0});
  }
  auto credit = top_up(self, *s);
  update_gauges(self);
  return credit;
}

caf::result<void> put(channel_ptr self, uint64_t seq, event_batch batch,
                      std::string progress) {
  auto& st = self->state;
  auto* s = find_source(self, self->current_sender());
  if (s == nullptr)
    return refuse(self, "a put from an actor that has not attached (seq " +
                            std::to_string(seq) + ")");
  if (seq <= s->last_seq)
    return refuse(self, fmt::format("source {}: a put with seq {} after seq "
                                    "{}; seq must increase",
                                    display_name(*s), seq, s->last_seq));
  s->last_seq = seq;
  if (batch.size() > s->granted) {
    // The events exist already: refusing them would lose them. Credit
    // bounds the channel only while sources keep it, so it is counted.
    st.cfg.metrics->protocol_errors.fetch_add(1, std::memory_order_relaxed);
    if (!s->over_credit_logged) {
      s->over_credit_logged = true;
      log().error("channel {}: protocol violation: source {} put {} event(s) "
                  "holding credit for {}; accepted (further ones are only "
                  "counted)",
                  st.cfg.name, display_name(*s), batch.size(), s->granted);
    }
  }
  s->granted -= std::min<uint64_t>(s->granted, batch.size());
  auto name = progress.empty() ? std::string{} : s->name;
  st.unwritten.push_back(
      {s->handle, seq, std::move(batch), std::move(name), std::move(progress)});
  if (st.unwritten.size() == 1)
    append_unwritten(self);
  schedule_sync(self);
  serve_takes(self);
  return caf::unit;
}

/// Checks that the sender of a commit or rollback holds lease `id`.
bool holds_lease(channel_ptr self, uint64_t id, const char* what) {
  auto& st = self->state;
  auto i = st.leases.find(id);
  auto sender = caf::actor_cast<caf::actor_addr>(self->current_sender());
  if (i != st.leases.end() && i->second.owner == sender)
    return true;
  st.cfg.metrics->protocol_errors.fetch_add(1, std::memory_order_relaxed);
  st.cfg.metrics->errors.fetch_add(1, std::memory_order_relaxed);
  log().error("channel {}: protocol violation: a {} of lease {}, which {}; "
              "ignored",
              st.cfg.name, what, id,
              i == st.leases.end() ? "is not open" : "another taker holds");
  return false;
}

channel_impl_actor::behavior_type channel_impl(channel_ptr self,
                                               channel_config cfg) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  auto store = st.cfg.make_store();
  if (!store) {
    log().error("channel {}: cannot open: {}", st.cfg.name,
                describe(store.error()));
    self->quit(store.error());
    return channel_impl_actor::behavior_type::make_empty_behavior();
  }
  st.store = std::move(*store);
  if (auto err = st.store->open()) {
    log().error("channel {}: cannot open: {}", st.cfg.name, describe(err));
    self->quit(err);
    return channel_impl_actor::behavior_type::make_empty_behavior();
  }
  st.cfg.metrics->capacity.store(st.cfg.capacity, std::memory_order_relaxed);
  st.cfg.metrics->recovered.fetch_add(st.store->recovered_events(),
                                      std::memory_order_relaxed);
  st.cfg.metrics->damaged_spans.fetch_add(st.store->damaged_spans(),
                                          std::memory_order_relaxed);
  st.cfg.metrics->damaged_bytes.fetch_add(st.store->damaged_bytes(),
                                          std::memory_order_relaxed);
  st.progress = st.store->recovered_progress();
  update_gauges(self);
  self->set_down_handler([self](caf::down_msg& msg) {
    auto& st = self->state;
    auto& srcs = st.sources;
    srcs.erase(std::remove_if(
                   srcs.begin(), srcs.end(),
                   [&](auto& s) { return s.handle.address() == msg.source; }),
               srcs.end());
    rollback_leases_of(self, msg.source);
    auto& ms = st.monitored_sinks;
    ms.erase(std::remove(ms.begin(), ms.end(), msg.source), ms.end());
    grant_all(self);
    serve_takes(self);
    update_gauges(self);
    maybe_finish_stop(self);
  });
  return {
      [self](attach_atom, uint64_t window,
             std::string& name) -> caf::result<uint64_t> {
        return attach(self, window, std::move(name));
      },
      [self](progress_atom,
             const std::string& name) -> caf::result<std::string> {
        // A restarted source waits until what its previous run put is
        // durable, so it resumes after all of it.
        auto& st = self->state;
        if (!has_pending_puts(st, name))
          return progress_of(st, name);
        auto rp = self->make_response_promise();
        st.progress_waiters.push_back({name, rp});
        return rp;
      },
      [self](put_atom, uint64_t seq, event_batch& batch,
             std::string& progress) -> caf::result<void> {
        return put(self, seq, std::move(batch), std::move(progress));
      },
      [self](sync_atom) {
        do_sync(self);
        maybe_finish_stop(self);
      },
      [self](take_atom, uint64_t max_events) -> caf::result<lease> {
        auto& st = self->state;
        auto sink = self->current_sender();
        auto addr = caf::actor_cast<caf::actor_addr>(sink);
        if (std::find(st.monitored_sinks.begin(), st.monitored_sinks.end(),
                      addr) == st.monitored_sinks.end()) {
          self->monitor(sink);
          st.monitored_sinks.push_back(addr);
        }
        max_events =
            std::clamp<uint64_t>(max_events, 1, st.cfg.transaction_capacity);
        if (st.stopping && !st.draining)
          return lease{};
        if (st.store->takeable_events() == 0) {
          if (st.stopping && st.store->queued_events() == 0)
            return lease{};
          auto rp = self->make_response_promise();
          st.takes.push_back({addr, max_events, rp});
          return rp;
        }
        auto l = st.store->take(max_events);
        if (!l)
          return l.error();
        st.leases.emplace(
            l->id, lease_info{addr, l->batches.events(), l->batches.bytes()});
        return std::move(*l);
      },
      [self](commit_atom, uint64_t id) {
        auto& st = self->state;
        if (!holds_lease(self, id, "commit"))
          return;
        if (auto err = st.store->commit(id)) {
          st.cfg.metrics->errors.fetch_add(1, std::memory_order_relaxed);
          log().error("channel {}: commit of lease {} failed: {}", st.cfg.name,
                      id, describe(err));
        }
        if (auto i = st.leases.find(id); i != st.leases.end()) {
          st.cfg.metrics->add_out(i->second.events, i->second.bytes);
          st.leases.erase(i);
        }
        st.dirty = true;
        schedule_sync(self);
        grant_all(self);
        update_gauges(self);
        maybe_finish_stop(self);
      },
      [self](rollback_atom, uint64_t id) {
        auto& st = self->state;
        if (!holds_lease(self, id, "rollback"))
          return;
        if (auto err = st.store->rollback(id))
          log().error("channel {}: rollback of lease {} failed: {}",
                      st.cfg.name, id, describe(err));
        count_rollback(self, id);
        serve_takes(self);
      },
      [self](stop_atom) { begin_stop(self, self->state.cfg.drain_on_stop); },
      [self](stop_atom, drain_atom) { begin_stop(self, true); },
      [self](timeout_atom) { maybe_finish_stop(self); },
      [self](tick_atom) {
        self->state.room_check_scheduled = false;
        grant_all(self);
      },
  };
}

} // namespace

channel_actor spawn_channel(caf::actor_system& sys, channel_config cfg,
                            bool detached) {
  if (detached)
    return sys.spawn<caf::detached>(channel_impl, std::move(cfg));
  return sys.spawn(channel_impl, std::move(cfg));
}

} // namespace sluice
