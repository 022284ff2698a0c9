#include <algorithm>
#include <chrono>
#include <thread>

#include <catch2/catch.hpp>

#include "engine/engine.hpp"
#include "runtime/errors.hpp"
#include "tests/support/test_actors.hpp"
#include "tests/support/test_connectors.hpp"

using namespace sluice;
using namespace std::chrono_literals;

namespace {

topology_spec counter_to_recorder(size_t capacity, size_t batch) {
  topology_spec spec;
  source_spec src;
  src.name = "src";
  src.type = "counter";
  src.channel = "ch";
  src.batch_size = batch;
  spec.sources.push_back(src);
  channel_spec ch;
  ch.name = "ch";
  ch.type = "memory";
  ch.opts.set("capacity", int64_t(capacity));
  ch.opts.set("transaction_capacity", int64_t(batch));
  spec.channels.push_back(ch);
  sink_spec snk;
  snk.name = "snk";
  snk.type = "recorder";
  snk.channel = "ch";
  snk.batch_size = batch;
  spec.sinks.push_back(snk);
  spec.supervision.initial_backoff_ms = 100;
  spec.supervision.max_backoff_ms = 1000;
  return spec;
}

template <class Predicate>
bool eventually(Predicate pred, std::chrono::milliseconds timeout = 20s) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred())
      return true;
    std::this_thread::sleep_for(5ms);
  }
  return pred();
}

void check_in_order(const std::vector<std::string>& got, size_t n) {
  REQUIRE(got.size() == n);
  for (size_t i = 0; i < n; ++i)
    REQUIRE(got[i] == std::to_string(i));
}

} // namespace

