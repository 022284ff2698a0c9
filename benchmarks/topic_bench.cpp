// Drives one topic shard's log for the topic benchmarks (topic_bench.sh):
//
//   topic_bench append DIR RECORD_BYTES TOTAL_BYTES [BATCH_BYTES]
//       appends records, a sync every 10 ms; counts only what a sync made
//       durable (acknowledged) when it ends
//   topic_bench read DIR
//       reads the whole shard from its start, three times: twice keeping
//       its batches between reads (the second, from a warm page cache, is
//       the figure), then with new batches every read
//   topic_bench recovery DIR TOTAL_BYTES RECORD_BYTES
//       a child process appends (a sync every 10 ms) until the shard holds
//       TOTAL_BYTES and goes on appending; it is killed with SIGKILL; the
//       parent times opening (recovering) the shard
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

#include <fmt/format.h>

#include "runtime/errors.hpp"
#include "runtime/shard_log.hpp"

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
/// into one kept vector of batches (`read_into`, the figure: pass 2, from
/// a warm page cache), pass 3 with `read` (new batches every read).
int read_all(const std::string& dir) {
  auto log = open_or_die(dir);
  std::vector<read_batch> batches;
  for (int pass = 0; pass < 3; ++pass) {
    bool reuse = pass < 2;
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
    fmt::print("read pass {} ({}, {}): {} records, {:.1f} MiB of records in "
               "{:.2f} s: {:.0f} records/s, {:.1f} MiB/s (shard on disk: "
               "{:.1f} MiB)\n",
               pass + 1, pass == 0 ? "cache as found" : "page cache warm",
               reuse ? "read_into, batches kept" : "read, new batches", records,
               bytes / double(1 << 20), secs, records / secs,
               bytes / secs / (1 << 20), log->disk_bytes() / double(1 << 20));
  }
  log->close();
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
  if (mode == "append" && argc >= 5) {
    auto log = open_or_die(argv[2]);
    size_t batch_bytes = argc > 5 ? std::stoul(argv[5]) : 64 << 10;
    append_loop(*log, std::stoul(argv[3]), std::stoll(argv[4]), batch_bytes, -1,
                true);
    log->close();
    return 0;
  }
  if (mode == "read" && argc >= 3)
    return read_all(argv[2]);
  if (mode == "recovery" && argc >= 5)
    return recovery(argv[2], std::stoll(argv[3]), std::stoul(argv[4]));
  fmt::print(stderr,
             "usage: topic_bench append DIR RECORD_BYTES TOTAL_BYTES "
             "[BATCH_BYTES]\n"
             "       topic_bench read DIR\n"
             "       topic_bench recovery DIR TOTAL_BYTES RECORD_BYTES\n");
  return 2;
}
