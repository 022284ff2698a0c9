// End-to-end tests of Flume configuration files: `sluice check --agent`
// accepts a valid one and lists every error of a bad one with its
// position; `sluice run --agent` runs an agent.
#include <atomic>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <thread>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "tests/support/process.hpp"

using namespace sluice::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

/// TAILDIR -> file channel -> file_roll, with paths under `dir`.
std::string durable_agent(const temp_dir& dir) {
  return fmt::format(R"(# a relay's archive
a1.sources = r1
a1.channels = c1
a1.sinks = k1
a1.sources.r1.type = TAILDIR
a1.sources.r1.filegroups = app
a1.sources.r1.filegroups.app = {dir}/logs/.*\\.log
a1.sources.r1.positionFile = {dir}/state/positions.json
a1.sources.r1.channels = c1
a1.channels.c1.type = file
a1.channels.c1.checkpointDir = {dir}/state/checkpoint
a1.channels.c1.dataDirs = {dir}/state/channel
a1.channels.c1.minimumRequiredSpace = 0
a1.sinks.k1.type = file_roll
a1.sinks.k1.sink.directory = {dir}/out
a1.sinks.k1.channel = c1
)",
                     fmt::arg("dir", dir.path()));
}

bool wait_for_output(const temp_dir& dir, size_t n,
                     std::chrono::seconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (read_lines_in(dir / "out").size() >= n)
      return true;
    std::this_thread::sleep_for(20ms);
  }
  return false;
}

} // namespace

SCENARIO("sluice check --agent reads a Flume configuration", "[e2e][flume]") {
  temp_dir dir;
  GIVEN("the seed's three agents in examples/flume") {
    for (auto [file, agent] : {std::pair{"agent1.properties", "a1"},
                               {"agentA.properties", "agentA"},
                               {"agentB.properties", "agentB"}}) {
      auto path = std::string{SLUICE_SOURCE_DIR} + "/examples/flume/" + file;
      auto [code, out] =
          run_command({SLUICE_BINARY, "check", "--agent", agent, path}, 30s);
      INFO(out);
      CHECK(code == 0);
      CHECK_THAT(out, Catch::Contains(path + ": ok ("));
    }
  }
  GIVEN("the seed's DataHub relays: their credentials named, not shown") {
    for (std::string agent : {"agentA", "agentB"}) {
      auto path = std::string{SLUICE_SOURCE_DIR} + "/examples/flume/" + agent +
                  "_datahub.properties";
      auto [code, out] =
          run_command({SLUICE_BINARY, "check", "--agent", agent, path}, 30s);
      INFO(out);
      CHECK(code == 0);
      CHECK_THAT(out, Catch::Contains(path + ": ok ("));
      CHECK_THAT(out, Catch::Contains(agent + ": unused Flume properties: " +
                                      agent + ".sinks.k1.datahub.accessID, " +
                                      agent + ".sinks.k1.datahub.accessKey, " +
                                      agent + ".sinks.k1.datahub.project\n"));
      CHECK(out.find("YOUR_ACCESS_KEY") == std::string::npos);
      CHECK(out.find("YOUR_ACCESS_ID") == std::string::npos);
    }
  }
  GIVEN("a valid file: ok, with a note for what has no effect") {
    auto path = dir / "archive.properties";
    std::ofstream{path} << durable_agent(dir);
    auto [code, out] =
        run_command({SLUICE_BINARY, "check", "--agent", "a1", path}, 30s);
    INFO(out);
    CHECK(code == 0);
    CHECK_THAT(out, Catch::Contains(path + ":11:1: note: "
                                           "a1.channels.c1.checkpointDir is "
                                           "ignored"));
    CHECK_THAT(out, Catch::Contains(
                        path + ": ok (1 source(s), 1 channel(s), 1 sink(s))"));
  }
  GIVEN("a bad file: every error with file:line:column, exit code 2") {
    auto path = dir / "bad.conf";
    std::ofstream{path} << "a1.sources = r1\n"
                           "a1.channels = c1\n"
                           "a1.sinks = k1\n"
                           "a1.sources.r1.type = exec\n"
                           "a1.sources.r1.comand = tail -F app.log\n"
                           "a1.sources.r1.channels = c1\n"
                           "a1.channels.c1.type = memory\n"
                           "a1.sinks.k1.type = com.aliyun.datahub.flume.sink."
                           "DatahubSink\n"
                           "a1.sinks.k1.channel = c1\n";
    for (std::string cmd : {"check", "run"}) {
      auto [code, out] =
          run_command({SLUICE_BINARY, cmd, "--agent", "a1", path}, 30s);
      INFO("sluice " << cmd << ":\n" << out);
      CHECK(code == 2);
      CHECK_THAT(out, Catch::Contains(path + ":1:14: error: exec source 'r1' "
                                             "needs a1.sources.r1.command"));
      CHECK_THAT(out,
                 Catch::Contains(path + ":5:1: error: unknown or unsupported "
                                        "property 'a1.sources.r1.comand' for "
                                        "exec source 'r1'; did you mean "
                                        "'command'?"));
      CHECK_THAT(out,
                 Catch::Contains(path + ":3:12: error: DatahubSink 'k1' "
                                        "needs a1.sinks.k1.datahub.topic"));
    }
  }
  GIVEN("a Flume file without --agent, and an agent not in the file") {
    auto path = dir / "agent.properties";
    std::ofstream{path} << durable_agent(dir);
    auto [code, out] = run_command({SLUICE_BINARY, "check", path}, 30s);
    INFO(out);
    CHECK(code == 2);
    CHECK_THAT(out, Catch::Contains("a Flume configuration needs --agent "
                                    "NAME"));
    auto [code2, out2] =
        run_command({SLUICE_BINARY, "check", "--agent", "a2", path}, 30s);
    INFO(out2);
    CHECK(code2 == 2);
    CHECK_THAT(out2, Catch::Contains(path + ":2:1: error: agent 'a2' is not "
                                            "in this file"));
  }
}

SCENARIO("sluice run --agent runs a Flume agent", "[e2e][flume]") {
  temp_dir dir;
  fs::create_directories(dir / "logs");
  auto path = dir / "archive.properties";
  std::ofstream{path} << durable_agent(dir);
  {
    std::ofstream app{dir / "logs/app.log"};
    for (int i = 0; i < 50; ++i)
      app << "line " << i << '\n';
  }
  process p;
  REQUIRE(process::start(p, {SLUICE_BINARY, "run", "--agent", "a1", path},
                         dir / "sluice.log"));
  THEN("the tailed lines reach the file_roll directory") {
    bool arrived = wait_for_output(dir, 50, 20s);
    INFO(read_file(dir / "sluice.log"));
    REQUIRE(arrived);
    p.signal(SIGTERM);
    CHECK(p.wait(20s) == 0);
    auto lines = read_lines_in(dir / "out");
    REQUIRE(lines.size() == 50);
    CHECK(lines.front() == "line 0");
    CHECK(lines.back() == "line 49");
  }
}
