#include "actors/shard.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <map>
#include <system_error>
#include <utility>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <fmt/format.h>
#include <unistd.h>

#include "runtime/atoms.hpp"
#include "runtime/consumer_offsets.hpp"
#include "runtime/errors.hpp"
#include "runtime/fs_sync.hpp"
#include "runtime/log.hpp"

namespace sluice {

namespace {

/// The shard's own messages (timers), beside its public interface.
using shard_impl_actor = shard_actor::extend<
    caf::reacts_to<sync_atom>, caf::reacts_to<wake_atom, uint64_t>,
    caf::reacts_to<retention_atom>, caf::reacts_to<flush_atom>>;

/// Runs a shard's fdatasyncs on a thread of its own, so the shard appends
/// while the disk writes back (pipelined group commit).
///
/// - `(sync_atom, int fd)` -> `int`: syncs `fd` with the shard's
///   `sync_data`, closes it and answers 0, or the errno of the failure.
using syncer_actor =
    caf::typed_actor<caf::replies_to<sync_atom, int>::with<int>>;

syncer_actor::behavior_type syncer_impl(syncer_actor::pointer,
                                        int (*sync_data)(int)) {
  return {
      [sync_data](sync_atom, int fd) -> int {
        int rc = sync_data(fd) == 0 ? 0 : (errno != 0 ? errno : EIO);
        ::close(fd);
        return rc;
      },
  };
}

/// The longest a fetch is held.
constexpr int64_t max_wait_ms = 60'000;

/// The most bytes one fetch reads (a larger `max_bytes` is clamped).
constexpr uint64_t max_fetch_bytes = uint64_t{64} << 20;

/// The longest origin producer a batch may carry (the encoded batch stores
/// its length in 16 bits).
constexpr size_t max_origin_bytes = 65535;

/// An append written and not yet durable.
struct pending_append {
  caf::typed_response_promise<append_result> rp;
  append_result result;
  uint64_t need = 0; ///< durable end that makes it durable
};

/// A fetch held until records at its offset are durable (long poll).
struct waiting_fetch {
  caf::typed_response_promise<fetch_result> rp;
  uint64_t offset = 0;
  uint64_t max_bytes = 0;
};

/// Everything a shard actor owns.
struct shard_state {
  shard_config cfg;
  std::unique_ptr<shard_log> log;
  consumer_offsets offsets;
  std::vector<pending_append> pending;
  /// Commits answered once the next write of the groups' positions is done.
  std::vector<caf::typed_response_promise<bool>> pending_commits;
  std::map<uint64_t, waiting_fetch> waiting; ///< by id
  uint64_t next_wait_id = 1;
  bool sync_scheduled = false;
  /// The thread that runs the fdatasyncs (spawned at the first sync).
  syncer_actor syncer;
  /// When the sync in flight (or the last one) began.
  std::chrono::steady_clock::time_point sync_started;
  bool flush_scheduled = false;
  bool stopping = false;
  /// A producer's batch refused for a full disk: its seq and when. Later
  /// batches of the producer wait behind it (`held_order_ms`).
  struct held_batch {
    uint64_t seq = 0;
    std::chrono::steady_clock::time_point since;
  };
  std::map<std::string, held_batch> held; ///< by producer
  /// This shard's share of the topic's gauges, as last added.
  uint64_t shown_records = 0;
  uint64_t shown_bytes = 0;
  uint64_t shown_segments = 0;
  static inline const char* name = "sluice.shard";

  /// Brings this shard's share of the topic's gauges to the given values.
  void show(uint64_t records, uint64_t bytes, uint64_t segments) {
    auto& m = *cfg.metrics;
    // Unsigned differences wrap, so a shrinking gauge subtracts.
    m.fill_events.fetch_add(records - shown_records, std::memory_order_relaxed);
    m.fill_bytes.fetch_add(bytes - shown_bytes, std::memory_order_relaxed);
    m.segments.fetch_add(segments - shown_segments, std::memory_order_relaxed);
    shown_records = records;
    shown_bytes = bytes;
    shown_segments = segments;
  }

