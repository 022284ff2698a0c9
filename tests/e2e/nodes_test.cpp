// End-to-end tests of nodes and the forward link: two real `sluice node`
// processes from one topology file, killed and started with real signals.
#include <chrono>
#include <csignal>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "tests/support/ports.hpp"
#include "tests/support/process.hpp"

using namespace sluice::test;
using namespace std::chrono_literals;

namespace {

template <class Predicate>
bool eventually(Predicate pred, std::chrono::milliseconds timeout = 60s) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred())
      return true;
    std::this_thread::sleep_for(20ms);
  }
  return pred();
}

/// `edge` generates `count` numbered events at `rate` per second and
/// forwards them to `relay`, which lands them in a file channel and files.
std::string two_nodes(const temp_dir& dir, int64_t count, int64_t rate) {
  uint16_t ports[3];
  for (auto& p : ports) {
    p = free_port();
    REQUIRE(p != 0);
  }
  return fmt::format(R"([supervision]
max_restarts = 20
initial_backoff = "50ms"
max_backoff = "500ms"

[nodes.edge]
port = {p0}

[nodes.relay]
port = {p1}

[cluster]
heartbeat_interval = "100ms"
peer_timeout = "1s"

[sources.gen]
node = "edge"
type = "generator"
channel = "outbox"
count = {count}
rate = {rate}
line_size = 64
batch_size = 200

[channels.outbox]
node = "edge"
type = "memory"
capacity = 20000

[sinks.link]
node = "edge"
type = "forward"
channel = "outbox"
port = {p2}
timeout = "3s"

[sources.from_edge]
node = "relay"
type = "forward"
channel = "inbox"
port = {p2}

[channels.inbox]
node = "relay"
type = "file"
directory = "{dir}/inbox"

[sinks.out]
node = "relay"
type = "file"
channel = "inbox"
directory = "{dir}/out"
)",
                     fmt::arg("p0", ports[0]), fmt::arg("p1", ports[1]),
                     fmt::arg("p2", ports[2]), fmt::arg("count", count),
                     fmt::arg("rate", rate), fmt::arg("dir", dir.path()));
}

void start_node(process& p, const temp_dir& dir, const std::string& node,
                const std::string& log) {
  REQUIRE(process::start(p,
                         {SLUICE_BINARY, "node", dir / "topology.toml",
                          "--node", node, "--stats-interval", "200ms"},
                         log));
}

std::map<std::string, int> count_lines(const std::string& dir) {
  std::map<std::string, int> result;
  for (auto& line : read_lines_in(dir))
    ++result[line];
  return result;
}

/// The last value of `metric` on `component`'s stats or final lines in the
/// log, 0 when absent.
uint64_t last_metric(const std::string& log, const std::string& component,
                     const std::string& metric) {
  auto text = read_file(log);
  std::regex line{"(stats|final) \\w+ " + component + ":[^\\n]*"};
  std::regex value{" " + metric + "=(\\d+)"};
  uint64_t result = 0;
  for (std::sregex_iterator i{text.begin(), text.end(), line}, end; i != end;
       ++i) {
    std::smatch m;
    auto s = i->str();
    if (std::regex_search(s, m, value))
      result = std::stoull(m[1]);
  }
  return result;
}

/// CPU time (user + system) of process `pid`, in clock ticks.
uint64_t cpu_ticks(pid_t pid) {
  std::ifstream in{"/proc/" + std::to_string(pid) + "/stat"};
  std::string text{std::istreambuf_iterator<char>{in}, {}};
  auto close = text.rfind(')');
  if (close == std::string::npos)
    return 0;
  std::istringstream rest{text.substr(close + 2)};
  std::string field;
  uint64_t utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14)
      utime = std::stoull(field);
    if (i == 15)
      stime = std::stoull(field);
  }
  return utime + stime;
}

} // namespace

