// The seed's failover tier for real: three `sluice` processes on 127.0.0.1
// (agent1 tails a file and sends to agentA, priority 10, and agentB,
// priority 5), the active relay killed (SIGKILL) or frozen (SIGSTOP)
// mid-stream, then brought back.
#include <algorithm>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <regex>
#include <string_view>

#include <catch2/catch.hpp>

#include "runtime/shard_log.hpp"
#include "tests/support/relay_cluster.hpp"
#include "tests/support/wait.hpp"

using namespace sluice::test;
using namespace std::chrono_literals;

namespace {

constexpr uint64_t w = relay_cluster::line_width;

/// The last value of `key=N` in the last stats line of component `name`.
uint64_t last_stat(const std::string& log, const std::string& name,
                   const std::string& key) {
  std::regex line_re{" " + name + ": [^\n]*"};
  std::string last;
  for (auto i = std::sregex_iterator(log.begin(), log.end(), line_re);
       i != std::sregex_iterator(); ++i)
    last = i->str();
  std::smatch m;
  std::regex key_re{" " + key + "=([0-9]+)"};
  if (std::regex_search(last, m, key_re))
    return std::stoull(m[1].str());
  return 0;
}

/// FNV-1a of one line's bytes.
uint64_t line_hash(std::string_view s) {
  uint64_t h = 14695981039346656037ull;
  for (auto ch : s)
    h = (h ^ static_cast<unsigned char>(ch)) * 1099511628211ull;
  return h;
}

/// Reads the topic's shards as they are on disk once the store stopped: the
/// topic holds every line 0..n-1 exactly once (count and a checksum of the
/// lines), each shard in the order its relays appended.
void check_topic(const relay_cluster& c, int64_t n) {
  std::vector<int64_t> lines;
  uint64_t checksum = 0;
  size_t shards = 0;
  for (auto& e : std::filesystem::directory_iterator{c.topic_dir()}) {
    if (!e.is_directory() || e.path().filename().string().rfind("shard-", 0))
      continue;
    ++shards;
    sluice::shard_log_config cfg;
    cfg.directory = e.path();
    cfg.min_free_space = 0;
    auto log = sluice::shard_log::open(cfg);
    REQUIRE(log);
    for (auto at = (*log)->start_offset(); at < (*log)->end_offset();) {
      auto got = (*log)->read(at, size_t{1} << 20);
      REQUIRE(got);
      REQUIRE(!got->empty());
      for (auto& rb : *got) {
        for (size_t i = 0; i < rb.batch.size(); ++i) {
          auto body = std::string{rb.batch.body(i)};
          lines.push_back(std::atoll(body.c_str()));
          checksum += line_hash(body);
        }
        at = rb.base_offset + rb.batch.size();
      }
    }
    (*log)->close();
  }
  CHECK(shards >= 1);
  auto result = check_delivery(lines, n);
  INFO("topic: " << lines.size() << " record(s) in " << shards
                 << " shard(s) for " << n << " line(s)");
  CHECK(result.missing.empty());
  CHECK(result.duplicates == 0);
  CHECK(lines.size() == static_cast<size_t>(n));
  // An order-free checksum of the records' bytes against that of the lines
  // the writer wrote.
  uint64_t expected = 0;
  char buf[24]; // room for any long long
  for (int64_t i = 0; i < n; ++i) {
    std::snprintf(buf, sizeof buf, "%09lld", static_cast<long long>(i));
    expected += line_hash(buf);
  }
  CHECK(checksum == expected);
}

/// Runs the scenario with `freeze` (SIGSTOP/SIGCONT) or a kill (SIGKILL and
/// a restart) of agentA.
void run_failover(relay_cluster::settings settings, bool freeze) {
  temp_dir dir;
  relay_cluster c{dir, settings};
  if (settings.topic)
    REQUIRE(c.start("store"));
  REQUIRE(c.start("agentA"));
  REQUIRE(c.start("agentB"));
  REQUIRE(c.start("agent1"));
  c.start_writer(50, 10ms); // 5,000 lines/s

  // What the agents said, shown when a check fails.
  relay_cluster::logs_on_failure dump{c};
  // Lines flow through agentA, the higher priority, and not through agentB.
  REQUIRE(
      wait_for([&] { return c.written_bytes("agentA") >= 2'000 * w; }, 60s));
  CHECK(c.written_bytes("agentB") == 0);

  // agentA dies (or hangs) mid-stream: the writer is still writing.
  auto written_at_fault = c.lines_written();
  if (freeze)
    c.signal("agentA", SIGSTOP);
  else
    c.kill("agentA");
  // Where the group routes is read from agent1's counters, not from what
  // a relay writes: a restarted relay first drains what its own channel
  // recovered, which is no routing. The counters come from agent1's stats
  // lines, up to 100 ms old.
  auto b_at_fault = c.routed_events("agentB");
  // The flow moves to agentB.
  REQUIRE(wait_for(
      [&] { return c.routed_events("agentB") >= b_at_fault + 2'000; }, 30s));
  CHECK(c.lines_written() > written_at_fault);

  // agentA comes back; after its penalty the flow returns to it.
  if (freeze)
    c.signal("agentA", SIGCONT);
  else
    REQUIRE(c.start("agentA"));
  auto a_at_return = c.routed_events("agentA");
  REQUIRE(wait_for(
      [&] { return c.routed_events("agentA") >= a_at_return + 2'000; }, 60s));
  // Failed back: agentB gets nothing more while agentA takes the next
  // thousands of lines. The bound allows two leases: a forward sink keeps
  // two in flight, and the counters may lag by one stats line.
  auto b_after = c.routed_events("agentB");
  auto a_after = c.routed_events("agentA");
  REQUIRE(wait_for([&] { return c.routed_events("agentA") >= a_after + 2'000; },
                   60s));
  CHECK(c.routed_events("agentB") <= b_after + 2'000);

  auto n = c.stop_writer();
  REQUIRE(n > 0);
  REQUIRE(wait_for(
      [&] { return check_delivery(c.delivered(), n).missing.empty(); }, 60s));
  CHECK(c.stop("agent1", 30s) == 0);
  CHECK(c.stop("agentA", 30s) == 0);
  CHECK(c.stop("agentB", 30s) == 0);
  if (settings.topic) {
    CHECK(c.stop("store", 30s) == 0);
    check_topic(c, n);
  }

  auto result = check_delivery(c.delivered(), n);
  CHECK(result.missing.empty());
  // Duplicates, if any, are leases that were in flight at the fault: the
  // group counted them as rerouted, the receiving channels as recovered.
  auto log1 = c.log("agent1");
  auto rerouted = last_stat(log1, c.group_name(), "redelivered");
  auto recovered = last_stat(c.log("agentA"), c.relay_channel(), "recovered");
  INFO("rerouted events " << rerouted << ", recovered by agentA " << recovered
                          << ", duplicates " << result.duplicates);
  if (settings.topic)
    CHECK(result.duplicates == 0); // the topic dropped every retried batch
  else
    CHECK(result.duplicates <= rerouted + recovered);
  // The group switched to agentB and back to agentA.
  CHECK(last_stat(log1, c.group_name(), "switches") >= 2);
}

} // namespace

TEST_CASE("failover tier: agentA killed with SIGKILL and restarted",
          "[e2e][cluster][failover]") {
  run_failover({}, false);
}

TEST_CASE("failover tier: agentA frozen with SIGSTOP and resumed",
          "[e2e][cluster][failover]") {
  run_failover({}, true);
}

TEST_CASE("failover tier from three Flume files: agentA killed and restarted",
          "[e2e][cluster][failover][flume]") {
  relay_cluster::settings s;
  s.flume = true;
  run_failover(s, false);
}

TEST_CASE("failover tier from three Flume files: agentA frozen and resumed",
          "[e2e][cluster][failover][flume]") {
  relay_cluster::settings s;
  s.flume = true;
  run_failover(s, true);
}

TEST_CASE("failover tier into a topic on a fourth node: agentA killed and "
          "restarted, every line in the topic once",
          "[e2e][cluster][failover][topic]") {
  relay_cluster::settings s;
  s.topic = true;
  run_failover(s, false);
}

TEST_CASE("failover tier into a topic from the seed's DataHub Flume files: "
          "agentA killed and restarted, every line in the topic once",
          "[e2e][cluster][failover][topic][flume]") {
  relay_cluster::settings s;
  s.topic = true;
  s.flume = true;
  run_failover(s, false);
}
