#include "connectors/nexmark.hpp"

#include <chrono>
#include <cstdint>

#include <catch2/catch.hpp>

#include "runtime/columnar/types.hpp"

using namespace sluice;
using namespace sluice::nexmark;
using namespace std::chrono_literals;

namespace {

generator make_gen(const model_config& cfg) {
  auto g = generator::make(cfg);
  REQUIRE(g);
  return std::move(*g);
}

} // namespace

SCENARIO("an unpaced bounded nexmark cursor writes its table and ends",
         "[nexmark]") {
  GIVEN("the bid table of split 1 of 2 over 20000 events") {
    model_config cfg;
    cfg.num_events = 20000;
    cfg.splits = 2;
    cfg.split = 1;
    source_cursor cur{make_gen(cfg), event_kind::bid};
    columnar::row_batch batch{table_schema(event_kind::bid)};
    WHEN("it is polled 1000 rows at a time until done") {
      auto now = source_cursor::clock::now();
      size_t rows = 0;
      size_t polls = 0;
      int64_t watermark = columnar::min_timestamp;
      while (!cur.done()) {
        REQUIRE(++polls < 100);
        batch.clear();
        auto n = cur.poll(batch, 1000, now);
        REQUIRE(n);
        REQUIRE(*n == batch.num_rows());
        rows += *n;
        // Every row lies after the watermark vouched for before it.
        for (size_t i = 0; i < batch.num_rows(); ++i)
          REQUIRE(batch.col(5).value<int64_t>(i) > watermark);
        REQUIRE(cur.watermark() >= watermark);
        watermark = cur.watermark();
      }
      THEN("it wrote the split's 9200 bids and its watermark is the end") {
        CHECK(rows == 9200);
        CHECK(cur.events_covered() == 10000);
        CHECK(cur.watermark() == columnar::max_timestamp);
        CHECK(cur.progress() == "next=end");
        batch.clear();
        CHECK(*cur.poll(batch, 1000, now) == 0);
      }
    }
  }
}

SCENARIO("a paced nexmark cursor writes only the rows that are due",
         "[nexmark]") {
  GIVEN("the bid table at 1000 events/s") {
    model_config cfg;
    cfg.rate = 1000;
    cfg.out_of_order_fraction = 0;
    source_cursor cur{make_gen(cfg), event_kind::bid};
    columnar::row_batch batch{table_schema(event_kind::bid)};
    auto t0 = source_cursor::clock::now();
    WHEN("it is polled at the start") {
      auto n = cur.poll(batch, 4096, t0);
      THEN("nothing is due: event 0 is a person, the first bid comes at 4 ms") {
        REQUIRE(n);
        CHECK(*n == 0);
        CHECK(cur.next_due() == t0 + 4ms);
        CHECK(cur.progress() == "next=4");
      }
      AND_WHEN("it is polled 100 ms later, twice") {
        auto m = cur.poll(batch, 4096, t0 + 100ms);
        auto again = cur.poll(batch, 4096, t0 + 100ms);
        THEN("the bids among events 0..100 are written once") {
          REQUIRE(m);
          REQUIRE(again);
          CHECK(*m == 92);
          CHECK(*again == 0);
          CHECK(batch.num_rows() == 92);
          CHECK(batch.col(5).value<int64_t>(91) == 99); // event 99 at 99 ms
          CHECK(cur.next_due() == t0 + 104ms);
          CHECK(cur.watermark() == 103);
        }
      }
    }
  }
  GIVEN("a batch of another table") {
    source_cursor cur{make_gen({}), event_kind::auction};
    columnar::row_batch batch{table_schema(event_kind::person)};
    THEN("poll fails") {
      CHECK(!cur.poll(batch, 10, source_cursor::clock::now()));
    }
  }
}
