#include <filesystem>
#include <fstream>
#include <string>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "config/topology.hpp"
#include "connectors/registry.hpp"
#include "tests/support/process.hpp"
#include "tests/support/tls_certs.hpp"
#include "tests/support/topology_parse.hpp"

using namespace sluice;
using sluice::test::has;
using sluice::test::parse_errors;

namespace {

constexpr const char* two_nodes = R"([nodes.edge]
port = 7401

[nodes.relay]
host = "127.0.0.1"
port = 7402
bind = "0.0.0.0"

[cluster]
heartbeat_interval = "50ms"
peer_timeout = "2s"

[sources.gen]
node = "edge"
type = "generator"
channel = "outbox"

[channels.outbox]
node = "edge"
type = "memory"

[sinks.link]
node = "edge"
type = "forward"
channel = "outbox"
port = 7403
timeout = "3s"

[sources.from_edge]
node = "relay"
type = "forward"
channel = "inbox"
port = 7403

[channels.inbox]
node = "relay"
type = "memory"

[sinks.out]
node = "relay"
type = "null"
channel = "inbox"
)";

} // namespace

SCENARIO("a topology with nodes parses into its cluster and placements",
         "[cluster]") {
  std::vector<diagnostic> problems;
  auto spec =
      parse_topology(two_nodes, "t.toml", test::builtin_connectors(), problems);
  for (auto& p : problems)
    UNSCOPED_INFO(to_string(p));
  REQUIRE(spec);
  auto& c = spec->cluster;
  REQUIRE(c.nodes.size() == 2);
  CHECK(c.nodes[0].name == "edge");
  CHECK(c.nodes[0].host == "127.0.0.1");
  CHECK(c.nodes[0].bind == "127.0.0.1");
  CHECK(c.nodes[0].port == 7401);
  CHECK(c.nodes[0].where.line == 1);
  CHECK(c.nodes[1].bind == "0.0.0.0");
  CHECK(c.heartbeat_interval_ms == 50);
  CHECK(c.peer_timeout_ms == 2000);
  CHECK(!c.tls.enabled());
  // Tables are read in name order.
  REQUIRE(spec->sources.size() == 2);
  CHECK(spec->sources[0].name == "from_edge");
  CHECK(spec->sources[0].node == "relay");
  CHECK(spec->sources[0].type == "forward");
  CHECK(spec->sources[0].opts.get_int("port") == 7403);
  CHECK(spec->sources[0].opts.get_string("bind") == "127.0.0.1");
  CHECK(spec->sources[1].node == "edge");
  CHECK(spec->channels[0].name == "inbox");
  CHECK(spec->channels[0].node == "relay");
  CHECK(spec->sinks[0].name == "link");
  CHECK(spec->sinks[0].opts.get_int("timeout") == 3000);
  CHECK(spec->sinks[0].opts.get_string("host") == "127.0.0.1");
  CHECK(spec->sinks[1].node == "relay");
}

SCENARIO("placement errors name the file, line and column", "[cluster]") {
  GIVEN("nodes and a component without a node") {
    std::string text = two_nodes;
    auto at = text.find("node = \"relay\"\ntype = \"null\"");
    text.erase(at, std::string{"node = \"relay\"\n"}.size());
    auto errs = parse_errors(text);
    CHECK(has(errs, "t.toml:39:8: error: sink 'out' must name the node it "
                    "runs on"));
  }
  GIVEN("an unknown node name") {
    std::string text = two_nodes;
    auto at = text.find("node = \"relay\"\ntype = \"null\"");
    text.replace(at, std::string{"node = \"relay\""}.size(),
                 "node = \"relya\"");
    auto errs = parse_errors(text);
    CHECK(has(errs, "t.toml:40:8: error: sink 'out' names an undeclared node "
                    "'relya'; did you mean 'relay'?"));
    CHECK(!has(errs, "runs on node 'relya'"));
  }
  GIVEN("a sink on another node than its channel") {
    std::string text = two_nodes;
    auto at = text.find("node = \"relay\"\ntype = \"null\"");
    text.replace(at, std::string{"node = \"relay\""}.size(), "node = \"edge\"");
    auto errs = parse_errors(text);
    CHECK(has(errs, "t.toml:40:8: error: sink 'out' runs on node 'edge' but "
                    "its channel 'inbox' runs on node 'relay'"));
  }
  GIVEN("a node key without any nodes declared") {
    auto errs = parse_errors(R"([sources.gen]
type = "generator"
channel = "c"
node = "a"
[channels.c]
type = "memory"
[sinks.s]
type = "null"
channel = "c"
)");
    CHECK(has(errs, "t.toml:4:8: error: source 'gen' names node 'a', but the "
                    "topology declares no nodes"));
  }
  GIVEN("a node without a port, a bad port, an unknown key") {
    std::string text = two_nodes;
    text.replace(text.find("port = 7401"), 11, "prot = 7401");
    text.replace(text.find("port = 7402"), 11, "port = 70000");
    auto errs = parse_errors(text);
    CHECK(has(errs, "t.toml:2:1: error: unknown option 'prot' for node 'edge'; "
                    "did you mean 'port'?"));
    CHECK(has(errs, "node 'edge' needs option 'port'"));
    CHECK(has(errs, "t.toml:6:8: error: node 'relay': option 'port'"));
  }
  GIVEN("two users of one port on the same host") {
    std::string text = two_nodes;
    text.replace(text.find("port = 7402"), 11, "port = 7401");
    auto errs = parse_errors(text);
    CHECK(has(errs, "t.toml:6:8: error: the control port of node 'relay' uses "
                    "port 7401 of 127.0.0.1, already used by the control port "
                    "of node 'edge'"));
  }
  GIVEN("a peer timeout no longer than the heartbeat") {
    std::string text = two_nodes;
    text.replace(text.find("peer_timeout = \"2s\""), 19,
                 "peer_timeout = \"50ms\"");
    auto errs = parse_errors(text);
    CHECK(has(errs, "t.toml:11:16: error: peer_timeout of [cluster] (50 ms) "
                    "must be longer than its heartbeat_interval"));
  }
  GIVEN("a forward source without a port") {
    std::string text = two_nodes;
    auto at = text.find("port = 7403\n\n[channels.inbox]");
    text.erase(at, 12);
    auto errs = parse_errors(text);
    CHECK(has(errs, "forward source 'from_edge' needs option 'port'"));
  }
}

