// End-to-end tests of SQL jobs in topology files: `[jobs.NAME]` placed on a
// node of a real two-node cluster, supervised there, finding a topic of the
// other node without an `address`, and shown by `sluice status`; `sluice
// check` compiling the jobs' scripts.
#include <algorithm>
#include <chrono>
#include <csignal>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <string>

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

/// `store` tails in.csv into topic `orders`; `compute` runs job `totals`,
/// which counts and sums per shop per minute from that topic into out/.
std::string topology(const temp_dir& dir, uint16_t store, uint16_t compute) {
  return fmt::format(R"([nodes.store]
port = {store}

[nodes.compute]
port = {compute}

[cluster]
heartbeat_interval = "100ms"
peer_timeout = "2s"

[topics.orders]
node = "store"
directory = "{dir}/topic"
shards = 2

[sources.tail]
node = "store"
type = "taildir"
channel = "buffer"
filegroups = {{ orders = "{dir}/in.csv" }}
position_file = "{dir}/positions.json"

[channels.buffer]
node = "store"
type = "memory"

[sinks.to_topic]
node = "store"
type = "topic"
channel = "buffer"
topic = "orders"

[jobs.totals]
node = "compute"
script = "{dir}/totals.sql"
)",
                     fmt::arg("store", store), fmt::arg("compute", compute),
                     fmt::arg("dir", dir.path()));
}

/// The job: no `address`, a 1 s timeout so that a node not up yet fails
/// an attempt quickly (the supervisor restarts the job).
std::string script(const temp_dir& dir) {
  return fmt::format(R"(CREATE TABLE orders (
  shop STRING,
  amount BIGINT,
  ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '1' SECOND
) WITH ('connector' = 'topic', 'topic' = 'orders', 'format' = 'csv',
        'properties.group.id' = 'totals', 'timeout' = '1 s');
CREATE TABLE totals (
  shop STRING, window_start TIMESTAMP(3), n BIGINT, total BIGINT
) WITH ('connector' = 'filesystem', 'path' = '{}/out/', 'format' = 'csv');
INSERT INTO totals
SELECT shop, window_start, COUNT(*), SUM(amount)
FROM TABLE(TUMBLE(TABLE orders, DESCRIPTOR(ts), INTERVAL '1' MINUTE))
GROUP BY shop, window_start, window_end;
)",
                     dir.path());
}

/// 300 order lines over minutes 0-4 (amount i, shop i % 3), then one at
/// minute 10 whose watermark closes every earlier window.
std::string orders() {
  std::string text;
  for (int i = 0; i < 300; ++i)
    text += fmt::format("s{},{},2026-12-05 10:{:02}:{:02}.000\n", i % 3, i,
                        i / 60, i % 60);
  return text + "s0,0,2026-12-05 10:10:00.000\n";
}

/// What the job must write for `orders()`, one CSV line per shop and minute.
std::set<std::string> expected_rows() {
  std::map<std::pair<int, int>, std::pair<int, int>> sums; // -> (n, total)
  for (int i = 0; i < 300; ++i) {
    auto& s = sums[{i % 3, i / 60}];
    s.first += 1;
    s.second += i;
  }
  std::set<std::string> rows;
  for (auto& [k, v] : sums)
    rows.insert(fmt::format("s{},2026-12-05 10:{:02}:00.000,{},{}", k.first,
                            k.second, v.first, v.second));
  return rows;
}

std::set<std::string> written_rows(const temp_dir& dir) {
  std::set<std::string> rows;
  for (auto& line : read_lines_in(dir / "out"))
    if (!line.empty())
      rows.insert(line);
  return rows;
}

std::pair<int, std::string> status(std::vector<std::string> args) {
  args.insert(args.begin(), {SLUICE_BINARY, "status"});
  return run_command(args, 30s);
}

/// Job `name` in `sluice status --json`'s answer for one node, or null.
json job_of(const std::string& out, const std::string& name) {
  auto start = out.find('{');
  if (start == std::string::npos)
    return nullptr;
  auto all = json::parse(out.substr(start), nullptr, false);
  if (!all.is_object())
    return nullptr;
  for (auto& j : all["nodes"][0]["jobs"])
    if (j.value("name", "") == name)
      return j;
  return nullptr;
}

