#include <string>

#include <catch2/catch.hpp>

#include "config/topology.hpp"
#include "tests/support/topology_parse.hpp"

using namespace sluice;
using sluice::test::has;
using sluice::test::parse_errors;
using sluice::test::parse_ok;

SCENARIO("a job of a topology file names its script, node, parallelism and "
         "settings",
         "[topology][jobs]") {
  auto spec = parse_ok(R"([nodes.store]
port = 7501

[nodes.compute]
port = 7502

[topics.orders]
node = "store"
directory = "/tmp/t/orders"

[jobs.shop_totals]
node = "compute"
script = "shop_totals.sql"
parallelism = 2
set = { "table.exec.state.ttl" = "1 h", "pipeline.max-rows" = 100, "x.on" = true }
)");
  REQUIRE(spec.jobs.size() == 1);
  auto& j = spec.jobs[0];
  CHECK(j.name == "shop_totals");
  CHECK(j.node == "compute");
  CHECK(j.script == "shop_totals.sql");
  CHECK(j.parallelism == 2);
  CHECK(j.settings.at("table.exec.state.ttl") == "1 h");
  CHECK(j.settings.at("pipeline.max-rows") == "100");
  CHECK(j.settings.at("x.on") == "true");
  CHECK(j.where.line == 11);
  CHECK(j.script_where.line == 13);
  CHECK(j.script_where.column == 10);
}

SCENARIO("a topology may hold nothing but a job", "[topology][jobs]") {
  auto spec = parse_ok("[jobs.only]\nscript = \"only.sql\"\n");
  REQUIRE(spec.jobs.size() == 1);
  CHECK(spec.jobs[0].node.empty());
  CHECK(spec.jobs[0].parallelism == 0);
}

SCENARIO("mistakes in a job are reported at their position",
         "[topology][jobs]") {
  WHEN("the script is missing, an option unknown and settings not a table") {
    auto errors = parse_errors(R"([jobs.a]
parallism = 2
set = "x=1"
)");
    CHECK(has(errors, "t.toml:1:1: error: job 'a' needs option 'script'"));
    CHECK(has(errors, "t.toml:2:1: error: unknown option 'parallism' for job "
                      "'a'; did you mean 'parallelism'?"));
    CHECK(has(errors, "t.toml:3:7: error: 'set' of job 'a' must be a table "
                      "of settings"));
    CHECK(errors.size() == 3);
  }
  WHEN("parallelism is out of range and a setting is an array") {
    auto errors = parse_errors(R"([jobs.a]
script = "a.sql"
parallelism = 0
set = { "k" = [1, 2] }
)");
    CHECK(has(errors, "t.toml:3:15: error: job 'a': option 'parallelism'"));
    CHECK(has(errors, "t.toml:4:15: error: setting 'k' of job 'a' must be a "
                      "string, an integer or a boolean, got an array"));
    CHECK(errors.size() == 2);
  }
  WHEN("the script is written empty") {
    auto errors = parse_errors("[jobs.a]\nscript = \"\"\n");
    CHECK(has(errors, "job 'a' needs 'script', the SQL script it runs"));
  }
  WHEN("a job names a node the topology does not declare") {
    auto errors = parse_errors(R"([nodes.store]
port = 7501

[jobs.a]
node = "stroe"
script = "a.sql"
)");
    CHECK(has(errors, "t.toml:5:8: error: job 'a' names an undeclared node "
                      "'stroe'; did you mean 'store'?; declared nodes: "
                      "store"));
  }
  WHEN("a topology with nodes has a job without one") {
    auto errors = parse_errors(R"([nodes.store]
port = 7501

[jobs.a]
script = "a.sql"
)");
    CHECK(has(errors, "t.toml:4:7: error: job 'a' must name the node it runs "
                      "on"));
  }
  WHEN("a job names a node in a topology without nodes") {
    auto errors = parse_errors("[jobs.a]\nnode = \"x\"\nscript = \"a.sql\"\n");
    CHECK(has(errors, "job 'a' names node 'x', but the topology declares no "
                      "nodes"));
  }
  WHEN("a job's name has a character names may not use") {
    auto errors = parse_errors("[jobs.\"a b\"]\nscript = \"a.sql\"\n");
    CHECK(has(errors, "job name 'a b' may use only letters, digits"));
  }
}

SCENARIO("validate checks a job built in code", "[topology][jobs]") {
  topology_spec spec;
  sql_job_spec j;
  j.name = "a";
  spec.jobs.push_back(j);
  auto problems = validate(spec, test::builtin_connectors());
  std::vector<std::string> texts;
  for (auto& p : problems)
    texts.push_back(to_string(p));
  CHECK(has(texts, "job 'a' needs 'script', the SQL script it runs"));
}
