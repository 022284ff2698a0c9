#include <fstream>
#include <sstream>

#include <catch2/catch.hpp>

#include "config/flume_properties.hpp"
#include "connectors/registry.hpp"

using namespace sluice;

namespace {

const connector_registry& registry() {
  static auto r = connector_registry::builtin();
  return r;
}

std::string example(const std::string& name) {
  std::ifstream in{std::string{SLUICE_SOURCE_DIR} + "/examples/flume/" + name};
  REQUIRE(in);
  std::stringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

/// Maps `agent` of `text`; requires success.
topology_spec mapped(std::string_view text, const std::string& agent,
                     std::vector<diagnostic>* notes_out = nullptr) {
  std::vector<diagnostic> problems, notes;
  auto spec =
      parse_flume(text, "f.properties", agent, registry(), problems, notes);
  for (auto& p : problems)
    UNSCOPED_INFO(to_string(p));
  REQUIRE(spec);
  REQUIRE(problems.empty());
  if (notes_out)
    *notes_out = notes;
  return *spec;
}

/// Maps `agent` of `text`; requires failure and returns every error.
std::vector<std::string> errors(std::string_view text,
                                const std::string& agent = "a1") {
  std::vector<diagnostic> problems, notes;
  auto spec =
      parse_flume(text, "f.properties", agent, registry(), problems, notes);
  std::vector<std::string> result;
  for (auto& p : problems)
    result.push_back(to_string(p));
  CHECK_FALSE(spec);
  return result;
}

bool has(const std::vector<std::string>& xs, const std::string& needle) {
  for (auto& x : xs)
    if (x.find(needle) != std::string::npos)
      return true;
  return false;
}

/// Validates a spec that has no avro (forward) parts against the registry.
void require_valid(topology_spec spec) {
  auto problems = validate(spec, registry());
  for (auto& p : problems)
    UNSCOPED_INFO(to_string(p));
  REQUIRE(problems.empty());
}

// The team's agent1, as SCENARIO.md gives it, with 127.0.0.1 addresses
// (two relays on one host need two ports).
constexpr std::string_view seed_agent1 = R"(a1.sources = r1
a1.sinks = k1 k2
a1.channels = c1
a1.sources.r1.type = exec
a1.sources.r1.command = tail -F /var/log/app/test.txt
a1.sources.r1.channels = c1
a1.sinkgroups = g1
a1.sinkgroups.g1.sinks = k1 k2
a1.sinkgroups.g1.processor.type = failover
a1.sinkgroups.g1.processor.priority.k1 = 10
a1.sinkgroups.g1.processor.priority.k2 = 5
a1.sinkgroups.g1.processor.maxpenalty = 10000
a1.sinks.k1.type = avro
a1.sinks.k1.hostname = 127.0.0.1
a1.sinks.k1.port = 5555
a1.sinks.k2.type = avro
a1.sinks.k2.hostname = 127.0.0.1
a1.sinks.k2.port = 5556
a1.channels.c1.type = memory
a1.channels.c1.capacity = 1000
a1.channels.c1.transactionCapacity = 100
a1.sinks.k1.channel = c1
a1.sinks.k2.channel = c1
)";

// A valid agent without avro parts, for the one-line error cases below.
constexpr std::string_view small_agent = R"(a1.sources = r1
a1.channels = c1
a1.sinks = k1
a1.sources.r1.type = exec
a1.sources.r1.command = echo hi
a1.sources.r1.channels = c1
a1.channels.c1.type = memory
a1.sinks.k1.type = null
a1.sinks.k1.channel = c1
)";

} // namespace

SCENARIO("Java properties syntax is read as Java reads it", "[flume]") {
  std::vector<diagnostic> problems;
  GIVEN("separators, comments and blank lines") {
    auto props = read_properties("# comment\n"
                                 "! also a comment\n"
                                 "\n"
                                 "  a = 1\n"
                                 "b:2\n"
                                 "c 3\n"
                                 "d\t=  spaced value  \n"
                                 "e\n"
                                 "f = x = y\n",
                                 "p.properties", problems);
    REQUIRE(problems.empty());
    REQUIRE(props.size() == 6);
    CHECK(props[0].key == "a");
    CHECK(props[0].value == "1");
    CHECK(props[0].where.line == 4);
    CHECK(props[0].where.column == 3);
    CHECK(props[0].at(0).column == 7);
    CHECK(props[1].key == "b");
    CHECK(props[1].value == "2");
    CHECK(props[2].key == "c");
    CHECK(props[2].value == "3");
    CHECK(props[3].value == "spaced value  ");
    CHECK(props[4].key == "e");
    CHECK(props[4].value.empty());
    CHECK(props[5].value == "x = y");
  }
  GIVEN("continuation lines") {
    auto props = read_properties("cmd = tail \\\n"
                                 "      -F \\\n"
                                 "\tapp.log\n"
                                 "even = a\\\\\n"
                                 "next = b\n"
                                 "# a comment ending in \\\n"
                                 "after = c\r\n"
                                 "crlf = d \\\r\n"
                                 "  e\r\n",
                                 "p.properties", problems);
    REQUIRE(problems.empty());
    REQUIRE(props.size() == 5);
    CHECK(props[0].value == "tail -F app.log");
    // 'F' was written on line 2, column 7; 'a' of app.log on line 3.
    CHECK(props[0].at(5).line == 2);
    CHECK(props[0].at(5).column == 7);
    CHECK(props[0].at(8).line == 3);
    CHECK(props[0].at(8).column == 2);
    CHECK(props[1].value == "a\\");
    CHECK(props[2].key == "next");
    CHECK(props[2].where.line == 5);
    CHECK(props[3].key == "after");
    CHECK(props[3].where.line == 7);
    CHECK(props[4].value == "d e");
    CHECK(props[4].where.line == 8);
  }
  GIVEN("escapes in keys and values") {
    auto props = read_properties("a\\=b\\:c\\ d = \\t\\n\\r\\f\\x\\\\\n"
                                 "u = caf\\u00e9 \\uD83D\\uDE00 \\u20AC\n"
                                 "plain = caf\xc3\xa9 x\n",
                                 "p.properties", problems);
    REQUIRE(problems.empty());
    REQUIRE(props.size() == 3);
    CHECK(props[0].key == "a=b:c d");
    CHECK(props[0].value == "\t\n\r\fx\\");
    CHECK(props[1].value == "caf\xc3\xa9 \xf0\x9f\x98\x80 \xe2\x82\xac");
    // Columns count characters: 'x' follows a two-byte 'é'.
    CHECK(props[2].at(6).column == 14);
  }
  GIVEN("a byte order mark and old Mac line ends") {
    auto props = read_properties("\xEF\xBB\xBF"
                                 "a = 1\rb = 2\r",
                                 "p.properties", problems);
    REQUIRE(problems.empty());
    REQUIRE(props.size() == 2);
    CHECK(props[0].key == "a");
    CHECK(props[0].where.column == 1);
    CHECK(props[1].key == "b");
    CHECK(props[1].where.line == 2);
  }
  GIVEN("a malformed \\u escape") {
    auto props =
        read_properties("ok = 1\nbad = x\\u12G4\n", "p.properties", problems);
    REQUIRE(problems.size() == 1);
    CHECK(to_string(problems[0]) ==
          "p.properties:2:8: error: malformed \\uxxxx escape: \\u must be "
          "followed by four hexadecimal digits");
    CHECK(props.size() == 2);
  }
}

