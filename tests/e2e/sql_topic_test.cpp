// End-to-end tests of the `topic` table connector: SQL jobs (run in this
// process) read and write the topic of a real `sluice node` process.
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <string>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "engine/jobs.hpp"
#include "runtime/errors.hpp"
#include "runtime/shard_log.hpp"
#include "tests/support/ports.hpp"
#include "tests/support/process.hpp"
#include "tests/support/sql_jobs.hpp"
#include "tests/support/wait.hpp"

using namespace sluice;
using namespace sluice::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

/// A node holding topic `orders` of `shards` shards, whose records the
/// test appended to its directory before it started.
struct topic_node {
  temp_dir tmp;
  std::string dir = tmp / "topics/orders";
  std::string address;
  process node;

  /// Creates the topic directory.
  explicit topic_node(int shards) {
    auto [code, out] =
        run_command({SLUICE_BINARY, "topic", "create", "orders", "--shards",
                     std::to_string(shards), "--dir", dir},
                    60s);
    INFO(out);
    REQUIRE(code == 0);
  }

  /// Appends one record batch of `lines` to shard `shard` (offline).
  void append(uint32_t shard, const std::vector<std::string>& lines,
              uint64_t seq) {
    shard_log_config cfg;
    cfg.directory = fs::path{dir} / fmt::format("shard-{:04}", shard);
    cfg.min_free_space = 0;
    auto log = shard_log::open(cfg);
    REQUIRE(log);
    event_batch batch;
    for (auto& l : lines)
      batch.append(l);
    REQUIRE((*log)->append(batch, "relay", seq, 1'700'000'000'000));
    REQUIRE(!(*log)->sync());
    (*log)->close();
  }

  /// Starts the node and waits until it answers for the topic.
  void start(int shards) {
    auto port = free_port();
    REQUIRE(port);
    address = fmt::format("127.0.0.1:{}", port);
    std::ofstream{tmp / "topology.toml"} << fmt::format(
        "[nodes.store]\nport = {}\n\n[topics.orders]\nnode = \"store\"\n"
        "directory = \"{}\"\nshards = {}\nfsync = \"batch\"\n",
        port, dir, shards);
    REQUIRE(process::start(
        node, {SLUICE_BINARY, "node", tmp / "topology.toml", "--node", "store"},
        tmp / "node.log"));
    bool up = wait_for([&] {
      return run_command({SLUICE_BINARY, "topic", "describe", "orders",
                          "--node", address, "--timeout", "2s"},
                         30s)
                 .first == 0;
    });
    INFO(read_file(tmp / "node.log"));
    REQUIRE(up);
  }

  ~topic_node() {
    if (node.running()) {
      node.signal(SIGTERM);
      node.wait(30s);
    }
  }
};

/// Runs `script` to its end (every job bounded) with `env`.
caf::error run_script(const std::string& script,
                      std::map<std::string, std::string> env,
                      uint32_t parallelism = 1) {
  auto jobs = compile_jobs(script, std::move(env), parallelism);
  auto runner = job_runner::make(std::move(jobs), table_registry::builtin(),
                                 expr::function_registry::builtin(), {2, 0});
  REQUIRE(runner);
  if (auto err = (*runner)->start())
    return err;
  return (*runner)->wait();
}

/// Count and sum per shop per minute, from the topic into a directory.
constexpr const char* per_minute_sql = R"(
CREATE TABLE orders (
  shop_id STRING,
  amount BIGINT,
  ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '1' SECOND
) WITH ('connector' = 'topic', 'topic' = 'orders',
        'address' = '${env:ADDR}', 'format' = 'csv',
        'properties.group.id' = 'per_minute',
        'scan.startup.mode' = '${env:MODE}',
        'scan.bounded.mode' = 'latest-offset',
        'dead-letter.path' = '${env:DEAD}');
CREATE TABLE per_minute (
  shop_id STRING, window_start TIMESTAMP(3), n BIGINT, total BIGINT
) WITH ('connector' = 'filesystem', 'path' = '${env:OUT}', 'format' = 'csv');
INSERT INTO per_minute
SELECT shop_id, window_start, COUNT(*), SUM(amount)
FROM TABLE(TUMBLE(TABLE orders, DESCRIPTOR(ts), INTERVAL '1' MINUTE))
GROUP BY shop_id, window_start, window_end;
)";

std::map<std::string, std::string>
env_of(const topic_node& n, const std::string& out, const std::string& mode) {
  return {{"ADDR", n.address},
          {"MODE", mode},
          {"DEAD", n.tmp / "orders.dead-letter"},
          {"OUT", out + "/"}};
}

} // namespace

