#include "actors/topic_source.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <deque>
#include <set>
#include <utility>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/sec.hpp>
#include <caf/stateful_actor.hpp>

#include "connectors/topic_common.hpp"
#include "runtime/atoms.hpp"
#include "runtime/cluster_link.hpp"
#include "runtime/errors.hpp"
#include "runtime/log.hpp"

namespace sluice {

namespace {

bool parse_u64(std::string_view text, uint64_t& out) {
  if (text.empty())
    return false;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc{} && p == text.data() + text.size();
}

} // namespace

std::string encode_topic_positions(const std::map<uint32_t, uint64_t>& pos) {
  std::string out = "t1";
  for (auto& [shard, offset] : pos)
    out += ";" + std::to_string(shard) + "=" + std::to_string(offset);
  return out;
}

caf::expected<std::map<uint32_t, uint64_t>>
decode_topic_positions(std::string_view token) {
  auto bad = [&] {
    return make_error(channel_errc::protocol,
                      "not a topic source's progress token: '" +
                          std::string{token.substr(0, 64)} + "'");
  };
  if (token.substr(0, 2) != "t1")
    return bad();
  std::map<uint32_t, uint64_t> result;
  auto rest = token.substr(2);
  while (!rest.empty()) {
    if (rest.front() != ';')
      return bad();
    rest.remove_prefix(1);
    auto end = rest.find(';');
    auto item = rest.substr(0, end);
    rest =
        end == std::string_view::npos ? std::string_view{} : rest.substr(end);
    auto eq = item.find('=');
    uint64_t shard = 0, offset = 0;
    if (eq == std::string_view::npos || !parse_u64(item.substr(0, eq), shard) ||
        !parse_u64(item.substr(eq + 1), offset) || shard > UINT32_MAX)
      return bad();
    result[static_cast<uint32_t>(shard)] = offset;
  }
  return result;
}

namespace {

/// A put not yet acknowledged: its seq and the shard offset after it.
struct put_record {
  uint64_t seq = 0;
  uint64_t end = 0;
};

/// One shard's reader.
struct shard_reader {
  uint64_t fetch_pos = 0;         ///< next offset to fetch
  uint64_t put_pos = 0;           ///< shard offset after the last record put
  std::deque<read_batch> fetched; ///< fetched, not yet put
  size_t skip = 0;                ///< records of `fetched.front()` put
  bool fetching = false;
  std::deque<put_record> unacked; ///< in put order
  uint64_t acked_end = 0;         ///< offset after the acked run
  uint64_t committed = 0;         ///< last offset the shard confirmed
  bool committing = false;
  bool started = false; ///< its start position is known
};

struct topic_source_state {
  topic_source_config cfg;
  topic_actor topic;
  std::vector<shard_actor> shards;
  std::vector<shard_reader> readers;
  std::map<uint32_t, uint64_t> token; ///< from the channel, at start
  std::set<uint64_t> acked;           ///< acks not yet matched to a shard
  uint64_t next_seq = 1;
  uint64_t credit = 0;
  size_t starting = 0;   ///< shards whose start position is being asked
  size_t next_shard = 0; ///< where the next put round begins
  int64_t connect_backoff_ms = 100;
  bool attached = false;
  bool stopping = false;
  /// Counts the sets of shard handles used: answers from an older set are
  /// ignored (what they asked is asked again of the new one).
  uint64_t epoch = 0;
  /// A shard went away: the source waits for the topic's new handles.
  bool refreshing = false;
  int refreshes = 0; ///< in a row, without a fetch answered since
  static inline const char* name = "sluice.topic_source";
};

using tsrc_ptr = caf::stateful_actor<topic_source_state>*;

void fail(tsrc_ptr self, const std::string& what, caf::error err) {
  auto& st = self->state;
  st.cfg.metrics->errors.fetch_add(1, std::memory_order_relaxed);
  log().error("source {}: {} ({}): {}", st.cfg.name, what, topic_where(st.cfg),
              describe(err));
  st.cfg.metrics->set_last_error(what + ": " + describe(err));
  self->quit(std::move(err));
}

bool all_done(tsrc_ptr self) {
  for (auto& r : self->state.readers)
    if (!r.unacked.empty() || r.committing ||
        (!self->state.cfg.group.empty() && r.acked_end > r.committed))
      return false;
  return true;
}

void maybe_quit(tsrc_ptr self) {
  if (self->state.stopping && all_done(self))
    self->quit();
}

/// A shard went away (its topic restarts it): forgets the requests in
/// flight and asks the topic for its shards again after a back-off; the
/// readers keep their positions. Gives up after `max_shard_refreshes` in a
/// row. While stopping, gives up the commits in flight instead.
void refresh_shards(tsrc_ptr self, const std::string& why) {
  auto& st = self->state;
  if (st.refreshing)
    return;
  ++st.epoch;
  for (auto& r : st.readers) {
    r.fetching = false;
    if (st.stopping && r.committing)
      r.committed = r.acked_end; // nothing more will be acked
    r.committing = false;
  }
  if (st.stopping) {
    log().warn("source {}: {} while stopping; its last commits may be lost",
               st.cfg.name, why);
    maybe_quit(self);
    return;
  }
  if (st.refreshes >= max_shard_refreshes) {
    fail(self, "its topic's shards did not come back",
         make_error(topic_errc::stopped, why));
    return;
  }
  st.refreshing = true;
  for (auto& s : st.shards)
    self->demonitor(s.address());
  st.shards.clear();
  auto backoff = shard_refresh_backoff_ms(st.refreshes++);
  st.cfg.metrics->set_last_error("shard gone: " + why);
  log().warn("source {}: {} ({}); asking for its shards again in {} ms",
             st.cfg.name, why, topic_where(st.cfg), backoff);
  self->delayed_send(self, std::chrono::milliseconds{backoff},
                     restart_atom::value, st.epoch);
}

/// A request to shard `shard` failed: a shard that went away is asked for
/// again, anything else ends the source.
void shard_failed(tsrc_ptr self, uint32_t shard, const std::string& what,
                  caf::error err) {
  if (is_stale_shard_error(err)) {
    refresh_shards(self, "shard " + std::to_string(shard) + " is gone (" +
                             describe(err) + ")");
    return;
  }
  fail(self, what, std::move(err));
}

void commit(tsrc_ptr self, uint32_t shard) {
  auto& st = self->state;
  auto& r = st.readers[shard];
  if (st.cfg.group.empty() || r.committing || r.acked_end <= r.committed ||
      st.shards.empty())
    return;
  r.committing = true;
  auto offset = r.acked_end;
  auto epoch = st.epoch;
  self->request(st.shards[shard], std::chrono::milliseconds{st.cfg.timeout_ms},
                commit_atom::value, st.cfg.group, offset)
      .then(
          [self, shard, offset, epoch](bool) {
            if (epoch != self->state.epoch)
              return; // committed again after the refresh
            auto& r = self->state.readers[shard];
            r.committing = false;
            r.committed = std::max(r.committed, offset);
            commit(self, shard);
            maybe_quit(self);
          },
          [self, shard, epoch](caf::error& err) {
            auto& st = self->state;
            if (epoch != st.epoch)
              return;
            st.readers[shard].committing = false;
            if (st.stopping) {
              // Nothing more will be acked: give up on this commit.
              st.readers[shard].committed = st.readers[shard].acked_end;
              log().warn("source {}: cannot commit shard {}: {}", st.cfg.name,
                         shard, describe(err));
              maybe_quit(self);
              return;
            }
            shard_failed(self, shard,
                         "cannot commit the group's offset of shard " +
                             std::to_string(shard),
                         std::move(err));
          });
}

void fetch(tsrc_ptr self, uint32_t shard);

/// Puts what the readers fetched, within credit, one batch per shard in
/// turn.
void pump(tsrc_ptr self) {
  auto& st = self->state;
  auto n = st.readers.size();
  if (!st.attached || n == 0)
    return;
  bool progress = true;
  while (st.credit > 0 && progress && !st.stopping) {
    progress = false;
    for (size_t k = 0; k < n && st.credit > 0; ++k) {
      auto shard = static_cast<uint32_t>((st.next_shard + k) % n);
      auto& r = st.readers[shard];
      if (r.fetched.empty())
        continue;
      auto& rb = r.fetched.front();
      auto size = rb.batch.size();
      auto count = std::min<uint64_t>(st.credit, size - r.skip);
      event_batch out;
      if (r.skip == 0 && count == size && !st.cfg.headers) {
        out = std::move(rb.batch);
        out.set_origin({}, 0);
      } else {
        for (size_t i = r.skip; i < r.skip + count; ++i) {
          out.append_from(rb.batch, i);
          if (st.cfg.headers) {
            out.add_header("shard", std::to_string(shard));
            out.add_header("offset", std::to_string(rb.base_offset + i));
          }
        }
      }
      auto end = rb.base_offset + r.skip + count;
      r.skip += count;
      if (r.skip >= size) {
        r.fetched.pop_front();
        r.skip = 0;
      }
      auto seq = st.next_seq++;
      r.put_pos = end;
      r.unacked.push_back({seq, end});
      st.credit -= count;
      st.cfg.metrics->add_out(out.size(), out.byte_size());
      std::map<uint32_t, uint64_t> positions;
      for (size_t i = 0; i < n; ++i)
        positions[static_cast<uint32_t>(i)] = st.readers[i].put_pos;
      self->send(st.cfg.channel, put_atom::value, seq, std::move(out),
                 encode_topic_positions(positions));
      progress = true;
      if (r.fetched.empty())
        fetch(self, shard);
    }
    st.next_shard = (st.next_shard + 1) % n;
  }
}

void fetch(tsrc_ptr self, uint32_t shard) {
  auto& st = self->state;
  auto& r = st.readers[shard];
  if (r.fetching || st.stopping || !r.fetched.empty() || st.shards.empty())
    return;
  r.fetching = true;
  auto epoch = st.epoch;
  self->request(st.shards[shard],
                std::chrono::milliseconds{st.cfg.wait_ms + st.cfg.timeout_ms},
                fetch_atom::value, r.fetch_pos, st.cfg.fetch_bytes,
                st.cfg.wait_ms)
      .then(
          [self, shard, epoch](fetch_result& res) {
            auto& st = self->state;
            if (epoch != st.epoch)
              return; // fetched again after the refresh
            auto& r = st.readers[shard];
            r.fetching = false;
            if (st.stopping) {
              maybe_quit(self);
              return;
            }
            // It may come from another node: nothing malformed goes on.
            if (auto err = check_fetched(res)) {
              fail(self,
                   "shard " + std::to_string(shard) +
                       " answered a fetch with a malformed batch",
                   std::move(err));
              return;
            }
            st.refreshes = 0;
            if (res.start_offset > r.fetch_pos) {
              log().warn("source {}: shard {} no longer holds offsets {} to "
                         "{} (retention); reading on from {}",
                         st.cfg.name, shard, r.fetch_pos, res.start_offset - 1,
                         res.start_offset);
              r.fetch_pos = res.start_offset;
              if (r.put_pos < r.fetch_pos && r.unacked.empty()) {
                r.put_pos = r.fetch_pos;
                r.acked_end = std::max(r.acked_end, r.fetch_pos);
              }
            }
            for (auto& b : res.batches) {
              auto count = static_cast<uint64_t>(b.batch.size());
              if (b.base_offset + count <= r.fetch_pos)
                continue;
              auto skip =
                  r.fetch_pos > b.base_offset ? r.fetch_pos - b.base_offset : 0;
              r.fetch_pos = b.base_offset + count;
              if (r.fetched.empty())
                r.skip = skip;
              else if (skip > 0)
                continue; // cannot happen: batches are contiguous
              r.fetched.push_back(std::move(b));
            }
            if (r.fetched.empty())
              fetch(self, shard);
            else
              pump(self);
          },
          [self, shard, epoch](caf::error& err) {
            if (epoch != self->state.epoch)
              return;
            self->state.readers[shard].fetching = false;
            shard_failed(self, shard,
                         "cannot fetch from shard " + std::to_string(shard),
                         std::move(err));
          });
}

void attach(tsrc_ptr self) {
  auto& st = self->state;
  self->request(st.cfg.channel, caf::infinite, attach_atom::value,
                st.cfg.window, st.cfg.name)
      .then(
          [self](uint64_t credit) {
            auto& st = self->state;
            st.attached = true;
            st.credit += credit;
            if (st.stopping) {
              maybe_quit(self);
              return;
            }
            for (size_t i = 0; i < st.readers.size(); ++i)
              fetch(self, static_cast<uint32_t>(i));
          },
          [self](caf::error& err) {
            fail(self, "cannot attach to its channel", std::move(err));
          });
}

/// Sets shard `i`'s start position; attaches once every shard has one.
/// `resumed`: `pos` comes from the channel's progress token, which may be
/// ahead of the group's offset on the shard (the source stopped or died
/// before that commit): it is committed again.
void started(tsrc_ptr self, uint32_t i, uint64_t pos, bool resumed = false) {
  auto& st = self->state;
  auto& r = st.readers[i];
  if (r.started)
    return;
  r.started = true;
  r.fetch_pos = r.put_pos = r.acked_end = r.committed = pos;
  if (resumed && pos > 0) {
    r.committed = 0;
    commit(self, i);
  }
  if (--st.starting == 0) {
    log().info("source {}: reading {} ({} shard(s)) for group '{}'",
               st.cfg.name, topic_where(st.cfg), st.readers.size(),
               st.cfg.group);
    attach(self);
  }
}

void find_start(tsrc_ptr self, uint32_t i) {
  auto& st = self->state;
  auto timeout = std::chrono::milliseconds{st.cfg.timeout_ms};
  auto& shard = st.shards[i];
  auto epoch = st.epoch;
  // Answers from shards since replaced are dropped: the refresh asks again.
  auto take = [self, i, epoch](uint64_t pos) {
    if (epoch == self->state.epoch)
      started(self, i, pos);
  };
  auto failed = [self, i, epoch](const std::string& what, caf::error& err) {
    if (epoch == self->state.epoch)
      shard_failed(self, i, "cannot ask shard " + std::to_string(i) + what,
                   std::move(err));
  };
  // Starts never go past the durable end: a crash may cut what is not
  // durable yet, and its offsets are then given to new records.
  auto with_offsets = [self, i, timeout, take, failed](auto pick) {
    auto& st = self->state;
    self->request(st.shards[i], timeout, offsets_atom::value)
        .then([take, pick](const shard_offsets& o) { take(pick(o)); },
              [failed](caf::error& err) { failed(" offsets", err); });
  };
  if (auto t = st.token.find(i); t != st.token.end()) {
    // The channel holds what was put up to there.
    auto pos = t->second;
    auto& shard_ref = st.shards[i];
    self->request(shard_ref, timeout, offsets_atom::value)
        .then(
            [self, i, epoch, pos](const shard_offsets& o) {
              if (epoch == self->state.epoch)
                started(
                    self, i,
                    std::clamp(pos, o.start, std::max(o.start, o.durable_end)),
                    true);
            },
            [failed](caf::error& err) { failed(" offsets", err); });
    return;
  }
  switch (st.cfg.start.from) {
  case topic_start::kind::committed:
    if (st.cfg.group.empty()) {
      with_offsets([](const shard_offsets& o) { return o.start; });
      return;
    }
    self->request(shard, timeout, committed_atom::value, st.cfg.group)
        .then([take](uint64_t offset) { take(offset); },
              [with_offsets, failed](caf::error& err) {
                if (err == make_error(topic_errc::no_committed_offset)) {
                  with_offsets([](const shard_offsets& o) { return o.start; });
                  return;
                }
                failed(" for the group's offset", err);
              });
    return;
  case topic_start::kind::earliest:
    with_offsets([](const shard_offsets& o) { return o.start; });
    return;
  case topic_start::kind::latest:
    with_offsets([](const shard_offsets& o) {
      return std::max(o.start, o.durable_end);
    });
    return;
  case topic_start::kind::offset: {
    auto n = st.cfg.start.offset;
    with_offsets([n](const shard_offsets& o) {
      return std::clamp(n, o.start, std::max(o.start, o.durable_end));
    });
    return;
  }
  case topic_start::kind::timestamp:
    // The shard answers at most its durable end.
    self->request(shard, timeout, offset_for_time_atom::value,
                  st.cfg.start.timestamp_ms)
        .then([take](uint64_t offset) { take(offset); },
              [failed](caf::error& err) {
                failed(" for an offset by time", err);
              });
    return;
  }
}

void ask_metadata(tsrc_ptr self) {
  auto& st = self->state;
  self->request(st.topic, std::chrono::milliseconds{st.cfg.timeout_ms},
                metadata_atom::value)
      .then(
          [self](topic_metadata& md) {
            auto& st = self->state;
            // A stop during a refresh still commits what was acked.
            if (st.stopping && st.readers.empty()) {
              self->quit();
              return;
            }
            if (md.shards == 0 || md.shard_actors.size() != md.shards) {
              fail(self, "bad topic metadata",
                   make_error(topic_errc::bad_metadata,
                              "topic " + md.name + " names " +
                                  std::to_string(md.shard_actors.size()) +
                                  " shard actor(s) for " +
                                  std::to_string(md.shards) + " shard(s)"));
              return;
            }
            auto first = st.readers.empty();
            if (!first && md.shards != st.readers.size()) {
              fail(self, "the topic's shard count changed",
                   make_error(topic_errc::shard_count_mismatch,
                              "topic " + md.name + " had " +
                                  std::to_string(st.readers.size()) +
                                  " shard(s), now " +
                                  std::to_string(md.shards)));
              return;
            }
            st.refreshing = false;
            st.shards = std::move(md.shard_actors);
            // A shard that ends (and is restarted) makes the source ask
            // again.
            for (auto& s : st.shards)
              self->monitor(s);
            st.cfg.metrics->connected.store(1, std::memory_order_relaxed);
            if (first) {
              st.readers.resize(st.shards.size());
              st.starting = st.shards.size();
            } else {
              log().info("source {}: reading {} again", st.cfg.name,
                         topic_where(st.cfg));
            }
            for (uint32_t i = 0; i < st.shards.size(); ++i) {
              if (!st.readers[i].started) {
                find_start(self, i);
                continue;
              }
              if (st.attached)
                fetch(self, i);
              commit(self, i);
            }
          },
          [self](caf::error& err) {
            auto& st = self->state;
            // While shards restart the topic may answer `stopped` or not at
            // all for a while: ask again, up to the bound.
            if (st.refreshing && st.stopping) {
              log().warn("source {}: stops without its last commits: {}",
                         st.cfg.name, describe(err));
              self->quit();
              return;
            }
            if (st.refreshing && (err == make_error(topic_errc::stopped) ||
                                  err == caf::sec::request_timeout)) {
              st.refreshing = false;
              refresh_shards(self, "the topic did not give its shards (" +
                                       describe(err) + ")");
              return;
            }
            fail(self, "the topic did not answer its metadata", std::move(err));
          });
}

void found_topic(tsrc_ptr self, topic_actor topic) {
  auto& st = self->state;
  st.topic = std::move(topic);
  self->monitor(st.topic);
  ask_metadata(self);
}

void connect(tsrc_ptr self) {
  auto& st = self->state;
  auto attempt = std::chrono::milliseconds{
      std::max<int64_t>(1000, std::min<int64_t>(st.cfg.timeout_ms, 5000))};
  connect_actor(
      self, st.cfg.host, st.cfg.port, attempt,
      [self](caf::expected<caf::actor> node) {
        auto& st = self->state;
        if (st.stopping) {
          self->quit();
          return;
        }
        if (!node) {
          if (!is_transient_link_error(node.error())) {
            fail(self, "cannot reach the topic's node", node.error());
            return;
          }
          st.cfg.metrics->set_last_error("not reachable: " +
                                         describe(node.error()));
          self->delayed_send(self,
                             std::chrono::milliseconds{st.connect_backoff_ms},
                             reconnect_atom::value);
          st.connect_backoff_ms =
              std::min<int64_t>(st.connect_backoff_ms * 2, 2000);
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

void find_topic(tsrc_ptr self) {
  auto& st = self->state;
  if (st.cfg.topic)
    found_topic(self, st.cfg.topic);
  else if (!st.cfg.host.empty() && st.cfg.port != 0)
    connect(self);
  else
    fail(self, "cannot find the topic",
         make_error(topic_errc::unknown_topic,
                    "topic " + st.cfg.topic_name +
                        " is neither on this node nor given an address"));
}

caf::behavior topic_source_impl(tsrc_ptr self, topic_source_config cfg) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  if (!st.cfg.metrics)
    st.cfg.metrics = std::make_shared<component_metrics>(st.cfg.name, "source");
  self->attach_functor([m = st.cfg.metrics] {
    m->connected.store(0, std::memory_order_relaxed);
  });
  self->monitor(st.cfg.channel);
  self->set_down_handler([self](caf::down_msg& msg) {
    auto& st = self->state;
    if (st.topic && msg.source == st.topic.address()) {
      if (st.stopping && !msg.reason) {
        self->quit();
        return;
      }
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
    if (msg.source != st.cfg.channel.address())
      return;
    if (!msg.reason && st.stopping) {
      self->quit();
      return;
    }
    log().warn("source {}: its channel is gone", st.cfg.name);
    self->quit(msg.reason
                   ? msg.reason
                   : make_error(channel_errc::stopped, "channel stopped"));
  });
  // A put the channel refused comes back as an error message.
  self->set_error_handler([self](caf::error& err) {
    fail(self, "its channel refused a batch", std::move(err));
  });
  self->request(st.cfg.channel, caf::infinite, progress_atom::value,
                st.cfg.name)
      .then(
          [self](const std::string& token) {
            auto& st = self->state;
            if (st.stopping) {
              self->quit();
              return;
            }
            if (!token.empty()) {
              if (auto pos = decode_topic_positions(token))
                st.token = std::move(*pos);
              else
                log().warn("source {}: ignoring its channel's progress ({}); "
                           "starting from the group's position",
                           st.cfg.name, describe(pos.error()));
            }
            find_topic(self);
          },
          [self](caf::error& err) {
            fail(self, "cannot ask its channel where to resume",
                 std::move(err));
          });
  return {
      [self](ack_atom, uint64_t seq, uint64_t credit) {
        auto& st = self->state;
        st.credit += credit;
        st.acked.insert(seq);
        for (uint32_t i = 0; i < st.readers.size(); ++i) {
          auto& r = st.readers[i];
          bool moved = false;
          while (!r.unacked.empty() && st.acked.count(r.unacked.front().seq)) {
            st.acked.erase(r.unacked.front().seq);
            r.acked_end = r.unacked.front().end;
            r.unacked.pop_front();
            moved = true;
          }
          if (moved)
            commit(self, i);
        }
        pump(self);
        maybe_quit(self);
      },
      [self](credit_atom, uint64_t credit) {
        self->state.credit += credit;
        pump(self);
      },
      [self](reconnect_atom) {
        if (!self->state.stopping)
          connect(self);
      },
      [self](restart_atom, uint64_t epoch) {
        auto& st = self->state;
        if (epoch != st.epoch || !st.refreshing)
          return;
        ask_metadata(self);
      },
      [self](stop_atom) {
        auto& st = self->state;
        if (st.stopping)
          return;
        st.stopping = true;
        self->delayed_send(self,
                           std::chrono::milliseconds{st.cfg.stop_timeout_ms},
                           timeout_atom::value);
        maybe_quit(self);
      },
      [self](timeout_atom) {
        auto& st = self->state;
        size_t pending = 0;
        for (auto& r : st.readers)
          pending += r.unacked.size();
        log().warn("source {}: stopping without acks for {} batch(es)",
                   st.cfg.name, pending);
        self->quit();
      },
  };
}

} // namespace

caf::actor spawn_topic_source(caf::actor_system& sys, topic_source_config cfg) {
  return sys.spawn(topic_source_impl, std::move(cfg));
}

} // namespace sluice
