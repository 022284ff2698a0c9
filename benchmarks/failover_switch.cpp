// Failover switch time of the seed's relay tier: three `sluice` node
// processes on 127.0.0.1 (tests/support/relay_cluster.*). Each round waits
// until lines flow through agentA, then kills it (SIGKILL) or freezes it
// (SIGSTOP), and measures the time from the signal to the first new bytes
// agentB writes; then brings agentA back and waits for the failback.
//
//   failover_switch [--rounds N] [--mode kill|stop]
#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/relay_cluster.hpp"

using namespace sluice::test;
using namespace std::chrono_literals;
using clk = std::chrono::steady_clock;

namespace {

template <class Predicate>
bool wait_for(Predicate pred, std::chrono::milliseconds timeout,
              std::chrono::microseconds step = 1ms) {
  auto deadline = clk::now() + timeout;
  while (!pred()) {
    if (clk::now() >= deadline)
      return false;
    std::this_thread::sleep_for(step);
  }
  return true;
}

} // namespace

int main(int argc, char** argv) {
  int rounds = 20;
  bool freeze = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--rounds") == 0 && i + 1 < argc)
      rounds = std::atoi(argv[++i]);
    else if (std::strcmp(argv[i], "--mode") == 0 && i + 1 < argc)
      freeze = std::strcmp(argv[++i], "stop") == 0;
  }
  temp_dir dir;
  relay_cluster::settings s;
  relay_cluster c{dir, s};
  if (!c.start("agentA") || !c.start("agentB") || !c.start("agent1")) {
    std::fprintf(stderr, "cannot start the agents\n");
    return 1;
  }
  c.start_writer(20, 2ms); // 10,000 lines/s
  constexpr auto w = relay_cluster::line_width;
  std::vector<double> ms;
  for (int r = 0; r < rounds; ++r) {
    // Flowing through agentA, agentB idle.
    auto a0 = c.written_bytes("agentA");
    if (!wait_for([&] { return c.written_bytes("agentA") >= a0 + 500 * w; },
                  60s)) {
      std::fprintf(stderr, "round %d: no flow through agentA\n", r);
      return 1;
    }
    auto b0 = c.written_bytes("agentB");
    auto t0 = clk::now();
    if (freeze)
      c.signal("agentA", SIGSTOP);
    else
      c.signal("agentA", SIGKILL);
    if (!wait_for([&] { return c.written_bytes("agentB") > b0; }, 30s, 200us)) {
      std::fprintf(stderr, "round %d: agentB never took over\n", r);
      return 1;
    }
    auto dt = std::chrono::duration<double, std::milli>(clk::now() - t0);
    ms.push_back(dt.count());
    std::printf("round %2d: %8.1f ms\n", r + 1, dt.count());
    std::fflush(stdout);
    if (freeze) {
      c.signal("agentA", SIGCONT);
    } else {
      c.kill("agentA");
      c.start("agentA");
    }
    // Failback: agentA writes again and agentB stops.
    auto a1 = c.written_bytes("agentA");
    if (!wait_for([&] { return c.written_bytes("agentA") > a1 + 500 * w; },
                  60s)) {
      std::fprintf(stderr, "round %d: no failback to agentA\n", r);
      return 1;
    }
  }
  c.stop_writer();
  for (auto name : {"agent1", "agentA", "agentB"})
    c.stop(name, 30s);
  std::sort(ms.begin(), ms.end());
  auto median = ms.size() % 2 == 1
                    ? ms[ms.size() / 2]
                    : (ms[ms.size() / 2 - 1] + ms[ms.size() / 2]) / 2;
  std::printf("%s: %zu rounds, median %.1f ms, min %.1f ms, max %.1f ms\n",
              freeze ? "SIGSTOP" : "SIGKILL", ms.size(), median, ms.front(),
              ms.back());
  return 0;
}
