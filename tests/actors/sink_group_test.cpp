#include <algorithm>
#include <chrono>
#include <map>
#include <set>
#include <thread>

#include <catch2/catch.hpp>

#include "engine/engine.hpp"
#include "runtime/errors.hpp"
#include "tests/support/test_connectors.hpp"

using namespace sluice;
using namespace std::chrono_literals;

namespace {

using bench_ptr = std::shared_ptr<test::test_bench>;

/// A counter source, a memory channel and recorder sinks in one group, each
/// sink recording into its own bench.
struct group_fixture {
  bench_ptr bench = std::make_shared<test::test_bench>();
  std::map<std::string, bench_ptr> sinks;
  topology_spec spec;

  group_fixture(sink_group_spec group, size_t capacity, int write_delay_ms) {
    source_spec src;
    src.name = "src";
    src.type = "counter";
    src.channel = "ch";
    src.batch_size = 100;
    spec.sources.push_back(src);
    channel_spec ch;
    ch.name = "ch";
    ch.type = "memory";
    ch.opts.set("capacity", int64_t(capacity));
    ch.opts.set("transaction_capacity", int64_t{100});
    spec.channels.push_back(ch);
    for (auto& name : group.sinks) {
      sink_spec snk;
      snk.name = name;
      snk.type = "recorder";
      snk.channel = "ch";
      snk.batch_size = 100;
      spec.sinks.push_back(snk);
      auto b = std::make_shared<test::test_bench>();
      b->write_delay_ms = write_delay_ms;
      sinks[name] = b;
      bench->sink_benches[name] = b;
    }
    group.name = "g";
    spec.sink_groups.push_back(std::move(group));
  }

  std::unique_ptr<engine> start() {
    auto eng = engine::make(spec, test::make_test_registry(bench));
    REQUIRE(eng);
    REQUIRE(!(*eng)->start());
    return std::move(*eng);
  }

  size_t received() {
    size_t n = 0;
    for (auto& [_, b] : sinks)
      n += b->received_count();
    return n;
  }

  /// Every event the source got committed was written by some member; the
  /// events written more than once are returned.
  size_t check_nothing_lost() {
    std::map<std::string, int> seen;
    for (auto& [_, b] : sinks) {
      std::lock_guard guard{b->mtx};
      for (auto& body : b->received)
        ++seen[body];
    }
    auto committed = bench->committed_seq.load();
    REQUIRE(committed > 0);
    size_t duplicates = 0;
    for (int64_t i = 0; i < committed; ++i) {
      auto it = seen.find(std::to_string(i));
      REQUIRE(it != seen.end());
      duplicates += static_cast<size_t>(it->second - 1);
    }
    return duplicates;
  }
};

sink_group_spec failover(int64_t penalty_ms, int64_t max_penalty_ms) {
  sink_group_spec g;
  g.type = "failover";
  g.sinks = {"a", "b"};
  g.priorities = {{"a", 10}, {"b", 5}};
  g.opts.set("penalty", penalty_ms);
  g.opts.set("maxpenalty", max_penalty_ms);
  return g;
}

template <class Predicate>
bool eventually(Predicate pred, std::chrono::milliseconds timeout = 20s) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred())
      return true;
    std::this_thread::sleep_for(2ms);
  }
  return pred();
}

} // namespace

SCENARIO("a failing member's lease is rerouted to the standby at once, and "
         "leases fail back to the primary after its penalty and probe",
         "[sink_group]") {
  group_fixture fx{failover(300, 2000), 1000, 2};
  auto& a = *fx.sinks["a"];
  auto& b = *fx.sinks["b"];
  auto eng = fx.start();
  auto& metrics = eng->metrics();
  GIVEN("events flowing through the primary") {
    REQUIRE(eventually([&] { return a.received_count() >= 500; }));
    CHECK(b.received_count() == 0);
    CHECK(metrics.snapshot("g").active == "a");
    WHEN("the primary's next write fails") {
      a.fail_writes = 1;
      REQUIRE(eventually([&] {
        return metrics.snapshot("g").rerouted >= 1 && b.received_count() > 0;
      }));
      THEN("the standby got that lease and the primary is penalized") {
        CHECK(a.failed_writes == 1);
        auto am = metrics.snapshot("a");
        CHECK(am.group == "g");
        CHECK(am.failures == 1);
        CHECK(am.penalty_ms == 300);
        CHECK(am.group_state != "live");
        auto a_before = a.received_count();
        AND_WHEN("the primary is healthy again") {
          REQUIRE(eventually([&] { return a.received_count() > a_before; }));
          THEN("it was restarted only after its penalty, probed, and has the "
               "leases again") {
            std::lock_guard guard{a.mtx};
            REQUIRE(a.write_failures.size() == 1);
            REQUIRE(a.opens.size() >= 2);
            CHECK(a.opens.back() - a.write_failures.front() >= 300ms);
            CHECK(a.probes >= 1);
          }
          auto g = metrics.snapshot("g");
          CHECK(g.switches >= 2); // to b, back to a
          CHECK(g.active == "a");
          CHECK(eventually(
              [&] { return metrics.snapshot("a").group_state == "live"; }));
          eng->stop();
          REQUIRE(!eng->wait());
          // Nothing was lost, and at most the rerouted lease written twice.
          CHECK(fx.check_nothing_lost() <= 100);
        }
      }
    }
  }
}

