// The channel enforces the call rules written in actors/protocols.hpp:
// hand-written misbehaving actors against a real channel actor.
#include <algorithm>
#include <chrono>
#include <memory>
#include <sstream>
#include <string>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/after.hpp>
#include <caf/scoped_actor.hpp>
#include <spdlog/sinks/ostream_sink.h>

#include <catch2/catch.hpp>

#include "actors/channel.hpp"
#include "runtime/atoms.hpp"
#include "runtime/errors.hpp"
#include "runtime/log.hpp"
#include "runtime/memory_store.hpp"
#include "runtime/type_ids.hpp"

using namespace sluice;
using namespace std::chrono_literals;

namespace {

/// Collects what the project's logger writes while it lives.
class log_capture {
 public:
  log_capture()
      : sink_(std::make_shared<spdlog::sinks::ostream_sink_mt>(out_)) {
    log().sinks().push_back(sink_);
  }
  ~log_capture() {
    auto& sinks = log().sinks();
    sinks.erase(std::remove(sinks.begin(), sinks.end(), sink_), sinks.end());
  }
  std::string text() {
    log().flush();
    return out_.str();
  }

 private:
  std::ostringstream out_;
  std::shared_ptr<spdlog::sinks::ostream_sink_mt> sink_;
};

std::unique_ptr<caf::actor_system_config> make_config() {
  auto cfg = std::make_unique<caf::actor_system_config>();
  register_types(*cfg);
  cfg->set("scheduler.max-threads", size_t{2});
  return cfg;
}

event_batch numbered(int first, int n) {
  event_batch b;
  for (int i = first; i < first + n; ++i)
    b.append(std::to_string(i));
  return b;
}

/// A real memory channel of `capacity` events in its own actor system.
struct channel_bench {
  explicit channel_bench(size_t capacity = 1000) : sys(*sys_cfg) {
    channel_config cfg;
    cfg.name = "ch";
    cfg.capacity = capacity;
    cfg.transaction_capacity = 1000;
    cfg.metrics = metrics;
    cfg.make_store = []() -> caf::expected<channel_store_ptr> {
      return channel_store_ptr{std::make_unique<memory_store>()};
    };
    ch = spawn_channel(sys, cfg, false);
  }

  ~channel_bench() { caf::anon_send_exit(ch, caf::exit_reason::kill); }

  uint64_t protocol_errors() const { return metrics->protocol_errors.load(); }

  std::shared_ptr<component_metrics> metrics =
      std::make_shared<component_metrics>("ch", "channel");
  std::unique_ptr<caf::actor_system_config> sys_cfg = make_config();
  caf::actor_system sys;
  channel_actor ch;
};

/// Attaches `self` as a source and returns its first credit.
uint64_t attach(caf::scoped_actor& self, const channel_actor& ch,
                uint64_t window) {
  uint64_t credit = 0;
  self->request(ch, 5s, attach_atom::value, window, std::string{"bad"})
      .receive([&](uint64_t c) { credit = c; },
               [&](caf::error& err) { FAIL(describe(err)); });
  return credit;
}

/// Waits for the channel's next message to `self`: an ack (returns its seq)
/// or an error (stored in `err`).
uint64_t next_answer(caf::scoped_actor& self, caf::error& err) {
  uint64_t seq = 0;
  bool got = false;
  while (!got)
    self->receive([&](ack_atom, uint64_t s, uint64_t) { seq = s, got = true; },
                  [&](credit_atom, uint64_t) {},
                  [&](caf::error& e) { err = std::move(e), got = true; },
                  caf::after(10s) >> [&] { got = true; });
  return seq;
}

/// Takes a lease as `self`.
lease take(caf::scoped_actor& self, const channel_actor& ch) {
  lease result;
  self->request(ch, 5s, take_atom::value, uint64_t{1000})
      .receive([&](lease& l) { result = std::move(l); },
               [&](caf::error& err) { FAIL(describe(err)); });
  return result;
}

/// Waits until the channel handled everything `self` sent before: a
/// progress request is answered in order.
void settle(caf::scoped_actor& self, const channel_actor& ch) {
  self->request(ch, 5s, progress_atom::value, std::string{"nobody"})
      .receive([](const std::string&) {},
               [&](caf::error& err) { FAIL(describe(err)); });
}

} // namespace

SCENARIO("a channel refuses a put from an actor that has not attached",
         "[channel][protocol]") {
  log_capture logs;
  channel_bench bench;
  caf::scoped_actor rogue{bench.sys};
  WHEN("an actor puts without attaching first") {
    rogue->send(bench.ch, put_atom::value, uint64_t{1}, numbered(0, 10),
                std::string{});
    caf::error err;
    next_answer(rogue, err);
    THEN("it gets channel_errc::protocol back; nothing is stored; the "
         "violation is counted and logged") {
      REQUIRE(err);
      CHECK(err == make_error(channel_errc::protocol));
      settle(rogue, bench.ch);
      CHECK(bench.metrics->events_in == 0);
      CHECK(bench.metrics->fill_events == 0);
      CHECK(bench.protocol_errors() == 1);
      CHECK_THAT(logs.text(),
                 Catch::Contains("protocol violation, refused: a put from an "
                                 "actor that has not attached"));
    }
  }
}

