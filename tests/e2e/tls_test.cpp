// End-to-end tests of TLS between nodes: real `sluice node` processes on
// 127.0.0.1 with a CA and certificates made by the `openssl` command.
#include <chrono>
#include <csignal>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "tests/support/ports.hpp"
#include "tests/support/process.hpp"
#include "tests/support/tls_certs.hpp"
#include "tests/support/wait.hpp"

using namespace sluice::test;
using namespace std::chrono_literals;

namespace {

/// `edge` generates `count` numbered events and forwards them to `relay`,
/// which writes them to files in `dir`/out. Without `tls`, in plain text.
struct cluster {
  uint16_t ports[3];
  int64_t count;

  cluster(int64_t n) : count(n) {
    for (auto& p : ports) {
      p = free_port();
      REQUIRE(p != 0);
    }
  }

  std::string topology(const temp_dir& dir, const std::string& tls) const {
    return fmt::format(R"([nodes.edge]
port = {p0}

[nodes.relay]
port = {p1}

[sources.gen]
node = "edge"
type = "generator"
channel = "outbox"
count = {count}
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
type = "memory"
capacity = 20000

[sinks.out]
node = "relay"
type = "file"
channel = "inbox"
directory = "{dir}/out"
{tls})",
                       fmt::arg("p0", ports[0]), fmt::arg("p1", ports[1]),
                       fmt::arg("p2", ports[2]), fmt::arg("count", count),
                       fmt::arg("dir", dir.path()), fmt::arg("tls", tls));
  }
};

void write(const std::string& path, const std::string& text) {
  std::ofstream{path} << text;
}

void start_node(process& p, const std::string& topology,
                const std::string& node, const std::string& log) {
  REQUIRE(process::start(p,
                         {SLUICE_BINARY, "node", topology, "--node", node,
                          "--stats-interval", "200ms"},
                         log));
}

size_t distinct_lines(const std::string& dir) {
  auto lines = read_lines_in(dir);
  return std::set<std::string>(lines.begin(), lines.end()).size();
}

bool logged(const std::string& log, const std::string& text) {
  return read_file(log).find(text) != std::string::npos;
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

/// Runs a TLS relay and, against it, an edge node from `edge_topology` that
/// must be refused: nothing arrives, the refusal is logged, and the edge
/// keeps trying without failing or spinning. Then an edge with the CA's
/// certificate delivers every line to the same relay. The edge's log must
/// hold `explanation`.
void check_refused(const temp_dir& dir, const cluster& c,
                   const std::string& edge_topology,
                   const std::string& explanation) {
  auto relay_log = dir / "relay.log", edge_log = dir / "refused.log";
  process relay, refused;
  start_node(relay, dir / "topology.toml", "relay", relay_log);
  REQUIRE(wait_for([&] { return logged(relay_log, "listening on"); }));
  start_node(refused, edge_topology, "edge", edge_log);
  REQUIRE(wait_for([&] { return logged(edge_log, "is not reachable yet"); }));
  auto pid = refused.pid();
  auto t0 = cpu_ticks(pid);
  auto wall0 = std::chrono::steady_clock::now();
  // Several attempts (the back-off's ceiling is 2 s), none of them links.
  CHECK(!wait_for([&] { return logged(edge_log, "connected to"); }, 3s));
  auto used = cpu_ticks(pid) - t0;
  auto wall = std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::steady_clock::now() - wall0)
                  .count();
  auto hz = sysconf(_SC_CLK_TCK);
  INFO("edge log:\n" << read_file(edge_log));
  INFO("relay log:\n" << read_file(relay_log));
  INFO("CPU while refused: " << used << " ticks of " << hz << " per second in "
                             << wall << " ms");
  CHECK(distinct_lines(dir / "out") == 0);
  CHECK(logged(edge_log, explanation));
  // Still trying: running, and its sink never gave up.
  CHECK(refused.pid() == pid);
  CHECK(!refused.wait(0ms));
  CHECK(!logged(edge_log, "cannot connect"));
  CHECK(used * 1000 < static_cast<uint64_t>(hz * wall / 4));
  refused.signal(SIGKILL);
  REQUIRE(refused.wait(10s));
  // The relay itself was fine: a node with the CA's certificate links.
  process edge;
  start_node(edge, dir / "topology.toml", "edge", dir / "edge.log");
  auto code = edge.wait(60s);
  REQUIRE(code);
  CHECK(*code == 0);
  CHECK(wait_for([&] {
    return distinct_lines(dir / "out") == static_cast<size_t>(c.count);
  }));
  relay.signal(SIGTERM);
  CHECK(relay.wait(30s));
}

} // namespace

