// Supervision while a channel drains: the engine with its real supervisor,
// channel and sink actors, and a test sink that fails on command.
#include <atomic>
#include <chrono>
#include <thread>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/after.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>

#include <catch2/catch.hpp>

#include "actors/supervisor.hpp"
#include "engine/engine.hpp"
#include "runtime/atoms.hpp"
#include "runtime/errors.hpp"
#include "tests/support/test_connectors.hpp"

using namespace sluice;
using namespace std::chrono_literals;

namespace {

topology_spec drain_topology(int64_t drain_timeout_ms) {
  topology_spec spec;
  source_spec src;
  src.name = "src";
  src.type = "counter";
  src.channel = "ch";
  src.batch_size = 100;
  spec.sources.push_back(src);
  channel_spec ch;
  ch.name = "ch";
  ch.type = "memory";
  // Holds every event, so the source finishes while the sink still fails.
  ch.opts.set("capacity", int64_t{10'000});
  ch.opts.set("transaction_capacity", int64_t{100});
  spec.channels.push_back(ch);
  sink_spec snk;
  snk.name = "snk";
  snk.type = "recorder";
  snk.channel = "ch";
  snk.batch_size = 100;
  spec.sinks.push_back(snk);
  spec.supervision.max_restarts = 1'000;
  spec.supervision.initial_backoff_ms = 20;
  spec.supervision.max_backoff_ms = 100;
  spec.drain_timeout_ms = drain_timeout_ms;
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

/// Waits until the source has finished, which starts the drain.
bool source_finished(engine& eng) {
  return eventually([&] { return !eng.component("src"); });
}

using fail_atom = caf::atom_constant<caf::atom("fail")>;
using release_atom = caf::atom_constant<caf::atom("release")>;

/// What the stand-in children of a bare supervisor did.
struct child_log {
  std::atomic<int> starts{0};
  std::atomic<int> stops{0};     ///< stop_atom received
  std::atomic<bool> hold{false}; ///< answer stop_atom only on release_atom
};

/// A stand-in source: stops on stop_atom, or on release_atom while held.
caf::behavior fake_source(caf::event_based_actor* self,
                          std::shared_ptr<child_log> log) {
  ++log->starts;
  return {
      [self, log](stop_atom) {
        ++log->stops;
        if (!log->hold)
          self->quit();
      },
      [self](release_atom) { self->quit(); },
  };
}

/// A stand-in channel: stops on stop_atom, fails on fail_atom.
caf::behavior fake_channel(caf::event_based_actor* self,
                           std::shared_ptr<child_log> log) {
  ++log->starts;
  return {
      [self, log](stop_atom) {
        ++log->stops;
        self->quit();
      },
      [self](fail_atom) {
        self->quit(caf::make_error(caf::sec::runtime_error, "channel broke"));
      },
  };
}

} // namespace

SCENARIO("a channel that fails while its sources stop is restarted, and the "
         "sources it restarts are asked to stop at once",
         "[supervisor][stop]") {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  auto ch = std::make_shared<child_log>();
  auto slow = std::make_shared<child_log>();
  auto quick = std::make_shared<child_log>();
  supervisor_config sc;
  sc.name = "test";
  sc.policy.initial_backoff_ms = 10;
  sc.policy.max_backoff_ms = 10;
  // Far longer than a clean stop: a phase ended by its timeout shows.
  sc.phase_timeout_ms = 10'000;
  auto child = [](std::string name, int phase,
                  std::vector<std::string> dependents, auto start) {
    child_spec c;
    c.name = std::move(name);
    c.stop_phase = phase;
    c.dependents = std::move(dependents);
    c.start = start;
    return c;
  };
  sc.children.push_back(child("ch", 1, {"slow", "quick"},
                              [ch](caf::actor_system& s, const child_handles&) {
                                return s.spawn(fake_channel, ch);
                              }));
  sc.children.push_back(
      child("slow", 0, {}, [slow](caf::actor_system& s, const child_handles&) {
        return s.spawn(fake_source, slow);
      }));
  sc.children.push_back(child(
      "quick", 0, {}, [quick](caf::actor_system& s, const child_handles&) {
        return s.spawn(fake_source, quick);
      }));
  slow->hold = true;
  auto sup = spawn_supervisor(sys, sc);
  caf::scoped_actor self{sys};
  self->monitor(sup);
  auto child_handle = [&](const std::string& name) {
    caf::actor result;
    self->request(sup, caf::infinite, get_atom::value, name)
        .receive([&](caf::actor& a) { result = a; }, [&](caf::error&) {});
    return result;
  };
  auto quick_running = [&] {
    return static_cast<bool>(child_handle("quick"));
  };
  REQUIRE(eventually([&] { return quick_running() && child_handle("slow"); }));
  auto channel = child_handle("ch");
  REQUIRE(channel);
  GIVEN("a stop under way: one source stopped, the other still stopping") {
    self->send(sup, stop_atom::value);
    REQUIRE(eventually([&] { return slow->stops == 1 && !quick_running(); }));
    REQUIRE(quick->stops == 1);
    WHEN("the channel fails") {
      slow->hold = false;
      self->send(channel, fail_atom::value);
      auto t0 = std::chrono::steady_clock::now();
      bool down = false;
      caf::error reason;
      self->receive(
          [&](caf::down_msg& msg) {
            down = true;
            reason = msg.reason;
          },
          caf::after(std::chrono::seconds{60}) >> [] {});
      auto took = std::chrono::steady_clock::now() - t0;
      THEN("it restarts, every source it restarts stops cleanly, and the "
           "stop ends without waiting for the phase timeout") {
        REQUIRE(down);
        CHECK(!reason);
        CHECK(ch->starts == 2);    // the failure was restarted
        CHECK(quick->starts == 2); // a stopped source came back...
        CHECK(quick->stops == 2);  // ...and was asked to stop again
        CHECK(slow->starts == 2);
        CHECK(slow->stops == 2);
        CHECK(took < std::chrono::milliseconds{sc.phase_timeout_ms / 2});
      }
    }
  }
}

SCENARIO("a sink that fails while its channel drains is restarted and "
         "delivers everything",
         "[supervisor][drain]") {
  auto bench = std::make_shared<test::test_bench>();
  bench->source_limit = 5'000;
  bench->fail_writes = 1'000'000;
  auto eng =
      engine::make(drain_topology(20'000), test::make_test_registry(bench));
  REQUIRE(eng);
  REQUIRE(!(*eng)->start());
  GIVEN("a source that finished while the sink fails") {
    REQUIRE(source_finished(**eng));
    REQUIRE(bench->produced == 5'000);
    auto restarts_at_drain = (*eng)->metrics().snapshot("snk").restarts;
    REQUIRE(bench->received_count() == 0);
    WHEN("the sink recovers during the drain") {
      // A few more failures first: restarts go on while draining.
      REQUIRE(eventually([&] {
        return (*eng)->metrics().snapshot("snk").restarts >=
               restarts_at_drain + 3;
      }));
      bench->fail_writes = 0;
      auto err = (*eng)->wait();
      THEN("it was restarted during the drain and every event arrived") {
        CHECK(!err);
        CHECK((*eng)->metrics().snapshot("snk").restarts >=
              restarts_at_drain + 3);
        std::lock_guard guard{bench->mtx};
        REQUIRE(bench->received.size() == 5'000);
        for (size_t i = 0; i < 5'000; ++i)
          REQUIRE(bench->received[i] == std::to_string(i));
      }
    }
  }
}

SCENARIO("a sink that does not recover within drain_timeout fails the run "
         "and the loss is reported",
         "[supervisor][drain]") {
  auto bench = std::make_shared<test::test_bench>();
  bench->source_limit = 5'000;
  bench->fail_writes = 1'000'000;
  auto eng =
      engine::make(drain_topology(1'000), test::make_test_registry(bench));
  REQUIRE(eng);
  REQUIRE(!(*eng)->start());
  REQUIRE(source_finished(**eng));
  auto restarts_at_drain = (*eng)->metrics().snapshot("snk").restarts;
  auto err = (*eng)->wait();
  THEN("the engine reports how many events were lost and where") {
    REQUIRE(err);
    CHECK(err == make_error(channel_errc::events_lost));
    CHECK_THAT(describe(err), Catch::Contains("5000 undelivered event(s)") &&
                                  Catch::Contains("channel ch"));
    CHECK(bench->received_count() == 0);
  }
  THEN("the sink kept being restarted during the drain") {
    CHECK((*eng)->metrics().snapshot("snk").restarts > restarts_at_drain);
  }
}

SCENARIO("a component that fails with a permanent error is not restarted",
         "[supervisor][permanent]") {
  auto bench = std::make_shared<test::test_bench>();
  bench->source_limit = 1'000;
  bench->fail_opens = 1'000;
  bench->fail_permanently = true;
  auto spec = drain_topology(20'000);
  spec.supervision.max_restarts = 10;
  spec.supervision.initial_backoff_ms = 1'000;
  auto eng = engine::make(spec, test::make_test_registry(bench));
  REQUIRE(eng);
  REQUIRE(!(*eng)->start());
  auto err = (*eng)->wait();
  THEN("the engine fails at once with the cause") {
    REQUIRE(err);
    CHECK(err == make_error(supervisor_errc::permanent_failure));
    CHECK_THAT(describe(err), Catch::Contains("snk failed with an error no "
                                              "restart can cure") &&
                                  Catch::Contains("open refused"));
    CHECK((*eng)->metrics().snapshot("snk").restarts == 0);
    std::lock_guard guard{bench->mtx};
    CHECK(bench->opens.size() == 1);
  }
}
