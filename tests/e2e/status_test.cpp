// End-to-end tests of `sluice status`: two real `sluice node` processes of
// one topology, asked by address and through the topology file.
#include <chrono>
#include <csignal>
#include <fstream>
#include <regex>
#include <string>
#include <thread>

#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "tests/support/ports.hpp"
#include "tests/support/process.hpp"
#include "tests/support/wait.hpp"

using namespace sluice::test;
using namespace std::chrono_literals;
using json = nlohmann::json;

namespace {

struct ports {
  uint16_t edge = 0, relay = 0, link = 0, down = 0;
};

/// `edge` generates events into `outbox`, drained by a failover group of
/// two forward sinks: `primary` to the relay node (up), `standby` to a port
/// nothing listens on (down; it gives up connecting after 300 ms, so the
/// group penalizes it).
std::string topology(const temp_dir& dir, const ports& p) {
  return fmt::format(R"([nodes.edge]
port = {edge}

[nodes.relay]
port = {relay}

[cluster]
heartbeat_interval = "100ms"
peer_timeout = "1s"

[sources.gen]
node = "edge"
type = "generator"
channel = "outbox"
rate = 2000
line_size = 32

[channels.outbox]
node = "edge"
type = "memory"
capacity = 100000

# One lease at a time per member: IN FLIGHT is 0 or 1.
[sinks.primary]
node = "edge"
type = "forward"
channel = "outbox"
port = {link}
max_in_flight = 1

[sinks.standby]
node = "edge"
type = "forward"
channel = "outbox"
port = {down}
max_in_flight = 1
connect_timeout = "300ms"

[sink_groups.relays]
type = "failover"
sinks = ["primary", "standby"]
priority = {{ primary = 10, standby = 5 }}
penalty = "1s"
maxpenalty = "30s"

[sources.inbound]
node = "relay"
type = "forward"
channel = "inbox"
port = {link}

[channels.inbox]
node = "relay"
type = "memory"

[sinks.out]
node = "relay"
type = "file"
channel = "inbox"
directory = "{dir}/out"
)",
                     fmt::arg("edge", p.edge), fmt::arg("relay", p.relay),
                     fmt::arg("link", p.link), fmt::arg("down", p.down),
                     fmt::arg("dir", dir.path()));
}

/// Runs `sluice status ARGS...`; returns its exit code and output.
std::pair<int, std::string> status(std::vector<std::string> args) {
  args.insert(args.begin(), {SLUICE_BINARY, "status"});
  return run_command(args, 30s);
}

/// The JSON object `sluice status --json` printed, or null.
json parse(const std::string& out) {
  auto start = out.find('{');
  if (start == std::string::npos)
    return nullptr;
  return json::parse(out.substr(start), nullptr, false);
}

const json* find(const json& xs, const std::string& key,
                 const std::string& name) {
  for (auto& x : xs)
    if (x.value(key, "") == name)
      return &x;
  return nullptr;
}

bool has_line(const std::string& text, const std::string& pattern) {
  return std::regex_search(
      text,
      std::regex{pattern, std::regex::ECMAScript | std::regex::multiline});
}

} // namespace

