#include <filesystem>
#include <fstream>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "config/topology.hpp"
#include "connectors/registry.hpp"
#include "runtime/errors.hpp"
#include "tests/support/topology_parse.hpp"

using namespace sluice;
using sluice::test::has;
using sluice::test::parse_errors;

SCENARIO("a valid topology parses into its spec", "[topology]") {
  std::vector<diagnostic> problems;
  auto spec = parse_topology(R"([supervision]
max_restarts = 3
restart_window = "2m"
initial_backoff = "250ms"
max_backoff = 5000

[engine]
drain_timeout = "10s"

[sources.r1]
type = "taildir"
channel = "c1"
batch_size = 100
filegroups = { app = "/var/log/app/*.log" }
position_file = "/tmp/pos.json"
[[sources.r1.interceptors]]
type = "static"
key = "dc"
value = "eu-1"

[channels.c1]
type = "file"
directory = "/tmp/ch"
segment_size = "1MiB"
transaction_capacity = 500

[sinks.k1]
type = "file"
channel = "c1"
batch_size = 500
directory = "/tmp/out"
roll_interval = "1h"
)",
                             "t.toml", test::builtin_connectors(), problems);
  for (auto& p : problems)
    UNSCOPED_INFO(to_string(p));
  REQUIRE(spec);
  CHECK(spec->supervision.max_restarts == 3);
  CHECK(spec->supervision.restart_window_ms == 120'000);
  CHECK(spec->supervision.initial_backoff_ms == 250);
  CHECK(spec->supervision.max_backoff_ms == 5000);
  CHECK(spec->drain_timeout_ms == 10'000);
  REQUIRE(spec->sources.size() == 1);
  auto& src = spec->sources[0];
  CHECK(src.batch_size == 100);
  CHECK(src.opts.get_map("filegroups").at("app") == "/var/log/app/*.log");
  CHECK(src.opts.get_int("max_line_length") == 1 << 20);
  REQUIRE(src.interceptors.size() == 1);
  CHECK(src.interceptors[0].opts.get_string("value") == "eu-1");
  CHECK(src.where.line == 10);
  REQUIRE(spec->channels.size() == 1);
  CHECK(spec->channels[0].opts.get_int("segment_size") == 1 << 20);
  CHECK(spec->channels[0].opts.get_int("capacity") == 1'000'000);
  CHECK(spec->sinks[0].opts.get_int("roll_interval") == 3'600'000);
}

SCENARIO("every mistake of a topology is reported with its position",
         "[topology]") {
  auto errors = parse_errors(R"([sources.r1]
type = "generator"
channel = "nowhere"
batch_size = 5000
rate = "fast"

[channels.c1]
type = "memory"
capcity = 100
transaction_capacity = 2000

[sinks.k1]
type = "nul"
channel = "c1"

[sinks.k2]
type = "file"
channel = "c1"

[jobs.j1]
shards = 4
)");
  THEN("each one is listed") {
    CHECK(has(errors, "t.toml:3:11: error: source 'r1' refers to an "
                      "undeclared channel 'nowhere'"));
    CHECK(has(errors, "t.toml:5:8: error: option 'rate' of generator source "
                      "'r1' must be integer"));
    CHECK(has(errors, "t.toml:9:1: error: unknown option 'capcity' for memory "
                      "channel 'c1'; did you mean 'capacity'?"));
    CHECK(has(errors, "t.toml:13:8: error: unknown sink type 'nul'; known "
                      "types: archive, console, file, forward, null, "
                      "topic"));
    CHECK(has(errors, "t.toml:16:1: error: file sink 'k2' needs option "
                      "'directory'"));
    CHECK(has(errors, "t.toml:20:1: error: job 'j1' needs option 'script' "
                      "(the SQL script whose INSERT INTO statements the job "
                      "runs)"));
    CHECK(has(errors, "t.toml:21:1: error: unknown option 'shards' for job "
                      "'j1'"));
    CHECK(has(errors, "channel 'c1' has no source feeding it"));
    CHECK(errors.size() == 8);
  }
}

SCENARIO("a batch larger than its channel's transactions is an error",
         "[topology]") {
  auto errors = parse_errors(R"([sources.r1]
type = "generator"
channel = "c1"
batch_size = 2000

[channels.c1]
type = "memory"
capacity = 500

[sinks.k1]
type = "null"
channel = "c1"
)");
  CHECK(has(errors, "error: transaction_capacity of channel 'c1' exceeds "
                    "its capacity"));
  CHECK(has(errors, "t.toml:4:14: error: batch_size 2000 of source 'r1' "
                    "exceeds transaction_capacity 1000 of channel 'c1'"));
}

SCENARIO("two components sharing a state directory or position file is an "
         "error",
         "[topology]") {
  auto errors = parse_errors(R"([sources.a]
type = "taildir"
channel = "c1"
position_file = "/var/lib/sluice/pos.json"
filegroups = { logs = "/var/log/app/*.log" }

[sources.b]
type = "taildir"
channel = "c2"
position_file = "/var/lib/sluice/./pos.json"
filegroups = { logs = "/var/log/other/*.log" }

[channels.c1]
type = "file"
directory = "/var/lib/sluice/ch"

[channels.c2]
type = "file"
directory = "/var/lib/sluice/ch/"

[sinks.k1]
type = "null"
channel = "c1"

[sinks.k2]
type = "null"
channel = "c2"
)");
  CHECK(has(errors, "t.toml:10:17: error: position_file "
                    "'/var/lib/sluice/./pos.json' of 'b' is already used by "
                    "'a'"));
  CHECK(has(errors, "t.toml:19:13: error: directory '/var/lib/sluice/ch/' of "
                    "'c2' is already used by 'c1'"));
}

SCENARIO("syntax errors, bad sizes and bad names are positioned",
         "[topology]") {
  CHECK(has(parse_errors("[sources.r1]\ntype = \"generator\nchannel = 1\n"),
            "t.toml:2:"));
  auto errors = parse_errors(R"([sources."bad name"]
type = "generator"
channel = "c1"

[channels.c1]
type = "memory"
byte_capacity = "12 parsecs"

[sinks.c1]
type = "null"
channel = "c1"
)");
  CHECK(has(errors, "t.toml:7:17: error: option 'byte_capacity' of memory "
                    "channel 'c1': unknown size unit 'parsecs'"));
  CHECK(has(errors, "source name 'bad name' may use only"));
  CHECK(has(errors, "names must be unique"));
}

SCENARIO("interceptors are checked like components", "[topology]") {
  auto errors = parse_errors(R"([sources.r1]
type = "generator"
channel = "c1"
[[sources.r1.interceptors]]
type = "regex_filter"
pattern = "x"
[[sources.r1.interceptors]]
type = "stamp"
[[sources.r1.interceptors]]
type = "regex_extract"
regex = "(unclosed"
headers = ["x"]

[channels.c1]
type = "memory"

[sinks.k1]
type = "null"
channel = "c1"
)");
  CHECK(has(errors, "t.toml:6:1: error: unknown option 'pattern'"));
  CHECK(has(errors, "needs option 'regex'"));
  CHECK(has(errors, "t.toml:8:8: error: unknown interceptor type 'stamp'"));
  CHECK(has(errors, "t.toml:11:9: error: regex_extract interceptor 3 of "
                    "source 'r1': invalid regex '(unclosed'"));
}

SCENARIO("validate checks a topology built in code", "[topology]") {
  topology_spec spec;
  source_spec src;
  src.name = "gen";
  src.type = "generator";
  src.channel = "mem";
  spec.sources.push_back(src);
  channel_spec ch;
  ch.name = "mem";
  ch.type = "memory";
  spec.channels.push_back(ch);
  WHEN("the channel has no sink") {
    auto problems = validate(spec, test::builtin_connectors());
    REQUIRE(problems.size() == 1);
    CHECK_THAT(problems[0].message, Catch::Contains("no sink"));
  }
  WHEN("an actor added in code drains it") {
    spec.attached_channels.push_back("mem");
    CHECK(validate(spec, test::builtin_connectors()).empty());
    THEN("fallbacks were filled in") {
      CHECK(spec.sources[0].opts.get_int("line_size") == 100);
      CHECK(spec.channels[0].opts.get_int("capacity") == 10'000);
    }
  }
}

SCENARIO("the example topologies are valid", "[topology]") {
  namespace fs = std::filesystem;
  size_t n = 0;
  for (auto& e : fs::directory_iterator{fs::path{SLUICE_SOURCE_DIR} /
                                        "examples/topologies"}) {
    std::vector<diagnostic> problems;
    auto spec =
        load_topology(e.path().string(), test::builtin_connectors(), problems);
    for (auto& p : problems)
      UNSCOPED_INFO(to_string(p));
    CHECK(spec);
    ++n;
  }
  CHECK(n >= 3);
}

SCENARIO("a missing topology file is one clear error", "[topology]") {
  std::vector<diagnostic> problems;
  auto spec = load_topology("/nonexistent/t.toml", test::builtin_connectors(),
                            problems);
  CHECK_FALSE(spec);
  REQUIRE(problems.size() == 1);
  CHECK(to_string(problems[0]) == "/nonexistent/t.toml: error: cannot read "
                                  "the topology file: No such file or "
                                  "directory");
}

namespace {

std::string repeat(const std::string& x, size_t n,
                   const std::string& separator = "") {
  std::string result;
  for (size_t i = 0; i < n; ++i)
    result += (i > 0 ? separator : "") + x;
  return result;
}

/// The one error parsing `text` gives; fails the test unless there is
/// exactly one.
std::string only_error(std::string_view text) {
  auto errors = parse_errors(text);
  REQUIRE(errors.size() == 1);
  return errors.front();
}

const std::string too_deep = "error: nested more than 64 levels deep";

} // namespace

SCENARIO("nesting too deep for the parser is refused before it parses",
         "[topology][limits]") {
  GIVEN("a table header of 40,000 dotted parts") {
    auto text = "[" + repeat("a", 40'000, ".") + "]\n";
    THEN("one error points at the part past the limit") {
      // The 64th dot, at column 129, starts part 65.
      CHECK(only_error(text).rfind("t.toml:1:129: " + too_deep, 0) == 0);
    }
  }
  GIVEN("a dotted key of 40,000 parts, and one array of tables header") {
    CHECK_THAT(only_error(repeat("a", 40'000, ".") + " = 1\n"),
               Catch::StartsWith("t.toml:1:"));
    CHECK_THAT(only_error("[[" + repeat("a", 40'000, ".") + "]]\n"),
               Catch::Contains(too_deep));
  }
  GIVEN("arrays of arrays 10,000 deep, and inline tables 10,000 deep") {
    CHECK_THAT(only_error("x = " + repeat("[", 10'000) + repeat("]", 10'000)),
               Catch::Contains(too_deep));
    CHECK_THAT(only_error("x = " + repeat("{a = ", 10'000) + "1" +
                          repeat("}", 10'000)),
               Catch::Contains(too_deep));
  }
  GIVEN("inline tables each under a long dotted key: shallow values, deep "
        "tree") {
    // 250 inline tables each under a 1,000-part key is 250,000 levels,
    // though toml++ counts only 250 nested values.
    std::string text = "x = ";
    for (int i = 0; i < 250; ++i)
      text += "{" + repeat("b", 1000, ".") + " = ";
    text += "1" + repeat("}", 250) + "\n";
    CHECK_THAT(only_error(text), Catch::Contains(too_deep));
  }
  GIVEN("arrays of tables inside inline tables inside a deep header") {
    // Each level is shallow; together they pass the limit.
    auto text = "[" + repeat("s", 30, ".") + "]\n" + repeat("k", 20, ".") +
                " = [{ " + repeat("t", 20, ".") + " = [[1]] }]\n";
    CHECK_THAT(only_error(text), Catch::StartsWith("t.toml:2:"));
    CHECK_THAT(only_error(text), Catch::Contains(too_deep));
  }
  GIVEN("a topology whose strings and comments hold dots, brackets and "
        "quotes") {
    auto errors = parse_errors(R"([sources.tail] # [a.b.c.d] {x.y}
type = "taildir"
channel = 'c.h.a.n'
filegroups = { "a.b.c" = '/var/[log]/*.{x}.log', b = """
  [[[[.....]]]] \""" {{{{
""" }
position_file = '''/tmp/p.json''''

[channels."c.h.a.n"]
type = "memory"

[sinks.out]
type = "null"
channel = "c.h.a.n"
)");
    THEN("nothing in them counts as nesting") {
      for (auto& e : errors)
        CHECK(e.find("nested") == std::string::npos);
    }
  }
  GIVEN("nesting just within the limit") {
    // 62 header parts, a key and an array: the value sits at 64.
    auto text = "[" + repeat("a", 62, ".") + "]\nx = [1]\n";
    THEN("the scan lets it through to the parser") {
      auto errors = parse_errors(text);
      REQUIRE_FALSE(errors.empty()); // 'a' is no section
      for (auto& e : errors)
        CHECK(e.find("nested") == std::string::npos);
      CHECK_THAT(only_error("[" + repeat("a", 62, ".") + "]\nx = [[1]]\n"),
                 Catch::StartsWith("t.toml:2:6: " + too_deep));
    }
  }
}

SCENARIO("topology text past the size limit is refused", "[topology][limits]") {
  std::string text(max_topology_bytes + 1, '#');
  CHECK_THAT(only_error(text),
             Catch::Contains("more than the 4 MiB a topology may hold"));
}

SCENARIO("only a regular file of bounded size is read as a topology",
         "[topology][limits]") {
  namespace fs = std::filesystem;
  auto dir = fs::temp_directory_path() /
             ("sluice-topology-test-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  auto load_error = [&](const std::string& path) {
    std::vector<diagnostic> problems;
    auto spec = load_topology(path, test::builtin_connectors(), problems);
    CHECK_FALSE(spec);
    REQUIRE(problems.size() == 1);
    return to_string(problems[0]);
  };
  WHEN("it is a directory, a device or a FIFO") {
    auto fifo = (dir / "fifo.toml").string();
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    THEN("the error says what it is, without opening it") {
      CHECK(load_error(dir.string()) ==
            dir.string() + ": error: a directory, not a topology file (a "
                           "regular TOML file)");
      CHECK(load_error("/dev/zero") ==
            "/dev/zero: error: a character device, not a topology file (a "
            "regular TOML file)");
      // Opening a FIFO without a writer would block.
      CHECK_THAT(load_error(fifo), Catch::Contains("a FIFO (named pipe)"));
    }
  }
  WHEN("it is larger than the limit") {
    auto big = (dir / "big.toml").string();
    {
      std::ofstream out{big};
      out << "[sources.a]\n";
    }
    fs::resize_file(big, max_topology_bytes + 1);
    THEN("it is refused without parsing, with its size and the limit") {
      CHECK(load_error(big) ==
            big + ": error: the file is 4194305 bytes, more than the 4 MiB a "
                  "topology file may hold");
    }
  }
  WHEN("it nests too deep") {
    auto deep = (dir / "deep.toml").string();
    std::ofstream{deep} << "[" << repeat("a", 40'000, ".") << "]\n";
    THEN("the error has its line and column") {
      CHECK_THAT(load_error(deep),
                 Catch::StartsWith(deep + ":1:129: " + too_deep));
    }
  }
  fs::remove_all(dir);
}

SCENARIO("empty values, empty topologies and connector settings are caught "
         "by check, with positions",
         "[topology]") {
  GIVEN("an empty type and an empty channel") {
    auto errors = parse_errors(R"([sources.g]
type = ""
channel = ""

[channels.c]
type = ""

[sinks.k]
type = "null"
channel = "c"
)");
    CHECK(has(errors, "t.toml:2:8: error: 'type' of source 'g' must not be "
                      "empty"));
    CHECK(has(errors, "t.toml:3:11: error: 'channel' of source 'g' must not "
                      "be empty"));
    CHECK(has(errors, "t.toml:6:8: error: 'type' of channel 'c' must not be "
                      "empty"));
  }
  GIVEN("a topology with nothing in it") {
    auto errors = parse_errors("# nothing\n");
    CHECK(has(errors, "t.toml:1:1: error: the topology declares no sources"));
  }
  GIVEN("a value out of range") {
    auto errors = parse_errors(R"([sources.g]
type = "generator"
channel = "c"

count = -5

[channels.c]
type = "memory"

[sinks.k]
type = "null"
channel = "c"
)");
    CHECK(has(errors, "t.toml:5:9: error: generator source 'g': option "
                      "'count' must be at least 0"));
  }
  GIVEN("an unknown type") {
    auto errors = parse_errors(R"([sources.g]
type = "generatr"
channel = "c"
count = 5

[channels.c]
type = "memory"

[sinks.k]
type = "null"
channel = "c"
)");
    THEN("only the type is reported, not its options") {
      CHECK(has(errors, "unknown source type 'generatr'"));
      CHECK(!has(errors, "unknown option"));
    }
  }
  GIVEN("settings only the connector can judge") {
    auto errors = parse_errors(R"([sources.t]
type = "taildir"
channel = "c"
filegroups = {}
position_file = "/tmp/p.json"

[sources.n]
type = "tcp"
channel = "c"
port = 7000
bind = "localhost"

[sources.e]
type = "exec"
channel = "c"
command = ""

[channels.c]
type = "memory"

[sinks.k]
type = "null"
channel = "c"
)");
    CHECK(has(errors, "t.toml:1:1: error: taildir source 't': taildir needs "
                      "at least one file group"));
    CHECK(has(errors, "t.toml:7:1: error: tcp source 'n': bind 'localhost' "
                      "is not an IPv4 address"));
    CHECK(has(errors, "t.toml:16:11: error: exec source 'e': option "
                      "'command' must not be empty"));
  }
}

SCENARIO("validate reports a spec built in code without a type or channel",
         "[topology]") {
  topology_spec spec;
  source_spec src;
  src.name = "s";
  spec.sources.push_back(src);
  auto problems = validate(spec, test::builtin_connectors());
  std::vector<std::string> text;
  for (auto& p : problems)
    text.push_back(to_string(p));
  CHECK(has(text, "source 's' needs a type"));
  CHECK(has(text, "source 's' needs a channel"));
}

SCENARIO("messages say what is wrong, not a consequence of it",
         "[topology][messages]") {
  GIVEN("options written before any table header") {
    auto errors = parse_errors("type = \"tcp\"\n");
    THEN("the key is named as a key, not as an unknown section") {
      CHECK(errors ==
            std::vector<std::string>{
                "t.toml:1:1: error: 'type' is set before any [table] header: "
                "an option belongs under its component's header, such as "
                "[sources.NAME]"});
    }
  }
  GIVEN("a [sources] table holding options instead of [sources.NAME]") {
    auto errors = parse_errors("[sources]\ntype = \"tcp\"\n");
    THEN("it says a source is a table of its own, and not that the file "
         "declares no sources") {
      CHECK(errors == std::vector<std::string>{
                          "t.toml:2:8: error: source 'type' must be a table, "
                          "got a string (each source is a table of its own: "
                          "[sources.NAME])"});
    }
  }
  GIVEN("a misspelt section") {
    auto errors = parse_errors("[source.a]\ntype = \"tcp\"\n");
    THEN("only the misspelling is reported") {
      REQUIRE(errors.size() == 1);
      CHECK_THAT(errors[0], Catch::Contains("did you mean 'sources'?"));
    }
  }
  GIVEN("limits on durations and sizes") {
    auto errors = parse_errors(R"([engine]
drain_timeout = "-5s"

[supervision]
restart_window = "0s"

[sources.g]
type = "generator"
channel = "c"

[channels.c]
type = "file"
directory = "/tmp/sluice-messages-test"
segment_size = "1KiB"

[sinks.k]
type = "null"
channel = "c"
)");
    THEN("each message has its unit and the value given") {
      CHECK(errors ==
            std::vector<std::string>{
                "t.toml:2:17: error: option 'drain_timeout' of [engine]: "
                "must not be negative, got '-5s'",
                "t.toml:5:18: error: [supervision]: option 'restart_window' "
                "must be at least 1ms, got 0ms",
                "t.toml:14:16: error: file channel 'c': option "
                "'segment_size' must be at least 64KiB (65536 bytes), got "
                "1KiB (1024 bytes)"});
    }
  }
}
