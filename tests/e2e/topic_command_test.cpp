// End-to-end tests of `sluice topic`: the real binary on a topic directory
// the test fills through shard_log, and against a running `sluice node`.
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <thread>

#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "runtime/shard_log.hpp"
#include "tests/support/ports.hpp"
#include "tests/support/process.hpp"
#include "tests/support/wait.hpp"

using namespace sluice;
using namespace sluice::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

/// Runs `sluice topic ARGS...`; returns its exit code and output.
std::pair<int, std::string> topic(std::vector<std::string> args) {
  args.insert(args.begin(), {SLUICE_BINARY, "topic"});
  return run_command(args, 60s);
}

/// The JSON object the command printed, or null.
json parse(const std::string& out) {
  auto start = out.find('{');
  if (start == std::string::npos)
    return nullptr;
  return json::parse(out.substr(start), nullptr, false);
}

bool has_line(const std::string& text, const std::string& pattern) {
  return std::regex_search(
      text,
      std::regex{pattern, std::regex::ECMAScript | std::regex::multiline});
}

std::unique_ptr<shard_log> open_shard(const fs::path& dir) {
  shard_log_config cfg;
  cfg.directory = dir;
  cfg.min_free_space = 0;
  auto log = shard_log::open(cfg);
  REQUIRE(log);
  return std::move(*log);
}

/// Appends `batches` batches of `per_batch` events "s<shard>-<n>" (header
/// n=<n>) to a shard of the topic in `dir`.
void append_records(const fs::path& dir, uint32_t shard, int batches,
                    int per_batch) {
  auto log = open_shard(dir / fmt::format("shard-{:04}", shard));
  int n = 0;
  for (int b = 0; b < batches; ++b) {
    event_batch batch;
    for (int i = 0; i < per_batch; ++i, ++n) {
      batch.append(fmt::format("s{}-{}", shard, n));
      batch.add_header("n", std::to_string(n));
    }
    auto r = log->append(batch, "test", static_cast<uint64_t>(b + 1),
                         1'700'000'000'000 + b);
    REQUIRE(r);
  }
  REQUIRE(!log->sync());
  log->close();
}

} // namespace