SCENARIO("a member that dies holding a lease has it rerouted, with no "
         "rollback from the member",
         "[sink_group]") {
  group_fixture fx{failover(200, 1000), 1000, 1};
  auto& a = *fx.sinks["a"];
  auto& b = *fx.sinks["b"];
  auto eng = fx.start();
  auto& metrics = eng->metrics();
  REQUIRE(eventually([&] { return a.received_count() >= 300; }));
  WHEN("the primary's next write throws and ends its actor") {
    a.crash_writes = 1;
    REQUIRE(eventually([&] {
      return a.crash_writes == 0 && metrics.snapshot("g").rerouted >= 1 &&
             b.received_count() > 0;
    }));
    THEN("the lease it held went to the standby, and the primary comes "
         "back") {
      CHECK(metrics.snapshot("a").rollbacks == 0);
      CHECK(metrics.snapshot("g").rollbacks == 0);
      auto a_before = a.received_count();
      REQUIRE(eventually([&] { return a.received_count() > a_before; }));
      CHECK(metrics.snapshot("a").restarts >= 1);
      eng->stop();
      REQUIRE(!eng->wait());
      CHECK(fx.check_nothing_lost() <= 100);
    }
  }
}

SCENARIO("with every member down the channel fills, the source slows, "
         "nothing is lost, and flow resumes when a member returns",
         "[sink_group]") {
  constexpr size_t capacity = 1000;
  group_fixture fx{failover(50, 200), capacity, 1};
  auto& a = *fx.sinks["a"];
  auto& b = *fx.sinks["b"];
  auto eng = fx.start();
  auto& metrics = eng->metrics();
  REQUIRE(eventually([&] { return a.received_count() >= 300; }));
  WHEN("both members go down") {
    a.down = true;
    b.down = true;
    REQUIRE(eventually([&] {
      auto g = metrics.snapshot("g");
      return g.active.empty() && a.failed_writes >= 1 && b.failed_writes >= 1;
    }));
    THEN("the channel fills and the source stops short of its capacity") {
      REQUIRE(eventually([&] {
        return metrics.snapshot("ch").fill_events >= capacity - 200;
      }));
      auto delivered = fx.received();
      // Sampled while the members stay down: the source is held back.
      for (int k = 0; k < 50; ++k) {
        auto gap = fx.bench->produced.load() - static_cast<int64_t>(delivered);
        CHECK(gap <= static_cast<int64_t>(capacity + 200));
        CHECK(metrics.snapshot("ch").fill_events <= capacity);
        std::this_thread::sleep_for(5ms);
      }
      CHECK(fx.received() == delivered);
      AND_THEN("the recovering members are probed, not handed batches") {
        REQUIRE(eventually([&] { return a.failed_probes >= 2; }));
        CHECK(a.failed_writes == 1);
        CHECK(b.failed_writes == 1);
        CHECK(metrics.snapshot("ch").events_dropped == 0);
        AND_WHEN("the standby returns") {
          b.down = false;
          auto before = fx.received();
          REQUIRE(eventually([&] { return fx.received() > before + 2000; }));
          THEN("the flow resumes through it, and then fails back to the "
               "primary") {
            CHECK(metrics.snapshot("g").active == "b");
            a.down = false;
            auto a_before = a.received_count();
            REQUIRE(eventually([&] { return a.received_count() > a_before; }));
            eng->stop();
            REQUIRE(!eng->wait());
            CHECK(fx.check_nothing_lost() <= 200);
          }
        }
      }
    }
  }
}

SCENARIO("load balance spreads leases over its members and uses a member "
         "again once it comes back",
         "[sink_group]") {
  sink_group_spec g;
  g.type = "load_balance";
  g.sinks = {"a", "b", "c"};
  g.opts.set("selector", std::string{"round_robin"});
  g.opts.set("backoff", true);
  g.opts.set("max_timeout", int64_t{2000});
  group_fixture fx{g, 2000, 3};
  auto& b = *fx.sinks["b"];
  b.fail_writes = 1;
  auto eng = fx.start();
  auto& metrics = eng->metrics();
  WHEN("events flow and member b fails its first write") {
    REQUIRE(eventually([&] {
      for (auto& [_, s] : fx.sinks)
        if (s->received_count() < 1000)
          return false;
      return true;
    }));
    THEN("every member wrote a share, b after its back-off") {
      CHECK(b.failed_writes == 1);
      CHECK(metrics.snapshot("g").rerouted >= 1);
      std::lock_guard guard{b.mtx};
      REQUIRE(b.opens.size() >= 2);
      CHECK(b.opens.back() - b.write_failures.front() >= 1s);
    }
    eng->stop();
    REQUIRE(!eng->wait());
    // Outside the THEN: Catch runs the scenario once.
    CHECK(fx.check_nothing_lost() <= 100);
  }
}
