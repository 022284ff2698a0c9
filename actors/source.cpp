#include "actors/source.hpp"

#include <algorithm>
#include <chrono>
#include <set>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "runtime/atoms.hpp"
#include "runtime/errors.hpp"
#include "runtime/log.hpp"

namespace sluice {

namespace {

/// The source's own messages (timers), beside its public interface.
using source_impl_actor = source_actor::extend<caf::reacts_to<poll_atom>,
                                               caf::reacts_to<timeout_atom>>;

/// Everything a source actor owns.
struct source_state {
  source_config cfg;
  source_connector_ptr connector;
  std::vector<interceptor_ptr> interceptors;
  event_batch batch;     ///< being filled
  uint64_t next_seq = 1; ///< sequence number of the next batch sent
  /// Every batch up to this one is acknowledged: the connector's commit.
  uint64_t acked_seq = 0;
  /// Batches past `acked_seq + 1` acknowledged already (acks may come out
  /// of order), and sealed batches that held nothing (interceptors dropped
  /// every event: they never reach the channel). `acked_seq` moves over
  /// them only once every batch before is acknowledged.
  std::set<uint64_t> acked_ahead;
  uint64_t credit = 0; ///< events the channel lets us send
  int64_t idle_ms = 0; ///< current pause between idle polls
  bool poll_scheduled = false;
  bool finished = false;
  bool stopping = false;
  bool closed = true; ///< the connector is not open (yet, or any more)
  static inline const char* name = "sluice.source";
};

using source_ptr = source_impl_actor::stateful_pointer<source_state>;

size_t bytes_hint(size_t batch_size) {
  return batch_size * 128;
}

void close_connector(source_ptr self) {
  auto& st = self->state;
  if (!st.closed) {
    st.closed = true;
    st.connector->close();
  }
}

bool all_acked(source_ptr self) {
  return self->state.acked_seq + 1 == self->state.next_seq;
}

void maybe_quit(source_ptr self) {
  auto& st = self->state;
  if ((st.stopping || st.finished) && all_acked(self)) {
    close_connector(self);
    if (st.finished && !st.stopping)
      log().info("source {}: finished after {} event(s)", st.cfg.name,
                 st.cfg.metrics->events_out.load());
    self->quit();
  }
}

void send_batch(source_ptr self) {
  auto& st = self->state;
  if (st.batch.empty())
    return;
  auto seq = st.next_seq++;
  st.connector->seal(seq);
  st.credit -= std::min<uint64_t>(st.credit, st.batch.size());
  st.cfg.metrics->add_out(st.batch.size(), st.batch.byte_size());
  self->send(st.cfg.channel, put_atom::value, seq, std::move(st.batch),
             st.connector->progress());
  st.batch = event_batch{};
  st.batch.reserve(st.cfg.batch_size, bytes_hint(st.cfg.batch_size));
}

/// Records batch `seq` as acknowledged and moves `acked_seq` over the
/// contiguous run of acknowledged batches after it (never past a gap).
/// Commits the connector when it moved.
void mark_acked(source_ptr self, uint64_t seq) {
  auto& st = self->state;
  if (seq > st.acked_seq)
    st.acked_ahead.insert(seq);
  auto before = st.acked_seq;
  while (!st.acked_ahead.empty() &&
         *st.acked_ahead.begin() == st.acked_seq + 1) {
    st.acked_seq = *st.acked_ahead.begin();
    st.acked_ahead.erase(st.acked_ahead.begin());
  }
  if (st.acked_seq == before)
    return;
  if (auto err = st.connector->commit(st.acked_seq)) {
    st.cfg.metrics->errors.fetch_add(1, std::memory_order_relaxed);
    log().error("source {}: cannot commit its position: {}", st.cfg.name,
                describe(err));
  }
}

/// Seals a poll whose every event an interceptor dropped, so the connector
/// can commit past them (positions advance, tcp acks and closes).
void seal_empty(source_ptr self) {
  auto& st = self->state;
  auto seq = st.next_seq++;
  st.connector->seal(seq);
  mark_acked(self, seq);
}

void schedule_poll(source_ptr self, int64_t delay_ms) {
  auto& st = self->state;
  if (st.poll_scheduled || st.stopping || st.finished)
    return;
  st.poll_scheduled = true;
  if (delay_ms <= 0)
    self->send(self, poll_atom::value);
  else
    self->delayed_send(self, std::chrono::milliseconds{delay_ms},
                       poll_atom::value);
}

void do_poll(source_ptr self) {
  auto& st = self->state;
  st.poll_scheduled = false;
  if (st.stopping || st.finished || st.credit == 0)
    return;
  auto limit = std::min<uint64_t>(st.cfg.batch_size, st.credit);
  batch_builder builder{st.batch, st.interceptors};
  auto status = poll_status::more;
  // Poll until the batch is full or the connector has nothing more.
  while (st.batch.size() < limit && status == poll_status::more) {
    auto res = st.connector->poll(builder, limit - st.batch.size());
    if (!res) {
      st.cfg.metrics->errors.fetch_add(1, std::memory_order_relaxed);
      log().error("source {}: {}", st.cfg.name, describe(res.error()));
      send_batch(self);
      close_connector(self);
      self->quit(res.error());
      return;
    }
    status = *res;
  }
  if (auto dropped = builder.dropped(); dropped > 0)
    st.cfg.metrics->events_dropped.fetch_add(dropped,
                                             std::memory_order_relaxed);
  if (!st.batch.empty())
    send_batch(self);
  else if (builder.dropped() > 0)
    seal_empty(self);
  switch (status) {
  case poll_status::more:
    st.idle_ms = 0;
    schedule_poll(self, 0);
    break;
  case poll_status::idle:
    st.idle_ms =
        st.idle_ms == 0 ? 1 : std::min(st.idle_ms * 2, st.cfg.max_idle_ms);
    schedule_poll(self, st.idle_ms);
    break;
  case poll_status::finished:
    st.finished = true;
    maybe_quit(self);
    break;
  }
}

void fail_start(source_ptr self, const char* what, const caf::error& err) {
  log().error("source {}: {}: {}", self->state.cfg.name, what, describe(err));
  self->quit(err);
}

void attach(source_ptr self) {
  auto& st = self->state;
  uint64_t window = st.cfg.batch_size * 4;
  // caf::infinite: the channel is a sibling under the same supervisor, so
  // local by construction; a channel that dies ends the request with
  // request_receiver_down, and the down handler ends this source.
  self->request(st.cfg.channel, caf::infinite, attach_atom::value, window,
                st.cfg.name)
      .then(
          [self](uint64_t credit) {
            self->state.credit += credit;
            schedule_poll(self, 0);
          },
          [self](caf::error& err) {
            fail_start(self, "cannot attach to its channel", err);
          });
}

source_impl_actor::behavior_type source_impl(source_ptr self,
                                             source_config cfg) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  auto fail = [self](const caf::error& err) {
    log().error("source {}: cannot open: {}", self->state.cfg.name,
                describe(err));
    self->quit(err);
    return source_impl_actor::behavior_type::make_empty_behavior();
  };
  auto connector = st.cfg.make_connector();
  if (!connector)
    return fail(connector.error());
  st.connector = std::move(*connector);
  auto chain = st.cfg.make_interceptors();
  if (!chain)
    return fail(chain.error());
  st.interceptors = std::move(*chain);
  st.batch.reserve(st.cfg.batch_size, bytes_hint(st.cfg.batch_size));
  self->monitor(st.cfg.channel);
  self->set_down_handler([self](caf::down_msg& msg) {
    if (msg.source == self->state.cfg.channel.address()) {
      if (!msg.reason && self->state.stopping) {
        close_connector(self);
        self->quit();
        return;
      }
      log().warn("source {}: its channel is gone", self->state.cfg.name);
      self->quit(msg.reason
                     ? msg.reason
                     : make_error(channel_errc::stopped, "channel stopped"));
    }
  });
  // A put the channel refused (channel_errc::protocol) comes back as an
  // error message: a bug, so the source fails and its supervisor restarts it.
  self->set_error_handler([self](caf::error& err) {
    auto& st = self->state;
    st.cfg.metrics->errors.fetch_add(1, std::memory_order_relaxed);
    log().error("source {}: its channel refused a batch: {}", st.cfg.name,
                describe(err));
    close_connector(self);
    self->quit(err);
  });
  // Resume from what the channel holds, open, then attach for credit.
  // caf::infinite: the channel is local by construction (a sibling under the
  // same supervisor), and its answer may wait until earlier puts are
  // durable, which has no useful bound (a full disk).
  self->request(st.cfg.channel, caf::infinite, progress_atom::value,
                st.cfg.name)
      .then(
          [self](const std::string& token) {
            auto& st = self->state;
            if (st.stopping) {
              self->quit();
              return;
            }
            if (!token.empty())
              if (auto err = st.connector->resume(token))
                log().warn("source {}: ignoring its channel's progress ({}); "
                           "starting from its own position",
                           st.cfg.name, describe(err));
            if (auto err = st.connector->open())
              return fail_start(self, "cannot open", err);
            st.closed = false;
            attach(self);
          },
          [self](caf::error& err) {
            fail_start(self, "cannot ask its channel where to resume", err);
          });
  return {
      [self](poll_atom) { do_poll(self); },
      [self](ack_atom, uint64_t seq, uint64_t credit) {
        auto& st = self->state;
        st.credit += credit;
        mark_acked(self, seq);
        if (credit > 0)
          schedule_poll(self, 0);
        maybe_quit(self);
      },
      [self](credit_atom, uint64_t credit) {
        self->state.credit += credit;
        schedule_poll(self, 0);
      },
      [self](stop_atom) {
        auto& st = self->state;
        if (st.stopping)
          return;
        send_batch(self);
        st.stopping = true;
        self->delayed_send(self,
                           std::chrono::milliseconds{st.cfg.stop_timeout_ms},
                           timeout_atom::value);
        maybe_quit(self);
      },
      [self](timeout_atom) {
        auto& st = self->state;
        log().warn("source {}: stopping without acks for {} batch(es)",
                   st.cfg.name, st.next_seq - 1 - st.acked_seq);
        close_connector(self);
        self->quit();
      },
  };
}

} // namespace

source_actor spawn_source(caf::actor_system& sys, source_config cfg,
                          bool detached) {
  if (detached)
    return sys.spawn<caf::detached>(source_impl, std::move(cfg));
  return sys.spawn(source_impl, std::move(cfg));
}

} // namespace sluice