SCENARIO("the files of [cluster.tls] are checked with OpenSSL, at their key",
         "[cluster][tls]") {
  sluice::test::temp_dir dir;
  auto& f = sluice::test::shared_tls_files();
  { std::ofstream{dir / "not.pem"} << "certificate\n"; }
  // [cluster.tls] starts on line 44: certificate 45:15, key 46:7,
  // ca_file 47:11.
  auto with = [&](const std::string& cert, const std::string& key,
                  const std::string& ca) {
    return parse_errors(std::string{two_nodes} +
                        sluice::test::tls_table(cert, key, ca));
  };
  WHEN("the CA signed the certificate and the key is its own") {
    THEN("the topology is valid") {
      CHECK(with(f.cert, f.key, f.ca).empty());
    }
  }
  WHEN("a file is missing") {
    auto errs = with(f.cert, f.key, dir / "ca-missing.pem");
    CHECK(has(errs, "t.toml:47:11: error: ca_file '" +
                        (dir / "ca-missing.pem") +
                        "' of [cluster.tls] is not a file that exists"));
    CHECK(!has(errs, "certificate '"));
  }
  WHEN("a file is not PEM") {
    CHECK(has(with(dir / "not.pem", f.key, f.ca),
              "t.toml:45:15: error: certificate '" + (dir / "not.pem") +
                  "' of [cluster.tls] is not a PEM certificate"));
    CHECK(has(with(f.cert, dir / "not.pem", f.ca),
              "t.toml:46:7: error: key '" + (dir / "not.pem") +
                  "' of [cluster.tls] is not a PEM private key"));
    CHECK(has(with(f.cert, f.key, dir / "not.pem"),
              "t.toml:47:11: error: ca_file '" + (dir / "not.pem") +
                  "' of [cluster.tls] holds no PEM certificate"));
    // A key where the certificate belongs is not a certificate either.
    CHECK(has(with(f.key, f.key, f.ca),
              "t.toml:45:15: error: certificate '" + f.key +
                  "' of [cluster.tls] is not a PEM certificate"));
  }
  WHEN("the key is not the certificate's") {
    CHECK(has(with(f.cert, f.rogue_key, f.ca),
              "t.toml:46:7: error: key '" + f.rogue_key +
                  "' of [cluster.tls] is not the private key of "
                  "certificate '" +
                  f.cert + "'"));
  }
  WHEN("another CA signed the certificate") {
    CHECK(has(with(f.rogue_cert, f.rogue_key, f.ca),
              "t.toml:45:15: error: certificate '" + f.rogue_cert +
                  "' of [cluster.tls] is not signed by the CA of ca_file '" +
                  f.ca + "'"));
  }
  WHEN("the certificate has expired") {
    CHECK(has(with(f.expired_cert, f.expired_key, f.ca),
              "t.toml:45:15: error: certificate '" + f.expired_cert +
                  "' of [cluster.tls] has expired (not after "));
  }
  WHEN("a key is missing from [cluster.tls]") {
    auto errs2 = parse_errors(std::string{two_nodes} +
                              "\n[cluster.tls]\ncertificate = \"x\"\n");
    CHECK(has(errs2, "[cluster.tls] needs option 'key'"));
    CHECK(has(errs2, "[cluster.tls] needs option 'ca_file'"));
  }
}
