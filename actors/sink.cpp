#include "actors/sink.hpp"

#include <atomic>
#include <chrono>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/sec.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "runtime/atoms.hpp"
#include "runtime/errors.hpp"
#include "runtime/lease.hpp"
#include "runtime/log.hpp"

namespace sluice {

namespace {

using namespace std::chrono_literals;

/// The sink's own messages (timers), beside its public interface.
using sink_impl_actor =
    sink_actor::extend<caf::reacts_to<tick_atom>, caf::reacts_to<timeout_atom>>;

/// Everything a sink actor owns.
struct sink_state {
  sink_config cfg;
  sink_connector_ptr connector;
  bool stopping = false;
  bool closed = false;
  bool waiting = false; ///< a take is outstanding
  static inline const char* name = "sluice.sink";
};

using sink_ptr = sink_impl_actor::stateful_pointer<sink_state>;

void close_connector(sink_ptr self) {
  auto& st = self->state;
  if (!st.closed) {
    st.closed = true;
    st.connector->close();
  }
}

void stop_now(sink_ptr self) {
  close_connector(self);
  self->quit();
}

caf::error write_all(sink_ptr self, const lease& l) {
  auto& st = self->state;
  for (auto& batch : *l.batches.ptr)
    if (auto err = st.connector->write(batch))
      return err;
  return st.connector->flush();
}

void request_lease(sink_ptr self);

void handle_lease(sink_ptr self, lease& l) {
  auto& st = self->state;
  st.waiting = false;
  if (l.id == 0) {
    stop_now(self);
    return;
  }
  if (auto err = write_all(self, l)) {
    st.cfg.metrics->errors.fetch_add(1, std::memory_order_relaxed);
    st.cfg.metrics->rollbacks.fetch_add(1, std::memory_order_relaxed);
    log().error("sink {}: write failed, rolling back {} event(s): {}",
                st.cfg.name, l.batches.events(), describe(err));
    self->send(st.cfg.channel, rollback_atom::value, l.id);
    close_connector(self);
    self->quit(err);
    return;
  }
  st.cfg.metrics->add_out(l.batches.events(), l.batches.bytes());
  self->send(st.cfg.channel, commit_atom::value, l.id);
  if (st.stopping)
    stop_now(self);
  else
    request_lease(self);
}

void request_lease(sink_ptr self) {
  auto& st = self->state;
  st.waiting = true;
  // caf::infinite: the answer waits for data, and the feed is local by
  // construction (its channel or sink group, under the same supervisor); a
  // feed that dies ends the request with request_receiver_down.
  self->request(st.cfg.channel, caf::infinite, take_atom::value,
                uint64_t{st.cfg.batch_size})
      .then([self](lease& l) { handle_lease(self, l); },
            [self](caf::error& err) {
              auto& st = self->state;
              st.waiting = false;
              if (st.stopping) {
                stop_now(self);
                return;
              }
              // A channel that ended is the down handler's business: it stops
              // this sink, or fails it so that it restarts with the channel.
              if (err == caf::sec::request_receiver_down)
                return;
              log().error("sink {}: its channel failed: {}", st.cfg.name,
                          describe(err));
              close_connector(self);
              self->quit(err);
            });
}

sink_impl_actor::behavior_type sink_impl(sink_ptr self, sink_config cfg) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  auto fail = [self](const caf::error& err) {
    log().error("sink {}: cannot open: {}", self->state.cfg.name,
                describe(err));
    self->quit(err);
    return sink_impl_actor::behavior_type::make_empty_behavior();
  };
  auto connector = st.cfg.make_connector();
  if (!connector)
    return fail(connector.error());
  st.connector = std::move(*connector);
  if (auto err = st.connector->open()) {
    st.closed = true;
    return fail(err);
  }
  self->monitor(st.cfg.channel);
  self->set_down_handler([self](caf::down_msg& msg) {
    auto& st = self->state;
    if (msg.source != st.cfg.channel.address())
      return;
    // A channel that stopped losing events (it said so) stopped all the same.
    if (st.stopping || !msg.reason ||
        msg.reason == make_error(channel_errc::events_lost)) {
      stop_now(self);
      return;
    }
    log().warn("sink {}: its channel is gone", st.cfg.name);
    close_connector(self);
    self->quit(msg.reason
                   ? msg.reason
                   : make_error(channel_errc::stopped, "channel stopped"));
  });
  request_lease(self);
  self->delayed_send(self, 1s, tick_atom::value);
  return {
      [self](tick_atom) {
        auto& st = self->state;
        if (st.closed)
          return;
        if (auto err = st.connector->tick()) {
          st.cfg.metrics->errors.fetch_add(1, std::memory_order_relaxed);
          log().error("sink {}: {}", st.cfg.name, describe(err));
          close_connector(self);
          self->quit(err);
          return;
        }
        self->delayed_send(self, 1s, tick_atom::value);
      },
      [self](stop_atom) {
        auto& st = self->state;
        if (st.stopping)
          return;
        st.stopping = true;
        // Leases are written inside their handler, so none is half done here;
        // an outstanding take is answered by the stopping channel.
        if (!st.waiting)
          stop_now(self);
        else
          self->delayed_send(self, 2s, timeout_atom::value);
      },
      [self](timeout_atom) { stop_now(self); },
      [self](probe_atom) -> caf::result<bool> {
        auto& st = self->state;
        if (st.closed)
          return make_error(channel_errc::stopped, "the sink is closed");
        if (auto err = st.connector->probe())
          return err;
        return true;
      },
  };
}

} // namespace

sink_actor spawn_sink(caf::actor_system& sys, sink_config cfg, bool detached) {
  if (detached)
    return sys.spawn<caf::detached>(sink_impl, std::move(cfg));
  return sys.spawn(sink_impl, std::move(cfg));
}

} // namespace sluice
