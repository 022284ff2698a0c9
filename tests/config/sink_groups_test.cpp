#include <algorithm>

#include <catch2/catch.hpp>

#include "config/topology.hpp"
#include "connectors/registry.hpp"
#include "tests/support/topology_parse.hpp"

using namespace sluice;

namespace {

// Sinks a and b drain c1, sink c drains c2; groups follow from line 27.
constexpr std::string_view prefix = R"([sources.g1]
type = "generator"
channel = "c1"

[sources.g2]
type = "generator"
channel = "c2"

[channels.c1]
type = "memory"

[channels.c2]
type = "memory"

[sinks.a]
type = "null"
channel = "c1"

[sinks.b]
type = "null"
channel = "c1"

[sinks.c]
type = "null"
channel = "c2"

)";

std::vector<std::string> errors_of(std::string_view groups) {
  std::string text{prefix};
  text += groups;
  std::vector<diagnostic> problems;
  auto spec =
      parse_topology(text, "t.toml", test::builtin_connectors(), problems);
  std::vector<std::string> result;
  for (auto& p : problems)
    result.push_back(to_string(p));
  if (spec)
    REQUIRE(result.empty());
  return result;
}

/// The only error, which must be `expected`.
void only(std::string_view groups, const std::string& expected) {
  auto errors = errors_of(groups);
  for (auto& e : errors)
    UNSCOPED_INFO(e);
  REQUIRE(errors.size() == 1);
  CHECK(errors[0] == expected);
}

} // namespace

SCENARIO("sink groups parse into their specs, with defaults",
         "[sink_group][topology]") {
  std::string text{prefix};
  text += R"([sink_groups.fo]
type = "failover"
sinks = ["a", "b"]
priority = { a = 10, b = 5 }
penalty = "500ms"

[sink_groups.lb]
type = "load_balance"
sinks = ["c"]
selector = "random"
backoff = true
max_timeout = "10s"
)";
  std::vector<diagnostic> problems;
  auto spec =
      parse_topology(text, "t.toml", test::builtin_connectors(), problems);
  for (auto& p : problems)
    UNSCOPED_INFO(to_string(p));
  REQUIRE(spec);
  REQUIRE(spec->sink_groups.size() == 2);
  auto& fo = spec->sink_groups[0];
  CHECK(fo.name == "fo");
  CHECK(fo.type == "failover");
  CHECK(fo.sinks == std::vector<std::string>{"a", "b"});
  CHECK(fo.priorities == std::map<std::string, int64_t>{{"a", 10}, {"b", 5}});
  CHECK(fo.opts.get_int("penalty") == 500);
  CHECK(fo.opts.get_int("maxpenalty") == 30'000);
  CHECK(fo.where.line == 27);
  auto& lb = spec->sink_groups[1];
  CHECK(lb.opts.get_string("selector") == "random");
  CHECK(lb.opts.get_bool("backoff"));
  CHECK(lb.opts.get_int("max_timeout") == 10'000);
}

SCENARIO("every mistake in a sink group is reported at its position",
         "[sink_group][topology]") {
  WHEN("a member is not a declared sink") {
    only(R"([sink_groups.g]
type = "load_balance"
sinks = ["a", "bb"]
)",
         "t.toml:29:15: error: sink_group 'g' names an undeclared sink 'bb'; "
         "did you mean 'b'?");
  }
  WHEN("a sink is in two groups") {
    only(R"([sink_groups.g]
type = "load_balance"
sinks = ["a"]

[sink_groups.h]
type = "load_balance"
sinks = ["b", "a"]
)",
         "t.toml:33:15: error: sink 'a' is in sink groups 'g' and 'h'; a "
         "sink belongs to one group");
  }
  WHEN("members drain different channels") {
    only(R"([sink_groups.g]
type = "load_balance"
sinks = ["a", "c"]
)",
         "t.toml:29:15: error: members of sink_group 'g' must drain one "
         "channel: 'a' drains 'c1', 'c' drains 'c2'");
  }
  WHEN("two members share a priority") {
    only(R"([sink_groups.g]
type = "failover"
sinks = ["a", "b"]
priority = { a = 5, b = 5 }
)",
         "t.toml:30:21: error: priority 5 of 'b' in sink_group 'g' is also "
         "the priority of 'a'; priorities must differ");
  }
  WHEN("a priority names a sink outside the group") {
    only(R"([sink_groups.g]
type = "failover"
sinks = ["a", "b"]
priority = { a = 5, b = 4, c = 3 }
)",
         "t.toml:30:28: error: sink_group 'g' gives a priority to 'c', which "
         "is not one of its sinks; did you mean 'a'?");
  }
  WHEN("a member of a failover group has no priority") {
    only(R"([sink_groups.g]
type = "failover"
sinks = ["a", "b"]
priority = { a = 5 }
)",
         "t.toml:30:12: error: sink 'b' of failover sink_group 'g' needs a "
         "priority (priority = { b = N }, higher wins)");
  }
  WHEN("a group has no member") {
    only(R"([sink_groups.g]
type = "failover"
sinks = []
)",
         "t.toml:29:9: error: sink_group 'g' needs at least one sink (sinks = "
         "[\"a\", ...])");
  }
  WHEN("a group does not say its sinks") {
    only(R"([sink_groups.g]
type = "load_balance"
)",
         "t.toml:27:14: error: sink_group 'g' needs at least one sink (sinks "
         "= [\"a\", ...])");
  }
  WHEN("a member is named twice") {
    only(R"([sink_groups.g]
type = "load_balance"
sinks = ["a", "a"]
)",
         "t.toml:29:10: error: sink_group 'g' names sink 'a' twice");
  }
  WHEN("the type is unknown") {
    only(R"([sink_groups.g]
type = "failure"
sinks = ["a"]
)",
         "t.toml:28:8: error: unknown sink group type 'failure'; known "
         "types: failover, load_balance");
  }
  WHEN("a load_balance group is given priorities") {
    only(R"([sink_groups.g]
type = "load_balance"
sinks = ["a", "b"]
priority = { a = 1, b = 2 }
)",
         "t.toml:30:12: error: 'priority' applies only to failover groups; "
         "sink_group 'g' is load_balance");
  }
  WHEN("a penalty is not a duration") {
    only(R"([sink_groups.g]
type = "failover"
sinks = ["a"]
priority = { a = 1 }
penalty = "soon"
)",
         "t.toml:31:11: error: option 'penalty' of failover sink_group 'g': "
         "expected a number, got 'soon'");
  }
  WHEN("maxpenalty is below the penalty") {
    only(R"([sink_groups.g]
type = "failover"
sinks = ["a"]
priority = { a = 1 }
penalty = "10s"
maxpenalty = "5s"
)",
         "t.toml:32:14: error: maxpenalty of sink_group 'g' is below its "
         "penalty");
  }
  WHEN("an option is misspelt") {
    only(R"([sink_groups.g]
type = "failover"
sinks = ["a"]
priority = { a = 1 }
max_penalty = "5s"
)",
         "t.toml:31:1: error: unknown option 'max_penalty' for failover "
         "sink_group 'g'; did you mean 'maxpenalty'?");
  }
  WHEN("the selector is unknown") {
    only(R"([sink_groups.g]
type = "load_balance"
sinks = ["a"]
selector = "weighted"
)",
         "t.toml:30:12: error: load_balance sink_group 'g': option "
         "'selector' must be one of \"round_robin\", \"random\", got "
         "\"weighted\"");
  }
  WHEN("a group takes a sink's name") {
    only(R"([sink_groups.a]
type = "load_balance"
sinks = ["b"]
)",
         "t.toml:15:8: error: the name 'a' is used by a sink and a sink "
         "group; names must be unique");
  }
}