SCENARIO("the seed's agent1 maps to a failover pair of forward sinks",
         "[flume]") {
  GIVEN("the team's file as written, with 127.0.0.1 addresses") {
    auto spec = mapped(seed_agent1, "a1");
    REQUIRE(spec.sources.size() == 1);
    auto& r1 = spec.sources[0];
    CHECK(r1.type == "exec");
    CHECK(r1.channel == "c1");
    CHECK(r1.opts.get_string("command") == "tail -F /var/log/app/test.txt");
    CHECK(r1.batch_size == 20); // Flume's exec default
    CHECK(r1.where.line == 1);
    CHECK(r1.where.column == 14);
    REQUIRE(spec.channels.size() == 1);
    CHECK(spec.channels[0].type == "memory");
    CHECK(spec.channels[0].opts.get_int("capacity") == 1000);
    CHECK(spec.channels[0].opts.get_int("transaction_capacity") == 100);
    REQUIRE(spec.sinks.size() == 2);
    for (auto& s : spec.sinks) {
      CHECK(s.type == "forward");
      CHECK(s.channel == "c1");
      CHECK(s.opts.get_string("host") == "127.0.0.1");
      CHECK(s.batch_size == 100);
    }
    CHECK(spec.sinks[0].opts.get_int("port") == 5555);
    CHECK(spec.sinks[1].opts.get_int("port") == 5556);
    REQUIRE(spec.sink_groups.size() == 1);
    auto& g = spec.sink_groups[0];
    CHECK(g.name == "g1");
    CHECK(g.type == "failover");
    CHECK(g.sinks == std::vector<std::string>{"k1", "k2"});
    CHECK(g.priorities ==
          std::map<std::string, int64_t>{{"k1", 10}, {"k2", 5}});
    CHECK(g.opts.get_int("maxpenalty") == 10000);
  }
  GIVEN("examples/flume/agent1.properties") {
    auto spec = mapped(example("agent1.properties"), "a1");
    REQUIRE(spec.sources.size() == 1);
    auto& r1 = spec.sources[0];
    CHECK(r1.type == "taildir");
    CHECK(r1.opts.get_map("filegroups") == string_map{{"f1", "app/test.txt"}});
    CHECK(r1.opts.get_string("position_file") ==
          "state/agent1/taildir_position.json");
    CHECK(r1.batch_size == 100);
    REQUIRE(spec.channels.size() == 1);
    CHECK(spec.channels[0].type == "file");
    CHECK(spec.channels[0].opts.get_string("directory") ==
          "state/agent1/channel");
    CHECK(spec.channels[0].opts.get_int("capacity") == 100000);
    CHECK(spec.channels[0].opts.get_int("transaction_capacity") == 1000);
    REQUIRE(spec.sinks.size() == 2);
    CHECK(spec.sinks[0].type == "forward");
    CHECK(spec.sinks[1].type == "forward");
    CHECK(spec.sinks[0].opts.get_int("port") == 5555);
    CHECK(spec.sinks[1].opts.get_int("port") == 5556);
    REQUIRE(spec.sink_groups.size() == 1);
    CHECK(spec.sink_groups[0].type == "failover");
    CHECK(spec.sink_groups[0].priorities ==
          std::map<std::string, int64_t>{{"k1", 10}, {"k2", 5}});
    CHECK(spec.sink_groups[0].opts.get_int("maxpenalty") == 10000);
  }
}

