#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "config/flume_properties.hpp"
#include "config/topology.hpp"
#include "connectors/registry.hpp"
#include "tests/support/topology_parse.hpp"

using namespace sluice;
using sluice::test::has;

namespace {

std::string example(const std::string& path) {
  std::ifstream in{std::string{SLUICE_SOURCE_DIR} + "/examples/" + path};
  REQUIRE(in);
  std::stringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

constexpr const char* secret = "S3cr3tK3yValue";

// A relay whose sink k1 is declared; each test adds the sink's properties
// from line 13 on.
constexpr const char* relay = R"(agentA.sources = r1
agentA.channels = c1
agentA.sinks = k1
agentA.sources.r1.type = avro
agentA.sources.r1.bind = 127.0.0.1
agentA.sources.r1.port = 5555
agentA.sources.r1.channels = c1
agentA.channels.c1.type = memory
agentA.channels.c1.capacity = 1000
agentA.channels.c1.transactionCapacity = 1000
agentA.sinks.k1.channel = c1
agentA.sinks.k1.type = com.aliyun.datahub.flume.sink.DatahubSink
)";

struct outcome {
  caf::expected<topology_spec> spec;
  std::vector<std::string> errors;
  std::vector<std::string> notes;
};

outcome map_agent(const std::string& text,
                  const std::string& agent = "agentA") {
  std::vector<diagnostic> problems, notes;
  auto spec = parse_flume(text, "f.properties", agent,
                          test::builtin_connectors(), problems, notes);
  outcome result{std::move(spec), {}, {}};
  for (auto& p : problems)
    result.errors.push_back(to_string(p));
  for (auto& n : notes)
    result.notes.push_back(note_to_string(n));
  return result;
}

bool mentions(const std::vector<std::string>& xs, const std::string& needle) {
  for (auto& x : xs)
    if (x.find(needle) != std::string::npos)
      return true;
  return false;
}

/// Every option value of every component and the unused list, as text.
std::string formatted(const topology_spec& spec) {
  std::string out;
  auto values = [&](const options& opts) {
    for (auto& [k, v] : opts.values()) {
      out += k + "=";
      if (auto* s = std::get_if<std::string>(&v))
        out += *s;
      else if (auto* i = std::get_if<int64_t>(&v))
        out += std::to_string(*i);
      else if (auto* xs = std::get_if<std::vector<std::string>>(&v))
        for (auto& x : *xs)
          out += x + ",";
      else if (auto* m = std::get_if<string_map>(&v))
        for (auto& [mk, mv] : *m)
          out += mk + ":" + mv + ",";
      out += "\n";
    }
  };
  for (auto& s : spec.sources)
    values(s.opts);
  for (auto& c : spec.channels)
    values(c.opts);
  for (auto& s : spec.sinks)
    values(s.opts);
  for (auto& x : spec.unused_properties)
    out += x + "\n";
  return out;
}

} // namespace

