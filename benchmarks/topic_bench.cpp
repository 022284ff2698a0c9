// Drives one topic shard's log for the topic benchmarks (topic_bench.sh):
//
//   topic_bench append DIR RECORD_BYTES TOTAL_BYTES [BATCH_BYTES [WINDOW]]
//       a writer appends records through a shard actor (fsync every 10 ms,
//       pipelined: the shard appends while a sync runs), keeping WINDOW
//       bytes (default 8 MiB) of appends unacknowledged; counts
//       acknowledged (durable) records
//   topic_bench append-log DIR RECORD_BYTES TOTAL_BYTES [BATCH_BYTES]
//       appends records straight into the log on one thread, a blocking
//       sync every 10 ms
//   topic_bench read DIR
//       reads the whole shard from its start, four times: twice keeping
//       its batches between reads (the second, from a warm page cache, is
//       the figure), then with new batches every read, with glibc's
//       default trimming and with keep_freed_heap
//   topic_bench fetch DIR
//       reads the whole shard from its start through a shard actor, 1 MiB
//       fetches, twice
//   topic_bench recovery DIR TOTAL_BYTES RECORD_BYTES
//       a child process appends (a sync every 10 ms) until the shard holds
//       TOTAL_BYTES and goes on appending; it is killed with SIGKILL; the
//       parent times opening (recovering) the shard
#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

#include <fmt/format.h>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include "actors/shard.hpp"
#include "runtime/atoms.hpp"
#include "runtime/errors.hpp"
#include "runtime/malloc_tuning.hpp"
#include "runtime/metrics.hpp"
#include "runtime/scheduler_config.hpp"
#include "runtime/shard_log.hpp"
#include "runtime/topic_types.hpp"
#include "runtime/type_ids.hpp"

using namespace sluice;
using clock_type = std::chrono::steady_clock;