bool has_line(const std::string& text, const std::string& pattern) {
  return std::regex_search(
      text,
      std::regex{pattern, std::regex::ECMAScript | std::regex::multiline});
}

} // namespace

SCENARIO("a SQL job of a topology file runs on its node, supervised, and "
         "reads a topic of another node",
         "[jobs][e2e]") {
  temp_dir dir;
  auto store_port = free_port();
  auto compute_port = free_port();
  REQUIRE((store_port && compute_port && store_port != compute_port));
  write_file(dir / "topology.toml", topology(dir, store_port, compute_port));
  write_file(dir / "totals.sql", script(dir));
  write_file(dir / "in.csv", orders());
  auto compute_address = fmt::format("127.0.0.1:{}", compute_port);

  // The compute node first: the store node, which holds the topic, is not
  // up, so each run of the job fails to find it and the supervisor starts
  // it again.
  process compute, store;
  REQUIRE(process::start(
      compute,
      {SLUICE_BINARY, "node", dir / "topology.toml", "--node", "compute"},
      dir / "compute.log"));
  json job;
  std::string last;
  bool restarted = wait_for([&] {
    auto [code, out] =
        status({"--node", compute_address, "--json", "--timeout", "5s"});
    last = out;
    job = job_of(out, "totals");
    return code == 0 && job.is_object() && job["restarts"].get<uint64_t>() >= 1;
  });
  INFO("compute:\n" << read_file(dir / "compute.log"));
  INFO("last status answer: " << last);
  REQUIRE(restarted);
  CHECK(written_rows(dir).empty());

  REQUIRE(process::start(
      store, {SLUICE_BINARY, "node", dir / "topology.toml", "--node", "store"},
      dir / "store.log"));
  auto expected = expected_rows();
  bool landed = wait_for([&] { return written_rows(dir) == expected; }, 90s);
  INFO("store:\n" << read_file(dir / "store.log"));
  INFO("rows written: " << written_rows(dir).size() << " of "
                        << expected.size());
  REQUIRE(landed);

  THEN("sluice status shows the job running with its stages") {
    auto [code, out] = status({"--node", compute_address});
    INFO(out);
    CHECK(code == 0);
    CHECK(has_line(out, "^  job totals: running, restarts [1-9][0-9]*$"));
    CHECK(has_line(out, "^    scan orders +[12] +[0-9]+ +301 "));
    auto [jcode, jout] = status({"--node", compute_address, "--json"});
    auto j = job_of(jout, "totals");
    REQUIRE(j.is_object());
    CHECK(j["state"] == "running");
    auto& stages = j["stages"];
    auto scan = std::find_if(stages.begin(), stages.end(), [](auto& s) {
      return s.value("name", "") == "scan orders";
    });
    REQUIRE(scan != stages.end());
    CHECK((*scan)["rows_out"].template get<uint64_t>() == 301);
    CHECK(stages.size() >= 2);
  }
  THEN("the store node's status does not show the job") {
    auto [code, out] =
        status({"--node", fmt::format("127.0.0.1:{}", store_port)});
    INFO(out);
    CHECK(code == 0);
    CHECK_FALSE(has_line(out, "job totals"));
    CHECK(has_line(out, "^  to_topic +sink +running "));
  }
  compute.signal(SIGTERM);
  store.signal(SIGTERM);
  CHECK(compute.wait(60s) == 0);
  CHECK(store.wait(60s) == 0);
}