SCENARIO("a DatahubSink maps to a topic sink", "[flume]") {
  auto r = map_agent(std::string{relay} +
                     R"(agentA.sinks.k1.datahub.accessID = LTAIexampleid
agentA.sinks.k1.datahub.accessKey = S3cr3tK3yValue
agentA.sinks.k1.datahub.endPoint = sluice://127.0.0.1:7420
agentA.sinks.k1.datahub.project = demo
agentA.sinks.k1.datahub.topic = lines
agentA.sinks.k1.serializer = DELIMITED
agentA.sinks.k1.serializer.delimiter = |
agentA.sinks.k1.serializer.fieldnames = a,b, c
agentA.sinks.k1.serializer.charset = UTF-8
agentA.sinks.k1.batchSize = 50
agentA.sinks.k1.shard.number = 2
agentA.sinks.k1.shard.maxTimeOut = 60
)");
  for (auto& e : r.errors)
    UNSCOPED_INFO(e);
  REQUIRE(r.spec);
  auto& spec = *r.spec;
  REQUIRE(spec.sinks.size() == 1);
  auto& k1 = spec.sinks[0];
  CHECK(k1.type == "topic");
  CHECK(k1.channel == "c1");
  CHECK(k1.batch_size == 50);
  CHECK(k1.opts.get_string("topic") == "lines");
  CHECK(k1.opts.get_string("address") == "127.0.0.1:7420");
  CHECK(k1.opts.get_string("delimiter") == "|");
  CHECK(k1.opts.get_list("fields") == std::vector<std::string>{"a", "b", "c"});
  CHECK(k1.opts.get_int("shards") == 2);
  // shard.maxTimeOut is in seconds.
  CHECK(k1.opts.get_int("timeout") == 60'000);
  // Defaults of the topic sink.
  CHECK(k1.opts.get_string("partition") == "hash");
  CHECK(k1.opts.get_string("key").empty());
  THEN("the credentials and the project are named once, without values") {
    CHECK(spec.unused_properties ==
          std::vector<std::string>{"agentA.sinks.k1.datahub.accessID",
                                   "agentA.sinks.k1.datahub.accessKey",
                                   "agentA.sinks.k1.datahub.project"});
    CHECK(unused_properties_line("agentA", spec) ==
          "agentA: unused Flume properties: agentA.sinks.k1.datahub.accessID, "
          "agentA.sinks.k1.datahub.accessKey, agentA.sinks.k1.datahub.project");
    auto text = formatted(spec);
    CHECK(text.find(secret) == std::string::npos);
    CHECK(text.find("LTAIexampleid") == std::string::npos);
    CHECK(!mentions(r.notes, secret));
    CHECK(r.notes.empty());
  }
}

SCENARIO("a DatahubSink without unused properties prints no line", "[flume]") {
  auto r = map_agent(std::string{relay} +
                     R"(agentA.sinks.k1.datahub.endPoint = sluice://[::1]:7420
agentA.sinks.k1.datahub.topic = lines
)");
  REQUIRE(r.spec);
  CHECK(r.spec->sinks[0].opts.get_string("address") == "[::1]:7420");
  // Flume's default batch size, capped by the channel's transactions.
  CHECK(r.spec->sinks[0].batch_size == 100);
  CHECK(r.spec->sinks[0].opts.get_list("fields").empty());
  CHECK(r.spec->unused_properties.empty());
  CHECK(unused_properties_line("agentA", *r.spec).empty());
}

SCENARIO("what a DatahubSink cannot map is an error at its position",
         "[flume]") {
  GIVEN("a DataHub endpoint and properties that do not map") {
    auto r = map_agent(std::string{relay} +
                       R"(agentA.sinks.k1.datahub.accessKey = S3cr3tK3yValue
agentA.sinks.k1.datahub.endPoint = https://dh-cn-hangzhou.aliyuncs.com
agentA.sinks.k1.datahub.topic = lines
agentA.sinks.k1.serializer = JSON
agentA.sinks.k1.serializer.charset = GBK
agentA.sinks.k1.shard.number = many
agentA.sinks.k1.shard.maxTimeOut = 0
agentA.sinks.k1.retryTimes = 3
agentA.sinks.k1.serializer.fieldnames = ,
)");
    REQUIRE(!r.spec);
    auto& errs = r.errors;
    CHECK(has(errs, "f.properties:14:36: error: "
                    "agentA.sinks.k1.datahub.endPoint names a DataHub "
                    "endpoint, which sluice does not use; the topic lives on "
                    "a sluice node: write agentA.sinks.k1.datahub.endPoint = "
                    "sluice://HOST:PORT with that node's control port"));
    CHECK(has(errs, "f.properties:16:30: error: agentA.sinks.k1.serializer "
                    "'JSON' does not map"));
    CHECK(has(errs, "f.properties:17:38: error: "
                    "agentA.sinks.k1.serializer.charset 'GBK' does not map"));
    CHECK(has(errs, "f.properties:18:32: error: agentA.sinks.k1.shard.number "
                    "must be an integer, got 'many'"));
    CHECK(has(errs, "f.properties:19:1: error: topic sink 'k1': "
                    "agentA.sinks.k1.shard.maxTimeOut must be at least 1"));
    CHECK(has(errs, "f.properties:20:1: error: unknown or unsupported "
                    "property 'agentA.sinks.k1.retryTimes' for "
                    "com.aliyun.datahub.flume.sink.DatahubSink sink 'k1'"));
    CHECK(has(errs, "f.properties:21:41: error: "
                    "agentA.sinks.k1.serializer.fieldnames must name at least "
                    "one field"));
    CHECK(errs.size() == 7);
    THEN("neither the key nor the endpoint's value is shown") {
      CHECK(!mentions(errs, secret));
      CHECK(!mentions(errs, "aliyuncs"));
      CHECK(!mentions(r.notes, secret));
    }
  }
  GIVEN("no endpoint and no topic") {
    auto r = map_agent(std::string{relay} +
                       "agentA.sinks.k1.datahub.accessKey = S3cr3tK3yValue\n");
    REQUIRE(!r.spec);
    CHECK(has(r.errors, "f.properties:3:16: error: DatahubSink 'k1' needs "
                        "agentA.sinks.k1.datahub.topic (the topic written)"));
    CHECK(has(r.errors, "f.properties:3:16: error: DatahubSink 'k1' needs "
                        "agentA.sinks.k1.datahub.endPoint = "
                        "sluice://HOST:PORT (the control port of the sluice "
                        "node holding the topic)"));
    CHECK(r.errors.size() == 2);
    CHECK(!mentions(r.errors, secret));
  }
  GIVEN("a sluice endpoint without a port, or with a bad one") {
    auto r = map_agent(std::string{relay} +
                       "agentA.sinks.k1.datahub.endPoint = sluice://127.0.0.1\n"
                       "agentA.sinks.k1.datahub.topic = lines\n");
    REQUIRE(!r.spec);
    CHECK(has(r.errors, "f.properties:13:36: error: "
                        "agentA.sinks.k1.datahub.endPoint must be "
                        "sluice://HOST:PORT (the control port of the sluice "
                        "node holding the topic): '127.0.0.1' has no port"));
    CHECK(r.errors.size() == 1);
    auto r2 = map_agent(std::string{relay} +
                        "agentA.sinks.k1.datahub.endPoint = sluice://h:99999\n"
                        "agentA.sinks.k1.datahub.topic = lines\n");
    REQUIRE(!r2.spec);
    CHECK(has(r2.errors, "'h:99999' has a bad host or port"));
    CHECK(r2.errors.size() == 1);
  }
  GIVEN("a shard count out of range") {
    auto r = map_agent(std::string{relay} +
                       "agentA.sinks.k1.datahub.endPoint = sluice://h:7420\n"
                       "agentA.sinks.k1.datahub.topic = lines\n"
                       "agentA.sinks.k1.shard.number = 5000\n");
    REQUIRE(!r.spec);
    CHECK(has(r.errors, "f.properties:15:1: error: topic sink 'k1': "
                        "agentA.sinks.k1.shard.number must be at most 1024"));
  }
}

SCENARIO("the seed's DataHub relays and the topic's node are valid",
         "[flume][topics_config]") {
  for (std::string x : {"A", "B"}) {
    auto r = map_agent(example("flume/agent" + x + "_datahub.properties"),
                       "agent" + x);
    for (auto& e : r.errors)
      UNSCOPED_INFO(e);
    REQUIRE(r.spec);
    auto& spec = *r.spec;
    REQUIRE(spec.sinks.size() == 1);
    auto& k1 = spec.sinks[0];
    CHECK(k1.type == "topic");
    CHECK(k1.opts.get_string("topic") == "lines");
    CHECK(k1.opts.get_string("address") == "127.0.0.1:7420");
    CHECK(k1.opts.get_list("fields") == std::vector<std::string>{"line"});
    CHECK(k1.opts.get_string("delimiter") == ",");
    CHECK(k1.opts.get_int("shards") == 1);
    CHECK(k1.opts.get_int("timeout") == 60'000);
    CHECK(k1.batch_size == 1);
    CHECK(spec.sources[0].opts.get_int("port") == (x == "A" ? 5555 : 5556));
    CHECK(spec.unused_properties.size() == 3);
    CHECK(formatted(spec).find("YOUR_ACCESS_KEY") == std::string::npos);
  }
  std::vector<diagnostic> problems;
  auto store =
      parse_topology(example("topologies/topic_store.toml"), "topic_store.toml",
                     test::builtin_connectors(), problems);
  for (auto& p : problems)
    UNSCOPED_INFO(to_string(p));
  REQUIRE(store);
  REQUIRE(store->topics.size() == 1);
  CHECK(store->topics[0].name == "lines");
  CHECK(store->topics[0].node == "store");
  CHECK(store->topics[0].shards == 1);
  CHECK(store->topics[0].fsync_ms == 10);
  REQUIRE(store->cluster.nodes.size() == 1);
  CHECK(store->cluster.nodes[0].port == 7420);
}