namespace {

double seconds_since(clock_type::time_point t) {
  return std::chrono::duration<double>(clock_type::now() - t).count();
}

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::unique_ptr<shard_log> open_or_die(const std::string& dir) {
  shard_log_config cfg;
  cfg.directory = dir;
  cfg.min_free_space = 0;
  auto log = shard_log::open(cfg);
  if (!log) {
    fmt::print(stderr, "open {}: {}\n", dir, describe(log.error()));
    std::exit(1);
  }
  return std::move(*log);
}

event_batch make_batch(size_t record_bytes, size_t batch_bytes) {
  event_batch b;
  std::string body(record_bytes, 'x');
  for (size_t n = 0; n < std::max<size_t>(1, batch_bytes / record_bytes); ++n)
    b.append(body);
  return b;
}

/// Appends until `total` record bytes are durable (or for ever when
/// `ready_fd` is set: then it writes a byte there once `total` is reached).
void append_loop(shard_log& log, size_t record_bytes, int64_t total,
                 size_t batch_bytes, int ready_fd, bool report) {
  auto batch = make_batch(record_bytes, batch_bytes);
  auto start = clock_type::now();
  auto last_sync = start;
  int64_t appended = 0;
  int64_t durable = 0;
  uint64_t seq = 0;
  uint64_t syncs = 0;
  bool told = false;
  for (;;) {
    auto r = log.append(batch, "bench", ++seq, now_ms());
    if (!r) {
      fmt::print(stderr, "append: {}\n", describe(r.error()));
      std::exit(1);
    }
    appended += static_cast<int64_t>(batch.size() * record_bytes);
    auto now = clock_type::now();
    bool done = ready_fd < 0 && appended >= total;
    if (done || now - last_sync >= std::chrono::milliseconds(10)) {
      if (auto err = log.sync()) {
        fmt::print(stderr, "sync: {}\n", describe(err));
        std::exit(1);
      }
      ++syncs;
      durable = appended;
      last_sync = now;
      if (ready_fd >= 0 && !told && durable >= total) {
        char c = 'r';
        if (::write(ready_fd, &c, 1) != 1)
          std::exit(1);
        told = true;
      }
    }
    if (done)
      break;
  }
  auto secs = seconds_since(start);
  if (report) {
    auto records = static_cast<double>(durable) / record_bytes;
    fmt::print("append {} B records ({} per batch), sync every 10 ms: {} "
               "records durable in {:.2f} s: {:.0f} records/s, {:.1f} MiB/s "
               "of records ({} syncs, {:.1f} MiB/s on disk)\n",
               record_bytes, batch.size(), static_cast<int64_t>(records), secs,
               records / secs, durable / secs / (1 << 20), syncs,
               log.disk_bytes() / secs / (1 << 20));
  }
}

/// Reads the whole shard from its start, 1 MiB per read: passes 1 and 2
/// into one kept vector of batches (`read_into`; pass 2 is from a warm page
/// cache), passes 3 and 4 with `read` (new batches every read).
int read_all(const std::string& dir) {
  auto log = open_or_die(dir);
  std::vector<read_batch> batches;
  // Passes 1 and 2 keep their batches; 3 and 4 take new batches every
  // read, 3 with glibc's default trimming, 4 with what the sluice binary
  // sets at start (keep_freed_heap).
  for (int pass = 0; pass < 4; ++pass) {
    bool reuse = pass < 2;
    if (pass == 3 && !keep_freed_heap())
      fmt::print(stderr, "keep_freed_heap: refused by the allocator\n");
    auto start = clock_type::now();
    uint64_t offset = log->start_offset();
    uint64_t records = 0;
    uint64_t bytes = 0;
    for (;;) {
      if (reuse) {
        if (auto err = log->read_into(offset, size_t{1} << 20, batches)) {
          fmt::print(stderr, "read: {}\n", describe(err));
          return 1;
        }
      } else {
        auto fresh = log->read(offset, size_t{1} << 20);
        if (!fresh) {
          fmt::print(stderr, "read: {}\n", describe(fresh.error()));
          return 1;
        }
        batches = std::move(*fresh);
      }
      if (batches.empty())
        break;
      for (auto& b : batches) {
        records += b.batch.size();
        bytes += b.batch.byte_size();
        offset = b.base_offset + b.batch.size();
      }
      if (!reuse)
        batches = {};
    }
    auto secs = seconds_since(start);
    const char* how = pass < 2    ? "read_into, batches kept"
                      : pass == 2 ? "read, new batches, default malloc"
                                  : "read, new batches, keep_freed_heap";
    fmt::print("read pass {} ({}, {}): {} records, {:.1f} MiB of records in "
               "{:.2f} s: {:.0f} records/s, {:.1f} MiB/s (shard on disk: "
               "{:.1f} MiB)\n",
               pass + 1, pass == 0 ? "cache as found" : "page cache warm", how,
               records, bytes / double(1 << 20), secs, records / secs,
               bytes / secs / (1 << 20), log->disk_bytes() / double(1 << 20));
  }
  log->close();
  return 0;
}

// The actor path: a shard actor owns the log, a reader asks it for 1 MiB
// fetches from the start to the end (what a topic source does), in a
// process set up as the sluice binary sets itself up (keep_freed_heap).
int fetch_all(const std::string& dir) {
  keep_freed_heap();
  caf::actor_system_config cfg;
  register_types(cfg);
  cfg.set("logger.verbosity", caf::atom("quiet"));
  configure_scheduler(cfg, 0); // as a node's engine does
  caf::actor_system sys{cfg};
  shard_config sc;
  sc.name = "bench/shard-0000";
  sc.log.directory = dir;
  sc.log.min_free_space = 0;
  sc.metrics = std::make_shared<component_metrics>("bench", "topic");
  auto shard = spawn_shard(sys, sc);
  caf::scoped_actor self{sys};
  int rc = 0;
  for (int pass = 0; pass < 2 && rc == 0; ++pass) {
    auto start = clock_type::now();
    uint64_t offset = 0;
    uint64_t records = 0;
    uint64_t bytes = 0;
    for (bool more = true; more && rc == 0;) {
      self->request(shard, std::chrono::seconds{30}, fetch_atom::value, offset,
                    uint64_t{1} << 20, int64_t{0})
          .receive(
              [&](fetch_result& r) {
                if (r.batches.empty()) {
                  more = offset < r.end_offset;
                  return;
                }
                for (auto& b : r.batches) {
                  records += b.batch.size();
                  bytes += b.batch.byte_size();
                  offset = b.base_offset + b.batch.size();
                }
              },
              [&](caf::error& err) {
                fmt::print(stderr, "fetch: {}\n", describe(err));
                rc = 1;
              });
    }
    auto secs = seconds_since(start);
    fmt::print("fetch pass {} (shard actor, 1 MiB fetches, {}): {} records, "
               "{:.1f} MiB of records in {:.2f} s: {:.0f} records/s, {:.1f} "
               "MiB/s\n",
               pass + 1, pass == 0 ? "cache as found" : "page cache warm",
               records, bytes / double(1 << 20), secs, records / secs,
               bytes / secs / (1 << 20));
  }
  self->send_exit(shard, caf::exit_reason::user_shutdown);
  return rc;
}

/// What the writer of `append_actor` measured.
struct writer_result {
  int64_t acked_bytes = 0;
  double seconds = 0;
  std::string error;
  /// Each append's time from its request to its acknowledgement, in µs.
  std::vector<int64_t> latencies_us;
};

/// Keeps `window` appends in flight to `shard` until `total` record bytes
/// are acknowledged.
caf::behavior writer(caf::event_based_actor* self, shard_actor shard,
                     event_batch batch, size_t record_bytes, int64_t total,
                     size_t window, std::promise<writer_result>* done) {
  struct state_t {
    uint64_t seq = 0;
    int64_t sent = 0;
    int64_t acked = 0;
    clock_type::time_point start = clock_type::now();
    bool over = false;
    std::vector<int64_t> latencies_us;
  };
  auto st = std::make_shared<state_t>();
  auto bytes = static_cast<int64_t>(batch.size() * record_bytes);
  auto send_one = std::make_shared<std::function<void()>>();
  *send_one = [=] {
    if (st->over || st->sent >= total)
      return;
    st->sent += bytes;
    auto sent_at = clock_type::now();
    self->request(shard, caf::infinite, append_atom::value,
                  std::string{"bench"}, ++st->seq, batch)
        .then(
            [=](const append_result&) {
              st->acked += bytes;
              st->latencies_us.push_back(
                  std::chrono::duration_cast<std::chrono::microseconds>(
                      clock_type::now() - sent_at)
                      .count());
              if (st->acked >= total && !st->over) {
                st->over = true;
                done->set_value({st->acked,
                                 seconds_since(st->start),
                                 {},
                                 std::move(st->latencies_us)});
                *send_one = nullptr; // it holds itself: breaks the cycle
                self->quit();
                return;
              }
              (*send_one)();
            },
            [=](caf::error& err) {
              if (st->over)
                return;
              st->over = true;
              done->set_value(
                  {st->acked, seconds_since(st->start), describe(err)});
              *send_one = nullptr;
              self->quit();
            });
  };
  for (size_t i = 0; i < window; ++i)
    (*send_one)();
  return {[](caf::unit_t) {
  }};
}

// The actor path: a writer keeps `window_bytes` of appends in flight to a
// shard actor with `fsync = "10ms"`; a batch counts once acknowledged
// (durable). An append waits for the sync after it, so one writer gets at
// most about `window_bytes` per sync interval and fdatasync. With several
// shards (a topic's, each in its own directory `DIR/shard-K` and on its own
// thread), each gets a writer of its own and `total / shards` bytes.
int append_actor(const std::string& dir, size_t record_bytes, int64_t total,
                 size_t batch_bytes, size_t window_bytes, size_t shards) {
  keep_freed_heap();
  caf::actor_system_config cfg;
  register_types(cfg);
  cfg.set("logger.verbosity", caf::atom("quiet"));
  configure_scheduler(cfg, 0); // as a node's engine does
  caf::actor_system sys{cfg};
  auto batch = make_batch(record_bytes, batch_bytes);
  size_t window = std::max<size_t>(2, window_bytes / batch_bytes);
  std::vector<shard_actor> shard_actors;
  std::vector<std::promise<writer_result>> done(shards);
  std::vector<std::future<writer_result>> results;
  for (size_t k = 0; k < shards; ++k) {
    shard_config sc;
    sc.name = fmt::format("bench/shard-{:04}", k);
    sc.log.directory =
        shards == 1 ? dir : fmt::format("{}/shard-{:04}", dir, k);
    sc.log.min_free_space = 0;
    sc.fsync_interval_ms = 10;
    sc.metrics = std::make_shared<component_metrics>("bench", "topic");
    shard_actors.push_back(spawn_shard(sys, sc));
    results.push_back(done[k].get_future());
  }
  for (size_t k = 0; k < shards; ++k)
    sys.spawn(writer, shard_actors[k], batch, record_bytes,
              total / static_cast<int64_t>(shards), window, &done[k]);
  writer_result all;
  for (auto& f : results) {
    auto r = f.get();
    all.acked_bytes += r.acked_bytes;
    all.seconds = std::max(all.seconds, r.seconds);
    if (all.error.empty())
      all.error = std::move(r.error);
    all.latencies_us.insert(all.latencies_us.end(), r.latencies_us.begin(),
                            r.latencies_us.end());
  }
  for (auto& shard : shard_actors)
    caf::anon_send_exit(shard, caf::exit_reason::user_shutdown);
  if (!all.error.empty()) {
    fmt::print(stderr, "append: {}\n", all.error);
    return 1;
  }
  auto records = static_cast<double>(all.acked_bytes) / record_bytes;
  fmt::print("append {} B records ({} per batch, {} batches in flight per "
             "writer) through {} shard actor(s), fsync every 10 ms, "
             "pipelined: {} records acknowledged in {:.2f} s: {:.0f} "
             "records/s, {:.1f} MiB/s of records\n",
             record_bytes, batch.size(), window, shards,
             static_cast<int64_t>(records), all.seconds, records / all.seconds,
             all.acked_bytes / all.seconds / (1 << 20));
  auto& lat = all.latencies_us;
  std::sort(lat.begin(), lat.end());
  auto at = [&](double q) {
    return lat[std::min(lat.size() - 1, static_cast<size_t>(q * lat.size()))] /
           1000.0;
  };
  fmt::print("append to acknowledgement: p50 {:.1f} ms, p99 {:.1f} ms, max "
             "{:.1f} ms\n",
             at(0.5), at(0.99), lat.back() / 1000.0);
  return 0;
}

int recovery(const std::string& dir, int64_t total, size_t record_bytes) {
  int fds[2];
  if (::pipe(fds) != 0)
    return 1;
  auto pid = ::fork();
  if (pid < 0)
    return 1;
  if (pid == 0) {
    ::close(fds[0]);
    auto log = open_or_die(dir);
    append_loop(*log, record_bytes, total, 64 << 10, fds[1], false);
    std::_Exit(0);
  }
  ::close(fds[1]);
  char c;
  if (::read(fds[0], &c, 1) != 1) {
    fmt::print(stderr, "the appending child ended early\n");
    return 1;
  }
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  auto start = clock_type::now();
  auto log = open_or_die(dir);
  auto secs = seconds_since(start);
  fmt::print("recovery after SIGKILL: open of {:.1f} MiB in {} segments took "
             "{:.3f} s (end offset {}, torn bytes cut {})\n",
             log->disk_bytes() / double(1 << 20), log->segments(), secs,
             log->end_offset(), log->torn_bytes_cut());
  log->close();
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "append" && argc >= 5)
    return append_actor(argv[2], std::stoul(argv[3]), std::stoll(argv[4]),
                        argc > 5 ? std::stoul(argv[5]) : 64 << 10,
                        argc > 6 ? std::stoul(argv[6]) : 8 << 20,
                        argc > 7 ? std::max(1ul, std::stoul(argv[7])) : 1);
  if (mode == "append-log" && argc >= 5) {
    auto log = open_or_die(argv[2]);
    size_t batch_bytes = argc > 5 ? std::stoul(argv[5]) : 64 << 10;
    append_loop(*log, std::stoul(argv[3]), std::stoll(argv[4]), batch_bytes, -1,
                true);
    log->close();
    return 0;
  }
  if (mode == "read" && argc >= 3)
    return read_all(argv[2]);
  if (mode == "fetch" && argc >= 3)
    return fetch_all(argv[2]);
  if (mode == "recovery" && argc >= 5)
    return recovery(argv[2], std::stoll(argv[3]), std::stoul(argv[4]));
  fmt::print(stderr,
             "usage: topic_bench append DIR RECORD_BYTES TOTAL_BYTES "
             "[BATCH_BYTES [WINDOW_BYTES [SHARDS]]]\n"
             "       topic_bench append-log DIR RECORD_BYTES TOTAL_BYTES "
             "[BATCH_BYTES]\n"
             "       topic_bench read DIR\n"
             "       topic_bench fetch DIR\n"
             "       topic_bench recovery DIR TOTAL_BYTES RECORD_BYTES\n");
  return 2;
}