SCENARIO("events flow from a source through a memory channel to a sink",
         "[pipeline]") {
  auto bench = std::make_shared<test::test_bench>();
  bench->source_limit = 10'000;
  auto eng = engine::make(counter_to_recorder(1000, 100),
                          test::make_test_registry(bench));
  REQUIRE(eng);
  REQUIRE(!(*eng)->start());
  WHEN("the source finishes") {
    THEN("the engine drains and stops by itself, every event delivered once "
         "and in order") {
      REQUIRE(!(*eng)->wait());
      std::lock_guard guard{bench->mtx};
      check_in_order(bench->received, 10'000);
      auto m = (*eng)->metrics().snapshot("ch");
      CHECK(m.events_in == 10'000);
      CHECK(m.events_out == 10'000);
      CHECK(m.fill_events == 0);
      CHECK(m.protocol_errors == 0);
    }
  }
}

SCENARIO("a slow sink slows the source and memory stays bounded",
         "[pipeline][backpressure]") {
  auto bench = std::make_shared<test::test_bench>();
  bench->write_delay_ms = 5;
  constexpr size_t capacity = 1000;
  auto eng = engine::make(counter_to_recorder(capacity, 100),
                          test::make_test_registry(bench));
  REQUIRE(eng);
  REQUIRE(!(*eng)->start());
  GIVEN("an endless source and a sink taking 5 ms per batch of 100") {
    uint64_t max_fill = 0;
    int64_t max_gap = 0;
    // The window starts once events flow (start-up may be slow).
    auto first = std::chrono::steady_clock::now() + 60s;
    while (bench->produced.load() == 0 &&
           std::chrono::steady_clock::now() < first)
      std::this_thread::sleep_for(2ms);
    auto until = std::chrono::steady_clock::now() + 1500ms;
    while (std::chrono::steady_clock::now() < until) {
      auto ch = (*eng)->metrics().snapshot("ch");
      max_fill = std::max(max_fill, ch.fill_events);
      int64_t gap = bench->produced.load() -
                    static_cast<int64_t>(bench->received_count());
      max_gap = std::max(max_gap, gap);
      std::this_thread::sleep_for(2ms);
    }
    THEN("the channel never holds more than its capacity") {
      CHECK(max_fill <= capacity);
    }
    THEN("the source never runs ahead of the sink by more than the capacity "
         "plus the batch being built") {
      CHECK(max_gap <= static_cast<int64_t>(capacity + 100 + 100));
      CHECK(bench->produced.load() > 0);
    }
    (*eng)->stop();
    REQUIRE(!(*eng)->wait());
    AND_THEN("a stop drains the memory channel: everything read arrived") {
      std::lock_guard guard{bench->mtx};
      check_in_order(bench->received,
                     static_cast<size_t>(bench->committed_seq.load()));
    }
  }
}

SCENARIO("a failing sink rolls back, is restarted with back-off and loses "
         "nothing",
         "[pipeline][supervisor]") {
  auto bench = std::make_shared<test::test_bench>();
  bench->source_limit = 5'000;
  bench->fail_writes = 3;
  auto eng = engine::make(counter_to_recorder(1000, 100),
                          test::make_test_registry(bench));
  REQUIRE(eng);
  REQUIRE(!(*eng)->start());
  REQUIRE(!(*eng)->wait());
  THEN("every event arrives once and in order") {
    std::lock_guard guard{bench->mtx};
    check_in_order(bench->received, 5'000);
  }
  THEN("the sink was restarted three times, waiting longer each time") {
    auto snk = (*eng)->metrics().snapshot("snk");
    CHECK(snk.restarts == 3);
    CHECK(snk.errors == 3);
    auto ch = (*eng)->metrics().snapshot("ch");
    CHECK(ch.rollbacks >= 3);
    // Each failed write rolled back its lease of 100 events, if no more.
    CHECK(ch.redelivered >= 300);
    CHECK(ch.redelivered % 100 == 0);
    CHECK(ch.recovered == 0);
    std::lock_guard guard{bench->mtx};
    REQUIRE(bench->opens.size() == 4);
    auto gap = [&](size_t i) {
      return std::chrono::duration_cast<std::chrono::milliseconds>(
          bench->opens[i] - bench->opens[i - 1]);
    };
    CHECK(gap(1) >= 100ms);
    CHECK(gap(2) >= 200ms);
    CHECK(gap(3) >= 400ms);
  }
}

SCENARIO("a sink that keeps failing escalates past max_restarts",
         "[pipeline][supervisor]") {
  auto bench = std::make_shared<test::test_bench>();
  bench->source_limit = 1'000;
  bench->fail_opens = 1'000;
  auto spec = counter_to_recorder(1000, 100);
  spec.supervision.max_restarts = 2;
  spec.supervision.initial_backoff_ms = 10;
  auto eng = engine::make(spec, test::make_test_registry(bench));
  REQUIRE(eng);
  REQUIRE(!(*eng)->start());
  auto err = (*eng)->wait();
  THEN("the engine reports the escalation") {
    REQUIRE(err);
    CHECK(err == make_error(supervisor_errc::max_restarts_exceeded));
    CHECK_THAT(describe(err), Catch::Contains("snk failed 3 times"));
    std::lock_guard guard{bench->mtx};
    CHECK(bench->opens.size() == 3);
  }
}

SCENARIO("a memory channel's byte capacity bounds it before its event "
         "capacity",
         "[pipeline][backpressure]") {
  auto bench = std::make_shared<test::test_bench>();
  bench->write_delay_ms = 20;
  auto spec = counter_to_recorder(100'000, 100);
  spec.channels[0].opts.set("byte_capacity", int64_t{4096});
  auto eng = engine::make(spec, test::make_test_registry(bench));
  REQUIRE(eng);
  REQUIRE(!(*eng)->start());
  uint64_t max_bytes = 0;
  auto until = std::chrono::steady_clock::now() + 1s;
  while (std::chrono::steady_clock::now() < until) {
    max_bytes =
        std::max(max_bytes, (*eng)->metrics().snapshot("ch").fill_bytes);
    std::this_thread::sleep_for(2ms);
  }
  (*eng)->stop();
  REQUIRE(!(*eng)->wait());
  THEN("it holds at most its byte capacity plus one credit window") {
    // A window is 4 batches of 100 events of at most 6 bytes here.
    CHECK(max_bytes <= 4096 + 4 * 100 * 6);
    CHECK(max_bytes > 0);
  }
}

SCENARIO("a source that sends nothing does not starve another of credit",
         "[pipeline]") {
  auto bench = std::make_shared<test::test_bench>();
  bench->source_limit = 5'000;
  bench->source_open = false;
  bench->open_delay_ms = 200; // the idle source attaches first
  auto spec = counter_to_recorder(1000, 250);
  source_spec idle;
  idle.name = "idle";
  idle.type = "exec";
  idle.channel = "ch";
  idle.batch_size = 250;
  idle.opts.set("command", std::string{"sleep 60"});
  spec.sources.insert(spec.sources.begin(), idle);
  auto eng = engine::make(spec, test::make_test_registry(bench));
  REQUIRE(eng);
  REQUIRE(!(*eng)->start());
  // Both sources attach and take credit while neither sends anything: the
  // channel's gauge says when both attach replies went out.
  bool both_attached = eventually(
      [&] { return (*eng)->metrics().snapshot("ch").sources_attached == 2; });
  REQUIRE(both_attached);
  REQUIRE(bench->produced == 0);
  bench->source_open = true;
  bool all = eventually([&] { return bench->received_count() >= 5'000; });
  (*eng)->stop();
  REQUIRE(!(*eng)->wait());
  THEN("every event of the busy source arrives") {
    CHECK(all);
    std::lock_guard guard{bench->mtx};
    check_in_order(bench->received, 5'000);
  }
}

SCENARIO("an embedding program's own source feeds a channel through its typed "
         "handle",
         "[pipeline][embed]") {
  auto bench = std::make_shared<test::test_bench>();
  auto spec = counter_to_recorder(1000, 100);
  spec.sources.clear();
  auto eng = engine::make(spec, test::make_test_registry(bench));
  REQUIRE(eng);
  REQUIRE(!(*eng)->add_source_actor(
      "numbers", "ch", [](caf::actor_system& sys, channel_actor channel) {
        return test::spawn_numbered_source(sys, std::move(channel), 5'000, 300);
      }));
  REQUIRE(!(*eng)->start());
  WHEN("the source has put every number") {
    THEN("the engine drains and stops by itself; every event arrived once "
         "and in order; the source kept the protocol") {
      REQUIRE(!(*eng)->wait());
      std::lock_guard guard{bench->mtx};
      check_in_order(bench->received, 5'000);
      auto m = (*eng)->metrics().snapshot("ch");
      CHECK(m.events_in == 5'000);
      CHECK(m.protocol_errors == 0);
    }
  }
}
