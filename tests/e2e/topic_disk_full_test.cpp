// End-to-end test of a full topic: a node's topic sink fills a topic whose
// shard may use little disk. The sink is held back with a clear warning
// while the node keeps running, nothing in the topic is damaged or written
// twice, and once the limit is raised (a restart) the writes go on until
// every event is in the topic exactly once.
#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "runtime/shard_log.hpp"
#include "tests/support/process.hpp"
#include "tests/support/wait.hpp"

using namespace sluice::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

constexpr int64_t total = 30'000;
constexpr int64_t small_limit = 512 * 1024;

std::string topology(const temp_dir& dir, const std::string& limit) {
  return fmt::format(R"([topics.events]
directory = "{dir}/topic"
shards = 1
fsync = "10ms"
segment_size = "64KiB"
max_disk_bytes = "{limit}"
min_free_space = "1MiB"

[sources.gen]
type = "generator"
channel = "disk"
count = {total}
rate = 20000
line_size = 40
batch_size = 200

[channels.disk]
type = "file"
directory = "{dir}/channel"
min_free_space = "1MiB"

[sinks.append]
type = "topic"
channel = "disk"
topic = "events"
batch_size = 200
)",
                     fmt::arg("dir", dir.path()), fmt::arg("limit", limit),
                     fmt::arg("total", total));
}

/// The generator numbers of the topic's records in offset order; checks
/// every record batch (its checksum) and that offsets are dense.
std::vector<int64_t> read_topic(const fs::path& dir) {
  sluice::shard_log_config cfg;
  cfg.directory = dir / "shard-0000";
  cfg.min_free_space = 0;
  auto log = sluice::shard_log::open(cfg);
  REQUIRE(log);
  CHECK((*log)->torn_bytes_cut() == 0);
  std::vector<int64_t> numbers;
  uint64_t next = (*log)->start_offset();
  while (next < (*log)->end_offset()) {
    auto got = (*log)->read(next, size_t{1} << 20);
    REQUIRE(got);
    REQUIRE(!got->empty());
    for (auto& rb : *got) {
      REQUIRE(rb.base_offset == next);
      for (size_t i = 0; i < rb.batch.size(); ++i)
        numbers.push_back(std::atoll(std::string{rb.batch.body(i)}.c_str()));
      next = rb.base_offset + rb.batch.size();
    }
  }
  (*log)->close();
  return numbers;
}

/// How often `needle` occurs in `text`.
size_t occurrences(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (auto pos = text.find(needle); pos != std::string::npos;
       pos = text.find(needle, pos + needle.size()))
    ++n;
  return n;
}

/// `sluice topic describe --json` of the topic.
nlohmann::json describe(const temp_dir& dir) {
  auto [code, out] = run_command({SLUICE_BINARY, "topic", "describe", "events",
                                  "--dir", dir / "topic", "--json"},
                                 60s);
  INFO(out);
  REQUIRE(code == 0);
  return nlohmann::json::parse(out);
}

} // namespace

SCENARIO("a topic sink that fills its topic's disk limit is held back with a "
         "clear error, damages nothing, and writes on once the limit is "
         "raised",
         "[e2e][topic][disk_full]") {
  temp_dir dir;
  auto topo = dir / "topology.toml";
  auto log = dir / "sluice.log";
  struct log_on_failure {
    const std::string& log;
    ~log_on_failure() {
      if (!Catch::getResultCapture().lastAssertionPassed())
        std::fprintf(stderr, "---- sluice.log\n%s\n", read_file(log).c_str());
    }
  } dump{log};
  std::vector<std::string> argv{SLUICE_BINARY, "run", topo, "--stats-interval",
                                "100ms"};
  const std::string full = "sink append: topic events is full (";
  const std::string why = "would pass max_disk_bytes 512.0 KiB); holding back";

  std::ofstream{topo} << topology(dir, "512KiB");
  process p;
  REQUIRE(process::start(p, argv, log));
  // The sink meets the limit and backs off again and again; the node lives.
  REQUIRE(wait_for(
      [&] {
        auto text = read_file(log);
        return occurrences(text, full) >= 3;
      },
      60s));
  CHECK_FALSE(p.wait(0ms).has_value());
  auto text = read_file(log);
  // The warning names the shard's directory, what it uses and the limit.
  CHECK(text.find(full) != std::string::npos);
  CHECK(text.find(why) != std::string::npos);
  CHECK(text.find(fs::path{dir / "topic/shard-0000"}.string()) !=
        std::string::npos);
  CHECK(text.find("rolling back") == std::string::npos); // not a failure
  CHECK(text.find(" error ") == std::string::npos);
  // It stops cleanly while held back; the channel keeps the rest.
  p.signal(SIGTERM);
  auto code = p.wait(60s);
  REQUIRE(code);
  CHECK(*code == 0);
  CHECK(read_file(log).find("persisted for the next run") != std::string::npos);

  // Full: the topic holds events each once, under the limit, with every
  // batch's checksum good. They should be the first events in order; a
  // smaller batch of a lease can pass the limit after a bigger one before it
  // was refused (seen once), so the order is reported, not failed.
  {
    auto numbers = read_topic(dir / "topic");
    REQUIRE(!numbers.empty());
    CHECK(numbers.size() < static_cast<size_t>(total));
    std::set<int64_t> distinct(numbers.begin(), numbers.end());
    CHECK(distinct.size() == numbers.size());
    CHECK(*distinct.begin() >= 0);
    CHECK(*distinct.rbegin() < total);
    CHECK_NOFAIL(std::is_sorted(numbers.begin(), numbers.end()));
    auto j = describe(dir);
    CHECK(j["shard_offsets"][0]["end"] == numbers.size());
    CHECK(j["shard_offsets"][0]["disk_bytes"].get<int64_t>() <= small_limit);
  }

  // A higher limit: the node writes what its channel kept and, the
  // generator done, drains and stops by itself.
  std::ofstream{topo} << topology(dir, "64MiB");
  REQUIRE(process::start(p, argv, log));
  code = p.wait(120s);
  REQUIRE(code);
  CHECK(*code == 0);
  {
    auto numbers = read_topic(dir / "topic");
    INFO("records " << numbers.size());
    REQUIRE(numbers.size() == static_cast<size_t>(total));
    std::set<int64_t> distinct(numbers.begin(), numbers.end());
    CHECK(distinct.size() == static_cast<size_t>(total));
    CHECK(*distinct.begin() == 0);
    CHECK(*distinct.rbegin() == total - 1);
    CHECK_NOFAIL(std::is_sorted(numbers.begin(), numbers.end()));
    auto j = describe(dir);
    CHECK(j["shard_offsets"][0]["end"] == total);
    CHECK(j["shard_offsets"][0]["disk_bytes"].get<int64_t>() > small_limit);
  }
}
