#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include <catch2/catch.hpp>

#include <caf/all.hpp>

#include "engine/engine.hpp"
#include "runtime/file_store.hpp"
#include "tests/support/process.hpp"
#include "tests/support/test_connectors.hpp"

using namespace sluice;
using namespace std::chrono_literals;

namespace {

topology_spec counter_to_file_channel(const std::string& dir) {
  topology_spec spec;
  source_spec src;
  src.name = "src";
  src.type = "counter";
  src.channel = "disk";
  src.batch_size = 100;
  spec.sources.push_back(src);
  channel_spec ch;
  ch.name = "disk";
  ch.type = "file";
  ch.opts.set("directory", dir);
  ch.opts.set("transaction_capacity", int64_t{100});
  ch.opts.set("segment_size", int64_t{64} << 10);
  ch.opts.set("max_disk_bytes", int64_t{1} << 20);
  ch.opts.set("min_free_space", int64_t{0});
  spec.channels.push_back(ch);
  sink_spec snk;
  snk.name = "snk";
  snk.type = "recorder";
  snk.channel = "disk";
  snk.batch_size = 100;
  spec.sinks.push_back(snk);
  return spec;
}

/// Checks that `bodies` are 0, 1, 2, ... with repeats of earlier numbers
/// allowed; returns the count of distinct numbers and of repeats.
std::pair<int64_t, size_t>
check_sequence(const std::vector<std::string>& bodies) {
  std::set<int64_t> seen;
  int64_t next = 0;
  size_t dups = 0;
  for (auto& body : bodies) {
    auto x = std::stoll(body);
    if (!seen.insert(x).second) {
      ++dups;
      continue;
    }
    REQUIRE(x == next);
    ++next;
  }
  return {next, dups};
}

} // namespace

