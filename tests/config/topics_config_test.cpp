#include <filesystem>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "config/topology.hpp"
#include "connectors/registry.hpp"
#include "connectors/topic.hpp"
#include "tests/support/topology_parse.hpp"

using namespace sluice;
using sluice::test::has;
using sluice::test::parse_errors;
using sluice::test::parse_ok;

namespace {

// A channel fed and drained, so that topic tests see only their errors.
constexpr const char* fed_channel = R"([sources.gen]
type = "generator"
channel = "c1"

[channels.c1]
type = "memory"

[sinks.out]
type = "null"
channel = "c1"
)";

} // namespace

SCENARIO("a topic's every key is read", "[topics_config]") {
  auto spec = parse_ok(std::string{fed_channel} + R"(
[topics.orders]
directory = "state/topics/orders"
shards = 4
fsync = "10ms"
segment_size = "1MiB"
retention_time = "7d"
retention_size = "10GiB"
max_disk_bytes = "20GiB"
min_free_space = "128MiB"

[topics.audit]
directory = "state/topics/audit"
fsync = "batch"
)");
  REQUIRE(spec.topics.size() == 2);
  auto& t = spec.topics[1].name == "orders" ? spec.topics[1] : spec.topics[0];
  auto& a = spec.topics[1].name == "orders" ? spec.topics[0] : spec.topics[1];
  CHECK(t.name == "orders");
  CHECK(t.directory == "state/topics/orders");
  CHECK(t.shards == 4);
  CHECK(t.fsync_ms == 10);
  CHECK(!t.fsync_per_batch());
  CHECK(t.segment_size == int64_t{1} << 20);
  CHECK(t.retention_time_ms == int64_t{7} * 86'400'000);
  CHECK(t.retention_size == int64_t{10} << 30);
  CHECK(t.max_disk_bytes == int64_t{20} << 30);
  CHECK(t.min_free_space == int64_t{128} << 20);
  CHECK(t.where.line == 12);
  CHECK(t.where.column == 9);
  // Defaults.
  CHECK(a.name == "audit");
  CHECK(a.shards == 1);
  CHECK(a.fsync_per_batch());
  CHECK(a.segment_size == int64_t{256} << 20);
  CHECK(a.retention_time_ms == 0);
  CHECK(a.retention_size == 0);
  CHECK(a.max_disk_bytes == 0);
  CHECK(a.min_free_space == int64_t{256} << 20);
}

SCENARIO("an fsync interval may be an integer of milliseconds",
         "[topics_config]") {
  auto spec = parse_ok(std::string{fed_channel} + R"(
[topics.t]
directory = "d"
fsync = 25
)");
  REQUIRE(spec.topics.size() == 1);
  CHECK(spec.topics[0].fsync_ms == 25);
}

SCENARIO("a topic's errors carry their positions", "[topics_config]") {
  auto errors = parse_errors(std::string{fed_channel} + R"(
[topics.a]
directory = "da"
shards = 0
fsync = "sometimes"
segment_size = "1KiB"
retention_time = "forever"
colour = "red"

[topics.b]
directory = "db"
shards = 1025
fsync = true
retention_size = -1

[topics.c]
shards = "four"
fsync = 0

[topics.d]
directory = ""
)");
  CHECK(has(errors, "t.toml:14:10: error: topic 'a': option 'shards' must be "
                    "at least 1"));
  CHECK(has(errors, "t.toml:15:9: error: 'fsync' of topic 'a': fsync "
                    "'sometimes' must be \"batch\" or a duration"));
  CHECK(has(errors, "t.toml:16:16: error: topic 'a': option 'segment_size' "
                    "must be at least"));
  CHECK(has(errors, "t.toml:17:18: error: option 'retention_time' of topic "
                    "'a': "));
  CHECK(has(errors, "t.toml:18:1: error: unknown option 'colour' for topic "
                    "'a'"));
  CHECK(has(errors, "t.toml:22:10: error: topic 'b': option 'shards' must be "
                    "at most 1024"));
  CHECK(has(errors, "t.toml:23:9: error: 'fsync' of topic 'b' must be "
                    "\"batch\" or a duration such as \"10ms\", got a boolean"));
  CHECK(has(errors, "t.toml:24:18: error: topic 'b': option 'retention_size' "
                    "must be at least 0"));
  CHECK(has(errors, "t.toml:26:1: error: topic 'c' needs option 'directory'"));
  CHECK(has(errors, "t.toml:27:10: error: option 'shards' of topic 'c' must "
                    "be integer, got a string"));
  CHECK(has(errors, "t.toml:28:9: error: 'fsync' of topic 'c' must be "
                    "\"batch\" or an interval from 1 ms to 60000 ms, got 0"));
  CHECK(has(errors, "t.toml:31:13: error: topic 'd': option 'directory' must "
                    "not be empty"));
  for (auto& e : errors)
    UNSCOPED_INFO(e);
  CHECK(errors.size() == 12);
}