SCENARIO("sluice topic works on a topic's directory offline",
         "[e2e][topic_cmd]") {
  temp_dir tmp;
  auto dir = tmp / "orders";
  auto [code, out] = topic({"create", "orders", "--shards", "2", "--dir", dir});
  INFO(out);
  REQUIRE(code == 0);
  CHECK_THAT(out, Catch::Contains("created topic orders with 2 shard(s)"));
  REQUIRE(fs::exists(fs::path{dir} / "topic.meta"));

  WHEN("the topic is created again") {
    auto [same, same_out] =
        topic({"create", "orders", "--shards", "2", "--dir", dir});
    auto [other, other_out] =
        topic({"create", "orders", "--shards", "3", "--dir", dir});
    THEN("the same count is a no-op saying so; another count fails naming "
         "both") {
      CHECK(same == 0);
      CHECK_THAT(same_out, Catch::Contains("already exists") &&
                               Catch::Contains("nothing to do"));
      CHECK(other == 1);
      CHECK_THAT(other_out, Catch::Contains("has 2 shard(s), not 3"));
    }
  }

  WHEN("it is described before any record") {
    auto [dcode, dout] = topic({"describe", "orders", "--dir", dir});
    INFO(dout);
    THEN("both shards show empty offsets and no groups") {
      CHECK(dcode == 0);
      CHECK(has_line(dout, "^topic orders \\(directory .*\\): 2 shard\\(s\\), "
                           "partition hash, created 20"));
      CHECK(has_line(dout, "^  0 +0 +0 +0 +"));
      CHECK(has_line(dout, "^  1 +0 +0 +0 +"));
      CHECK(has_line(dout, "^  groups: none$"));
    }
  }

  GIVEN("records appended through the shard log") {
    append_records(dir, 0, 4, 5); // offsets 0..19
    append_records(dir, 1, 1, 3); // offsets 0..2

    THEN("describe shows each shard's end, segments and bytes") {
      auto [dcode, dout] =
          topic({"describe", "orders", "--dir", dir, "--json"});
      INFO(dout);
      CHECK(dcode == 0);
      auto j = parse(dout);
      REQUIRE(j.is_object());
      CHECK(j["shards"] == 2);
      CHECK(j["shard_offsets"][0]["end"] == 20);
      CHECK(j["shard_offsets"][1]["end"] == 3);
      CHECK(j["shard_offsets"][0]["segments"].get<uint64_t>() >= 1);
      CHECK(j["shard_offsets"][0]["disk_bytes"].get<int64_t>() > 0);
    }

    THEN("tail prints the records in order, up to --count") {
      auto [tcode, tout] = topic(
          {"tail", "orders", "--dir", dir, "--shard", "0", "--count", "7"});
      CHECK(tcode == 0);
      std::string expected;
      for (int i = 0; i < 7; ++i)
        expected += fmt::format("s0-{}\n", i);
      CHECK(tout == expected);
      auto [all, all_out] = topic({"tail", "orders", "--dir", dir});
      CHECK(all == 0);
      expected.clear();
      for (int i = 0; i < 20; ++i)
        expected += fmt::format("s0-{}\n", i);
      for (int i = 0; i < 3; ++i)
        expected += fmt::format("s1-{}\n", i);
      CHECK(all_out == expected);
    }

    THEN("tail starts where --from says, and --headers names each record") {
      auto [tcode, tout] =
          topic({"tail", "orders", "--dir", dir, "--shard", "0", "--from",
                 "offset:12", "--count", "2", "--headers"});
      CHECK(tcode == 0);
      CHECK(tout == "0\t12\t1700000000002\tn=12\ts0-12\n"
                    "0\t13\t1700000000002\tn=13\ts0-13\n");
      auto [lcode, lout] =
          topic({"tail", "orders", "--dir", dir, "--from", "latest"});
      CHECK(lcode == 0);
      CHECK(lout.empty());
      auto [bad, bad_out] =
          topic({"tail", "orders", "--dir", dir, "--from", "yesterday"});
      CHECK(bad == 2);
      CHECK_THAT(bad_out, Catch::Contains("--from"));
      auto [past, past_out] =
          topic({"tail", "orders", "--dir", dir, "--from", "offset:99"});
      CHECK(past == 1);
      CHECK_THAT(past_out, Catch::Contains("past shard 0's end 20"));
    }

    THEN("offsets commit, survive and show the lag") {
      auto [ccode, cout_] =
          topic({"offsets", "orders", "--dir", dir, "--group", "sql",
                 "--commit", "0=15", "--commit", "1=1"});
      INFO(cout_);
      CHECK(ccode == 0);
      CHECK_THAT(cout_, Catch::Contains("shard 0 committed at 15"));
      auto [scode, sout] = topic(
          {"offsets", "orders", "--dir", dir, "--group", "sql", "--json"});
      INFO(sout);
      CHECK(scode == 0);
      auto j = parse(sout);
      REQUIRE(j.is_object());
      CHECK(j["shards"][0]["committed"] == 15);
      CHECK(j["shards"][0]["lag"] == 5);
      CHECK(j["shards"][1]["committed"] == 1);
      CHECK(j["shards"][1]["lag"] == 2);
      auto [dcode, dout] = topic({"describe", "orders", "--dir", dir});
      CHECK(has_line(dout, "^    sql +0 +15 +5$"));
      auto [rcode, rout] = topic({"offsets", "orders", "--dir", dir, "--group",
                                  "sql", "--reset", "latest"});
      CHECK(rcode == 0);
      CHECK(has_line(rout, "^  0 +20 +0 +20 +0$"));
      auto [tcode, tout] = topic({"tail", "orders", "--dir", dir, "--from",
                                  "committed", "--group", "sql"});
      CHECK(tcode == 0);
      CHECK(tout.empty());
      auto [xcode, xout] = topic({"offsets", "orders", "--dir", dir, "--group",
                                  "sql", "--commit", "0=21"});
      CHECK(xcode == 1);
      CHECK_THAT(xout, Catch::Contains("past shard 0's end 20"));
    }

    THEN("list finds the topic under its parent directory") {
      auto [lcode, lout] = topic({"list", "--dir", tmp.path(), "--json"});
      CHECK(lcode == 0);
      auto j = parse(lout);
      REQUIRE(j.is_object());
      REQUIRE(j["topics"].size() == 1);
      CHECK(j["topics"][0]["name"] == "orders");
      CHECK(j["topics"][0]["shards"] == 2);
    }
  }

  GIVEN("a shard whose lock another process holds") {
    auto holder = open_shard(fs::path{dir} / "shard-0001");
    THEN("describe, tail and offsets refuse and say to use --node") {
      for (auto args : std::vector<std::vector<std::string>>{
               {"describe", "orders", "--dir", dir},
               {"tail", "orders", "--dir", dir},
               {"offsets", "orders", "--dir", dir, "--group", "g"}}) {
        auto [rcode, rout] = topic(args);
        INFO(rout);
        CHECK(rcode == 1);
        CHECK_THAT(rout, Catch::Contains("in use by a running sluice node") &&
                             Catch::Contains("--node"));
      }
    }
    holder->close();
  }

  WHEN("it is asked for what does not exist or is malformed") {
    auto [u, uout] = topic({"describe", "nope", "--dir", tmp / "nope"});
    CHECK(u == 1);
    CHECK_THAT(uout, Catch::Contains("no topic nope"));
    auto [w, wout] = topic({"describe", "other", "--dir", dir});
    CHECK(w == 1);
    CHECK_THAT(wout, Catch::Contains("holds topic orders, not other"));
    auto [n, nout] = topic({"describe", "orders"});
    CHECK(n == 2);
    auto [h, hout] = topic({"tail", "--help"});
    CHECK(h == 0);
    CHECK_THAT(hout, Catch::Contains("--from") && Catch::Contains("--follow"));
    auto [un, unout] =
        topic({"describe", "orders", "--node",
               fmt::format("127.0.0.1:{}", free_port()), "--timeout", "2s"});
    CHECK(un == 1);
    CHECK_THAT(unout, Catch::Contains("unreachable"));
  }
}

