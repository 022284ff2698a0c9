// Which part of a topology one node runs.
#include <algorithm>

#include <catch2/catch.hpp>

#include "config/topology.hpp"
#include "connectors/registry.hpp"
#include "engine/cluster.hpp"

using namespace sluice;

namespace {

constexpr std::string_view two_nodes = R"([nodes.edge]
port = 7101

[nodes.relay]
port = 7102

[sources.gen]
node = "edge"
type = "generator"
channel = "c"
count = 10

[channels.c]
node = "edge"
type = "memory"

[sinks.a]
node = "edge"
type = "null"
channel = "c"

[sinks.b]
node = "edge"
type = "null"
channel = "c"

[sink_groups.pair]
type = "failover"
sinks = ["a", "b"]
priority = { a = 2, b = 1 }

[sources.in]
node = "relay"
type = "forward"
channel = "r"
port = 7103

[channels.r]
node = "relay"
type = "memory"

[sinks.out]
node = "relay"
type = "null"
channel = "r"
)";

} // namespace

TEST_CASE("a node runs its own components and the sink groups of its sinks",
          "[cluster]") {
  std::vector<diagnostic> problems;
  auto registry = connector_registry::builtin();
  auto spec = parse_topology(two_nodes, "t.toml", registry, problems);
  REQUIRE(spec);
  auto edge = select_node(*spec, "edge");
  REQUIRE(edge);
  CHECK(edge->sources.size() == 1);
  CHECK(edge->sinks.size() == 2);
  REQUIRE(edge->sink_groups.size() == 1);
  CHECK(edge->sink_groups.front().name == "pair");
  auto relay = select_node(*spec, "relay");
  REQUIRE(relay);
  CHECK(relay->sinks.size() == 1);
  // The group's members run on edge: relay must not try to start it.
  CHECK(relay->sink_groups.empty());
  CHECK(validate(*relay, registry).empty());
  CHECK_FALSE(select_node(*spec, "nowhere"));
}