  void update_gauges() {
    if (!log)
      return;
    show(log->end_offset() - log->start_offset(),
         static_cast<uint64_t>(std::max<int64_t>(0, log->disk_bytes())),
         log->segments());
  }

  /// Writes the groups' positions and answers the commits waiting for
  /// that write.
  void flush_offsets() {
    caf::error err;
    if (offsets.dirty()) {
      err = offsets.save();
      if (err)
        log_error("cannot write its consumer offsets", err);
    }
    for (auto& rp : std::exchange(pending_commits, {})) {
      if (err)
        rp.deliver(err);
      else
        rp.deliver(true);
    }
  }

  /// Writes the groups' positions and closes the log. Idempotent. The
  /// gauges keep their last values: they still say what is on disk, and
  /// the final stats line shows them.
  void close() {
    flush_offsets();
    if (syncer) {
      caf::anon_send_exit(syncer, caf::exit_reason::user_shutdown);
      syncer = nullptr;
    }
    if (log) {
      log->close();
      log.reset();
    }
  }

  void log_error(const char* what, const caf::error& err) {
    cfg.metrics->errors.fetch_add(1, std::memory_order_relaxed);
    sluice::log().error("shard {}: {}: {}", cfg.name, what, describe(err));
  }

  ~shard_state() { close(); }
};

using shard_ptr = shard_impl_actor::stateful_pointer<shard_state>;

/// Producers whose refused batch a shard remembers before it forgets the
/// ones held longer than `held_order_ms`.
constexpr size_t max_held_producers = 4096;

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

caf::error protocol_error(shard_ptr self, std::string what) {
  auto& st = self->state;
  st.cfg.metrics->protocol_errors.fetch_add(1, std::memory_order_relaxed);
  sluice::log().error("shard {}: refused a request: {}", st.cfg.name, what);
  return make_error(topic_errc::bad_request, std::move(what));
}

bool is_disk_full(const caf::error& err) {
  return err == make_error(topic_errc::disk_full) ||
         err == make_error(channel_errc::disk_full);
}

/// What a fetch at `offset` gets now (records may be none).
caf::expected<fetch_result> read_now(shard_ptr self, uint64_t offset,
                                     uint64_t max_bytes) {
  auto& log = *self->state.log;
  fetch_result result;
  result.start_offset = log.start_offset();
  result.end_offset = log.durable_end();
  auto from = std::max(offset, result.start_offset);
  if (from < result.end_offset) {
    auto batches = log.read(
        from, static_cast<size_t>(std::min(max_bytes, max_fetch_bytes)));
    if (!batches)
      return batches.error();
    result.batches = std::move(*batches);
  }
  return result;
}

/// Answers the held fetches whose records became durable (all of them when
/// `all`, with whatever there is).
void serve_waiting(shard_ptr self, bool all) {
  auto& st = self->state;
  if (!st.log)
    return;
  auto durable = st.log->durable_end();
  for (auto i = st.waiting.begin(); i != st.waiting.end();) {
    auto& w = i->second;
    if (!all && w.offset >= durable) {
      ++i;
      continue;
    }
    auto r = read_now(self, w.offset, w.max_bytes);
    if (r)
      w.rp.deliver(std::move(*r));
    else
      w.rp.deliver(r.error());
    i = st.waiting.erase(i);
  }
}

/// Answers everything held with `err`, closes and ends with `err`.
void fail(shard_ptr self, caf::error err) {
  auto& st = self->state;
  st.log_error("stopping", err);
  for (auto& p : st.pending)
    p.rp.deliver(err);
  st.pending.clear();
  for (auto& [id, w] : st.waiting)
    w.rp.deliver(err);
  st.waiting.clear();
  for (auto& rp : std::exchange(st.pending_commits, {}))
    rp.deliver(err);
  st.close();
  self->quit(std::move(err));
}

/// Answers the appends `durable_end` covers now and the fetches waiting
/// for them.
void answer_durable(shard_ptr self) {
  auto& st = self->state;
  auto durable = st.log->durable_end();
  auto done = [&](pending_append& p) {
    if (p.need > durable)
      return false;
    p.rp.deliver(p.result);
    return true;
  };
  st.pending.erase(std::remove_if(st.pending.begin(), st.pending.end(), done),
                   st.pending.end());
  serve_waiting(self, false);
  st.update_gauges();
}

/// One group commit on the shard's own thread (at stop): syncs, then
/// answers the appends it made durable and the fetches waiting for them.
void sync_blocking(shard_ptr self) {
  auto& st = self->state;
  st.sync_scheduled = false;
  if (!st.log)
    return;
  if (auto err = st.log->sync()) {
    fail(self, make_error(topic_errc::io_error,
                          "shard " + st.cfg.name +
                              ": sync failed: " + describe(err)));
    return;
  }
  answer_durable(self);
}

void schedule_sync(shard_ptr self);

/// The sync in flight came back: answers what it made durable, and starts
/// the next when appends came meanwhile.
void sync_done(shard_ptr self, const log_sync& s, int rc) {
  auto& st = self->state;
  if (!st.log)
    return; // stopped meanwhile: the stop synced everything itself
  if (auto err = st.log->end_sync(s, rc == 0)) {
    auto why = rc != 0 ? std::string{std::strerror(rc)} : describe(err);
    fail(self, make_error(topic_errc::io_error,
                          "shard " + st.cfg.name + ": sync failed: " + why));
    return;
  }
  answer_durable(self);
  if (!st.pending.empty())
    schedule_sync(self);
}

/// One group commit, pipelined: hands the fdatasync of every append so far
/// to the syncer and returns; appends go on meanwhile and wait for the next
/// one. At most one sync is in flight.
void start_sync(shard_ptr self) {
  auto& st = self->state;
  st.sync_scheduled = false;
  if (!st.log || st.log->sync_in_flight())
    return; // sync_done schedules the next
  auto s = st.log->begin_sync();
  if (!s) {
    fail(self, make_error(topic_errc::io_error,
                          "shard " + st.cfg.name +
                              ": sync failed: " + describe(s.error())));
    return;
  }
  if (!*s) {
    answer_durable(self);
    return;
  }
  if (!st.syncer)
    st.syncer = self->spawn<caf::detached>(syncer_impl, st.cfg.log.sync_data);
  st.sync_started = std::chrono::steady_clock::now();
  auto ticket = **s;
  // Urgent, like the tick that started it: the answer overtakes the appends
  // queued meanwhile, so they wait for one sync instead of two.
  self->request<caf::message_priority::high>(st.syncer, caf::infinite,
                                             sync_atom::value, ticket.files.fd)
      .then([self, ticket](int rc) { sync_done(self, ticket, rc); },
            [self, ticket](caf::error& err) {
              // The syncer is gone: whether the data reached the disk is
              // unknown, so the sync counts as failed.
              self->state.log_error("lost its syncer", err);
              sync_done(self, ticket, EIO);
            });
}

void schedule_sync(shard_ptr self) {
  auto& st = self->state;
  if (st.sync_scheduled)
    return;
  st.sync_scheduled = true;
  // While a sync is in flight its completion starts the next one.
  if (st.log && st.log->sync_in_flight()) {
    st.sync_scheduled = false;
    return;
  }
  // Without an interval: after every message already in the mailbox, one
  // sync for the run. With one, syncs start that often, ahead of the
  // appends queued by then (urgent): a writer's appends keep arriving while
  // a sync runs, and a tick behind all of them would make the next sync
  // wait for the whole window to be appended first, leaving the disk idle
  // meanwhile.
  if (st.cfg.fsync_interval_ms <= 0) {
    self->send(self, sync_atom::value);
    return;
  }
  auto wait = std::chrono::milliseconds{st.cfg.fsync_interval_ms} -
              std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::steady_clock::now() - st.sync_started);
  if (wait.count() <= 0)
    self->send<caf::message_priority::high>(self, sync_atom::value);
  else
    self->delayed_send<caf::message_priority::high>(self, wait,
                                                    sync_atom::value);
}

void schedule_flush(shard_ptr self) {
  auto& st = self->state;
  if (st.flush_scheduled)
    return;
  st.flush_scheduled = true;
  self->delayed_send(self, std::chrono::milliseconds{st.cfg.offsets_flush_ms},
                     flush_atom::value);
}

caf::result<append_result> on_append(shard_ptr self,
                                     const std::string& producer, uint64_t seq,
                                     const event_batch& batch) {
  auto& st = self->state;
  if (st.stopping || !st.log)
    return make_error(topic_errc::stopped,
                      "shard " + st.cfg.name + " is stopping");
  if (producer.empty() || seq == 0)
    return protocol_error(self, "an append needs a producer and a sequence "
                                "number above 0");
  if (batch.empty() || !batch.well_formed())
    return protocol_error(self, "an append needs a non-empty, well-formed "
                                "batch");
  // Stored, such an origin could never be read back.
  if (batch.origin_producer().size() > max_origin_bytes)
    return protocol_error(
        self, fmt::format("an append's batch names an origin producer of {} "
                          "bytes (at most {})",
                          batch.origin_producer().size(), max_origin_bytes));
  // A later batch of a producer whose batch the full disk refused waits
  // behind that one, even when it would fit: the producer's order holds.
  // Empty but for a full disk: the common append does no lookup.
  auto h = st.held.empty() ? st.held.end() : st.held.find(producer);
  if (h != st.held.end()) {
    if (std::chrono::steady_clock::now() - h->second.since >
        std::chrono::milliseconds{st.cfg.held_order_ms})
      st.held.erase(h);
    else if (seq > h->second.seq) {
      st.cfg.metrics->errors.fetch_add(1, std::memory_order_relaxed);
      return make_error(
          topic_errc::disk_full,
          fmt::format("shard {}: batch {} of producer {} waits behind its "
                      "batch {}, which the full disk refused",
                      st.cfg.name, seq, producer, h->second.seq));
    }
  }
  // What a duplicate whose first copy is unknown waits for: everything
  // appended so far.
  auto end_before = st.log->end_offset();
  auto r = st.log->append(batch, producer, seq, now_ms());
  if (!r) {
    auto err = std::move(r.error());
    if (is_disk_full(err)) {
      st.cfg.metrics->errors.fetch_add(1, std::memory_order_relaxed);
      auto now = std::chrono::steady_clock::now();
      auto [held, fresh] = st.held.try_emplace(producer);
      if (fresh || seq < held->second.seq)
        held->second = {seq, now};
      // A producer that never comes back is not remembered for ever.
      if (st.held.size() > max_held_producers)
        std::erase_if(st.held, [&](auto& x) {
          return now - x.second.since >
                 std::chrono::milliseconds{st.cfg.held_order_ms};
        });
      if (err != make_error(topic_errc::disk_full))
        err = make_error(topic_errc::disk_full,
                         "shard " + st.cfg.name + ": " + describe(err));
      return err;
    }
    if (st.log->broken()) {
      fail(self, err);
      return err;
    }
    st.log_error("append failed", err);
    return err;
  }
  if (!st.held.empty())
    if (auto appended = st.held.find(producer);
        appended != st.held.end() && seq >= appended->second.seq)
      st.held.erase(appended);
  auto need = r->base_offset + r->count;
  if (r->duplicate) {
    st.cfg.metrics->duplicates_dropped.fetch_add(batch.size(),
                                                 std::memory_order_relaxed);
    // The first copy may still wait for its sync. When the log no longer
    // knows where it is (count 0), it is somewhere before the end.
    if (r->count == 0)
      need = end_before;
    if (need <= st.log->durable_end())
      return *r;
  } else {
    st.cfg.metrics->add_in(batch.size(), batch.byte_size());
  }
  auto rp = self->make_response_promise<append_result>();
  st.pending.push_back({rp, *r, need});
  schedule_sync(self);
  return rp;
}

caf::result<fetch_result> on_fetch(shard_ptr self, uint64_t offset,
                                   uint64_t max_bytes, int64_t wait_ms) {
  auto& st = self->state;
  if (!st.log)
    return make_error(topic_errc::stopped,
                      "shard " + st.cfg.name + " is stopping");
  if (offset > st.log->end_offset())
    return protocol_error(self, fmt::format("fetch at offset {} past the "
                                            "shard's end {}",
                                            offset, st.log->end_offset()));
  if (offset < st.log->durable_end() || wait_ms <= 0 || st.stopping) {
    auto r = read_now(self, offset, max_bytes);
    if (!r)
      return std::move(r.error());
    return std::move(*r);
  }
  if (st.waiting.size() >= st.cfg.max_waiting_fetches)
    return make_error(topic_errc::busy,
                      fmt::format("shard {} holds {} fetches already",
                                  st.cfg.name, st.waiting.size()));
  auto rp = self->make_response_promise<fetch_result>();
  auto id = st.next_wait_id++;
  max_bytes = std::min(max_bytes, max_fetch_bytes);
  st.waiting.emplace(id, waiting_fetch{rp, offset, max_bytes});
  self->delayed_send(self,
                     std::chrono::milliseconds{std::min(wait_ms, max_wait_ms)},
                     wake_atom::value, id);
  return rp;
}

/// Loads the consumer groups' positions. A damaged file is moved aside
/// (`consumer-offsets.corrupt-<ms>`) and the groups start without positions:
/// they fall back to their start setting instead of keeping the shard down.
caf::expected<consumer_offsets> load_offsets(shard_ptr self) {
  auto& st = self->state;
  auto file = st.cfg.log.directory / "consumer-offsets";
  auto offsets = consumer_offsets::load(file);
  if (offsets || offsets.error() != make_error(topic_errc::bad_metadata))
    return offsets;
  auto aside = file;
  aside += fmt::format(".corrupt-{}", now_ms());
  std::error_code ec;
  std::filesystem::rename(file, aside, ec);
  if (ec)
    return make_error(topic_errc::io_error,
                      fmt::format("{} is damaged ({}) and cannot be moved "
                                  "aside: {}",
                                  file.string(), describe(offsets.error()),
                                  ec.message()));
  st.log_error(fmt::format("moved its damaged consumer offsets aside to {}; "
                           "its groups start without committed offsets",
                           aside.filename().string())
                   .c_str(),
               offsets.error());
  return consumer_offsets::load(file);
}

void stop(shard_ptr self) {
  auto& st = self->state;
  if (st.stopping)
    return;
  st.stopping = true;
  if (st.log) {
    sync_blocking(self);
    if (!st.log) // the sync failed and ended the actor
      return;
  }
  serve_waiting(self, true);
  st.close();
  self->quit();
}

shard_impl_actor::behavior_type shard_impl(shard_ptr self, shard_config cfg) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  if (!st.cfg.metrics)
    st.cfg.metrics = std::make_shared<component_metrics>(st.cfg.name, "topic");
  auto fail_start = [self](const char* what, const caf::error& err) {
    self->state.log_error(what, err);
    self->quit(err);
    return shard_impl_actor::behavior_type::make_empty_behavior();
  };
  if (auto err = create_directories_synced(st.cfg.log.directory))
    return fail_start("cannot create its directory", err);
  auto log = shard_log::open(st.cfg.log);
  if (!log)
    return fail_start("cannot open its log", log.error());
  st.log = std::move(*log);
  if (auto cut = st.log->torn_bytes_cut(); cut > 0)
    sluice::log().warn("shard {}: cut a torn tail of {} byte(s)", st.cfg.name,
                       cut);
  auto offsets = load_offsets(self);
  if (!offsets)
    return fail_start("cannot read its consumer offsets", offsets.error());
  st.offsets = std::move(*offsets);
  st.update_gauges();
  if (st.cfg.retention_interval_ms > 0)
    self->delayed_send(self,
                       std::chrono::milliseconds{st.cfg.retention_interval_ms},
                       retention_atom::value);
  return {
      [self](append_atom, const std::string& producer, uint64_t seq,
             const event_batch& batch) -> caf::result<append_result> {
        return on_append(self, producer, seq, batch);
      },
      [self](fetch_atom, uint64_t offset, uint64_t max_bytes,
             int64_t wait_ms) -> caf::result<fetch_result> {
        return on_fetch(self, offset, max_bytes, wait_ms);
      },
      [self](offsets_atom) -> caf::result<shard_offsets> {
        auto& st = self->state;
        if (!st.log)
          return make_error(topic_errc::stopped,
                            "shard " + st.cfg.name + " is stopping");
        return shard_offsets{st.log->start_offset(), st.log->end_offset(),
                             st.log->durable_end()};
      },
      [self](offset_for_time_atom, int64_t ts) -> caf::result<uint64_t> {
        auto& st = self->state;
        if (!st.log)
          return make_error(topic_errc::stopped,
                            "shard " + st.cfg.name + " is stopping");
        // Never past what a crash keeps.
        return std::min(st.log->offset_for_time(ts), st.log->durable_end());
      },
      [self](commit_atom, const std::string& group,
             uint64_t offset) -> caf::result<bool> {
        auto& st = self->state;
        if (!st.log)
          return make_error(topic_errc::stopped,
                            "shard " + st.cfg.name + " is stopping");
        if (group.empty() || group.size() > consumer_offsets::max_group_bytes)
          return protocol_error(self, "a commit needs a group name of 1 to "
                                      "65535 bytes");
        // A crash may cut what is not durable, and the offsets after it
        // are given to new records.
        if (offset > st.log->durable_end())
          return protocol_error(
              self, fmt::format("group {} commits offset {} past the shard's "
                                "durable end {}",
                                group, offset, st.log->durable_end()));
        st.offsets.set(group, offset);
        if (!st.offsets.dirty())
          return true; // the file holds it already
        // Answered once on disk; the writes of one interval are grouped.
        auto rp = self->make_response_promise<bool>();
        st.pending_commits.push_back(rp);
        schedule_flush(self);
        return rp;
      },
      [self](committed_atom,
             const std::string& group) -> caf::result<uint64_t> {
        auto& st = self->state;
        if (auto x = st.offsets.get(group))
          return *x;
        return make_error(topic_errc::no_committed_offset,
                          "group " + group +
                              " has no committed offset in "
                              "shard " +
                              st.cfg.name);
      },
      [self](groups_atom) {
        return group_offsets{self->state.offsets.entries()};
      },
      [self](stop_atom) { stop(self); },
      [self](sync_atom) { start_sync(self); },
      [self](wake_atom, uint64_t id) {
        auto& st = self->state;
        auto i = st.waiting.find(id);
        if (i == st.waiting.end() || !st.log)
          return;
        auto r = read_now(self, i->second.offset, i->second.max_bytes);
        if (r)
          i->second.rp.deliver(std::move(*r));
        else
          i->second.rp.deliver(r.error());
        st.waiting.erase(i);
      },
      [self](retention_atom) {
        auto& st = self->state;
        if (!st.log || st.stopping)
          return;
        if (auto n = st.log->apply_retention(now_ms()); n > 0) {
          sluice::log().info("shard {}: retention deleted {} segment(s); "
                             "records start at offset {}",
                             st.cfg.name, n, st.log->start_offset());
          st.update_gauges();
        }
        self->delayed_send(
            self, std::chrono::milliseconds{st.cfg.retention_interval_ms},
            retention_atom::value);
      },
      [self](flush_atom) {
        auto& st = self->state;
        st.flush_scheduled = false;
        st.flush_offsets();
        if (st.offsets.dirty())
          schedule_flush(self); // the write failed: tries again
      },
  };
}

} // namespace

std::string shard_directory_name(uint32_t index) {
  return fmt::format("shard-{:04}", index);
}

shard_actor spawn_shard(caf::actor_system& sys, shard_config cfg) {
  if (cfg.detached)
    return sys.spawn<caf::detached>(shard_impl, std::move(cfg));
  return sys.spawn(shard_impl, std::move(cfg));
}

} // namespace sluice