SCENARIO("the seed's relays map with file_roll in place of the queue",
         "[flume]") {
  for (std::string x : {"A", "B"}) {
    GIVEN("examples/flume/agent" + x + ".properties") {
      auto spec = mapped(example("agent" + x + ".properties"), "agent" + x);
      REQUIRE(spec.sources.size() == 1);
      CHECK(spec.sources[0].type == "forward");
      CHECK(spec.sources[0].opts.get_string("bind") == "127.0.0.1");
      CHECK(spec.sources[0].opts.get_int("port") == (x == "A" ? 5555 : 5556));
      REQUIRE(spec.channels.size() == 1);
      // A file channel: a relay killed with kill -9 keeps what it accepted.
      CHECK(spec.channels[0].type == "file");
      CHECK(spec.channels[0].opts.get_string("directory") ==
            "state/agent" + x + "/channel");
      CHECK(spec.channels[0].opts.get_int("capacity") == 100000);
      CHECK(spec.channels[0].opts.get_int("transaction_capacity") == 1000);
      REQUIRE(spec.sinks.size() == 1);
      CHECK(spec.sinks[0].type == "file");
      CHECK(spec.sinks[0].opts.get_string("directory") == "out/agent" + x);
      CHECK(spec.sinks[0].opts.get_int("roll_interval") == 0);
      CHECK(spec.sinks[0].batch_size == 1000);
      CHECK(spec.sink_groups.empty());
    }
  }
  GIVEN("the team's relay with its DataHub queue sink") {
    auto errs = errors(R"(agentA.sources = r1
agentA.channels = c1
agentA.sinks = k1
agentA.sources.r1.type = avro
agentA.sources.r1.bind = 127.0.0.1
agentA.sources.r1.port = 5555
agentA.sources.r1.channels = c1
agentA.channels.c1.type = memory
agentA.channels.c1.capacity = 1000
agentA.channels.c1.transactionCapacity = 1000
agentA.sinks.k1.type = com.aliyun.datahub.flume.sink.DatahubSink
agentA.sinks.k1.datahub.project = demo
agentA.sinks.k1.serializer = DELIMITED
agentA.sinks.k1.serializer.delimiter = ,
agentA.sinks.k1.serializer.fieldnames = line
agentA.sinks.k1.batchSize = 1
agentA.sinks.k1.channel = c1
)",
                       "agentA");
    // It maps to a topic sink, which needs the topic and the node holding
    // it (tests/config/flume_datahub_test.cpp has the rest).
    REQUIRE(errs.size() == 2);
    CHECK(has(errs, "f.properties:3:16: error: DatahubSink 'k1' needs "
                    "agentA.sinks.k1.datahub.topic"));
    CHECK(has(errs, "f.properties:3:16: error: DatahubSink 'k1' needs "
                    "agentA.sinks.k1.datahub.endPoint = sluice://HOST:PORT"));
  }
}

