// A topic's node killed with SIGKILL while several writers append to it,
// then restarted: afterwards the topic holds every event exactly once, each
// shard's offsets are dense, a torn write left at a shard's end is cut by
// its checksum, and the topic takes writes again.
#include <chrono>
#include <csignal>
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

#include "runtime/shard_log.hpp"
#include "tests/support/process.hpp"
#include "tests/support/relay_cluster.hpp"
#include "tests/support/wait.hpp"

using namespace sluice::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

constexpr int64_t per_writer = 40'000;
constexpr int writers = 3;

/// The last `out=N` of component `name`'s stats lines in `log`.
uint64_t last_out(const std::string& log, const std::string& name) {
  std::regex re{" " + name + ": in=[0-9]+ out=([0-9]+)"};
  uint64_t last = 0;
  for (auto i = std::sregex_iterator(log.begin(), log.end(), re);
       i != std::sregex_iterator(); ++i)
    last = std::stoull((*i)[1].str());
  return last;
}

std::string topology(const temp_dir& dir, uint16_t store, uint16_t writer) {
  std::string sources;
  for (int w = 0; w < writers; ++w)
    sources += fmt::format(R"(
[sources.gen{w}]
node = "writer"
type = "generator"
channel = "out"
batch_size = 500
count = {count}
start = {start}
rate = 5000
line_size = 40
)",
                           fmt::arg("w", w), fmt::arg("count", per_writer),
                           fmt::arg("start", w * 1'000'000));
  return fmt::format(R"([supervision]
max_restarts = 1000
initial_backoff = "50ms"
max_backoff = "200ms"

[cluster]
heartbeat_interval = "100ms"
peer_timeout = "500ms"

[nodes.store]
port = {store}

[nodes.writer]
port = {writer}

[topics.events]
node = "store"
directory = "{dir}/topic"
shards = 2
fsync = "10ms"
segment_size = "256KiB"
{sources}
[channels.out]
node = "writer"
type = "file"
directory = "{dir}/writer/channel"
min_free_space = "1MiB"

[sinks.append]
node = "writer"
type = "topic"
channel = "out"
topic = "events"
partition = "hash"
timeout = "2s"
)",
                     fmt::arg("store", store), fmt::arg("writer", writer),
                     fmt::arg("dir", dir.path()), fmt::arg("sources", sources));
}

/// Every record of every shard of the topic in `dir`, as the generator's
/// sequence numbers; checks each shard's offsets are dense.
std::vector<int64_t> read_topic(const std::string& dir, size_t& shards) {
  std::vector<int64_t> numbers;
  shards = 0;
  for (auto& e : fs::directory_iterator{dir}) {
    if (!e.is_directory() || e.path().filename().string().rfind("shard-", 0))
      continue;
    ++shards;
    sluice::shard_log_config cfg;
    cfg.directory = e.path();
    cfg.min_free_space = 0;
    auto log = sluice::shard_log::open(cfg);
    REQUIRE(log);
    uint64_t expected = (*log)->start_offset();
    while (expected < (*log)->end_offset()) {
      auto got = (*log)->read(expected, size_t{1} << 20);
      REQUIRE(got);
      REQUIRE(!got->empty());
      for (auto& rb : *got) {
        REQUIRE(rb.base_offset <= expected); // no gap between batches
        for (size_t i = 0; i < rb.batch.size(); ++i)
          if (rb.base_offset + i >= expected)
            numbers.push_back(std::stoll(std::string{rb.batch.body(i)}));
        expected = rb.base_offset + rb.batch.size();
      }
    }
    (*log)->close();
  }
  return numbers;
}

} // namespace

SCENARIO("a topic's node killed with SIGKILL while three writers append "
         "keeps every acknowledged batch exactly once",
         "[e2e][topic][crash]") {
  temp_dir dir;
  auto store_port = free_port(), writer_port = free_port();
  auto topo = dir / "cluster.toml";
  std::ofstream{topo} << topology(dir, store_port, writer_port);
  auto node = [&](const std::string& name) {
    return std::vector<std::string>{
        SLUICE_BINARY,      "node", topo, "--node", name, "--log-level", "info",
        "--stats-interval", "100ms"};
  };
  process store, writer;
  REQUIRE(process::start(store, node("store"), dir / "store.log"));
  REQUIRE(process::start(writer, node("writer"), dir / "writer.log"));
  struct logs_on_failure {
    const temp_dir& dir;
    ~logs_on_failure() {
      if (Catch::getResultCapture().lastAssertionPassed())
        return;
      for (auto name : {"store", "writer"})
        std::fprintf(stderr, "---- %s\n%s\n", name,
                     read_file(dir / (std::string{name} + ".log")).c_str());
    }
  } dump{dir};

  // Appends flow, and the writers are far from done.
  REQUIRE(wait_for(
      [&] {
        return last_out(read_file(dir / "writer.log"), "append") >= 5'000;
      },
      60s));
  uint64_t generated = 0;
  for (int w = 0; w < writers; ++w)
    generated +=
        last_out(read_file(dir / "writer.log"), fmt::format("gen{}", w));
  REQUIRE(generated < static_cast<uint64_t>(writers * per_writer));

  store.signal(SIGKILL);
  REQUIRE(store.wait(10s) == 128 + SIGKILL);

  // A torn write at the end of a shard's last segment, as a crash in the
  // middle of a write leaves it: a record header with garbage after it.
  fs::path torn_segment;
  for (auto& e : fs::directory_iterator{dir / "topic/shard-0000"})
    if (e.path().extension() == ".log" &&
        (torn_segment.empty() || e.path() > torn_segment))
      torn_segment = e.path();
  REQUIRE(!torn_segment.empty());
  auto size_before = fs::file_size(torn_segment);
  {
    std::ofstream out{torn_segment, std::ios::app | std::ios::binary};
    std::string garbage(300, '\x5a');
    out.write(garbage.data(), static_cast<std::streamsize>(garbage.size()));
  }

  // The node comes back; the writers' retries go through, and they finish.
  REQUIRE(process::start(store, node("store"), dir / "store.log"));
  auto code = writer.wait(180s);
  REQUIRE(code);
  CHECK(*code == 0);
  store.signal(SIGTERM);
  CHECK(store.wait(30s) == 0);

  THEN("every event is in the topic exactly once and the torn tail is gone") {
    size_t shards = 0;
    auto numbers = read_topic(dir / "topic", shards);
    CHECK(shards == 2);
    std::map<int64_t, int> seen;
    for (auto x : numbers)
      ++seen[x];
    size_t duplicates = 0, missing = 0;
    for (int w = 0; w < writers; ++w)
      for (int64_t i = 0; i < per_writer; ++i) {
        auto it = seen.find(w * 1'000'000 + i);
        if (it == seen.end())
          ++missing;
        else if (it->second > 1)
          duplicates += static_cast<size_t>(it->second - 1);
      }
    INFO("records " << numbers.size() << ", missing " << missing
                    << ", duplicates " << duplicates);
    CHECK(missing == 0);
    CHECK(duplicates == 0);
    CHECK(numbers.size() == static_cast<size_t>(writers * per_writer));
    // The torn bytes were cut (the segment may have grown since with new
    // appends, but never with the garbage: every record read back above).
    CHECK(read_file(dir / "store.log").find("cut a torn tail") !=
          std::string::npos);
    CHECK(size_before > 0);
  }
}