SCENARIO("two topics on one directory, or on a channel's, are refused",
         "[topics_config]") {
  auto errors = parse_errors(R"([sources.gen]
type = "generator"
channel = "c1"

[channels.c1]
type = "file"
directory = "state/c1"

[sinks.out]
type = "null"
channel = "c1"

[topics.a]
directory = "state/topics/a"

[topics.b]
directory = "state/topics/a/"

[topics.c]
directory = "state/c1"

[topics.d]
directory = "state"
)");
  CHECK(has(errors, "t.toml:17:13: error: directory 'state/topics/a/' of "
                    "topic 'b' is also the directory of topic 'a'; each "
                    "needs its own"));
  CHECK(has(errors, "t.toml:20:13: error: directory 'state/c1' of topic 'c' "
                    "is also the directory of channel 'c1'"));
  CHECK(has(errors, "t.toml:23:13: error: directory 'state' of topic 'd' and "
                    "'state/c1' of channel 'c1' lie inside one another"));
  CHECK(has(errors, "t.toml:23:13: error: directory 'state' of topic 'd' and "
                    "'state/topics/a' of topic 'a' lie inside one another"));
}

SCENARIO("a topic lives on a declared node", "[topics_config]") {
  constexpr const char* nodes = R"([nodes.edge]
port = 7401

[nodes.store]
port = 7402

[sources.gen]
node = "edge"
type = "generator"
channel = "c1"

[channels.c1]
node = "edge"
type = "memory"

[sinks.out]
node = "edge"
type = "topic"
channel = "c1"
topic = "orders"
)";
  WHEN("it names one") {
    auto spec = parse_ok(std::string{nodes} + R"(
[topics.orders]
node = "store"
directory = "d"
)");
    REQUIRE(spec.topics.size() == 1);
    CHECK(spec.topics[0].node == "store");
  }
  WHEN("it names an undeclared one or none") {
    auto errors = parse_errors(std::string{nodes} + R"(
[topics.orders]
node = "stor"
directory = "d"

[topics.other]
directory = "e"
)");
    CHECK(has(errors, "t.toml:23:8: error: topic 'orders' names an "
                      "undeclared node 'stor'; did you mean 'store'?; "
                      "declared nodes: edge, store"));
    CHECK(has(errors, "t.toml:26:9: error: topic 'other' must name the node "
                      "holding it"));
    CHECK(errors.size() == 2);
  }
  WHEN("the topology has no nodes") {
    auto errors = parse_errors(std::string{fed_channel} + R"(
[topics.orders]
node = "store"
directory = "d"
)");
    CHECK(has(errors, "t.toml:13:8: error: topic 'orders' names node "
                      "'store', but the topology declares no nodes"));
  }
}

SCENARIO("a topology may hold only topics", "[topics_config]") {
  auto spec = parse_ok(R"([nodes.store]
port = 7402

[topics.orders]
node = "store"
directory = "d"
shards = 2
)");
  CHECK(spec.topics.size() == 1);
}

