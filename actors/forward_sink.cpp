#include "actors/forward_sink.hpp"

#include <algorithm>
#include <chrono>
#include <map>
#include <utility>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/sec.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/forward_source.hpp"
#include "runtime/atoms.hpp"
#include "runtime/cluster_link.hpp"
#include "runtime/errors.hpp"
#include "runtime/forward_request.hpp"
#include "runtime/log.hpp"

namespace sluice {

namespace {

using namespace std::chrono_literals;

struct in_flight_lease {
  uint64_t events = 0;
  uint64_t bytes = 0;
};

struct forward_sink_state {
  forward_sink_config cfg;
  forward_link_actor peer;
  std::map<uint64_t, in_flight_lease> in_flight; ///< by lease id
  size_t takes = 0;                              ///< take requests outstanding
  int64_t backoff_ms = 100; ///< before the next connection attempt
  std::chrono::steady_clock::time_point connect_since;
  bool waiting_logged = false;
  bool stopping = false;
  /// Health checks asked while not connected: answered by the next
  /// connection attempt (a ping once connected, its error otherwise).
  std::vector<caf::response_promise> probes;
  static inline const char* name = "sluice.forward_sink";
};

using fk_ptr = caf::stateful_actor<forward_sink_state>*;

std::string peer_name(const forward_sink_config& cfg) {
  return cfg.host + ":" + std::to_string(cfg.port);
}

/// Shows the leases in flight in the metrics (for `sluice status`).
void show_in_flight(fk_ptr self) {
  auto& st = self->state;
  st.cfg.metrics->in_flight.store(st.in_flight.size(),
                                  std::memory_order_relaxed);
}

void rollback_all(fk_ptr self) {
  auto& st = self->state;
  for (auto& [id, l] : st.in_flight) {
    st.cfg.metrics->rollbacks.fetch_add(1, std::memory_order_relaxed);
    self->send(st.cfg.feed, rollback_atom::value, id);
  }
  st.in_flight.clear();
  show_in_flight(self);
}

/// Health checks held while connecting get `err` when the sink ends.
void answer_probes(fk_ptr self, const caf::error& err) {
  for (auto& rp : std::exchange(self->state.probes, {}))
    rp.deliver(err);
}

void fail(fk_ptr self, const std::string& what, caf::error err) {
  auto& st = self->state;
  st.cfg.metrics->errors.fetch_add(1, std::memory_order_relaxed);
  size_t events = 0;
  for (auto& [id, l] : st.in_flight)
    events += l.events;
  log().error("sink {}: {} (peer {}); rolling back {} event(s): {}",
              st.cfg.name, what, peer_name(st.cfg), events, describe(err));
  st.cfg.metrics->set_last_error(what + ": " + describe(err));
  rollback_all(self);
  answer_probes(self, err);
  self->quit(std::move(err));
}

void maybe_stop(fk_ptr self) {
  auto& st = self->state;
  if (st.stopping && st.in_flight.empty() && st.takes == 0) {
    answer_probes(self, make_error(channel_errc::stopped, "the sink stopped"));
    self->quit();
  }
}

void take_more(fk_ptr self);

void send_lease(fk_ptr self, lease& l) {
  auto& st = self->state;
  auto id = l.id;
  st.in_flight[id] = {l.batches.events(), l.batches.bytes()};
  show_in_flight(self);
  self->request(st.peer, std::chrono::milliseconds{st.cfg.timeout_ms},
                forward_atom::value, make_forward_request(st.cfg.origin, l))
      .then(
          [self, id](uint64_t duplicates) {
            auto& st = self->state;
            auto i = st.in_flight.find(id);
            if (i == st.in_flight.end())
              return;
            st.cfg.metrics->add_out(i->second.events, i->second.bytes);
            if (duplicates > 0)
              st.cfg.metrics->duplicates_dropped.fetch_add(
                  duplicates, std::memory_order_relaxed);
            st.in_flight.erase(i);
            show_in_flight(self);
            self->send(st.cfg.feed, commit_atom::value, id);
            take_more(self);
            maybe_stop(self);
          },
          [self](caf::error& err) {
            fail(self, "the peer did not commit a lease", std::move(err));
          });
}

void take_more(fk_ptr self) {
  auto& st = self->state;
  while (st.peer && !st.stopping &&
         st.takes + st.in_flight.size() < st.cfg.max_in_flight) {
    ++st.takes;
    self->request(st.cfg.feed, caf::infinite, take_atom::value,
                  uint64_t{st.cfg.batch_size})
        .then(
            [self](lease& l) {
              auto& st = self->state;
              --st.takes;
              if (l.id == 0) {
                // The feed is stopping: finish what is in flight.
                st.stopping = true;
                maybe_stop(self);
                return;
              }
              if (st.stopping) {
                self->send(st.cfg.feed, rollback_atom::value, l.id);
                maybe_stop(self);
                return;
              }
              send_lease(self, l);
            },
            [self](caf::error& err) {
              auto& st = self->state;
              --st.takes;
              if (st.stopping) {
                maybe_stop(self);
                return;
              }
              // A feed that ended is the down handler's business.
              if (err == caf::sec::request_receiver_down)
                return;
              fail(self, "its feed failed", std::move(err));
            });
  }
}

/// Answers a health check: a ping of the peer within the probe timeout.
void ping_peer(fk_ptr self, caf::response_promise rp) {
  auto& st = self->state;
  self->request(st.peer, std::chrono::milliseconds{st.cfg.probe_timeout_ms},
                ping_atom::value)
      .then([rp](const std::string&) mutable { rp.deliver(true); },
            [rp](caf::error& err) mutable { rp.deliver(err); });
}

void connect(fk_ptr self) {
  auto& st = self->state;
  auto attempt = std::chrono::milliseconds{
      std::max<int64_t>(1000, std::min<int64_t>(st.cfg.timeout_ms, 5000))};
  // Counted across restarts: the metrics outlive this incarnation.
  if (st.cfg.metrics->connect_attempts.fetch_add(1, std::memory_order_relaxed) >
      0)
    st.cfg.metrics->reconnects.fetch_add(1, std::memory_order_relaxed);
  connect_actor(
      self, st.cfg.host, st.cfg.port, attempt,
      [self](caf::expected<caf::actor> peer) {
        auto& st = self->state;
        if (st.stopping) {
          maybe_stop(self);
          return;
        }
        if (peer) {
          st.peer = caf::actor_cast<forward_link_actor>(std::move(*peer));
          self->monitor(st.peer);
          st.backoff_ms = 100;
          st.cfg.metrics->connected.store(1, std::memory_order_relaxed);
          log().info("sink {}: connected to {}", st.cfg.name,
                     peer_name(st.cfg));
          for (auto& rp : std::exchange(st.probes, {}))
            ping_peer(self, std::move(rp));
          take_more(self);
          return;
        }
        for (auto& rp : std::exchange(st.probes, {}))
          rp.deliver(peer.error());
        auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::steady_clock::now() - st.connect_since)
                          .count();
        if (!is_transient_link_error(peer.error()) ||
            (st.cfg.connect_timeout_ms > 0 &&
             waited >= st.cfg.connect_timeout_ms)) {
          fail(self, "cannot connect", peer.error());
          return;
        }
        st.cfg.metrics->set_last_error("not reachable: " +
                                       describe(peer.error()));
        if (!st.waiting_logged) {
          st.waiting_logged = true;
          log().warn("sink {}: peer {} is not reachable yet ({}); trying "
                     "again with back-off",
                     st.cfg.name, peer_name(st.cfg), describe(peer.error()));
        }
        self->delayed_send(self, std::chrono::milliseconds{st.backoff_ms},
                           reconnect_atom::value);
        st.backoff_ms = std::min<int64_t>(st.backoff_ms * 2, 2000);
      });
}

caf::behavior forward_sink_impl(fk_ptr self, forward_sink_config cfg) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  st.connect_since = std::chrono::steady_clock::now();
  st.cfg.metrics->set_peer(peer_name(st.cfg));
  // However this incarnation ends (a kill included), it holds no link.
  self->attach_functor([m = st.cfg.metrics] {
    m->connected.store(0, std::memory_order_relaxed);
    m->in_flight.store(0, std::memory_order_relaxed);
  });
  self->monitor(st.cfg.feed);
  self->set_down_handler([self](caf::down_msg& msg) {
    auto& st = self->state;
    if (st.peer && msg.source == st.peer.address()) {
      fail(self, "the peer is gone",
           msg.reason ? msg.reason
                      : make_error(connector_errc::io_error,
                                   "the peer's forward source stopped"));
      return;
    }
    if (msg.source != st.cfg.feed.address())
      return;
    answer_probes(self,
                  make_error(channel_errc::stopped, "the sink's feed ended"));
    if (st.stopping || !msg.reason ||
        msg.reason == make_error(channel_errc::events_lost)) {
      self->quit();
      return;
    }
    log().warn("sink {}: its channel is gone", st.cfg.name);
    self->quit(msg.reason);
  });
  connect(self);
  return {
      [self](reconnect_atom) {
        if (!self->state.stopping)
          connect(self);
      },
      [self](probe_atom) -> caf::result<bool> {
        auto& st = self->state;
        auto rp = self->make_response_promise();
        // A sink just started is still connecting: the attempt answers.
        if (!st.peer)
          st.probes.push_back(rp);
        else
          ping_peer(self, rp);
        return caf::result<bool>{caf::delegated<bool>{}};
      },
      [self](stop_atom) {
        auto& st = self->state;
        if (st.stopping)
          return;
        st.stopping = true;
        // A stopping sink is not healthy: a held health check says so now.
        answer_probes(
            self, make_error(channel_errc::stopped, "the sink is stopping"));
        if (!st.in_flight.empty() || st.takes > 0)
          self->delayed_send(self,
                             std::chrono::milliseconds{st.in_flight.empty()
                                                           ? 2000
                                                           : st.cfg.timeout_ms},
                             timeout_atom::value);
        maybe_stop(self);
      },
      [self](timeout_atom) {
        rollback_all(self);
        answer_probes(self,
                      make_error(channel_errc::stopped, "the sink stopped"));
        self->quit();
      },
  };
}

} // namespace

caf::actor spawn_forward_sink(caf::actor_system& sys, forward_sink_config cfg) {
  return sys.spawn(forward_sink_impl, std::move(cfg));
}

} // namespace sluice