SCENARIO("a receiving node killed mid-stream loses nothing across the link",
         "[forward][e2e]") {
  temp_dir dir;
  constexpr int64_t count = 40'000;
  { std::ofstream{dir / "topology.toml"} << two_nodes(dir, count, 10'000); }
  auto relay_log = dir / "relay.log", edge_log = dir / "edge.log";
  process relay, edge;
  start_node(relay, dir, "relay", relay_log);
  start_node(edge, dir, "edge", edge_log);
  // Lines flow through the relay before it is killed.
  REQUIRE(
      eventually([&] { return read_lines_in(dir / "out").size() >= 5000; }));
  relay.signal(SIGKILL);
  REQUIRE(relay.wait(10s));
  auto before = count_lines(dir / "out").size();
  INFO("lines written before the kill: " << before);
  REQUIRE(before < static_cast<size_t>(count));
  // The sender sees the peer gone and waits for it.
  REQUIRE(eventually([&] {
    return read_file(edge_log).find("the peer is gone") != std::string::npos;
  }));
  process relay2;
  auto relay2_log = dir / "relay2.log";
  start_node(relay2, dir, "relay", relay2_log);
  // The edge node ends by itself once its generator finished and its
  // channel drained through the link.
  auto code = edge.wait(120s);
  INFO(read_file(edge_log));
  REQUIRE(code);
  CHECK(*code == 0);
  REQUIRE(eventually([&] {
    return count_lines(dir / "out").size() == static_cast<size_t>(count);
  }));
  relay2.signal(SIGTERM);
  REQUIRE(relay2.wait(30s));
  auto lines = count_lines(dir / "out");
  THEN("every line is present") {
    CHECK(lines.size() == count);
  }
  THEN("duplicates are only what the channel redelivered after the kill") {
    uint64_t duplicates = 0;
    for (auto& [line, n] : lines)
      duplicates += n - 1;
    auto recovered = last_metric(relay2_log, "inbox", "recovered");
    INFO("duplicate lines: "
         << duplicates << ", recovered: " << recovered
         << ", dropped at the link: "
         << last_metric(relay2_log, "from_edge", "duplicates_dropped"));
    CHECK(duplicates <= recovered);
    // What the link dropped is counted on both ends alike.
    CHECK(last_metric(relay2_log, "from_edge", "duplicates_dropped") ==
          last_metric(edge_log, "link", "duplicates_dropped"));
  }
}

SCENARIO("a node started before its peer waits without failing or spinning",
         "[forward][e2e]") {
  temp_dir dir;
  constexpr int64_t count = 5'000;
  { std::ofstream{dir / "topology.toml"} << two_nodes(dir, count, 0); }
  auto relay_log = dir / "relay.log", edge_log = dir / "edge.log";
  process edge;
  start_node(edge, dir, "edge", edge_log);
  REQUIRE(eventually([&] {
    return read_file(edge_log).find("is not reachable yet") !=
           std::string::npos;
  }));
  auto edge_pid = edge.pid();
  auto t0 = cpu_ticks(edge_pid);
  auto wall0 = std::chrono::steady_clock::now();
  // Let the sender wait a while: about 10 connection attempts at the
  // back-off's ceiling.
  REQUIRE(!eventually(
      [&] {
        return read_file(edge_log).find("connected to") != std::string::npos;
      },
      2s));
  auto used = cpu_ticks(edge_pid) - t0;
  auto wall = std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::steady_clock::now() - wall0)
                  .count();
  auto hz = sysconf(_SC_CLK_TCK);
  INFO("CPU while waiting: " << used << " ticks of " << hz << " per second in "
                             << wall << " ms");
  // Waiting costs little: under a quarter of one core (a busy loop of
  // connection attempts would take all of it).
  CHECK(used * 1000 < static_cast<uint64_t>(hz * wall / 4));
  process relay;
  start_node(relay, dir, "relay", relay_log);
  auto code = edge.wait(60s);
  INFO(read_file(edge_log));
  REQUIRE(code);
  CHECK(*code == 0);
  REQUIRE(eventually([&] {
    return count_lines(dir / "out").size() == static_cast<size_t>(count);
  }));
  relay.signal(SIGTERM);
  REQUIRE(relay.wait(30s));
  THEN("the sender never failed while it waited") {
    CHECK(last_metric(edge_log, "link", "restarts") == 0);
    CHECK(last_metric(edge_log, "link", "errors") == 0);
    CHECK(count_lines(dir / "out").size() == count);
  }
}

SCENARIO("a hung receiving node (SIGSTOP) is detected and the link resumes "
         "after SIGCONT",
         "[forward][e2e]") {
  temp_dir dir;
  constexpr int64_t count = 30'000;
  { std::ofstream{dir / "topology.toml"} << two_nodes(dir, count, 10'000); }
  auto relay_log = dir / "relay.log", edge_log = dir / "edge.log";
  process relay, edge;
  start_node(relay, dir, "relay", relay_log);
  start_node(edge, dir, "edge", edge_log);
  REQUIRE(
      eventually([&] { return read_lines_in(dir / "out").size() >= 3000; }));
  relay.signal(SIGSTOP);
  auto stopped = std::chrono::steady_clock::now();
  auto seen = [&] {
    auto text = read_file(edge_log);
    return text.find("the peer is gone") != std::string::npos ||
           text.find("the peer did not commit") != std::string::npos;
  };
  // No death, no answers: the missing heartbeats (peer_timeout 1s) or the
  // request timeout (3s) fail the link.
  REQUIRE(eventually(seen, 20s));
  auto detected = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - stopped)
                      .count();
  INFO("hung peer detected after " << detected << " ms");
  CHECK(detected < 5000);
  auto frozen = count_lines(dir / "out").size();
  REQUIRE(frozen < static_cast<size_t>(count));
  relay.signal(SIGCONT);
  auto code = edge.wait(120s);
  INFO(read_file(edge_log));
  REQUIRE(code);
  CHECK(*code == 0);
  REQUIRE(eventually([&] {
    return count_lines(dir / "out").size() == static_cast<size_t>(count);
  }));
  relay.signal(SIGTERM);
  REQUIRE(relay.wait(30s));
  THEN("every line arrived, and no line twice") {
    auto lines = count_lines(dir / "out");
    CHECK(lines.size() == count);
    uint64_t duplicates = 0;
    for (auto& [line, n] : lines)
      duplicates += n - 1;
    INFO("link duplicates dropped: " << last_metric(relay_log, "from_edge",
                                                    "duplicates_dropped"));
    CHECK(duplicates == 0);
  }
}

SCENARIO("sluice run runs every node of the file in one process and stops "
         "along the links",
         "[forward][e2e]") {
  temp_dir dir;
  constexpr int64_t count = 20'000;
  { std::ofstream{dir / "topology.toml"} << two_nodes(dir, count, 0); }
  auto log = dir / "run.log";
  process p;
  REQUIRE(
      process::start(p, {SLUICE_BINARY, "run", dir / "topology.toml"}, log));
  // The generator finishes; the edge's channel drains through the link
  // before the relay's forward source stops, so the run ends by itself.
  auto code = p.wait(60s);
  INFO(read_file(log));
  REQUIRE(code);
  CHECK(*code == 0);
  auto lines = count_lines(dir / "out");
  CHECK(lines.size() == count);
  for (auto& [line, n] : lines)
    REQUIRE(n == 1);
  CHECK(read_file(log).find("final sink link: in=0 out=20000 ") !=
        std::string::npos);
  CHECK(last_metric(log, "link", "errors") == 0);
}