SCENARIO("topic sinks and sources read their options", "[topics_config]") {
  auto spec = parse_ok(R"([sources.gen]
type = "generator"
channel = "c1"

[channels.c1]
type = "memory"

[sinks.to_topic]
type = "topic"
channel = "c1"
topic = "orders"
partition = "round_robin"
key = "user"
timeout = "3s"
fields = ["a", "b"]
delimiter = "|"
shards = 4
batch_size = 100

[topics.orders]
directory = "d"
shards = 4

[sources.from_topic]
type = "topic"
channel = "c2"
topic = "orders"
group = "sql-job"
start = "offset:42"
max_fetch_bytes = "2MiB"
batch_size = 50

[sources.remote]
type = "topic"
channel = "c2"
topic = "elsewhere"
address = "10.0.0.5:7402"
group = "g"

[channels.c2]
type = "memory"

[sinks.out]
type = "null"
channel = "c2"
)");
  auto sink = std::find_if(spec.sinks.begin(), spec.sinks.end(),
                           [](auto& s) { return s.name == "to_topic"; });
  REQUIRE(sink != spec.sinks.end());
  CHECK(is_topic_type(sink->type));
  CHECK(sink->batch_size == 100);
  CHECK(sink->opts.get_string("topic") == "orders");
  CHECK(sink->opts.get_string("address").empty());
  CHECK(sink->opts.get_string("partition") == "round_robin");
  CHECK(sink->opts.get_string("key") == "user");
  CHECK(sink->opts.get_int("timeout") == 3000);
  CHECK(sink->opts.get_list("fields") == std::vector<std::string>{"a", "b"});
  CHECK(sink->opts.get_string("delimiter") == "|");
  CHECK(sink->opts.get_int("shards") == 4);
  auto source = std::find_if(spec.sources.begin(), spec.sources.end(),
                             [](auto& s) { return s.name == "from_topic"; });
  REQUIRE(source != spec.sources.end());
  CHECK(source->batch_size == 50);
  CHECK(source->opts.get_string("group") == "sql-job");
  CHECK(source->opts.get_string("start") == "offset:42");
  CHECK(source->opts.get_int("max_fetch_bytes") == int64_t{2} << 20);
  auto start = parse_topic_start(source->opts.get_string("start"));
  REQUIRE(start);
  CHECK(start->from == topic_start::kind::offset);
  CHECK(start->offset == 42);
  auto remote = std::find_if(spec.sources.begin(), spec.sources.end(),
                             [](auto& s) { return s.name == "remote"; });
  REQUIRE(remote != spec.sources.end());
  CHECK(remote->opts.get_string("start") == "committed");
  auto address = parse_topic_address(remote->opts.get_string("address"));
  REQUIRE(address);
  CHECK(address->host == "10.0.0.5");
  CHECK(address->port == 7402);
}

SCENARIO("topic sinks and sources are checked", "[topics_config]") {
  auto errors = parse_errors(R"([sources.gen]
type = "generator"
channel = "c1"

[channels.c1]
type = "memory"

[sinks.k1]
type = "topic"
channel = "c1"
topic = "ordres"

[sinks.k2]
type = "topic"
channel = "c1"
topic = "orders"
shards = 3
partition = "random"

[sinks.k3]
type = "topic"
channel = "c1"
topic = "far"
address = "somewhere"

[sinks.k4]
type = "topic"
channel = "c1"
topic = "orders"
address = "10.0.0.1:7402"
fields = ["a"]
delimiter = ""

[topics.orders]
directory = "d"
shards = 4

[sources.s1]
type = "topic"
channel = "c1"
topic = "orders"
start = "offset:x"

[sources.s2]
type = "topic"
channel = "c1"
topic = "orders"
group = "g"
start = "timestamp:-5"

[sources.s3]
type = "topic"
channel = "c1"
topic = "orders"
group = "g"
start = "newest"

[sinks.k5]
type = "topic"
channel = "c1"
)");
  CHECK(has(errors, "t.toml:11:9: error: topic sink 'k1' names topic "
                    "'ordres', which this topology does not declare; did you "
                    "mean 'orders'?; declare it as [topics.ordres] or give "
                    "the address of the node holding it: address = "
                    "\"HOST:PORT\""));
  CHECK(has(errors, "t.toml:17:10: error: topic sink 'k2' expects 3 shards, "
                    "but topic 'orders' has 4"));
  CHECK(has(errors, "t.toml:18:13: error: topic sink 'k2': option "
                    "'partition' must be one of"));
  CHECK(has(errors, "t.toml:24:11: error: topic sink 'k3': address "
                    "'somewhere' must be HOST:PORT: no port"));
  CHECK(has(errors, "t.toml:30:11: error: topic sink 'k4' names topic "
                    "'orders', which this topology declares; 'address' is "
                    "only for a topic on a node outside it"));
  CHECK(has(errors, "t.toml:32:13: error: topic sink 'k4' names fields, so "
                    "its delimiter must not be empty"));
  CHECK(has(errors, "t.toml:38:1: error: topic source 's1' needs option "
                    "'group'"));
  CHECK(has(errors, "t.toml:42:9: error: topic source 's1': start "
                    "'offset:x': N of offset:N must be a non-negative "
                    "integer"));
  CHECK(has(errors, "t.toml:49:9: error: topic source 's2': start "
                    "'timestamp:-5': MS of timestamp:MS must be a "
                    "non-negative integer"));
  CHECK(has(errors, "t.toml:56:9: error: topic source 's3': start 'newest' "
                    "is not one of committed, earliest, latest, offset:N, "
                    "timestamp:MS"));
  CHECK(has(errors, "t.toml:58:1: error: topic sink 'k5' needs option "
                    "'topic'"));
}

