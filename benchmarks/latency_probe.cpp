// End-to-end latency: from a line appended to a tailed file to its row
// visible in MariaDB. benchmarks/latency.sh starts the pipeline (a node
// tailing the file into a topic, a SQL job upserting per-shop counts and
// the last line number into MariaDB) and then runs this probe:
//
//   latency_probe HOST PORT USER PASSWORD DB TABLE FILE RATE SECONDS SHOPS
//
// A writer appends `RATE` lines a second for `SECONDS` to FILE, one write a
// millisecond: line `seq` is "seq,seq % SHOPS", and the time after its
// write() returned is its append time. Meanwhile a reader polls `SELECT
// shop, last_seq FROM TABLE` every millisecond (one round trip, SHOPS
// rows): when a shop's last_seq passes a line of that shop, the line is
// visible, and its latency is then minus its append time. The first two
// seconds are warm-up and left out. Prints the lines measured, the rate
// reached and the latency percentiles.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fcntl.h>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

#include "connectors/mariadb_client.hpp"
#include "runtime/errors.hpp"

using namespace sluice;
using clock_type = std::chrono::steady_clock;

namespace {

int fail(const std::string& what) {
  std::fprintf(stderr, "latency_probe: %s\n", what.c_str());
  return 1;
}

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             clock_type::now().time_since_epoch())
      .count();
}

} // namespace

int main(int argc, char** argv) {
  if (argc != 11)
    return fail("usage: latency_probe HOST PORT USER PASSWORD DB TABLE FILE "
                "RATE SECONDS SHOPS");
  mariadb::target t;
  t.host = argv[1];
  t.port = static_cast<uint16_t>(std::atoi(argv[2]));
  t.user = argv[3];
  t.password = argv[4];
  t.database = argv[5];
  std::string table = argv[6];
  std::string file = argv[7];
  int64_t rate = std::atoll(argv[8]);
  int64_t seconds = std::atoll(argv[9]);
  int64_t shops = std::atoll(argv[10]);
  if (rate <= 0 || seconds <= 2 || shops <= 0)
    return fail("RATE, SECONDS (over 2) and SHOPS must be positive");
  mariadb::connection db;
  if (auto err = db.connect(t))
    return fail(describe(err));
  auto total = rate * seconds;
  std::vector<int64_t> appended(static_cast<size_t>(total), 0);
  std::vector<int64_t> seen_at(static_cast<size_t>(total), 0);
  std::atomic<int64_t> written{0};
  auto fd = ::open(file.c_str(), O_WRONLY | O_APPEND | O_CREAT, 0644);
  if (fd < 0)
    return fail("cannot open " + file);
  auto started = now_ns();
  std::thread writer{[&] {
    std::string chunk;
    auto next = clock_type::now();
    int64_t seq = 0;
    for (int64_t ms = 0; ms < seconds * 1000; ++ms) {
      auto until = (ms + 1) * rate / 1000;
      chunk.clear();
      auto first = seq;
      for (; seq < until; ++seq)
        chunk += std::to_string(seq) + "," + std::to_string(seq % shops) + "\n";
      if (!chunk.empty() && ::write(fd, chunk.data(), chunk.size()) !=
                                static_cast<ssize_t>(chunk.size()))
        std::abort();
      auto at = now_ns();
      for (auto s = first; s < seq; ++s)
        appended[static_cast<size_t>(s)] = at;
      written.store(seq, std::memory_order_release);
      next += std::chrono::milliseconds{1};
      std::this_thread::sleep_until(next);
    }
  }};
  // The reader: a shop's last_seq makes every earlier line of it visible.
  std::vector<int64_t> last(static_cast<size_t>(shops), -1);
  int64_t visible = 0;
  auto deadline = started + (seconds + 30) * 1'000'000'000LL;
  std::string sql = "SELECT shop, last_seq FROM " + mariadb::quote_name(table);
  while (visible < total && now_ns() < deadline) {
    auto rows = db.query(sql);
    auto at = now_ns();
    if (!rows) {
      std::this_thread::sleep_for(std::chrono::milliseconds{1});
      continue;
    }
    auto done = written.load(std::memory_order_acquire);
    for (auto& r : *rows) {
      if (!r[0] || !r[1])
        continue;
      auto shop = static_cast<int64_t>(std::atoll(r[0]->c_str()));
      auto seq = static_cast<int64_t>(std::atoll(r[1]->c_str()));
      if (shop < 0 || shop >= shops || seq >= done)
        continue;
      auto& l = last[static_cast<size_t>(shop)];
      for (auto s = l < 0 ? shop : l + shops; s <= seq; s += shops) {
        seen_at[static_cast<size_t>(s)] = at;
        ++visible;
      }
      l = std::max(l, seq);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds{1});
  }
  writer.join();
  ::close(fd);
  // Latencies of the lines after the warm-up.
  std::vector<double> ms;
  auto warm = 2 * rate;
  int64_t missing = 0;
  for (auto s = warm; s < total; ++s) {
    auto i = static_cast<size_t>(s);
    if (seen_at[i] == 0) {
      ++missing;
      continue;
    }
    ms.push_back(static_cast<double>(seen_at[i] - appended[i]) / 1e6);
  }
  if (ms.empty())
    return fail("no line became visible");
  std::sort(ms.begin(), ms.end());
  auto pct = [&](double p) {
    return ms[std::min(ms.size() - 1, static_cast<size_t>(
                                          p * static_cast<double>(ms.size())))];
  };
  auto elapsed = static_cast<double>(appended.back() - started) / 1e9;
  std::printf("lines=%lld measured=%zu not_visible=%lld rate=%.0f/s "
              "p50=%.1fms p90=%.1fms p99=%.1fms max=%.1fms\n",
              static_cast<long long>(total), ms.size(),
              static_cast<long long>(missing),
              static_cast<double>(total) / elapsed, pct(0.5), pct(0.9),
              pct(0.99), ms.back());
  return missing == 0 ? 0 : 2;
}