SCENARIO("sluice status shows a node's components, group and links",
         "[status][e2e]") {
  temp_dir dir;
  ports p{free_port(), free_port(), free_port(), free_port()};
  REQUIRE((p.edge && p.relay && p.link && p.down));
  { std::ofstream{dir / "topology.toml"} << topology(dir, p); }
  process relay, edge;
  REQUIRE(process::start(
      relay, {SLUICE_BINARY, "node", dir / "topology.toml", "--node", "relay"},
      dir / "relay.log"));
  REQUIRE(process::start(
      edge, {SLUICE_BINARY, "node", dir / "topology.toml", "--node", "edge"},
      dir / "edge.log"));
  auto edge_address = fmt::format("127.0.0.1:{}", p.edge);
  // Until events flowed through the primary and the standby was penalized.
  json edge_json;
  std::string last_answer; // shown if it never settles
  bool settled = wait_for([&] {
    // A loaded machine (sanitizer builds in parallel) answers slowly.
    auto [code, out] =
        status({"--node", edge_address, "--json", "--timeout", "10s"});
    last_answer = "exit " + std::to_string(code) + ": " + out;
    if (code != 0)
      return false;
    edge_json = parse(out);
    if (!edge_json.is_object())
      return false;
    auto& node = edge_json["nodes"][0];
    auto* standby = find(node["components"], "name", "standby");
    auto* primary = find(node["components"], "name", "primary");
    return standby && primary && (*standby)["group_state"] == "penalized" &&
           (*primary)["events_out"].get<uint64_t>() > 0;
  });
  INFO(read_file(dir / "edge.log"));
  INFO("relay:\n" << read_file(dir / "relay.log"));
  INFO("last status answer: " << last_answer);
  REQUIRE(settled);

  WHEN("one node is asked by address") {
    auto [code, out] = status({"--node", edge_address});
    INFO(out);
    CHECK(code == 0);
    THEN("the table shows every component of the node") {
      CHECK(has_line(out, "^node edge \\(127\\.0\\.0\\.1:" +
                              std::to_string(p.edge) + "\\): up "));
      CHECK(has_line(out, "^  gen +source +running +0 +[1-9][0-9]* +- "));
      CHECK(has_line(out, "^  outbox +channel +running +[1-9][0-9]* "
                          "+[1-9][0-9]* +[0-9]+/100000 "));
      CHECK(has_line(out, "^  relays +sink_group +running "));
      CHECK_FALSE(has_line(out, "inbound"));
    }
    THEN("the group block shows the active sink and the down member "
         "penalized") {
      CHECK(has_line(out, "^  group relays: active primary, switches "));
      CHECK(has_line(out, "^    primary +live +0 +0ms$"));
      CHECK(has_line(out,
                     "^    standby +penalized +[1-9][0-9]* +[1-9][0-9]*ms$"));
    }
    THEN("the links block shows each forward sink's peer and state") {
      CHECK(has_line(out, "^    primary +127\\.0\\.0\\.1:" +
                              std::to_string(p.link) + " +yes +[01] "));
      CHECK(has_line(out,
                     "^    standby +127\\.0\\.0\\.1:" + std::to_string(p.down) +
                         " +no +0 +[0-9]+ +.*"
                         "cannot"));
    }
  }

  WHEN("it is asked for JSON") {
    auto& node = edge_json["nodes"][0];
    THEN("the object holds the same") {
      CHECK(edge_json["unreachable"] == 0);
      CHECK(node["name"] == "edge");
      CHECK(node["reachable"] == true);
      CHECK(node["uptime_ms"].get<int64_t>() > 0);
      for (auto name : {"gen", "outbox", "primary", "standby", "relays"})
        CHECK(find(node["components"], "name", name) != nullptr);
      CHECK(find(node["components"], "name", "inbound") == nullptr);
      auto* group = find(node["groups"], "name", "relays");
      REQUIRE(group);
      CHECK((*group)["active"] == "primary");
      auto* standby = find((*group)["members"], "name", "standby");
      REQUIRE(standby);
      CHECK((*standby)["state"] == "penalized");
      CHECK((*standby)["failures"].get<uint64_t>() >= 1);
      CHECK((*standby)["penalty_ms"].get<int64_t>() >= 1000);
      auto* primary_link = find(node["links"], "sink", "primary");
      auto* standby_link = find(node["links"], "sink", "standby");
      REQUIRE(primary_link);
      REQUIRE(standby_link);
      CHECK((*primary_link)["connected"] == true);
      CHECK((*primary_link)["peer"] == fmt::format("127.0.0.1:{}", p.link));
      CHECK((*standby_link)["connected"] == false);
      CHECK((*standby_link)["reconnects"].get<uint64_t>() >= 1);
      CHECK((*standby_link)["last_error"].get<std::string>().find("cannot") !=
            std::string::npos);
    }
  }

  WHEN("every node of the topology is asked") {
    auto [code, out] = status({dir / "topology.toml"});
    INFO(out);
    CHECK(code == 0);
    THEN("both answer; the relay receives from one peer") {
      CHECK(has_line(out, "^node edge "));
      CHECK(has_line(out, "^node relay \\(127\\.0\\.0\\.1:" +
                              std::to_string(p.relay) + "\\): up "));
      CHECK(has_line(out, "^  receiving from: inbound \\(1 peer\\(s\\)\\)$"));
    }
  }

  WHEN("the relay node is killed") {
    relay.signal(SIGKILL);
    REQUIRE(relay.wait(10s));
    THEN("the edge shows its link down, and the relay is unreachable: exit "
         "1") {
      REQUIRE(wait_for([&] {
        auto [code, out] = status({"--node", edge_address, "--json"});
        auto j = parse(out);
        if (code != 0 || !j.is_object())
          return false;
        auto* link = find(j["nodes"][0]["links"], "sink", "primary");
        return link && (*link)["connected"] == false;
      }));
      auto [code, out] = status({dir / "topology.toml", "--timeout", "1s"});
      INFO(out);
      CHECK(code == 1);
      CHECK(has_line(out, "^node edge \\(127\\.0\\.0\\.1:" +
                              std::to_string(p.edge) + "\\): up "));
      CHECK(has_line(out, "^node relay \\(127\\.0\\.0\\.1:" +
                              std::to_string(p.relay) + "\\): unreachable: "));
      auto [jcode, jout] =
          status({dir / "topology.toml", "--json", "--timeout", "1s"});
      auto j = parse(jout);
      CHECK(jcode == 1);
      REQUIRE(j.is_object());
      CHECK(j["unreachable"] == 1);
      auto* r = find(j["nodes"], "name", "relay");
      REQUIRE(r);
      CHECK((*r)["reachable"] == false);
    }
  }
}

SCENARIO("sluice status refuses what it cannot ask", "[status]") {
  auto [code, out] =
      run_command({SLUICE_BINARY, "status", "--node", "nohost"}, 10s);
  CHECK(code == 2);
  CHECK(out.find("not HOST:PORT") != std::string::npos);
  auto [code2, out2] = run_command({SLUICE_BINARY, "status"}, 10s);
  CHECK(code2 == 2);
}