SCENARIO("a topic start and address parse", "[topics_config]") {
  CHECK(parse_topic_start("committed")->from == topic_start::kind::committed);
  CHECK(parse_topic_start("earliest")->from == topic_start::kind::earliest);
  CHECK(parse_topic_start("latest")->from == topic_start::kind::latest);
  auto ts = parse_topic_start("timestamp:1700000000000");
  REQUIRE(ts);
  CHECK(ts->from == topic_start::kind::timestamp);
  CHECK(ts->timestamp_ms == 1'700'000'000'000);
  CHECK(!parse_topic_start("offset:"));
  CHECK(!parse_topic_start("offset:1x"));
  CHECK(!parse_topic_start("Earliest"));
  auto v6 = parse_topic_address("[::1]:7400");
  REQUIRE(v6);
  CHECK(v6->host == "::1");
  CHECK(!parse_topic_address("::1:7400"));
  CHECK(!parse_topic_address(":7400"));
  CHECK(!parse_topic_address("h:0"));
  CHECK(!parse_topic_address("h:65536"));
  CHECK(!parse_topic_address("h:port"));
}

SCENARIO("a topology built in code has its topics checked", "[topics_config]") {
  topology_spec spec;
  spec.channels.push_back({"c1", "memory", {}, "", {"code", 1, 1}});
  source_spec src;
  src.name = "gen";
  src.type = "generator";
  src.channel = "c1";
  spec.sources.push_back(src);
  sink_spec snk;
  snk.name = "out";
  snk.type = "topic";
  snk.channel = "c1";
  snk.opts.set("topic", std::string{"t"});
  spec.sinks.push_back(snk);
  topic_spec t;
  t.name = "t";
  t.directory = "d";
  t.shards = 2000;
  t.fsync_ms = -1;
  t.where = {"code", 7, 1};
  spec.topics.push_back(t);
  auto problems = validate(spec, test::builtin_connectors());
  std::vector<std::string> errors;
  for (auto& p : problems)
    errors.push_back(to_string(p));
  CHECK(has(errors, "code:7:1: error: shards of topic 't' must be from 1 to "
                    "1024, got 2000"));
  CHECK(has(errors, "code:7:1: error: fsync of topic 't' must be"));
  CHECK(errors.size() == 2);
  CHECK(parse_fsync("batch").value() == 0);
  CHECK(parse_fsync("2s").value() == 2000);
  CHECK(!parse_fsync("0ms"));
  CHECK(!parse_fsync("2m"));
}

SCENARIO("a topic sink must wait longer than its topic's fsync interval",
         "[topics_config]") {
  auto errors = parse_errors(R"([sources.gen]
type = "generator"
channel = "c1"

[channels.c1]
type = "memory"

[topics.slow]
directory = "d"
shards = 1
fsync = "15s"

[sinks.k1]
type = "topic"
channel = "c1"
topic = "slow"

[sinks.k2]
type = "topic"
channel = "c1"
topic = "slow"
timeout = "15s"

[sinks.k3]
type = "topic"
channel = "c1"
topic = "slow"
timeout = "16s"
)");
  // The default timeout (10 s) is too short: the error is at the sink.
  CHECK(has(errors, "t.toml:13:8: error: timeout of topic sink 'k1' (10000 "
                    "ms) must be longer than the fsync interval of topic "
                    "'slow' (15000 ms)"));
  CHECK(has(errors, "t.toml:22:11: error: timeout of topic sink 'k2' (15000 "
                    "ms) must be longer than the fsync interval of topic "
                    "'slow' (15000 ms)"));
  for (auto& e : errors)
    CHECK(e.find("'k3'") == std::string::npos);
  // "batch" syncs at once: any timeout goes.
  parse_ok(R"([sources.gen]
type = "generator"
channel = "c1"

[channels.c1]
type = "memory"

[topics.fast]
directory = "d"
shards = 1
fsync = "batch"

[sinks.k1]
type = "topic"
channel = "c1"
topic = "fast"
timeout = "1ms"
)");
}