SCENARIO("a file channel bounds its disk use, pauses its source, and keeps "
         "what it accepted across a stop",
         "[pipeline][file_channel]") {
  test::temp_dir dir;
  auto bench = std::make_shared<test::test_bench>();
  bench->write_delay_ms = 300;
  auto spec = counter_to_file_channel(dir / "channel");
  GIVEN("an endless source and a sink far slower than it") {
    auto eng = engine::make(spec, test::make_test_registry(bench));
    REQUIRE(eng);
    REQUIRE(!(*eng)->start());
    // Wait until the channel says it is out of room (it counts an error
    // when it pauses its sources), then until production stalls for 500 ms.
    auto deadline = std::chrono::steady_clock::now() + 60s;
    while ((*eng)->metrics().snapshot("disk").errors == 0 &&
           std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(50ms);
    bool paused = false;
    auto before = bench->produced.load();
    while (!paused && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(500ms);
      auto now = bench->produced.load();
      // The sink takes a batch of 100 every 300 ms meanwhile.
      paused = now > 0 && now - before <= 1000;
      before = now;
    }
    auto fill = (*eng)->metrics().snapshot("disk").fill_bytes;
    THEN("the source is paused once the channel reached max_disk_bytes") {
      CHECK(paused);
      CHECK(fill <= (1u << 20));
      CHECK(fill >= (1u << 18));
    }
    (*eng)->stop();
    REQUIRE(!(*eng)->wait());
    auto accepted = bench->committed_seq.load();
    REQUIRE(accepted > 1000);
    auto delivered_first = bench->received_count();
    WHEN("a new run starts on the same directory") {
      bench->write_delay_ms = 0;
      bench->source_limit = accepted;  // the source has nothing new
      spec.drain_timeout_ms = 240'000; // a slow disk drains slowly
      auto again = engine::make(spec, test::make_test_registry(bench));
      REQUIRE(again);
      REQUIRE(!(*again)->start());
      REQUIRE(!(*again)->wait());
      THEN("every accepted event arrives, in order, none lost; what was "
           "still held is counted as recovered") {
        std::lock_guard guard{bench->mtx};
        auto [next, dups] = check_sequence(bench->received);
        CHECK(next == accepted);
        CHECK(dups <= 100);
        // The channel held what the first run's sink had not committed:
        // the events it never received, and the repeats.
        auto disk = (*again)->metrics().snapshot("disk");
        CHECK(disk.recovered ==
              static_cast<uint64_t>(accepted) - delivered_first + dups);
      }
    }
  }
}

SCENARIO("a file channel killed mid-stream restarts with its source and sink "
         "and loses nothing",
         "[pipeline][file_channel][supervisor]") {
  test::temp_dir dir;
  auto bench = std::make_shared<test::test_bench>();
  bench->source_limit = 20'000;
  bench->write_delay_ms = 2;
  auto spec = counter_to_file_channel(dir / "channel");
  // A small channel keeps the source waiting for room, so it is still
  // running when the channel dies.
  spec.channels[0].opts.set("capacity", int64_t{1000});
  auto eng = engine::make(spec, test::make_test_registry(bench));
  REQUIRE(eng);
  REQUIRE(!(*eng)->start());
  auto deadline = std::chrono::steady_clock::now() + 30s;
  while (bench->received_count() < 2000 &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(2ms);
  REQUIRE(bench->received_count() >= 2000);
  REQUIRE(bench->produced.load() < 20'000);
  {
    // Hold the handle no longer than needed: a live handle keeps the
    // actor's thread, and so the engine, from ending.
    auto channel = (*eng)->component("disk");
    REQUIRE(channel);
    caf::anon_send_exit(*channel, caf::exit_reason::kill);
  }
  REQUIRE(!(*eng)->wait());
  THEN("the channel and its dependents restarted once; every event arrived "
       "in order, duplicates only from what was in flight") {
    CHECK((*eng)->metrics().snapshot("disk").restarts == 1);
    CHECK((*eng)->metrics().snapshot("src").restarts == 1);
    CHECK((*eng)->metrics().snapshot("snk").restarts == 1);
    std::lock_guard guard{bench->mtx};
    auto [next, dups] = check_sequence(bench->received);
    CHECK(next == 20'000);
    CHECK(dups <= 1000);
    auto disk = (*eng)->metrics().snapshot("disk");
    CHECK(disk.recovered > 0);
    // The counter source resumes from its own committed position, so its
    // credit window (four batches) may come again too.
    CHECK(dups <= disk.recovered + disk.redelivered + 4 * 100);
  }
}

SCENARIO("a file channel whose disk limit is below one segment keeps "
         "flowing",
         "[pipeline][file_channel]") {
  test::temp_dir dir;
  auto bench = std::make_shared<test::test_bench>();
  constexpr int64_t total = 300'000; // several times the disk limit
  bench->source_limit = total;
  auto spec = counter_to_file_channel(dir / "channel");
  spec.channels[0].opts.set("segment_size", int64_t{64} << 20);
  spec.channels[0].opts.set("max_disk_bytes", int64_t{1} << 20);
  auto eng = engine::make(spec, test::make_test_registry(bench));
  REQUIRE(eng);
  REQUIRE(!(*eng)->start());
  auto deadline = std::chrono::steady_clock::now() + 240s;
  while (bench->received_count() < static_cast<size_t>(total) &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(10ms);
  (*eng)->stop();
  REQUIRE(!(*eng)->wait());
  THEN("every event arrives, in order, and the disk stayed within its "
       "limit") {
    std::lock_guard guard{bench->mtx};
    auto [next, dups] = check_sequence(bench->received);
    CHECK(next == total);
    CHECK(dups == 0);
    uint64_t on_disk = 0;
    for (auto& e : std::filesystem::directory_iterator{dir / "channel"})
      if (e.path().extension() == ".seg")
        on_disk += e.file_size();
    CHECK(on_disk <= (1u << 20));
  }
}

SCENARIO("a source killed mid-stream resumes after the last batch its "
         "channel holds",
         "[pipeline][file_channel][supervisor]") {
  test::temp_dir dir;
  auto bench = std::make_shared<test::test_bench>();
  bench->write_delay_ms = 20; // seconds of margin to kill it mid-stream
  auto spec = counter_to_file_channel(dir / "channel");
  spec.sources[0].type = "generator";
  spec.sources[0].opts.set("count", int64_t{20'000});
  // A small channel keeps the source waiting for room, so it is still
  // running when it is killed.
  spec.channels[0].opts.set("capacity", int64_t{1000});
  auto eng = engine::make(spec, test::make_test_registry(bench));
  REQUIRE(eng);
  REQUIRE(!(*eng)->start());
  auto deadline = std::chrono::steady_clock::now() + 30s;
  while (bench->received_count() < 2000 &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(2ms);
  REQUIRE(bench->received_count() >= 2000);
  REQUIRE(bench->received_count() < 20'000);
  {
    auto source = (*eng)->component("src");
    REQUIRE(source);
    caf::anon_send_exit(*source, caf::exit_reason::kill);
  }
  REQUIRE(!(*eng)->wait());
  THEN("the restarted generator went on from the channel's progress: every "
       "number once, in order") {
    CHECK((*eng)->metrics().snapshot("src").restarts == 1);
    CHECK((*eng)->metrics().snapshot("disk").restarts == 0);
    std::lock_guard guard{bench->mtx};
    auto [next, dups] = check_sequence(bench->received);
    CHECK(next == 20'000);
    CHECK(dups == 0);
    CHECK(bench->received.size() == 20'000);
  }
}

SCENARIO("a file channel whose last segment is damaged in the middle "
         "delivers every valid event after the damage and reports the span",
         "[pipeline][file_channel][damage]") {
  test::temp_dir dir;
  auto spec = counter_to_file_channel(dir / "channel");
  spec.channels[0].opts.set("segment_size", int64_t{4} << 20);
  {
    // A previous run left 50 batches of 100 undelivered.
    file_store_config cfg;
    cfg.directory = dir / "channel";
    cfg.min_free_space = 0;
    auto store = file_store::make(cfg);
    REQUIRE(store);
    REQUIRE(!(*store)->open());
    for (int b = 0; b < 50; ++b) {
      event_batch batch;
      for (int i = 0; i < 100; ++i)
        batch.append(std::to_string(b * 100 + i));
      REQUIRE(!(*store)->append(std::move(batch)));
    }
    REQUIRE(!(*store)->sync());
    (*store)->close();
  }
  std::filesystem::path seg;
  for (auto& e : std::filesystem::directory_iterator{dir / "channel"})
    if (e.path().extension() == ".seg" && e.file_size() > 0)
      seg = e.path();
  REQUIRE(!seg.empty());
  // Inside the payload of batch 25 of 50, in the middle of the segment.
  auto at = test::read_file(seg).find("2500");
  REQUIRE(at != std::string::npos);
  {
    std::fstream f{seg, std::ios::in | std::ios::out | std::ios::binary};
    f.seekp(static_cast<std::streamoff>(at));
    f.write("\xde\xad\xbe\xef", 4);
  }
  auto bench = std::make_shared<test::test_bench>();
  bench->source_limit = 0; // the source has nothing new
  auto eng = engine::make(spec, test::make_test_registry(bench));
  REQUIRE(eng);
  REQUIRE(!(*eng)->start());
  REQUIRE(!(*eng)->wait());
  THEN("only the damaged batch is missing, the rest arrives in order, and "
       "the channel counts the span") {
    auto disk = (*eng)->metrics().snapshot("disk");
    CHECK(disk.damaged_spans == 1);
    CHECK(disk.damaged_bytes > 0);
    std::lock_guard guard{bench->mtx};
    CHECK(bench->received.size() == 4900);
    CHECK(disk.recovered == bench->received.size());
    // Everything after the damaged batch arrived.
    CHECK(bench->received.back() == "4999");
    int64_t next = 0;
    for (auto& body : bench->received) {
      if (next == 2500)
        next = 2600; // the damaged batch
      REQUIRE(std::stoll(body) == next);
      ++next;
    }
  }
}