SCENARIO("each Flume component maps to its sluice connector", "[flume]") {
  GIVEN("netcat, exec and TAILDIR sources with their options") {
    std::vector<diagnostic> notes;
    auto spec = mapped(R"(a1.sources = n e t
a1.channels = c1
a1.sinks = k1
a1.sources.n.type = netcat
a1.sources.n.bind = 127.0.0.1
a1.sources.n.port = 0
a1.sources.n.max-line-length = 1024
a1.sources.n.channels = c1
a1.sources.e.type = exec
a1.sources.e.command = ./app --verbose
a1.sources.e.shell = /bin/sh -c
a1.sources.e.restart = true
a1.sources.e.restartThrottle = 2500
a1.sources.e.logStdErr = false
a1.sources.e.batchSize = 50
a1.sources.e.batchTimeout = 100
a1.sources.e.channels = c1
a1.sources.t.type = org.apache.flume.source.taildir.TaildirSource
a1.sources.t.filegroups = g1 g2
a1.sources.t.filegroups.g1 = /var/log/app/.*\\.log
a1.sources.t.filegroups.g2 = /var/log/db/^slow.log$
a1.sources.t.positionFile = /var/lib/sluice/pos.json
a1.sources.t.fileHeader = true
a1.sources.t.fileHeaderKey = path
a1.sources.t.skipToEnd = true
a1.sources.t.channels = c1
a1.channels.c1.type = memory
a1.channels.c1.transactionCapacity = 60
a1.sinks.k1.type = null
a1.sinks.k1.channel = c1
)",
                       "a1", &notes);
    REQUIRE(spec.sources.size() == 3);
    auto& n = spec.sources[0];
    CHECK(n.type == "tcp");
    CHECK(n.opts.get_string("bind") == "127.0.0.1");
    CHECK(n.opts.get_int("port") == 0);
    CHECK(n.opts.get_int("max_line_length") == 1024);
    CHECK(n.opts.get_bool("ack")); // Flume's netcat acknowledges by default
    CHECK(n.batch_size == 60);     // Flume's 100, capped at the channel's
    auto& e = spec.sources[1];
    CHECK(e.type == "exec");
    CHECK(e.opts.get_string("command") == "./app --verbose");
    CHECK(e.opts.get_bool("restart"));
    CHECK(e.opts.get_int("restart_throttle") == 2500);
    CHECK_FALSE(e.opts.get_bool("log_stderr"));
    CHECK(e.batch_size == 50);
    auto& t = spec.sources[2];
    CHECK(t.type == "taildir");
    CHECK(t.opts.get_map("filegroups") ==
          string_map{{"g1", "/var/log/app/*.log"},
                     {"g2", "/var/log/db/slow?log"}});
    CHECK(t.opts.get_string("position_file") == "/var/lib/sluice/pos.json");
    CHECK(t.opts.get_bool("file_header"));
    CHECK(t.opts.get_string("file_header_key") == "path");
    CHECK(t.opts.get_bool("skip_to_end"));
    REQUIRE(notes.size() == 1);
    CHECK(note_to_string(notes[0]).starts_with(
        "f.properties:16:1: note: a1.sources.e.batchTimeout is ignored"));
    require_valid(spec);
  }
  GIVEN("memory and file channels with Flume's option names") {
    std::vector<diagnostic> notes;
    auto spec = mapped(R"(a1.sources = r1 r2
a1.channels = mem disk
a1.sinks = k1 k2
a1.sources.r1.type = exec
a1.sources.r1.command = echo 1
a1.sources.r1.channels = mem
a1.sources.r2.type = exec
a1.sources.r2.command = echo 2
a1.sources.r2.channels = disk
a1.channels.mem.type = memory
a1.channels.mem.capacity = 5000
a1.channels.mem.transactionCapacity = 500
a1.channels.mem.byteCapacity = 1048576
a1.channels.mem.keep-alive = 3
a1.channels.disk.type = FILE
a1.channels.disk.checkpointDir = /var/lib/sluice/cp
a1.channels.disk.dataDirs = /var/lib/sluice/data
a1.channels.disk.capacity = 200000
a1.channels.disk.transactionCapacity = 2000
a1.channels.disk.maxFileSize = 1048576
a1.channels.disk.minimumRequiredSpace = 10485760
a1.sinks.k1.type = logger
a1.sinks.k1.channel = mem
a1.sinks.k2.type = null
a1.sinks.k2.batchSize = 2000
a1.sinks.k2.channel = disk
)",
                       "a1", &notes);
    REQUIRE(spec.channels.size() == 2);
    auto& mem = spec.channels[0];
    CHECK(mem.type == "memory");
    CHECK(mem.opts.get_int("capacity") == 5000);
    CHECK(mem.opts.get_int("transaction_capacity") == 500);
    CHECK(mem.opts.get_int("byte_capacity") == 1048576);
    auto& disk = spec.channels[1];
    CHECK(disk.type == "file");
    CHECK(disk.opts.get_string("directory") == "/var/lib/sluice/data");
    CHECK(disk.opts.get_int("capacity") == 200000);
    CHECK(disk.opts.get_int("transaction_capacity") == 2000);
    CHECK(disk.opts.get_int("segment_size") == 1048576);
    CHECK(disk.opts.get_int("min_free_space") == 10485760);
    REQUIRE(spec.sinks.size() == 2);
    CHECK(spec.sinks[0].type == "console");
    CHECK(spec.sinks[0].opts.get_bool("headers"));
    CHECK(spec.sinks[0].batch_size == 100);
    CHECK(spec.sinks[1].type == "null");
    CHECK(spec.sinks[1].batch_size == 2000);
    // keep-alive and checkpointDir are accepted and said to be ignored.
    REQUIRE(notes.size() == 2);
    CHECK(note_to_string(notes[0]).starts_with(
        "f.properties:14:1: note: a1.channels.mem.keep-alive is ignored"));
    CHECK(note_to_string(notes[1]).starts_with(
        "f.properties:16:1: note: a1.channels.disk.checkpointDir is "
        "ignored"));
    require_valid(spec);
  }
  GIVEN("a file_roll sink") {
    auto spec = mapped(R"(a1.sources = r1
a1.channels = c1
a1.sinks = k1
a1.sources.r1.type = exec
a1.sources.r1.command = echo 1
a1.sources.r1.channels = c1
a1.channels.c1.type = memory
a1.sinks.k1.type = FILE_ROLL
a1.sinks.k1.sink.directory = out
a1.sinks.k1.sink.rollInterval = 60
a1.sinks.k1.sink.pathManager = DEFAULT
a1.sinks.k1.sink.pathManager.prefix = app-
a1.sinks.k1.sink.pathManager.extension = txt
a1.sinks.k1.sink.serializer = TEXT
a1.sinks.k1.sink.batchSize = 10
a1.sinks.k1.channel = c1
)",
                       "a1");
    REQUIRE(spec.sinks.size() == 1);
    auto& k = spec.sinks[0];
    CHECK(k.type == "file");
    CHECK(k.opts.get_string("directory") == "out");
    CHECK(k.opts.get_int("roll_interval") == 60'000);
    CHECK(k.opts.get_string("prefix") == "app-");
    CHECK(k.opts.get_string("suffix") == "txt");
    CHECK(k.batch_size == 10);
    require_valid(spec);
  }
  GIVEN("a file_roll sink without rollInterval rolls every 30 s, as Flume") {
    auto spec = mapped(R"(a1.sources = r1
a1.channels = c1
a1.sinks = k1
a1.sources.r1.type = exec
a1.sources.r1.command = echo 1
a1.sources.r1.channels = c1
a1.channels.c1.type = memory
a1.sinks.k1.type = file_roll
a1.sinks.k1.sink.directory = out
a1.sinks.k1.channel = c1
)",
                       "a1");
    CHECK(spec.sinks[0].opts.get_int("roll_interval") == 30'000);
  }
  GIVEN("interceptors of each kind") {
    auto spec = mapped(R"(a1.sources = r1
a1.channels = c1
a1.sinks = k1
a1.sources.r1.type = exec
a1.sources.r1.command = echo 1
a1.sources.r1.channels = c1
a1.sources.r1.interceptors = ts h st f x
a1.sources.r1.interceptors.ts.type = timestamp
a1.sources.r1.interceptors.ts.headerName = time
a1.sources.r1.interceptors.h.type = host
a1.sources.r1.interceptors.h.useIP = false
a1.sources.r1.interceptors.h.hostHeader = hostname
a1.sources.r1.interceptors.st.type = static
a1.sources.r1.interceptors.st.key = dc
a1.sources.r1.interceptors.st.value = eu-1
a1.sources.r1.interceptors.f.type = regex_filter
a1.sources.r1.interceptors.f.regex = ^DEBUG
a1.sources.r1.interceptors.f.excludeEvents = true
a1.sources.r1.interceptors.x.type = regex_extractor
a1.sources.r1.interceptors.x.regex = (\\d+):(\\w+)
a1.sources.r1.interceptors.x.serializers = s1 s2
a1.sources.r1.interceptors.x.serializers.s1.name = id
a1.sources.r1.interceptors.x.serializers.s2.name = word
a1.channels.c1.type = memory
a1.sinks.k1.type = null
a1.sinks.k1.channel = c1
)",
                       "a1");
    auto& is = spec.sources[0].interceptors;
    REQUIRE(is.size() == 5);
    CHECK(is[0].type == "timestamp");
    CHECK(is[0].opts.get_string("header") == "time");
    CHECK_FALSE(is[0].opts.get_bool("preserve_existing"));
    CHECK(is[1].type == "host");
    CHECK_FALSE(is[1].opts.get_bool("use_ip"));
    CHECK(is[1].opts.get_string("header") == "hostname");
    CHECK(is[2].type == "static");
    CHECK(is[2].opts.get_string("key") == "dc");
    CHECK(is[2].opts.get_string("value") == "eu-1");
    CHECK(is[3].type == "regex_filter");
    CHECK(is[3].opts.get_string("regex") == "^DEBUG");
    CHECK(is[3].opts.get_bool("exclude"));
    CHECK(is[4].type == "regex_extract");
    CHECK(is[4].opts.get_string("regex") == "(\\d+):(\\w+)");
    CHECK(is[4].opts.get_list("headers") ==
          std::vector<std::string>{"id", "word"});
    require_valid(spec);
  }
  GIVEN("a load_balance sink group") {
    auto spec = mapped(R"(a1.sources = r1
a1.channels = c1
a1.sinks = k1 k2 k3
a1.sinkgroups = lb
a1.sinkgroups.lb.sinks = k1 k2 k3
a1.sinkgroups.lb.processor.type = load_balance
a1.sinkgroups.lb.processor.selector = random
a1.sinkgroups.lb.processor.backoff = true
a1.sinkgroups.lb.processor.selector.maxTimeOut = 5000
a1.sources.r1.type = exec
a1.sources.r1.command = echo 1
a1.sources.r1.channels = c1
a1.channels.c1.type = memory
a1.sinks.k1.type = null
a1.sinks.k1.channel = c1
a1.sinks.k2.type = null
a1.sinks.k2.channel = c1
a1.sinks.k3.type = null
a1.sinks.k3.channel = c1
)",
                       "a1");
    REQUIRE(spec.sink_groups.size() == 1);
    auto& g = spec.sink_groups[0];
    CHECK(g.type == "load_balance");
    CHECK(g.sinks == std::vector<std::string>{"k1", "k2", "k3"});
    CHECK(g.opts.get_string("selector") == "random");
    CHECK(g.opts.get_bool("backoff"));
    CHECK(g.opts.get_int("max_timeout") == 5000);
    CHECK(g.priorities.empty());
    require_valid(spec);
  }
  GIVEN("a load_balance group with Flume's defaults") {
    auto spec = mapped(std::string{small_agent} +
                           "a1.sinkgroups = lb\n"
                           "a1.sinkgroups.lb.sinks = k1\n"
                           "a1.sinkgroups.lb.processor.type = load_balance\n",
                       "a1");
    auto& g = spec.sink_groups.at(0);
    CHECK(g.opts.get_string("selector") == "round_robin");
    CHECK_FALSE(g.opts.get_bool("backoff"));
    CHECK(g.opts.get_int("max_timeout") == 30'000);
  }
  GIVEN("an avro source and sink: forward links") {
    auto spec = mapped(R"(a1.sources = in
a1.channels = c1
a1.sinks = out
a1.sources.in.type = avro
a1.sources.in.bind = 0.0.0.0
a1.sources.in.port = 4141
a1.sources.in.channels = c1
a1.channels.c1.type = memory
a1.sinks.out.type = avro
a1.sinks.out.hostname = 10.0.0.2
a1.sinks.out.port = 4242
a1.sinks.out.batch-size = 50
a1.sinks.out.request-timeout = 2000
a1.sinks.out.connect-timeout = 1000
a1.sinks.out.channel = c1
)",
                       "a1");
    auto& in = spec.sources.at(0);
    CHECK(in.type == "forward");
    CHECK(in.opts.get_string("bind") == "0.0.0.0");
    CHECK(in.opts.get_int("port") == 4141);
    auto& out = spec.sinks.at(0);
    CHECK(out.type == "forward");
    CHECK(out.opts.get_string("host") == "10.0.0.2");
    CHECK(out.opts.get_int("port") == 4242);
    CHECK(out.opts.get_int("timeout") == 2000);
    CHECK(out.opts.get_int("connect_timeout") == 1000);
    CHECK(out.batch_size == 50);
  }
  GIVEN("properties of other agents, broken ones included") {
    auto spec =
        mapped(std::string{small_agent} + "a2.sources = x\n"
                                          "a2.sources.x.type = no-such-type\n"
                                          "a2.misspelt = 1\n",
               "a1");
    CHECK(spec.sources.size() == 1);
  }
  GIVEN("continuation lines and escapes inside the agent") {
    auto spec = mapped(R"(a1.sources = \
    r1
a1.channels = c1
a1.sinks = k1
a1.sources.r1.type = exec
a1.sources.r1.command = printf 'a\\tb\\n' \
                        && echo caf\u00e9
a1.sources.r1.chan\
nels = c1
a1.channels.c1.type = memory
a1.sinks.k1.type = null
a1.sinks.k1.channel = c1
)",
                       "a1");
    REQUIRE(spec.sources.size() == 1);
    CHECK(spec.sources[0].name == "r1");
    CHECK(spec.sources[0].where.line == 2);
    CHECK(spec.sources[0].where.column == 5);
    CHECK(spec.sources[0].channel == "c1");
    CHECK(spec.sources[0].opts.get_string("command") ==
          "printf 'a\\tb\\n' && echo caf\xc3\xa9");
  }
}

