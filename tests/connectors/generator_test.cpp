#include "connectors/generator.hpp"

#include <chrono>
#include <string>
#include <thread>

#include <catch2/catch.hpp>

#include "tests/connectors/connector_test_helpers.hpp"

using namespace sluice;
using namespace std::chrono_literals;

namespace {

source_connector_ptr make_generator(options o) {
  auto ctx = test::make_context("gen");
  auto c = test::make_source(generator_source_type(), ctx, std::move(o));
  REQUIRE(c);
  REQUIRE(*c);
  REQUIRE(!(*c)->open());
  return std::move(*c);
}

} // namespace

SCENARIO("the generator produces exactly count events", "[generator]") {
  GIVEN("a generator with count 10") {
    options o;
    o.set("count", int64_t{10});
    auto gen = make_generator(o);
    WHEN("it is polled for 4 events at a time") {
      std::vector<interceptor_ptr> chain;
      event_batch b;
      batch_builder builder{b, chain};
      std::vector<poll_status> statuses;
      for (int i = 0; i < 10; ++i) {
        auto st = gen->poll(builder, 4);
        REQUIRE(st);
        statuses.push_back(*st);
        if (*st == poll_status::finished)
          break;
      }
      THEN("it fills whole batches, then finishes after the 10th event") {
        REQUIRE(statuses.size() == 3);
        CHECK(statuses[0] == poll_status::more);
        CHECK(statuses[1] == poll_status::more);
        CHECK(statuses[2] == poll_status::finished);
        CHECK(b.size() == 10);
      }
      AND_THEN("polling again yields nothing and still finishes") {
        event_batch more;
        batch_builder again{more, chain};
        auto st = gen->poll(again, 4);
        REQUIRE(st);
        CHECK(*st == poll_status::finished);
        CHECK(more.empty());
      }
    }
    WHEN("it is polled for more than count at once") {
      std::vector<interceptor_ptr> chain;
      event_batch b;
      batch_builder builder{b, chain};
      auto st = gen->poll(builder, 1000);
      THEN("it returns the 10 events and finished") {
        REQUIRE(st);
        CHECK(*st == poll_status::finished);
        CHECK(b.size() == 10);
      }
    }
  }
}

SCENARIO("a generator resumes after the last line its channel holds",
         "[generator]") {
  options o;
  o.set("count", int64_t{10});
  o.set("start", int64_t{100});
  auto gen = make_generator(o);
  std::vector<interceptor_ptr> chain;
  event_batch b;
  batch_builder builder{b, chain};
  REQUIRE(gen->poll(builder, 4));
  auto token = gen->progress();
  auto ctx = test::make_context("gen");
  auto again = test::make_source(generator_source_type(), ctx, o);
  REQUIRE(again);
  REQUIRE(!(*again)->resume(token));
  REQUIRE(!(*again)->open());
  event_batch rest;
  batch_builder more{rest, chain};
  auto st = (*again)->poll(more, 100);
  REQUIRE(st);
  THEN("it goes on from the next number and stops at count in all") {
    CHECK(*st == poll_status::finished);
    REQUIRE(rest.size() == 6);
    CHECK(std::string{rest.body(0)}.substr(0, 12) == "000000000104");
  }
  AND_THEN("a damaged token is an error") {
    CHECK((*again)->resume("12"));
    CHECK((*again)->resume("x 1"));
  }
}

SCENARIO("generator lines have a fixed size and a zero-padded sequence",
         "[generator]") {
  GIVEN("a generator with line_size 40, start 42 and count 25") {
    options o;
    o.set("count", int64_t{25});
    o.set("line_size", int64_t{40});
    o.set("start", int64_t{42});
    auto gen = make_generator(o);
    WHEN("it is drained") {
      auto r = test::drain_all(*gen);
      THEN("every line is 40 bytes, numbered from 42 with 12 digits") {
        REQUIRE(r.finished);
        REQUIRE(r.lines.size() == 25);
        for (size_t i = 0; i < r.lines.size(); ++i) {
          auto& line = r.lines[i];
          REQUIRE(line.size() == 40);
          auto digits = std::to_string(42 + i);
          auto expected = std::string(12 - digits.size(), '0') + digits;
          CHECK(line.substr(0, 12) == expected);
          CHECK(line[12] == ' ');
        }
      }
    }
  }
  GIVEN("a generator with the minimal line_size 16") {
    options o;
    o.set("count", int64_t{3});
    o.set("line_size", int64_t{16});
    auto gen = make_generator(o);
    THEN("lines are 16 bytes and start at 000000000000") {
      auto r = test::drain_all(*gen);
      REQUIRE(r.lines.size() == 3);
      CHECK(r.lines[0] == "000000000000 xxx");
      CHECK(r.lines[2] == "000000000002 xxx");
    }
  }
}

SCENARIO("the generator respects its rate", "[generator]") {
  GIVEN("a generator with rate 1000 per second and no count") {
    options o;
    o.set("rate", int64_t{1000});
    auto t0 = std::chrono::steady_clock::now();
    auto gen = make_generator(o);
    WHEN("it is polled for about 300 ms") {
      std::vector<interceptor_ptr> chain;
      size_t total = 0;
      auto end = std::chrono::steady_clock::now() + 300ms;
      while (std::chrono::steady_clock::now() < end) {
        event_batch b;
        batch_builder builder{b, chain};
        auto st = gen->poll(builder, 10'000);
        REQUIRE(st);
        CHECK(*st != poll_status::finished);
        total += b.size();
        std::this_thread::sleep_for(5ms);
      }
      // A stalled test thread lets tokens build up (at most one second's
      // worth), so the bound follows the time that really passed.
      std::chrono::duration<double> elapsed =
          std::chrono::steady_clock::now() - t0;
      THEN("it produced some events, no more than the rate allows") {
        CHECK(total > 0);
        CHECK(total <= static_cast<size_t>(1000 * elapsed.count()) + 1);
        CHECK(total < 10'000); // one unlimited poll alone gives 10,000
      }
    }
  }
}