SCENARIO("a SQL job reads the csv records of a topic through its node",
         "[e2e][topic][sql][table_topic]") {
  GIVEN("a node with a 2-shard topic of order lines, one of them malformed") {
    topic_node n{2};
    n.append(0,
             {"a,10,2024-05-01 10:00:05", "b,1,2024-05-01 10:00:10",
              "a,5,2024-05-01 10:00:50"},
             1);
    n.append(0, {"a,7,2024-05-01 10:01:02"}, 2);
    n.append(1,
             {"b,2,2024-05-01 10:00:20", "oops,x,2024-05-01 10:00:21",
              "b,3,2024-05-01 10:01:30\n"},
             1);
    n.start(2);
    const std::vector<std::string> expected = {
        "a,2024-05-01 10:00:00.000,2,15", "a,2024-05-01 10:01:00.000,1,7",
        "b,2024-05-01 10:00:00.000,2,3", "b,2024-05-01 10:01:00.000,1,3"};

    WHEN("a bounded job counts and sums per shop and minute") {
      auto out = n.tmp / "out";
      auto err = run_script(per_minute_sql, env_of(n, out, "earliest-offset"));
      THEN("it ends with every window exact and the bad row in the dead "
           "letters with its shard and offset") {
        INFO(describe(err));
        REQUIRE(!err);
        CHECK(sorted_lines_in(out) == expected);
        auto dead = read_file(n.tmp / "orders.dead-letter");
        CHECK_THAT(dead, Catch::Contains("shard 1:1: ") &&
                             Catch::Contains("oops,x,"));
      }
    }
    WHEN("two instances read a shard each") {
      auto out = n.tmp / "out2";
      auto err =
          run_script(per_minute_sql, env_of(n, out, "earliest-offset"), 2);
      THEN("the result is the same") {
        INFO(describe(err));
        REQUIRE(!err);
        CHECK(sorted_lines_in(out) == expected);
      }
    }
    WHEN("a job reads with its group's offsets, then again") {
      auto first = n.tmp / "first";
      auto second = n.tmp / "second";
      auto err = run_script(per_minute_sql, env_of(n, first, "group-offsets"));
      INFO(describe(err));
      REQUIRE(!err);
      auto again =
          run_script(per_minute_sql, env_of(n, second, "group-offsets"));
      INFO(describe(again));
      REQUIRE(!again);
      THEN("the first run read everything, the second nothing old") {
        CHECK(sorted_lines_in(first) == expected);
        CHECK(sorted_lines_in(second).empty());
        auto [code, offsets] =
            run_command({SLUICE_BINARY, "topic", "offsets", "orders", "--node",
                         n.address, "--group", "per_minute"},
                        30s);
        INFO(offsets);
        CHECK(code == 0);
      }
    }
  }
}

SCENARIO("the topic table sink appends rows that the source reads back",
         "[e2e][topic][sql][table_topic]") {
  topic_node n{2};
  n.start(2);
  auto in = n.tmp / "in.csv";
  write_file(in, "a,10,2024-05-01 10:00:05\n"
                 "b,1,2024-05-01 10:00:10\n"
                 "a,5,2024-05-01 10:00:50\n"
                 "c,4,2024-05-01 10:01:10\n");
  auto write_sql = R"(
CREATE TABLE input (shop_id STRING, amount BIGINT, ts TIMESTAMP(3))
  WITH ('connector' = 'filesystem', 'path' = '${env:IN}', 'format' = 'csv');
CREATE TABLE orders (shop_id STRING, amount BIGINT, ts TIMESTAMP(3))
  WITH ('connector' = 'topic', 'topic' = 'orders', 'address' = '${env:ADDR}',
        'format' = 'csv', 'key.fields' = 'shop_id');
INSERT INTO orders SELECT * FROM input;
)";
  auto err = run_script(write_sql, {{"IN", in}, {"ADDR", n.address}});
  INFO(describe(err));
  REQUIRE(!err);
  WHEN("a bounded job reads the topic") {
    auto out = n.tmp / "out";
    auto read_err = run_script(per_minute_sql, env_of(n, out, "group-offsets"));
    INFO(describe(read_err));
    REQUIRE(!read_err);
    THEN("every row came back, each shop in the shard of its key") {
      CHECK(sorted_lines_in(out) ==
            std::vector<std::string>{"a,2024-05-01 10:00:00.000,2,15",
                                     "b,2024-05-01 10:00:00.000,1,1",
                                     "c,2024-05-01 10:01:00.000,1,4"});
      CHECK(!fs::exists(n.tmp / "orders.dead-letter"));
      auto [code, tail] =
          run_command({SLUICE_BINARY, "topic", "tail", "orders", "--node",
                       n.address, "--from", "earliest", "--count", "4"},
                      30s);
      INFO(tail);
      CHECK(code == 0);
      CHECK_THAT(tail, Catch::Contains("a,10,2024-05-01 10:00:05"));
    }
  }
}
