#include "actors/forward_source.hpp"

#include <algorithm>
#include <chrono>
#include <deque>
#include <map>
#include <set>
#include <utility>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/io/middleman.hpp>
#include <caf/io/middleman_actor.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>

#include "runtime/atoms.hpp"
#include "runtime/cluster_link.hpp"
#include "runtime/errors.hpp"
#include "runtime/forward_dedup.hpp"
#include "runtime/forward_request.hpp"
#include "runtime/log.hpp"

namespace sluice {

namespace {

using batch_key = std::pair<std::string, uint64_t>; ///< (producer, seq)

/// A request from a peer, served in arrival order.
struct queued_request {
  caf::response_promise rp;
  forward_request req;
  size_t next = 0;         ///< its next batch to put
  uint64_t need = 0;       ///< channel seq whose ack completes it
  uint64_t dup_events = 0; ///< events dropped as duplicates
};

struct forward_source_state {
  forward_source_config cfg;
  forward_dedup seen;
  /// Batches put and not yet acked, by name: a duplicate waits for them.
  std::map<batch_key, uint64_t> in_flight;
  std::deque<std::pair<uint64_t, batch_key>> unacked; ///< in put order
  std::deque<queued_request> queue;   ///< not fully put, in arrival order
  std::deque<queued_request> waiting; ///< fully put, waiting for acks
  uint64_t next_seq = 1;
  uint64_t acked = 0;             ///< every put up to this one is acked
  std::set<uint64_t> acked_ahead; ///< acked past a put not yet acked
  uint64_t credit = 0;
  uint16_t port = 0; ///< published on, once known
  /// A publish is under way: the actor stays until it is answered, so that
  /// it can unpublish (the middleman would keep a published actor, and the
  /// actor system's shutdown waiting, for ever).
  bool publishing = false;
  /// Senders (forward sinks) seen and alive, with their nodes.
  std::map<caf::actor_addr, caf::node_id> peers;
  bool stopping = false;
  static inline const char* name = "sluice.forward_source";
};

using fs_ptr = caf::stateful_actor<forward_source_state>*;

void unpublish(fs_ptr self) {
  auto& st = self->state;
  if (st.port == 0)
    return;
  // Through the actor that published it (the OpenSSL module's under TLS;
  // both share the middleman's broker, which closes the port).
  unpublish_self(self, st.port);
  st.port = 0;
}

void leave(fs_ptr self, caf::error reason) {
  unpublish(self);
  auto err = make_error(channel_errc::stopped,
                        "the forward source " + self->state.cfg.name +
                            " stopped before the batches were committed");
  for (auto& q : {&self->state.queue, &self->state.waiting})
    for (auto& r : *q)
      if (r.rp.pending())
        r.rp.deliver(err);
  self->quit(std::move(reason));
}

void complete(fs_ptr self) {
  auto& st = self->state;
  auto done = [&](queued_request& r) {
    if (r.need > st.acked)
      return false;
    r.rp.deliver(r.dup_events);
    return true;
  };
  st.waiting.erase(std::remove_if(st.waiting.begin(), st.waiting.end(), done),
                   st.waiting.end());
}

void maybe_quit(fs_ptr self) {
  auto& st = self->state;
  if (st.stopping && st.unacked.empty() && !st.publishing) {
    complete(self);
    leave(self, caf::error{});
  }
}

void pump(fs_ptr self) {
  auto& st = self->state;
  while (!st.queue.empty()) {
    auto& r = st.queue.front();
    auto& batches = *r.req.batches.ptr;
    while (r.next < batches.size()) {
      auto& b = batches[r.next];
      batch_key key{r.req.producer, r.req.seqs[r.next]};
      if (st.seen.contains(key.first, key.second)) {
        r.dup_events += b.size();
        st.cfg.metrics->duplicates_dropped.fetch_add(b.size(),
                                                     std::memory_order_relaxed);
        if (auto i = st.in_flight.find(key); i != st.in_flight.end())
          r.need = std::max(r.need, i->second);
        ++r.next;
        continue;
      }
      // A batch larger than any credit the channel grants goes alone.
      if (st.credit < b.size() && !(st.credit > 0 && st.unacked.empty()))
        return;
      auto seq = st.next_seq++;
      st.seen.insert(key.first, key.second);
      st.in_flight.emplace(key, seq);
      st.unacked.emplace_back(seq, key);
      st.credit -= std::min<uint64_t>(st.credit, b.size());
      st.cfg.metrics->add_out(b.size(), b.byte_size());
      // The batch keeps the name it first crossed a link with, so a topic
      // (or a relay further on) recognises it through any path.
      event_batch stamped = b;
      if (!stamped.has_origin())
        stamped.set_origin(key.first, key.second);
      self->send(st.cfg.channel, put_atom::value, seq, std::move(stamped),
                 st.seen.to_token());
      r.need = seq;
      ++r.next;
    }
    st.waiting.push_back(std::move(r));
    st.queue.pop_front();
  }
  complete(self);
}

/// Shows how many nodes send to it now (for `sluice status`).
void show_peers(fs_ptr self) {
  auto& st = self->state;
  std::set<caf::node_id> nodes;
  for (auto& [addr, node] : st.peers)
    nodes.insert(node);
  st.cfg.metrics->peers_connected.store(nodes.size(),
                                        std::memory_order_relaxed);
}

/// Remembers the sender of the current message until it goes down.
void note_peer(fs_ptr self) {
  auto& st = self->state;
  auto& sender = self->current_sender();
  if (!sender)
    return;
  auto addr = caf::actor_cast<caf::actor_addr>(sender);
  if (st.peers.count(addr) > 0)
    return;
  st.peers.emplace(addr, sender->node());
  self->monitor(addr);
  show_peers(self);
}

caf::result<uint64_t> on_forward(fs_ptr self, forward_request& req) {
  auto& st = self->state;
  note_peer(self);
  if (st.stopping)
    return make_error(channel_errc::stopped,
                      "the forward source " + st.cfg.name + " is stopping");
  auto n = req.batches.ptr ? req.batches.ptr->size() : 0;
  if (req.seqs.size() != n || req.producer.empty()) {
    st.cfg.metrics->errors.fetch_add(1, std::memory_order_relaxed);
    return make_error(connector_errc::bad_input,
                      "a forward request needs a producer and one sequence "
                      "number per batch");
  }
  if (n == 0)
    return uint64_t{0};
  // An origin names a batch in a topic, which stores at most 65535 bytes of
  // it: a longer one (carried, or stamped from the producer) could never be
  // read back from there.
  constexpr size_t max_origin = 65535;
  auto too_long = req.producer.size() > max_origin;
  for (auto& b : *req.batches.ptr)
    too_long = too_long || b.origin_producer().size() > max_origin;
  if (too_long) {
    st.cfg.metrics->errors.fetch_add(1, std::memory_order_relaxed);
    log().error("forward source {}: refused a request whose producer or "
                "batch origin is over {} bytes",
                st.cfg.name, max_origin);
    return make_error(connector_errc::bad_input,
                      "a forward request's producer and its batches' "
                      "origins are at most 65535 bytes");
  }
  // Offsets that point outside a batch would read outside its buffer.
  for (auto& b : *req.batches.ptr)
    if (!b.well_formed()) {
      st.cfg.metrics->errors.fetch_add(1, std::memory_order_relaxed);
      log().error("forward source {}: refused a request from {} whose batch "
                  "points outside itself",
                  st.cfg.name, req.producer);
      return make_error(connector_errc::bad_input,
                        "a batch of the forward request is malformed");
    }
  auto rp = self->make_response_promise<uint64_t>();
  st.cfg.metrics->add_in(req.batches.events(), req.batches.bytes());
  st.queue.push_back({rp, std::move(req)});
  pump(self);
  return rp;
}

void publish(fs_ptr self) {
  auto& st = self->state;
  st.publishing = true;
  publish_self(
      self, st.cfg.port, st.cfg.bind, [self](caf::expected<uint16_t> port) {
        auto& st = self->state;
        st.publishing = false;
        if (!port) {
          log().error("source {}: {}", st.cfg.name, describe(port.error()));
          leave(self, port.error());
          return;
        }
        st.port = *port;
        if (st.stopping) {
          // Stopped while the publish was under way: the middleman would
          // keep this actor (and the actor system's shutdown) waiting.
          unpublish(self);
          maybe_quit(self);
          return;
        }
        log().info("source {}: forward link listening on {}:{}", st.cfg.name,
                   st.cfg.bind, *port);
        if (st.cfg.on_listening)
          st.cfg.on_listening(*port);
      });
}

void start(fs_ptr self, const std::string& token) {
  auto& st = self->state;
  auto seen = forward_dedup::from_token(token, st.cfg.max_producers,
                                        st.cfg.max_intervals);
  if (seen)
    st.seen = std::move(*seen);
  else
    log().warn("source {}: ignoring its channel's progress ({}); duplicates "
               "sent before this start are not recognised",
               st.cfg.name, describe(seen.error()));
  self->request(st.cfg.channel, caf::infinite, attach_atom::value,
                st.cfg.window, st.cfg.name)
      .then(
          [self](uint64_t credit) {
            self->state.credit += credit;
            publish(self);
            pump(self);
          },
          [self](caf::error& err) {
            log().error("source {}: cannot attach to its channel: {}",
                        self->state.cfg.name, describe(err));
            leave(self, err);
          });
}

caf::behavior forward_source_impl(fs_ptr self, forward_source_config cfg) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  st.seen = forward_dedup{st.cfg.max_producers, st.cfg.max_intervals};
  self->attach_functor([m = st.cfg.metrics] {
    m->peers_connected.store(0, std::memory_order_relaxed);
  });
  self->monitor(st.cfg.channel);
  self->set_down_handler([self](caf::down_msg& msg) {
    auto& st = self->state;
    if (st.peers.erase(msg.source) > 0) {
      show_peers(self);
      return;
    }
    if (msg.source != st.cfg.channel.address())
      return;
    if (!msg.reason && st.stopping) {
      leave(self, caf::error{});
      return;
    }
    log().warn("source {}: its channel is gone", st.cfg.name);
    leave(self, msg.reason
                    ? msg.reason
                    : make_error(channel_errc::stopped, "channel stopped"));
  });
  self->request(st.cfg.channel, caf::infinite, progress_atom::value,
                st.cfg.name)
      .then([self](const std::string& token) { start(self, token); },
            [self](caf::error& err) {
              log().error("source {}: cannot ask its channel where to "
                          "resume: {}",
                          self->state.cfg.name, describe(err));
              leave(self, err);
            });
  return {
      [self](forward_atom, forward_request& req) -> caf::result<uint64_t> {
        return on_forward(self, req);
      },
      [self](ping_atom) {
        note_peer(self);
        return self->state.cfg.name;
      },
      [self](ack_atom, uint64_t seq, uint64_t credit) {
        auto& st = self->state;
        st.credit += credit;
        // Acks may come out of order: `acked` moves only over a
        // contiguous run.
        if (seq > st.acked)
          st.acked_ahead.insert(seq);
        while (!st.acked_ahead.empty() &&
               *st.acked_ahead.begin() == st.acked + 1) {
          st.acked = *st.acked_ahead.begin();
          st.acked_ahead.erase(st.acked_ahead.begin());
        }
        while (!st.unacked.empty() && st.unacked.front().first <= st.acked) {
          st.in_flight.erase(st.unacked.front().second);
          st.unacked.pop_front();
        }
        complete(self);
        pump(self);
        maybe_quit(self);
      },
      [self](credit_atom, uint64_t credit) {
        self->state.credit += credit;
        pump(self);
      },
      [self](stop_atom) {
        auto& st = self->state;
        if (st.stopping)
          return;
        st.stopping = true;
        unpublish(self);
        // What is not fully put is refused; the sender sends it again
        // (and what was put of it is then dropped as a duplicate).
        auto err =
            make_error(channel_errc::stopped,
                       "the forward source " + st.cfg.name + " is stopping");
        for (auto& r : st.queue)
          r.rp.deliver(err);
        st.queue.clear();
        self->delayed_send(self,
                           std::chrono::milliseconds{st.cfg.stop_timeout_ms},
                           timeout_atom::value);
        maybe_quit(self);
      },
      [self](timeout_atom) {
        log().warn("source {}: stopping without acks for {} batch(es)",
                   self->state.cfg.name, self->state.unacked.size());
        leave(self, caf::error{});
      },
  };
}

} // namespace

caf::actor spawn_forward_source(caf::actor_system& sys,
                                forward_source_config cfg) {
  return sys.spawn(forward_source_impl, std::move(cfg));
}

} // namespace sluice