SCENARIO("sluice topic asks a running node for its topic", "[e2e][topic_cmd]") {
  temp_dir tmp;
  auto port = free_port();
  REQUIRE(port);
  auto dir = tmp / "topics/orders";
  {
    std::ofstream{tmp / "topology.toml"}
        << fmt::format(R"([nodes.store]
port = {port}

[topics.orders]
node = "store"
directory = "{dir}"
shards = 2
fsync = "batch"
retention_time = "1h"
)",
                       fmt::arg("port", port), fmt::arg("dir", dir));
  }
  // Records written before the node starts; the node opens them.
  REQUIRE(topic({"create", "orders", "--shards", "2", "--dir", dir}).first ==
          0);
  append_records(dir, 0, 2, 5);
  process node;
  REQUIRE(process::start(
      node, {SLUICE_BINARY, "node", tmp / "topology.toml", "--node", "store"},
      tmp / "node.log"));
  auto address = fmt::format("127.0.0.1:{}", port);
  std::string last;
  bool answered = wait_for([&] {
    auto [code, out] = topic(
        {"describe", "orders", "--node", address, "--json", "--timeout", "5s"});
    last = fmt::format("exit {}: {}", code, out);
    return code == 0;
  });
  INFO("node:\n" << read_file(tmp / "node.log"));
  INFO("last answer: " << last);
  REQUIRE(answered);

  THEN("describe through the node and through the topology shows the "
       "shards") {
    auto [code, out] = topic(
        {"describe", "orders", "--topology", tmp / "topology.toml", "--json"});
    INFO(out);
    CHECK(code == 0);
    auto j = parse(out);
    REQUIRE(j.is_object());
    CHECK(j["shards"] == 2);
    CHECK(j["shard_offsets"][0]["end"] == 10);
    CHECK(j["shard_offsets"][1]["end"] == 0);
    CHECK(j["retention"]["retention_ms"] == 3'600'000);
  }
  THEN("offsets and tail go through the node") {
    auto [ccode, cout_] = topic({"offsets", "orders", "--node", address,
                                 "--group", "g", "--commit", "0=4"});
    INFO(cout_);
    CHECK(ccode == 0);
    CHECK(has_line(cout_, "^  0 +4 +0 +10 +6$"));
    auto [tcode, tout] = topic({"tail", "orders", "--node", address, "--from",
                                "committed", "--group", "g", "--count", "3"});
    CHECK(tcode == 0);
    CHECK(tout == "s0-4\ns0-5\ns0-6\n");
    // Without --group, describe lists every group a shard holds.
    auto [dcode, dout] =
        topic({"describe", "orders", "--node", address, "--json"});
    INFO(dout);
    CHECK(dcode == 0);
    auto j = parse(dout);
    REQUIRE(j["groups"].size() == 1);
    CHECK(j["groups"][0]["group"] == "g");
    CHECK(j["groups"][0]["shards"][0]["committed"] == 4);
    CHECK(j["groups"][0]["shards"][0]["lag"] == 6);
    CHECK(j["groups"][0]["shards"][1]["committed"].is_null());
    auto [xcode, xout] =
        topic({"describe", "orders", "--node", address, "--group", "other"});
    INFO(xout);
    CHECK(xcode == 0);
    CHECK(has_line(xout, "^    g +0 +4"));
    CHECK(has_line(xout, "^    other +0 +-"));
  }
  THEN("offline use of its directory is refused, naming --node") {
    auto [code, out] = topic({"describe", "orders", "--dir", dir});
    CHECK(code == 1);
    CHECK_THAT(out, Catch::Contains("in use by a running sluice node") &&
                        Catch::Contains("--node"));
  }
  THEN("an unknown topic is named") {
    auto [code, out] = topic({"describe", "nope", "--node", address});
    CHECK(code == 1);
    CHECK_THAT(out, Catch::Contains("has no topic nope"));
  }
  node.signal(SIGTERM);
  CHECK(node.wait(30s));
}