SCENARIO("sluice check compiles the scripts of a topology's jobs",
         "[jobs][e2e]") {
  temp_dir dir;
  auto check = [&](const std::string& toml) {
    write_file(dir / "t.toml", toml);
    return run_command({SLUICE_BINARY, "check", dir / "t.toml"}, 30s);
  };
  WHEN("the script is sound") {
    write_file(dir / "ok.sql", R"(CREATE TABLE src (a BIGINT)
  WITH ('connector' = 'filesystem', 'path' = 'in.csv', 'format' = 'csv');
CREATE TABLE dst (a BIGINT) WITH ('connector' = 'blackhole');
INSERT INTO dst SELECT a FROM src;
INSERT INTO dst SELECT a + 1 FROM src;
)");
    auto [code, out] =
        check(fmt::format("[jobs.two]\nscript = \"{}\"\n", dir / "ok.sql"));
    INFO(out);
    CHECK(code == 0);
    CHECK_THAT(out, Catch::Contains(": ok (0 source(s), 0 channel(s), 0 "
                                    "sink(s), 2 job(s))"));
  }
  WHEN("it is the example of examples/topologies, checked from the "
       "repository's root") {
    auto [code, out] = run_command(
        {"/bin/sh", "-c",
         fmt::format("cd '{}' && DB_URL=jdbc:mysql://127.0.0.1:3306/shop "
                     "DB_PASSWORD=secret '{}' check "
                     "examples/topologies/orders-compute.toml",
                     SLUICE_SOURCE_DIR, SLUICE_BINARY)},
        30s);
    INFO(out);
    CHECK(code == 0);
    CHECK_THAT(out, Catch::Contains("1 topic(s), 1 job(s), 2 node(s))"));
  }
  WHEN("the script has a mistake") {
    write_file(dir / "bad.sql",
               "CREATE TABLE src (a BIGINT)\n"
               "  WITH ('connector' = 'filesystem', 'path' = 'x.csv', "
               "'format' = 'csv');\n"
               "INSERT INTO nowhere SELECT a FROM src;\n");
    auto [code, out] =
        check(fmt::format("[jobs.bad]\nscript = \"{}\"\n", dir / "bad.sql"));
    INFO(out);
    CHECK(code == 2);
    CHECK_THAT(out, Catch::Contains(dir / "bad.sql" + ":3:13: error: "));
    CHECK_THAT(out, Catch::Contains("nowhere"));
  }
  WHEN("the script cannot be read") {
    auto [code, out] =
        check(fmt::format("[jobs.gone]\nscript = \"{}\"\n", dir / "no.sql"));
    INFO(out);
    CHECK(code == 2);
    CHECK_THAT(out, Catch::Contains(dir / "t.toml" +
                                    ":2:10: error: job 'gone': script '" +
                                    dir / "no.sql" +
                                    "': cannot read the SQL script: No "
                                    "such file or directory"));
  }
  WHEN("a topic table without address names a topic the topology does not "
       "declare") {
    write_file(dir / "topic.sql",
               "CREATE TABLE src (line STRING) WITH ('connector' = 'topic', "
               "'topic' = 'ordres', 'format' = 'raw', "
               "'properties.group.id' = 'g');\n"
               "CREATE TABLE dst (line STRING) WITH ('connector' = "
               "'blackhole');\n"
               "INSERT INTO dst SELECT line FROM src;\n");
    auto [code, out] =
        check(fmt::format("[topics.orders]\ndirectory = "
                          "\"{}\"\n\n[jobs.t]\nscript = \"{}\"\n",
                          dir / "orders", dir / "topic.sql"));
    INFO(out);
    CHECK(code == 2);
    CHECK_THAT(out, Catch::Contains(
                        dir / "t.toml" +
                        ":5:10: error: job 't': table 'src' names topic "
                        "'ordres' without 'address', and the topology declares "
                        "no such topic (its topics: orders)"));
  }
  WHEN("the script has no INSERT INTO") {
    write_file(dir / "none.sql",
               "CREATE TABLE src (a BIGINT)\n"
               "  WITH ('connector' = 'filesystem', 'path' = 'x.csv', "
               "'format' = 'csv');\n");
    auto [code, out] =
        check(fmt::format("[jobs.none]\nscript = \"{}\"\n", dir / "none.sql"));
    INFO(out);
    CHECK(code == 2);
    CHECK_THAT(out,
               Catch::Contains("job 'none': the script '" + dir / "none.sql" +
                               "' has no INSERT INTO, so nothing to run"));
  }
}
