#include "actors/topic_sink.hpp"

#include <algorithm>
#include <chrono>
#include <map>
#include <utility>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/sec.hpp>
#include <caf/stateful_actor.hpp>
#include <fmt/format.h>

#include "connectors/topic_common.hpp"
#include "runtime/atoms.hpp"
#include "runtime/cluster_link.hpp"
#include "runtime/errors.hpp"
#include "runtime/log.hpp"

namespace sluice {

namespace {

using namespace std::chrono_literals;

/// A lease being appended: what it holds and the answers it waits for.
struct pending_lease {
  uint64_t events = 0;
  uint64_t bytes = 0;
  size_t outstanding = 0;  ///< appends not yet answered
  uint64_t duplicates = 0; ///< events the shards dropped as duplicates
};

struct topic_sink_state {
  topic_sink_config cfg;
  topic_actor topic;
  std::vector<shard_actor> shards; ///< empty until the metadata came
  std::map<uint64_t, pending_lease> in_flight; ///< by lease id
  size_t takes = 0;                            ///< take requests outstanding
  int64_t connect_backoff_ms = 100;
  int64_t full_backoff_ms = 0; ///< 0: not backing off after a full disk
  bool waiting = false;        ///< a back-off timer runs: take nothing
  bool waiting_logged = false;
  bool stopping = false;
  /// Counts the sets of shard handles used: answers of an older set are
  /// ignored (their leases were rolled back).
  uint64_t epoch = 0;
  /// A shard went away: the sink waits for the topic's new handles.
  bool refreshing = false;
  int refreshes = 0; ///< in a row, without a lease written since
  /// Health checks asked before the topic was found.
  std::vector<caf::response_promise> probes;
  /// Malformed events (wrong number of fields) not yet logged, and when
  /// the last log line about them went out.
  uint64_t malformed_unlogged = 0;
  std::chrono::steady_clock::time_point malformed_logged_at{};
  static inline const char* name = "sluice.topic_sink";
};

using ts_ptr = caf::stateful_actor<topic_sink_state>*;

/// The number of `delim`-separated fields of `body` (1 without a
/// separator; an empty `delim` counts every body as one field).
size_t count_fields(std::string_view body, std::string_view delim) {
  if (delim.empty())
    return 1;
  size_t n = 1;
  for (auto pos = body.find(delim); pos != std::string_view::npos;
       pos = body.find(delim, pos + delim.size()))
    ++n;
  return n;
}

/// Checks the bodies of `batch` against the declared fields: counts the
/// events with another number of fields and logs the first one, then at
/// most one line per 10 s with how many more there were.
void check_fields(ts_ptr self, const event_batch& batch) {
  auto& st = self->state;
  auto want = st.cfg.fields.size();
  uint64_t bad = 0;
  for (size_t e = 0; e < batch.size(); ++e) {
    auto body = batch.body(e);
    auto got = count_fields(body, st.cfg.delimiter);
    if (got == want)
      continue;
    ++bad;
    auto now = std::chrono::steady_clock::now();
    if (now - st.malformed_logged_at < std::chrono::seconds{10}) {
      ++st.malformed_unlogged;
      continue;
    }
    constexpr size_t preview = 120;
    log().warn("sink {}: an event has {} field(s) separated by '{}', {} "
               "declared ({}); written as it is{}: {}{}",
               st.cfg.name, got, st.cfg.delimiter, want,
               fmt::join(st.cfg.fields, ","),
               st.malformed_unlogged > 0
                   ? fmt::format(" ({} more since the last report)",
                                 st.malformed_unlogged)
                   : std::string{},
               body.substr(0, preview), body.size() > preview ? "..." : "");
    st.malformed_unlogged = 0;
    st.malformed_logged_at = now;
  }
  if (bad > 0 && st.cfg.metrics)
    st.cfg.metrics->malformed.fetch_add(bad, std::memory_order_relaxed);
}

void show_in_flight(ts_ptr self) {
  auto& st = self->state;
  st.cfg.metrics->in_flight.store(st.in_flight.size(),
                                  std::memory_order_relaxed);
}

void rollback(ts_ptr self, uint64_t id) {
  auto& st = self->state;
  if (st.in_flight.erase(id) == 0)
    return;
  st.cfg.metrics->rollbacks.fetch_add(1, std::memory_order_relaxed);
  self->send(st.cfg.feed, rollback_atom::value, id);
  show_in_flight(self);
}

void rollback_all(ts_ptr self) {
  auto& st = self->state;
  std::vector<uint64_t> ids;
  for (auto& [id, l] : st.in_flight)
    ids.push_back(id);
  for (auto id : ids)
    rollback(self, id);
}

void answer_probes(ts_ptr self, const caf::error& err) {
  for (auto& rp : std::exchange(self->state.probes, {}))
    rp.deliver(err);
}

void fail(ts_ptr self, const std::string& what, caf::error err) {
  auto& st = self->state;
  st.cfg.metrics->errors.fetch_add(1, std::memory_order_relaxed);
  size_t events = 0;
  for (auto& [id, l] : st.in_flight)
    events += l.events;
  log().error("sink {}: {} ({}); rolling back {} event(s): {}", st.cfg.name,
              what, topic_where(st.cfg), events, describe(err));
  st.cfg.metrics->set_last_error(what + ": " + describe(err));
  rollback_all(self);
  answer_probes(self, err);
  self->quit(std::move(err));
}

void maybe_stop(ts_ptr self) {
  auto& st = self->state;
  if (st.stopping && st.in_flight.empty() && st.takes == 0) {
    answer_probes(self, make_error(channel_errc::stopped, "the sink stopped"));
    self->quit();
  }
}

void take_more(ts_ptr self);

/// A shard went away (its topic restarts it): rolls back every lease in
/// flight and asks the topic for its shards again after a back-off. Gives
/// up after `max_shard_refreshes` in a row.
void refresh_shards(ts_ptr self, const std::string& why) {
  auto& st = self->state;
  if (st.refreshing)
    return;
  if (st.stopping) {
    rollback_all(self);
    maybe_stop(self);
    return;
  }
  if (st.refreshes >= max_shard_refreshes) {
    fail(self, "its topic's shards did not come back",
         make_error(topic_errc::stopped, why));
    return;
  }
  st.refreshing = true;
  ++st.epoch;
  for (auto& s : st.shards)
    self->demonitor(s.address());
  st.shards.clear();
  rollback_all(self);
  auto backoff = shard_refresh_backoff_ms(st.refreshes++);
  st.cfg.metrics->set_last_error("shard gone: " + why);
  log().warn("sink {}: {} ({}); asking for its shards again in {} ms",
             st.cfg.name, why, topic_where(st.cfg), backoff);
  self->delayed_send(self, std::chrono::milliseconds{backoff},
                     restart_atom::value, st.epoch);
}

/// A full disk: give the lease back and take again after a back-off.
void hold_back(ts_ptr self, uint64_t id, const caf::error& err) {
  auto& st = self->state;
  rollback(self, id);
  if (st.waiting)
    return;
  st.full_backoff_ms =
      st.full_backoff_ms == 0
          ? st.cfg.backoff_ms
          : std::min(st.full_backoff_ms * 2, st.cfg.max_backoff_ms);
  st.waiting = true;
  st.cfg.metrics->set_last_error("topic full: " + describe(err));
  log().warn("sink {}: {} is full ({}); holding back {} ms", st.cfg.name,
             topic_where(st.cfg), describe(err), st.full_backoff_ms);
  self->delayed_send(self, std::chrono::milliseconds{st.full_backoff_ms},
                     wake_atom::value);
}

/// One append of a lease's sub-batch.
void append(ts_ptr self, uint64_t id, uint32_t shard, std::string producer,
            uint64_t seq, event_batch batch) {
  auto& st = self->state;
  auto events = batch.size();
  auto epoch = st.epoch;
  self->request(st.shards[shard], std::chrono::milliseconds{st.cfg.timeout_ms},
                append_atom::value, std::move(producer), seq, std::move(batch))
      .then(
          [self, id, events, epoch](const append_result& r) {
            auto& st = self->state;
            auto i = st.in_flight.find(id);
            if (i == st.in_flight.end() || epoch != st.epoch)
              return; // rolled back meanwhile
            auto& l = i->second;
            if (r.duplicate)
              l.duplicates += events;
            if (--l.outstanding > 0)
              return;
            st.cfg.metrics->add_out(l.events, l.bytes);
            if (l.duplicates > 0)
              st.cfg.metrics->duplicates_dropped.fetch_add(
                  l.duplicates, std::memory_order_relaxed);
            st.in_flight.erase(i);
            show_in_flight(self);
            st.full_backoff_ms = 0;
            st.refreshes = 0;
            self->send(st.cfg.feed, commit_atom::value, id);
            take_more(self);
            maybe_stop(self);
          },
          [self, id, epoch, shard](caf::error& err) {
            auto& st = self->state;
            if (st.in_flight.count(id) == 0 || epoch != st.epoch)
              return;
            if (err.category() == caf::atom("topic") &&
                err.code() == static_cast<uint8_t>(topic_errc::disk_full)) {
              hold_back(self, id, err);
              maybe_stop(self);
              return;
            }
            if (is_stale_shard_error(err)) {
              refresh_shards(self, "shard " + std::to_string(shard) +
                                       " is gone (" + describe(err) + ")");
              return;
            }
            fail(self, "a shard did not append a batch", std::move(err));
          });
}

/// Splits a lease by shard and sends its appends.
void send_lease(ts_ptr self, lease& l) {
  auto& st = self->state;
  auto n = static_cast<uint32_t>(st.shards.size());
  auto& p = st.in_flight[l.id];
  p.events = l.batches.events();
  p.bytes = l.batches.bytes();
  show_in_flight(self);
  auto own = st.cfg.origin + "#" + std::to_string(l.epoch);
  struct one_append {
    uint32_t shard;
    std::string producer;
    uint64_t seq;
    event_batch batch;
  };
  std::vector<one_append> appends;
  if (l.batches.ptr) {
    auto& batches = *l.batches.ptr;
    for (size_t b = 0; b < batches.size(); ++b) {
      auto& batch = batches[b];
      if (batch.empty())
        continue;
      if (!st.cfg.fields.empty())
        check_fields(self, batch);
      std::string producer = batch.has_origin() ? batch.origin_producer() : own;
      uint64_t seq = batch.has_origin()
                         ? batch.origin_seq()
                         : (b < l.seqs.size() ? l.seqs[b] : uint64_t{0});
      if (st.cfg.partition == topic_partition::round_robin) {
        appends.push_back(
            {topic_shard_for_batch(producer, seq, n), producer, seq, batch});
        continue;
      }
      std::vector<event_batch> parts(n);
      for (size_t e = 0; e < batch.size(); ++e) {
        auto key =
            st.cfg.key.empty() ? batch.body(e) : batch.header(e, st.cfg.key);
        parts[topic_shard_for_key(key, n)].append_from(batch, e);
      }
      for (uint32_t s = 0; s < n; ++s)
        if (!parts[s].empty())
          appends.push_back({s, producer, seq, std::move(parts[s])});
    }
  }
  if (appends.empty()) {
    // Nothing to write (empty batches): the lease is done.
    st.in_flight.erase(l.id);
    show_in_flight(self);
    self->send(st.cfg.feed, commit_atom::value, l.id);
    return;
  }
  p.outstanding = appends.size();
  for (auto& a : appends)
    append(self, l.id, a.shard, std::move(a.producer), a.seq,
           std::move(a.batch));
}

void take_more(ts_ptr self) {
  auto& st = self->state;
  while (!st.shards.empty() && !st.stopping && !st.waiting &&
         st.takes + st.in_flight.size() < st.cfg.max_in_flight) {
    ++st.takes;
    self->request(st.cfg.feed, caf::infinite, take_atom::value,
                  uint64_t{st.cfg.batch_size})
        .then(
            [self](lease& l) {
              auto& st = self->state;
              --st.takes;
              if (l.id == 0) {
                st.stopping = true;
                maybe_stop(self);
                return;
              }
              if (st.stopping || st.waiting || st.shards.empty()) {
                st.cfg.metrics->rollbacks.fetch_add(1,
                                                    std::memory_order_relaxed);
                self->send(st.cfg.feed, rollback_atom::value, l.id);
                maybe_stop(self);
                return;
              }
              send_lease(self, l);
              take_more(self);
            },
            [self](caf::error& err) {
              auto& st = self->state;
              --st.takes;
              if (st.stopping) {
                maybe_stop(self);
                return;
              }
              if (err == caf::sec::request_receiver_down)
                return;
              fail(self, "its feed failed", std::move(err));
            });
  }
}

void probe_topic(ts_ptr self, caf::response_promise rp) {
  auto& st = self->state;
  self->request(st.topic, std::chrono::milliseconds{st.cfg.probe_timeout_ms},
                metadata_atom::value)
      .then([rp](const topic_metadata&) mutable { rp.deliver(true); },
            [rp](caf::error& err) mutable { rp.deliver(err); });
}

/// Asks the topic for its shards; starts taking once they are known.
void ask_metadata(ts_ptr self) {
  auto& st = self->state;
  self->request(st.topic, std::chrono::milliseconds{st.cfg.timeout_ms},
                metadata_atom::value)
      .then(
          [self](topic_metadata& md) {
            auto& st = self->state;
            if (st.stopping) {
              maybe_stop(self);
              return;
            }
            st.refreshing = false;
            if (md.shards == 0 || md.shard_actors.size() != md.shards) {
              fail(self, "bad topic metadata",
                   make_error(topic_errc::bad_metadata,
                              "topic " + md.name + " names " +
                                  std::to_string(md.shard_actors.size()) +
                                  " shard actor(s) for " +
                                  std::to_string(md.shards) + " shard(s)"));
              return;
            }
            if (st.cfg.shards > 0 && st.cfg.shards != md.shards) {
              fail(self, "wrong shard count",
                   make_error(topic_errc::shard_count_mismatch,
                              "sink " + st.cfg.name + " expects " +
                                  std::to_string(st.cfg.shards) +
                                  " shard(s), topic " + md.name + " has " +
                                  std::to_string(md.shards)));
              return;
            }
            st.shards = std::move(md.shard_actors);
            // A shard that ends (and is restarted) makes the sink ask again.
            for (auto& s : st.shards)
              self->monitor(s);
            st.cfg.metrics->connected.store(1, std::memory_order_relaxed);
            log().info("sink {}: writing to {} ({} shard(s))", st.cfg.name,
                       topic_where(st.cfg), st.shards.size());
            for (auto& rp : std::exchange(st.probes, {}))
              rp.deliver(true);
            take_more(self);
          },
          [self](caf::error& err) {
            auto& st = self->state;
            // While shards restart the topic may answer `stopped` or not at
            // all for a while: ask again, up to the bound.
            if (st.refreshing && !st.stopping &&
                (err == make_error(topic_errc::stopped) ||
                 err == caf::sec::request_timeout)) {
              st.refreshing = false;
              refresh_shards(self, "the topic did not give its shards (" +
                                       describe(err) + ")");
              return;
            }
            fail(self, "the topic did not answer its metadata", std::move(err));
          });
}

void found_topic(ts_ptr self, topic_actor topic) {
  auto& st = self->state;
  st.topic = std::move(topic);
  self->monitor(st.topic);
  ask_metadata(self);
}

void retry_connect(ts_ptr self, const caf::error& err) {
  auto& st = self->state;
  st.cfg.metrics->set_last_error("not reachable: " + describe(err));
  if (!st.waiting_logged) {
    st.waiting_logged = true;
    log().warn("sink {}: {} is not reachable yet ({}); trying again with "
               "back-off",
               st.cfg.name, topic_where(st.cfg), describe(err));
  }
  self->delayed_send(self, std::chrono::milliseconds{st.connect_backoff_ms},
                     reconnect_atom::value);
  st.connect_backoff_ms = std::min<int64_t>(st.connect_backoff_ms * 2, 2000);
}

/// Reaches the node that holds the topic and asks it for the topic.
void connect(ts_ptr self) {
  auto& st = self->state;
  auto attempt = std::chrono::milliseconds{
      std::max<int64_t>(1000, std::min<int64_t>(st.cfg.timeout_ms, 5000))};
  if (st.cfg.metrics->connect_attempts.fetch_add(1, std::memory_order_relaxed) >
      0)
    st.cfg.metrics->reconnects.fetch_add(1, std::memory_order_relaxed);
  connect_actor(
      self, st.cfg.host, st.cfg.port, attempt,
      [self](caf::expected<caf::actor> node) {
        auto& st = self->state;
        if (st.stopping) {
          maybe_stop(self);
          return;
        }
        if (!node) {
          if (!is_transient_link_error(node.error())) {
            fail(self, "cannot reach the topic's node", node.error());
            return;
          }
          retry_connect(self, node.error());
          return;
        }
        self->request(*node, std::chrono::milliseconds{st.cfg.timeout_ms},
                      topic_atom::value, st.cfg.topic_name)
            .then([self](topic_actor& t) { found_topic(self, std::move(t)); },
                  [self](caf::error& err) {
                    fail(self, "the node does not give the topic",
                         std::move(err));
                  });
      });
}

caf::behavior topic_sink_impl(ts_ptr self, topic_sink_config cfg) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  if (!st.cfg.metrics)
    st.cfg.metrics = std::make_shared<component_metrics>(st.cfg.name, "sink");
  if (!st.cfg.topic)
    st.cfg.metrics->set_peer(st.cfg.host + ":" + std::to_string(st.cfg.port));
  self->attach_functor([m = st.cfg.metrics] {
    m->connected.store(0, std::memory_order_relaxed);
    m->in_flight.store(0, std::memory_order_relaxed);
  });
  self->monitor(st.cfg.feed);
  self->set_down_handler([self](caf::down_msg& msg) {
    auto& st = self->state;
    if (st.topic && msg.source == st.topic.address()) {
      fail(self, "the topic is gone",
           msg.reason ? msg.reason
                      : make_error(topic_errc::stopped, "the topic stopped"));
      return;
    }
    for (auto& s : st.shards)
      if (msg.source == s.address()) {
        refresh_shards(self, "a shard ended (" + describe(msg.reason) + ")");
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
  if (st.cfg.topic)
    found_topic(self, st.cfg.topic);
  else if (st.cfg.host.empty() || st.cfg.port == 0)
    self->send(self, timeout_atom::value, uint64_t{0});
  else
    connect(self);
  return {
      [self](reconnect_atom) {
        if (!self->state.stopping)
          connect(self);
      },
      [self](restart_atom, uint64_t epoch) {
        auto& st = self->state;
        if (epoch != st.epoch || !st.refreshing)
          return;
        if (st.stopping) {
          maybe_stop(self);
          return;
        }
        ask_metadata(self);
      },
      [self](timeout_atom, uint64_t) {
        fail(self, "cannot find the topic",
             make_error(topic_errc::unknown_topic,
                        "topic " + self->state.cfg.topic_name +
                            " is neither on this node nor given an address"));
      },
      [self](wake_atom) {
        auto& st = self->state;
        st.waiting = false;
        take_more(self);
        maybe_stop(self);
      },
      [self](probe_atom) -> caf::result<bool> {
        auto& st = self->state;
        auto rp = self->make_response_promise();
        if (!st.topic || st.shards.empty())
          st.probes.push_back(rp);
        else
          probe_topic(self, rp);
        return caf::result<bool>{caf::delegated<bool>{}};
      },
      [self](stop_atom) {
        auto& st = self->state;
        if (st.stopping)
          return;
        st.stopping = true;
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

sink_actor spawn_topic_sink(caf::actor_system& sys, topic_sink_config cfg) {
  return caf::actor_cast<sink_actor>(
      sys.spawn(topic_sink_impl, std::move(cfg)));
}

} // namespace sluice
