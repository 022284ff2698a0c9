#include "connectors/topic_fetcher.hpp"

#include <algorithm>
#include <chrono>
#include <optional>

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <fmt/format.h>

#include "connectors/topic_common.hpp"
#include "runtime/errors.hpp"
#include "runtime/log.hpp"

namespace sluice {

namespace {

using std::chrono::milliseconds;

/// The fetcher's own messages: `(fetch_atom, i, epoch)` fetches shard `i`
/// of the feed, `(tick_atom)` commits, `(restart_atom, epoch)` asks the
/// topic for its shards again.
using fetcher_impl_actor =
    topic_fetcher_actor::extend<caf::reacts_to<fetch_atom, uint32_t, uint64_t>,
                                caf::reacts_to<tick_atom>,
                                caf::reacts_to<restart_atom, uint64_t>>;

int64_t fetch_clock_ms() {
  return std::chrono::duration_cast<milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

/// One shard as the fetcher sees it (index `i` matches the feed's).
struct shard_reader {
  uint64_t fetch_pos = 0;
  uint64_t committed = 0; ///< last position the shard confirmed
  bool has_committed = false;
  bool fetching = false;
  bool committing = false;
  bool started = false;
  bool reached_end = false; ///< bounded: fetched up to the end
};

struct fetcher_state {
  topic_fetcher_config cfg;
  std::vector<shard_reader> readers;
  std::vector<shard_actor> handles; ///< by local index; empty: refreshing
  uint64_t epoch = 0;
  int refreshes = 0;
  bool failed = false;
  bool stopping = false;
  std::optional<caf::typed_response_promise<bool>> stop_reply;
  static inline const char* name = "sluice.topic_fetcher";
};

using fetcher_ptr = fetcher_impl_actor::stateful_pointer<fetcher_state>;

void fetch(fetcher_ptr self, uint32_t i);
void start_shard(fetcher_ptr self, uint32_t i);

/// Answers the stop once no commit is in flight.
void maybe_quit(fetcher_ptr self) {
  auto& st = self->state;
  if (!st.stopping)
    return;
  for (auto& r : st.readers)
    if (r.committing)
      return;
  if (st.stop_reply) {
    st.stop_reply->deliver(true);
    st.stop_reply.reset();
  }
  self->quit();
}

void give_up(fetcher_ptr self, caf::error err) {
  auto& st = self->state;
  if (st.failed)
    return;
  st.failed = true;
  log().error("{}: {}", st.cfg.label, describe(err));
  std::lock_guard guard{st.cfg.feed->mtx};
  st.cfg.feed->failure = std::move(err);
}

/// Takes the handles of the shards the feed reads out of `meta`.
caf::error take_handles(fetcher_ptr self, const topic_metadata& meta) {
  auto& st = self->state;
  st.handles.clear();
  for (auto& s : st.cfg.feed->shards) {
    if (s.index >= meta.shard_actors.size())
      return make_error(topic_errc::bad_metadata,
                        fmt::format("the topic has {} shard handle(s), "
                                    "shard {} is read",
                                    meta.shard_actors.size(), s.index));
    st.handles.push_back(meta.shard_actors[s.index]);
  }
  return {};
}

/// A shard went away: asks the topic for its shards again after a back-off.
void refresh(fetcher_ptr self, const std::string& why) {
  auto& st = self->state;
  if (st.handles.empty() || st.failed)
    return;
  ++st.epoch;
  for (auto& r : st.readers)
    r.fetching = r.committing = false;
  st.handles.clear();
  if (st.stopping) {
    maybe_quit(self);
    return;
  }
  if (st.refreshes >= max_shard_refreshes) {
    give_up(self, make_error(topic_errc::stopped,
                             "its shards did not come back: " + why));
    return;
  }
  auto backoff = shard_refresh_backoff_ms(st.refreshes++);
  log().warn("{}: {}; asking for the shards again in {} ms", st.cfg.label, why,
             backoff);
  self->delayed_send(self, milliseconds{backoff}, restart_atom::value,
                     st.epoch);
}

/// A request to shard `i` failed.
void shard_failed(fetcher_ptr self, uint32_t i, const std::string& what,
                  caf::error err) {
  auto index = self->state.cfg.feed->shards[i].index;
  if (is_stale_shard_error(err)) {
    refresh(self, fmt::format("shard {} is gone ({})", index, describe(err)));
    return;
  }
  give_up(self, make_error(topic_errc::io_error,
                           fmt::format("shard {}: {}: {}", index, what,
                                       describe(err))));
}

/// Records where shard `i` starts (and ends, bounded) and starts fetching.
void started(fetcher_ptr self, uint32_t i, uint64_t from, uint64_t end) {
  auto& st = self->state;
  auto& r = st.readers[i];
  r.started = true;
  r.fetch_pos = from;
  {
    auto& feed = *st.cfg.feed;
    std::lock_guard guard{feed.mtx};
    auto& s = feed.shards[i];
    s.started = true;
    s.next = from;
    s.end = end;
    s.last_rows_ms = fetch_clock_ms();
    if (st.cfg.bounded && from >= end) {
      r.reached_end = true;
      s.caught_up = s.at_end = true;
    }
  }
  fetch(self, i);
}

/// Asks the shard's durable end (bounded) and then starts at `from`.
void start_at(fetcher_ptr self, uint32_t i, uint64_t from) {
  auto& st = self->state;
  if (!st.cfg.bounded && st.cfg.start.from != topic_start::kind::latest) {
    started(self, i, from, UINT64_MAX);
    return;
  }
  auto epoch = st.epoch;
  self->request(st.handles[i], milliseconds{st.cfg.timeout_ms},
                offsets_atom::value)
      .then(
          [self, i, from, epoch](shard_offsets& off) {
            auto& st = self->state;
            if (epoch != st.epoch)
              return;
            auto at = st.cfg.start.from == topic_start::kind::latest
                          ? off.durable_end
                          : std::min(from, off.durable_end);
            started(self, i, at, st.cfg.bounded ? off.durable_end : UINT64_MAX);
          },
          [self, i, epoch](caf::error& err) {
            if (epoch == self->state.epoch)
              shard_failed(self, i, "cannot ask its offsets", std::move(err));
          });
}

void start_shard(fetcher_ptr self, uint32_t i) {
  auto& st = self->state;
  auto epoch = st.epoch;
  auto& h = st.handles[i];
  switch (st.cfg.start.from) {
  case topic_start::kind::committed:
    self->request(h, milliseconds{st.cfg.timeout_ms}, committed_atom::value,
                  st.cfg.group)
        .then(
            [self, i, epoch](uint64_t at) {
              if (epoch != self->state.epoch)
                return;
              auto& r = self->state.readers[i];
              r.committed = at;
              r.has_committed = true;
              start_at(self, i, at);
            },
            [self, i, epoch](caf::error& err) {
              if (epoch != self->state.epoch)
                return;
              if (err == make_error(topic_errc::no_committed_offset))
                start_at(self, i, 0); // earliest: below the start reads it
              else
                shard_failed(self, i, "cannot ask the group's offset",
                             std::move(err));
            });
    return;
  case topic_start::kind::timestamp:
    self->request(h, milliseconds{st.cfg.timeout_ms},
                  offset_for_time_atom::value, st.cfg.start.timestamp_ms)
        .then(
            [self, i, epoch](uint64_t at) {
              if (epoch == self->state.epoch)
                start_at(self, i, at);
            },
            [self, i, epoch](caf::error& err) {
              if (epoch == self->state.epoch)
                shard_failed(self, i, "cannot find the offset of the time",
                             std::move(err));
            });
    return;
  case topic_start::kind::offset:
    start_at(self, i, st.cfg.start.offset);
    return;
  case topic_start::kind::earliest:
  case topic_start::kind::latest:
    start_at(self, i, 0);
    return;
  }
}

void fetch(fetcher_ptr self, uint32_t i) {
  auto& st = self->state;
  auto& r = st.readers[i];
  if (r.fetching || !r.started || r.reached_end || st.stopping || st.failed ||
      st.handles.empty())
    return;
  {
    auto& feed = *st.cfg.feed;
    std::lock_guard guard{feed.mtx};
    if (feed.shards[i].bytes >= st.cfg.queue_bytes) {
      // Full: the reader drains it; look again soon.
      self->delayed_send(self, milliseconds{10}, fetch_atom::value, i,
                         st.epoch);
      return;
    }
  }
  r.fetching = true;
  auto epoch = st.epoch;
  self->request(st.handles[i], milliseconds{st.cfg.wait_ms + st.cfg.timeout_ms},
                fetch_atom::value, r.fetch_pos, st.cfg.fetch_bytes,
                st.cfg.wait_ms)
      .then(
          [self, i, epoch](fetch_result& res) {
            auto& st = self->state;
            if (epoch != st.epoch)
              return;
            auto& r = st.readers[i];
            r.fetching = false;
            if (st.stopping)
              return;
            // It may come from another node: nothing malformed goes on.
            if (auto err = check_fetched(res)) {
              give_up(self, std::move(err));
              return;
            }
            st.refreshes = 0;
            r.fetch_pos = std::max(r.fetch_pos, res.start_offset);
            auto& feed = *st.cfg.feed;
            {
              std::lock_guard guard{feed.mtx};
              auto& s = feed.shards[i];
              s.caught_up = res.batches.empty();
              for (auto& b : res.batches) {
                r.fetch_pos = b.base_offset + b.batch.size();
                s.bytes += b.batch.byte_size();
                s.batches.push_back(std::move(b));
              }
              if (!res.batches.empty())
                s.last_rows_ms = fetch_clock_ms();
              if (st.cfg.bounded && r.fetch_pos >= s.end) {
                r.reached_end = true;
                s.caught_up = s.at_end = true;
              }
            }
            fetch(self, i);
          },
          [self, i, epoch](caf::error& err) {
            auto& st = self->state;
            if (epoch != st.epoch)
              return;
            st.readers[i].fetching = false;
            if (!st.stopping)
              shard_failed(self, i, "fetch failed", std::move(err));
          });
}

/// Commits the reader's position of every shard that moved.
void commit_all(fetcher_ptr self) {
  auto& st = self->state;
  if (st.cfg.group.empty() || st.handles.empty())
    return;
  for (uint32_t i = 0; i < st.readers.size(); ++i) {
    auto& r = st.readers[i];
    if (r.committing || !r.started)
      continue;
    uint64_t at = 0;
    {
      std::lock_guard guard{st.cfg.feed->mtx};
      at = st.cfg.feed->shards[i].next;
    }
    if (r.has_committed && at <= r.committed)
      continue;
    r.committing = true;
    auto epoch = st.epoch;
    self->request(st.handles[i], milliseconds{st.cfg.timeout_ms},
                  commit_atom::value, st.cfg.group, at)
        .then(
            [self, i, at, epoch](bool) {
              auto& st = self->state;
              if (epoch != st.epoch)
                return;
              auto& r = st.readers[i];
              r.committing = false;
              r.committed = std::max(r.committed, at);
              r.has_committed = true;
              maybe_quit(self);
            },
            [self, i, epoch](caf::error& err) {
              auto& st = self->state;
              if (epoch != st.epoch)
                return;
              st.readers[i].committing = false;
              // The next tick tries again; a commit is not worth the job.
              log().warn("{}: cannot commit the offset of shard {}: {}",
                         st.cfg.label, st.cfg.feed->shards[i].index,
                         describe(err));
              maybe_quit(self);
            });
  }
}

fetcher_impl_actor::behavior_type fetcher_fn(fetcher_ptr self,
                                             topic_fetcher_config cfg) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  st.readers.resize(st.cfg.feed->shards.size());
  if (auto err = take_handles(self, st.cfg.meta))
    give_up(self, std::move(err));
  else
    for (uint32_t i = 0; i < st.readers.size(); ++i)
      start_shard(self, i);
  if (!st.cfg.group.empty())
    self->delayed_send(self, milliseconds{st.cfg.commit_interval_ms},
                       tick_atom::value);
  return {
      [self](stop_atom) -> caf::result<bool> {
        auto& st = self->state;
        if (st.stopping)
          return true;
        st.stopping = true;
        commit_all(self);
        for (auto& r : st.readers)
          if (r.committing) {
            st.stop_reply = self->make_response_promise<bool>();
            return *st.stop_reply;
          }
        self->quit();
        return true;
      },
      [self](fetch_atom, uint32_t i, uint64_t epoch) {
        if (epoch == self->state.epoch)
          fetch(self, i);
      },
      [self](tick_atom) {
        auto& st = self->state;
        if (st.stopping)
          return;
        commit_all(self);
        self->delayed_send(self, milliseconds{st.cfg.commit_interval_ms},
                           tick_atom::value);
      },
      [self](restart_atom, uint64_t epoch) {
        auto& st = self->state;
        if (epoch != st.epoch || st.stopping)
          return;
        self->request(st.cfg.topic, milliseconds{st.cfg.timeout_ms},
                      metadata_atom::value)
            .then(
                [self, epoch](topic_metadata& meta) {
                  auto& st = self->state;
                  if (epoch != st.epoch || st.stopping)
                    return;
                  if (auto err = take_handles(self, meta)) {
                    give_up(self, std::move(err));
                    return;
                  }
                  for (uint32_t i = 0; i < st.readers.size(); ++i) {
                    if (st.readers[i].started)
                      fetch(self, i);
                    else
                      start_shard(self, i);
                  }
                },
                [self, epoch](caf::error& err) {
                  auto& st = self->state;
                  if (epoch != st.epoch)
                    return;
                  if (is_stale_shard_error(err) &&
                      st.refreshes < max_shard_refreshes) {
                    auto backoff = shard_refresh_backoff_ms(st.refreshes++);
                    self->delayed_send(self, milliseconds{backoff},
                                       restart_atom::value, epoch);
                    return;
                  }
                  give_up(self, make_error(topic_errc::stopped,
                                           "the topic does not answer: " +
                                               describe(err)));
                });
      },
  };
}

} // namespace

topic_fetcher_actor spawn_topic_fetcher(caf::actor_system& sys,
                                        topic_fetcher_config cfg) {
  return sys.spawn(fetcher_fn, std::move(cfg));
}

} // namespace sluice