SCENARIO("nodes with certificates of the cluster's CA link over TLS",
         "[tls][e2e]") {
  temp_dir dir;
  auto& f = shared_tls_files();
  cluster c{3000};
  write(dir / "topology.toml", c.topology(dir, tls_table(f.cert, f.key, f.ca)));
  auto relay_log = dir / "relay.log", edge_log = dir / "edge.log";
  process relay, edge;
  start_node(relay, dir / "topology.toml", "relay", relay_log);
  start_node(edge, dir / "topology.toml", "edge", edge_log);
  auto code = edge.wait(60s);
  INFO("edge log:\n" << read_file(edge_log));
  INFO("relay log:\n" << read_file(relay_log));
  REQUIRE(code);
  CHECK(*code == 0);
  CHECK(wait_for([&] {
    return distinct_lines(dir / "out") == static_cast<size_t>(c.count);
  }));
  relay.signal(SIGTERM);
  REQUIRE(relay.wait(30s));
  THEN("both ends said their links run over TLS") {
    CHECK(logged(relay_log, "links between nodes use TLS"));
    CHECK(logged(edge_log, "links between nodes use TLS"));
    CHECK(distinct_lines(dir / "out") == static_cast<size_t>(c.count));
  }
}

SCENARIO("a node whose certificate another CA signed cannot connect",
         "[tls][e2e]") {
  temp_dir dir;
  auto& f = shared_tls_files();
  cluster c{2000};
  write(dir / "topology.toml", c.topology(dir, tls_table(f.cert, f.key, f.ca)));
  // The rogue node trusts its own CA only; it passes `sluice check`.
  write(dir / "rogue.toml",
        c.topology(dir, tls_table(f.rogue_cert, f.rogue_key, f.rogue_ca)));
  check_refused(dir, c, dir / "rogue.toml",
                "the peer closed the connection during the TLS handshake: it "
                "refuses this node's certificate");
}

SCENARIO("a plain-text node cannot connect to a TLS node", "[tls][e2e]") {
  temp_dir dir;
  auto& f = shared_tls_files();
  cluster c{2000};
  write(dir / "topology.toml", c.topology(dir, tls_table(f.cert, f.key, f.ca)));
  write(dir / "plain.toml", c.topology(dir, ""));
  check_refused(dir, c, dir / "plain.toml",
                "the peer closed the connection during the handshake: it may "
                "require TLS");
}

SCENARIO("sluice check names a bad TLS file at its key", "[tls][e2e]") {
  temp_dir dir;
  auto& f = shared_tls_files();
  write(dir / "not.pem", "not a certificate\n");
  cluster c{10};
  auto check = [&](const std::string& cert, const std::string& key,
                   const std::string& ca) {
    auto text = c.topology(dir, tls_table(cert, key, ca));
    write(dir / "topology.toml", text);
    auto [code, out] =
        run_command({SLUICE_BINARY, "check", dir / "topology.toml"}, 30s);
    CHECK(code != 0);
    return out;
  };
  // The line of `name = ` in the topology, 1-based.
  auto line_of = [&](const std::string& name) {
    auto text = read_file(dir / "topology.toml");
    auto at = text.find("\n" + name + " = ");
    REQUIRE(at != std::string::npos);
    return std::to_string(std::count(text.begin(),
                                     text.begin() + static_cast<long>(at) + 1,
                                     '\n') +
                          1);
  };
  WHEN("the CA file is missing") {
    auto out = check(f.cert, f.key, dir / "missing.pem");
    CHECK_THAT(out,
               Catch::Contains("topology.toml:" + line_of("ca_file") +
                               ":11: error: ca_file '" + (dir / "missing.pem") +
                               "' of [cluster.tls] is not a file that "
                               "exists"));
  }
  WHEN("the certificate is not PEM") {
    auto out = check(dir / "not.pem", f.key, f.ca);
    CHECK_THAT(out,
               Catch::Contains("topology.toml:" + line_of("certificate") +
                               ":15: error: certificate '" + (dir / "not.pem") +
                               "' of [cluster.tls] is not a PEM certificate"));
  }
  WHEN("the key does not match the certificate") {
    auto out = check(f.cert, f.rogue_key, f.ca);
    CHECK_THAT(out, Catch::Contains("topology.toml:" + line_of("key") +
                                    ":7: error: key '" + f.rogue_key +
                                    "' of [cluster.tls] is not the private "
                                    "key of certificate"));
  }
  WHEN("the files are right") {
    auto text = c.topology(dir, tls_table(f.cert, f.key, f.ca));
    write(dir / "topology.toml", text);
    auto [code, out] =
        run_command({SLUICE_BINARY, "check", dir / "topology.toml"}, 30s);
    INFO(out);
    CHECK(code == 0);
  }
}