SCENARIO("what does not map is an error at its position", "[flume]") {
  GIVEN("an unknown source type") {
    auto errs = errors(R"(a1.sources = r1
a1.channels = c1
a1.sources.r1.type = syslogtcp
a1.sources.r1.port = 514
a1.sources.r1.channels = c1
a1.channels.c1.type = memory
)");
    CHECK(has(errs, "f.properties:3:22: error: a1.sources.r1.type: source "
                    "type 'syslogtcp' does not map; sluice maps exec, "
                    "TAILDIR, netcat and avro"));
  }
  GIVEN("a spooldir source") {
    auto errs = errors(R"(a1.sources = r1
a1.sources.r1.type = spooldir
a1.sources.r1.spoolDir = /var/spool
)");
    CHECK(has(errs, "f.properties:2:22: error: a1.sources.r1.type "
                    "'spooldir' is not supported: follow the directory's "
                    "files with type = TAILDIR"));
  }
  GIVEN("an unknown sink type and an unknown channel type") {
    auto errs = errors(R"(a1.sources = r1
a1.channels = c1
a1.sinks = k1
a1.sources.r1.type = exec
a1.sources.r1.command = x
a1.sources.r1.channels = c1
a1.channels.c1.type = jdbc
a1.sinks.k1.type = hdfs
a1.sinks.k1.channel = c1
)");
    CHECK(has(errs, "f.properties:7:23: error: channel type 'jdbc' of "
                    "a1.channels.c1.type does not map; sluice has memory "
                    "and file channels"));
    CHECK(has(errs, "f.properties:8:20: error: a1.sinks.k1.type: sink type "
                    "'hdfs' does not map; sluice maps file_roll, logger, "
                    "null, avro and com.aliyun.datahub.flume.sink."
                    "DatahubSink"));
  }
  GIVEN("a misspelt key") {
    auto errs = errors(std::string{small_agent} +
                       "a1.sources.r1.restartThrotle = 100\n");
    REQUIRE(errs.size() == 1);
    CHECK(errs[0].starts_with(
        "f.properties:10:1: error: unknown or unsupported property "
        "'a1.sources.r1.restartThrotle' for exec source 'r1'; did you mean "
        "'restartThrottle'?"));
  }
  GIVEN("an option sluice does not support") {
    auto errs =
        errors(std::string{small_agent} + "a1.sinks.k1.type = logger\n"
                                          "a1.sinks.k1.maxBytesToLog = 32\n");
    CHECK(has(errs, "f.properties:10:1: error: a1.sinks.k1.type is set "
                    "twice (first at line 8)"));
    CHECK(has(errs, "f.properties:11:1: error: unknown or unsupported "
                    "property 'a1.sinks.k1.maxBytesToLog' for null sink"));
  }
  GIVEN("a sink without a channel and a source without one") {
    auto errs = errors(R"(a1.sources = r1
a1.channels = c1
a1.sinks = k1
a1.sources.r1.type = exec
a1.sources.r1.command = x
a1.channels.c1.type = memory
a1.sinks.k1.type = null
)");
    CHECK(has(errs, "f.properties:1:14: error: source 'r1' has no channel: "
                    "set a1.sources.r1.channels"));
    CHECK(has(errs, "f.properties:3:12: error: sink 'k1' has no channel: "
                    "set a1.sinks.k1.channel"));
  }
  GIVEN("an agent that is not in the file") {
    auto errs = errors(small_agent, "agent1");
    REQUIRE(errs.size() == 1);
    CHECK(errs[0] == "f.properties:1:1: error: agent 'agent1' is not in this "
                     "file (no property starts with 'agent1.'); agents "
                     "here: a1");
  }
  GIVEN("properties of components the agent does not declare") {
    auto errs =
        errors(std::string{small_agent} + "a1.sources.r2.type = exec\n"
                                          "a1.sources.r2.command = y\n"
                                          "a1.sinkgroups.g1.sinks = k1\n"
                                          "a1.sink.k1.type = null\n");
    REQUIRE(errs.size() == 3);
    CHECK(errs[0].starts_with("f.properties:10:1: error: "
                              "a1.sources.r2.type: source 'r2' is not "
                              "declared in a1.sources (line 1); did you mean "
                              "'r1'?"));
    CHECK(errs[1].starts_with("f.properties:12:1: error: "
                              "a1.sinkgroups.g1.sinks: sink group 'g1' is "
                              "not declared in a1.sinkgroups (which is not "
                              "set)"));
    CHECK(errs[2].starts_with("f.properties:13:1: error: unknown property "
                              "'a1.sink.k1.type'; did you mean 'sinks'?"));
  }
  GIVEN("sink groups Flume would accept with holes") {
    auto errs = errors(R"(a1.sources = r1
a1.channels = c1
a1.sinks = k1 k2 k3
a1.sources.r1.type = exec
a1.sources.r1.command = x
a1.sources.r1.channels = c1
a1.channels.c1.type = memory
a1.sinks.k1.type = null
a1.sinks.k1.channel = c1
a1.sinks.k2.type = null
a1.sinks.k2.channel = c1
a1.sinks.k3.type = null
a1.sinks.k3.channel = c1
a1.sinkgroups = g1
a1.sinkgroups.g1.sinks = k1 k2 k3 k9
a1.sinkgroups.g1.processor.type = failover
a1.sinkgroups.g1.processor.priority.k1 = 5
a1.sinkgroups.g1.processor.priority.k2 = 5
a1.sinkgroups.g1.processor.priority.k8 = 1
a1.sinkgroups.g1.processor.maxpenalty = soon
)");
    REQUIRE(errs.size() == 5);
    CHECK(has(errs, "f.properties:15:35: error: sink 'k9' of "
                    "a1.sinkgroups.g1.sinks is not declared in a1.sinks"));
    CHECK(has(errs, "f.properties:15:32: error: sink 'k3' of failover group "
                    "'g1' has no priority: set "
                    "a1.sinkgroups.g1.processor.priority.k3"));
    CHECK(has(errs, "f.properties:18:1: error: "
                    "a1.sinkgroups.g1.processor.priority.k2: sinks 'k1' "
                    "(line 17) and 'k2' have the same priority 5; Flume "
                    "silently drops one of them"));
    CHECK(has(errs, "f.properties:19:1: error: "
                    "a1.sinkgroups.g1.processor.priority.k8 sets a priority "
                    "for 'k8', which is not a sink of group 'g1'"));
    CHECK(has(errs, "f.properties:20:41: error: "
                    "a1.sinkgroups.g1.processor.maxpenalty must be an "
                    "integer, got 'soon'"));
  }
  GIVEN("a group processor that does not map") {
    auto errs = errors(std::string{small_agent} +
                       "a1.sinkgroups = g1\n"
                       "a1.sinkgroups.g1.sinks = k1\n"
                       "a1.sinkgroups.g1.processor.type = custom\n");
    CHECK(has(errs, "f.properties:12:35: error: sink group 'g1' needs "
                    "a1.sinkgroups.g1.processor.type = failover or "
                    "load_balance, got 'custom'"));
  }
  GIVEN("a source that fans out to two channels, with a multiplexer") {
    auto errs = errors(R"(a1.sources = r1
a1.channels = c1 c2
a1.sources.r1.type = exec
a1.sources.r1.command = x
a1.sources.r1.channels = c1 c2
a1.sources.r1.selector.type = multiplexing
)");
    CHECK(has(errs, "f.properties:5:29: error: a1.sources.r1.channels "
                    "names 2 channels; a sluice source feeds one channel"));
    CHECK(has(errs, "f.properties:6:31: error: a1.sources.r1.selector.type "
                    "'multiplexing' does not map"));
  }
  GIVEN("a file channel with two data directories and none") {
    auto errs = errors(R"(a1.sources = r1
a1.channels = c1 c2
a1.sinks = k1
a1.sources.r1.type = exec
a1.sources.r1.command = x
a1.sources.r1.channels = c1
a1.channels.c1.type = file
a1.channels.c1.dataDirs = /d1,/d2
a1.channels.c2.type = file
a1.sinks.k1.type = null
a1.sinks.k1.channel = c1
)");
    CHECK(has(errs, "f.properties:8:31: error: a1.channels.c1.dataDirs "
                    "names 2 directories; a sluice file channel keeps its "
                    "log in one"));
    CHECK(has(errs, "f.properties:2:18: error: file channel 'c2' needs "
                    "a1.channels.c2.dataDirs"));
  }
  GIVEN("values of the wrong kind and out of range") {
    auto errs =
        errors(std::string{small_agent} + "a1.channels.c1.capacity = lots\n"
                                          "a1.sources.r1.restart = yes\n"
                                          "a1.sources.r1.batchSize = 500\n"
                                          "a1.sinks.k1.batchSize = 0\n");
    CHECK(has(errs, "f.properties:10:27: error: a1.channels.c1.capacity "
                    "must be an integer, got 'lots'"));
    CHECK(has(errs, "f.properties:11:25: error: a1.sources.r1.restart must "
                    "be true or false, got 'yes'"));
    // 500 exceeds the memory channel's Flume default transaction capacity.
    CHECK(has(errs, "f.properties:12:1: error: batch size 500 of source 'r1' "
                    "exceeds transactionCapacity 100 of channel 'c1'"));
    CHECK(has(errs, "f.properties:13:25: error: a1.sinks.k1.batchSize must "
                    "be between 1 and 1000000, got 0"));
  }
  GIVEN("values a sluice connector refuses, by their Flume keys") {
    auto errs = errors(R"(a1.sources = r1
a1.channels = c1
a1.sinks = k1
a1.sources.r1.type = netcat
a1.sources.r1.bind = 127.0.0.1
a1.sources.r1.port = 0
a1.sources.r1.max-line-length = 8
a1.sources.r1.channels = c1
a1.channels.c1.type = memory
a1.channels.c1.byteCapacity = 100
a1.sinks.k1.type = null
a1.sinks.k1.channel = c1
)");
    REQUIRE(errs.size() == 2);
    CHECK(errs[0].starts_with("f.properties:7:1: error: tcp source 'r1': "
                              "a1.sources.r1.max-line-length must be at "
                              "least"));
    CHECK(errs[1].starts_with("f.properties:10:1: error: memory channel "
                              "'c1': a1.channels.c1.byteCapacity must be at "
                              "least"));
  }
  GIVEN("a sink in two groups, and a group over two channels") {
    auto errs = errors(R"(a1.sources = r1 r2
a1.channels = c1 c2
a1.sinks = k1 k2
a1.sinkgroups = g1 g2
a1.sources.r1.type = exec
a1.sources.r1.command = x
a1.sources.r1.channels = c1
a1.sources.r2.type = exec
a1.sources.r2.command = y
a1.sources.r2.channels = c2
a1.channels.c1.type = memory
a1.channels.c2.type = memory
a1.sinks.k1.type = null
a1.sinks.k1.channel = c1
a1.sinks.k2.type = null
a1.sinks.k2.channel = c2
a1.sinkgroups.g1.sinks = k1 k2
a1.sinkgroups.g1.processor.type = load_balance
a1.sinkgroups.g2.sinks = k2
a1.sinkgroups.g2.processor.type = load_balance
)");
    REQUIRE(errs.size() == 2);
    CHECK(errs[0] == "f.properties:16:1: error: sink 'k2' of group 'g1' "
                     "drains channel 'c2' but 'k1' drains 'c1'; the sinks "
                     "of a group share one channel");
    CHECK(errs[1] == "f.properties:19:26: error: sink 'k2' is already in "
                     "sink group 'g1'; a sink belongs to one group");
  }
  GIVEN("a netcat source without bind and port") {
    auto errs = errors(R"(a1.sources = r1
a1.channels = c1
a1.sinks = k1
a1.sources.r1.type = netcat
a1.sources.r1.channels = c1
a1.channels.c1.type = memory
a1.sinks.k1.type = null
a1.sinks.k1.channel = c1
)");
    REQUIRE(errs.size() == 2);
    CHECK(errs[0] == "f.properties:1:14: error: netcat source 'r1' needs "
                     "a1.sources.r1.bind (an address to listen on)");
    CHECK(errs[1] == "f.properties:1:14: error: netcat source 'r1' needs "
                     "a1.sources.r1.port");
  }
  GIVEN("ports out of range on avro links") {
    auto errs = errors(R"(a1.sources = r1
a1.channels = c1
a1.sinks = k1
a1.sources.r1.type = avro
a1.sources.r1.bind = 127.0.0.1
a1.sources.r1.port = 65536
a1.sources.r1.channels = c1
a1.channels.c1.type = memory
a1.sinks.k1.type = avro
a1.sinks.k1.hostname = 127.0.0.1
a1.sinks.k1.port = -1
a1.sinks.k1.channel = c1
)");
    REQUIRE(errs.size() == 2);
    CHECK(errs[0] == "f.properties:6:22: error: a1.sources.r1.port must be "
                     "between 0 and 65535, got 65536");
    CHECK(errs[1] == "f.properties:11:20: error: a1.sinks.k1.port must be "
                     "between 0 and 65535, got -1");
  }
  GIVEN("file groups and interceptors that do not map") {
    auto errs = errors(R"(a1.sources = r1
a1.channels = c1
a1.sinks = k1
a1.sources.r1.type = TAILDIR
a1.sources.r1.filegroups = f1 f2
a1.sources.r1.filegroups.f1 = /var/log/(app|db)\\.log
a1.sources.r1.filegroups.f3 = /var/log/x.log
a1.sources.r1.headers.f1.dc = eu
a1.sources.r1.interceptors = i1 i2
a1.sources.r1.interceptors.i1.type = uuid
a1.sources.r1.interceptors.i2.type = timestamp
a1.sources.r1.interceptors.i2.header = ts
a1.sources.r1.interceptors.i3.type = host
a1.sources.r1.channels = c1
a1.channels.c1.type = memory
a1.sinks.k1.type = null
a1.sinks.k1.channel = c1
)");
    CHECK(has(errs, "f.properties:1:14: error: TAILDIR source 'r1' needs "
                    "a1.sources.r1.positionFile"));
    CHECK(has(errs, "f.properties:5:31: error: file group 'f2' has no files: "
                    "set a1.sources.r1.filegroups.f2"));
    CHECK(has(errs, "f.properties:6:31: error: a1.sources.r1.filegroups.f1: "
                    "'(' at 1 of the file name pattern has no glob form"));
    CHECK(has(errs, "f.properties:7:1: error: a1.sources.r1.filegroups.f3: "
                    "file group 'f3' is not listed in "
                    "a1.sources.r1.filegroups"));
    CHECK(has(errs, "f.properties:8:1: error: unknown or unsupported "
                    "property 'a1.sources.r1.headers.f1.dc' for TAILDIR "
                    "source 'r1'"));
    CHECK(has(errs, "f.properties:10:38: error: "
                    "a1.sources.r1.interceptors.i1.type: interceptor type "
                    "'uuid' does not map"));
    CHECK(has(errs, "f.properties:12:1: error: unknown or unsupported "
                    "property 'a1.sources.r1.interceptors.i2.header' for "
                    "interceptor 'i2' of source 'r1'; known here: "
                    "headerName, preserveExisting, type"));
    CHECK(has(errs, "f.properties:13:1: error: "
                    "a1.sources.r1.interceptors.i3.type: interceptor 'i3' is "
                    "not listed in a1.sources.r1.interceptors"));
  }
  GIVEN("every error of a file at once, in file order") {
    auto errs = errors(R"(a1.sources = r1
a1.channels = c1
a1.sinks = k1
a1.sources.r1.type = exec
a1.sources.r1.comand = x
a1.sources.r1.channels = c1
a1.channels.c1.type = memory
a1.channels.c1.capacity = 10
a1.channels.c1.transactionCapacity = 20
a1.sinks.k1.type = file_roll
a1.sinks.k1.sink.directory = out
a1.sinks.k1.sink.serializer = avro_event
a1.sinks.k1.channel = c1
)");
    REQUIRE(errs.size() == 4);
    CHECK(errs[0].starts_with("f.properties:1:14: error: exec source 'r1' "
                              "needs a1.sources.r1.command"));
    CHECK(errs[1].starts_with("f.properties:5:1: error: unknown or "
                              "unsupported property 'a1.sources.r1.comand'"));
    CHECK(errs[2].starts_with("f.properties:9:1: error: "
                              "transactionCapacity of channel 'c1' exceeds "
                              "its capacity"));
    CHECK(errs[3].starts_with("f.properties:12:31: error: "
                              "a1.sinks.k1.sink.serializer 'avro_event' does "
                              "not map"));
  }
}