SCENARIO("a channel refuses a put whose seq does not increase",
         "[channel][protocol]") {
  log_capture logs;
  channel_bench bench;
  caf::scoped_actor rogue{bench.sys};
  REQUIRE(attach(rogue, bench.ch, 100) == 100);
  rogue->send(bench.ch, put_atom::value, uint64_t{5}, numbered(0, 10),
              std::string{});
  caf::error err;
  REQUIRE(next_answer(rogue, err) == 5);
  REQUIRE(!err);
  WHEN("it puts the same seq again, then a smaller one") {
    rogue->send(bench.ch, put_atom::value, uint64_t{5}, numbered(10, 10),
                std::string{});
    caf::error same;
    next_answer(rogue, same);
    rogue->send(bench.ch, put_atom::value, uint64_t{3}, numbered(20, 10),
                std::string{});
    caf::error smaller;
    next_answer(rogue, smaller);
    THEN("both are refused with channel_errc::protocol; only the first batch "
         "is stored") {
      CHECK(same == make_error(channel_errc::protocol));
      CHECK(smaller == make_error(channel_errc::protocol));
      settle(rogue, bench.ch);
      CHECK(bench.metrics->events_in == 10);
      CHECK(bench.protocol_errors() == 2);
      CHECK_THAT(logs.text(), Catch::Contains("a put with seq 5 after seq 5"));
      CHECK_THAT(logs.text(), Catch::Contains("a put with seq 3 after seq 5"));
      auto l = take(rogue, bench.ch);
      REQUIRE(l.batches.events() == 10);
      CHECK((*l.batches.ptr)[0].body(0) == "0");
    }
  }
}

SCENARIO("a put over credit is accepted, counted and logged",
         "[channel][protocol]") {
  log_capture logs;
  channel_bench bench{1000};
  caf::scoped_actor greedy{bench.sys};
  auto credit = attach(greedy, bench.ch, 10);
  REQUIRE(credit == 10);
  WHEN("the source puts 50 events holding credit for 10") {
    greedy->send(bench.ch, put_atom::value, uint64_t{1}, numbered(0, 50),
                 std::string{});
    caf::error err;
    auto acked = next_answer(greedy, err);
    THEN("the batch is stored and acknowledged, and the violation counted") {
      CHECK(!err);
      CHECK(acked == 1);
      CHECK(bench.metrics->events_in == 50);
      CHECK(bench.protocol_errors() == 1);
      CHECK_THAT(logs.text(),
                 Catch::Contains("put 50 event(s) holding credit for 10"));
    }
  }
  WHEN("it puts within its credit") {
    greedy->send(bench.ch, put_atom::value, uint64_t{1}, numbered(0, 10),
                 std::string{});
    caf::error err;
    CHECK(next_answer(greedy, err) == 1);
    THEN("nothing is counted") {
      CHECK(!err);
      CHECK(bench.protocol_errors() == 0);
    }
  }
}

SCENARIO("a commit or rollback of a lease the sender does not hold changes "
         "nothing",
         "[channel][protocol]") {
  log_capture logs;
  channel_bench bench;
  caf::scoped_actor source{bench.sys};
  caf::scoped_actor owner{bench.sys};
  caf::scoped_actor rogue{bench.sys};
  REQUIRE(attach(source, bench.ch, 100) == 100);
  source->send(bench.ch, put_atom::value, uint64_t{1}, numbered(0, 20),
               std::string{});
  caf::error err;
  REQUIRE(next_answer(source, err) == 1);
  auto l = take(owner, bench.ch);
  REQUIRE(l.id != 0);
  REQUIRE(l.batches.events() == 20);
  WHEN("another actor commits the owner's lease, rolls it back, and commits "
       "an id nobody holds") {
    rogue->send(bench.ch, commit_atom::value, l.id);
    rogue->send(bench.ch, rollback_atom::value, l.id);
    rogue->send(bench.ch, commit_atom::value, l.id + 1000);
    settle(rogue, bench.ch);
    THEN("each is refused and logged; the lease stays the owner's") {
      CHECK(bench.protocol_errors() == 3);
      CHECK(bench.metrics->events_out == 0);
      CHECK(bench.metrics->rollbacks == 0);
      CHECK(bench.metrics->fill_events == 20);
      auto text = logs.text();
      CHECK_THAT(text,
                 Catch::Contains("a commit of lease " + std::to_string(l.id) +
                                 ", which another taker holds"));
      CHECK_THAT(text,
                 Catch::Contains("a rollback of lease " + std::to_string(l.id) +
                                 ", which another taker holds"));
      CHECK_THAT(text, Catch::Contains("a commit of lease " +
                                       std::to_string(l.id + 1000) +
                                       ", which is not open"));
      AND_THEN("the owner's commit still works, once") {
        owner->send(bench.ch, commit_atom::value, l.id);
        settle(owner, bench.ch);
        CHECK(bench.metrics->events_out == 20);
        owner->send(bench.ch, commit_atom::value, l.id);
        settle(owner, bench.ch);
        CHECK(bench.metrics->events_out == 20);
        CHECK(bench.protocol_errors() == 4);
      }
    }
  }
}