SCENARIO("validate checks sink groups built in code",
         "[sink_group][topology]") {
  std::vector<diagnostic> problems;
  std::string text{prefix};
  auto spec =
      parse_topology(text, "t.toml", test::builtin_connectors(), problems);
  REQUIRE(spec);
  sink_group_spec g;
  g.name = "g";
  g.type = "failover";
  g.sinks = {"a", "z"};
  g.priorities = {{"a", 1}};
  g.where = {"t.toml", 40, 1};
  spec->sink_groups.push_back(g);
  auto found = validate(*spec, test::builtin_connectors());
  std::vector<std::string> messages;
  for (auto& p : found)
    messages.push_back(p.message);
  CHECK(messages ==
        std::vector<std::string>{
            "sink_group 'g' names an undeclared sink 'z'; did you mean 'a'?"});
  THEN("members on different nodes are refused too") {
    spec->sink_groups[0].sinks = {"a", "b"};
    spec->sink_groups[0].priorities = {{"a", 2}, {"b", 1}};
    spec->sinks[1].node = "east";
    auto again = validate(*spec, test::builtin_connectors());
    // Placement says 'east' is not declared; the group says why it cannot
    // be split.
    auto split = std::find_if(again.begin(), again.end(), [](auto& d) {
      return d.message == "members of sink_group 'g' must run on one node: "
                          "'a' is on the default node, 'b' on 'east'";
    });
    REQUIRE(split != again.end());
    CHECK(split->where.line == 40);
    CHECK(again.size() == 2);
  }
  THEN("the options got their defaults") {
    CHECK(spec->sink_groups[0].opts.get_int("penalty") == 1'000);
    CHECK(spec->sink_groups[0].opts.get_int("maxpenalty") == 30'000);
  }
}
