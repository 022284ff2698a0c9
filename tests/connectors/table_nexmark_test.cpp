#include <algorithm>
#include <chrono>

#include <catch2/catch.hpp>

#include "connectors/nexmark_model.hpp"
#include "runtime/errors.hpp"
#include "tests/connectors/table_test_helpers.hpp"

using namespace sluice;
using namespace sluice::columnar;
using test::rows_text;

namespace {

using with_map = std::map<std::string, std::string>;

test::table_drain read_nexmark(const with_map& with, uint32_t split = 0,
                               uint32_t splits = 1, schema_ptr schema = nullptr,
                               size_t max_rows = 700) {
  if (!schema)
    schema = nexmark::table_schema(nexmark::event_kind::bid);
  auto ctx = test::make_table_context("bid", schema, split, splits);
  auto src = test::make_table_source("nexmark", ctx, with);
  REQUIRE(!src->open());
  CHECK(src->max_splits() >= 64);
  auto before = src->source_watermark();
  auto d = test::drain_table(*src, schema, max_rows);
  CHECK(before < src->source_watermark());
  CHECK(src->source_watermark() == max_timestamp);
  CHECK(src->progress() == "next=end");
  return d;
}

std::vector<std::string> sorted(std::vector<std::string> xs) {
  std::sort(xs.begin(), xs.end());
  return xs;
}

} // namespace

SCENARIO("nexmark table sources with the same seed write the same rows",
         "[nexmark_table]") {
  with_map with{{"table", "bid"}, {"events.num", "5000"}, {"seed", "7"}};
  auto a = read_nexmark(with);
  auto b = read_nexmark(with);
  THEN("a bounded source ends with finished after its 46 of 50 events") {
    CHECK(a.finished);
    CHECK(a.rows.num_rows() == 4600);
    CHECK(rows_text(a.rows) == rows_text(b.rows));
  }
  AND_THEN("another seed gives other rows") {
    with["seed"] = std::string{"8"};
    auto c = read_nexmark(with);
    CHECK(c.rows.num_rows() == 4600);
    CHECK(rows_text(a.rows) != rows_text(c.rows));
  }
}

SCENARIO("nexmark splits partition the table", "[nexmark_table]") {
  with_map with{{"table", "bid"},
                {"events.num", "10000"},
                {"seed", "3"},
                {"first-event.time", "2026-12-04 10:00:00"}};
  auto whole = read_nexmark(with);
  auto s0 = read_nexmark(with, 0, 2);
  auto s1 = read_nexmark(with, 1, 2);
  REQUIRE(whole.rows.num_rows() == 9200);
  CHECK(s0.rows.num_rows() + s1.rows.num_rows() == 9200);
  CHECK(s0.rows.num_rows() > 4000);
  CHECK(s1.rows.num_rows() > 4000);
  auto both = rows_text(s0.rows);
  auto more = rows_text(s1.rows);
  both.insert(both.end(), more.begin(), more.end());
  CHECK(sorted(both) == sorted(rows_text(whole.rows)));
  // Event times start at first-event.time (less the largest delay).
  auto ts = whole.rows.col(5).values<int64_t>();
  auto start = *parse_timestamp("2026-12-04 10:00:00");
  CHECK(*std::min_element(ts.begin(), ts.end()) >= start - 3000);
  CHECK(*std::max_element(ts.begin(), ts.end()) < start + 1000);
}

SCENARIO("a nexmark table with its own column list gets those columns",
         "[nexmark_table]") {
  with_map with{{"table", "bid"}, {"events.num", "500"}, {"seed", "1"}};
  auto full = read_nexmark(with);
  auto mine = make_schema({{"price", int64_type()},
                           {"auction", int64_type()},
                           {"dateTime", timestamp_type()}},
                          2);
  auto part = read_nexmark(with, 0, 1, mine);
  REQUIRE(part.rows.num_rows() == full.rows.num_rows());
  REQUIRE(part.rows.num_rows() == 460);
  for (size_t i = 0; i < full.rows.num_rows(); ++i) {
    CHECK(part.rows.col(0).value<int64_t>(i) ==
          full.rows.col(2).value<int64_t>(i));
    CHECK(part.rows.col(1).value<int64_t>(i) ==
          full.rows.col(0).value<int64_t>(i));
    CHECK(part.rows.col(2).value<int64_t>(i) ==
          full.rows.col(5).value<int64_t>(i));
  }
}

SCENARIO("a paced nexmark table source waits for its rows", "[nexmark_table]") {
  auto schema = nexmark::table_schema(nexmark::event_kind::bid);
  auto ctx = test::make_table_context("bid", schema);
  auto src = test::make_table_source(
      "nexmark", ctx,
      {{"table", "bid"}, {"events.num", "300"}, {"rate", "1000"}});
  REQUIRE(!src->open());
  auto t0 = std::chrono::steady_clock::now();
  auto d = test::drain_table(*src, schema, 1000);
  auto took = std::chrono::steady_clock::now() - t0;
  CHECK(d.finished);
  CHECK(d.rows.num_rows() == 276);
  // 300 events at 1000/s take about 0.3 s; the source said idle meanwhile.
  CHECK(d.polls > 3);
  CHECK(took >= std::chrono::milliseconds{250});
}

SCENARIO("wrong nexmark table options are errors", "[nexmark_table]") {
  auto reg = table_registry::builtin();
  auto* type = reg.find_source("nexmark");
  REQUIRE(type != nullptr);
  auto schema = nexmark::table_schema(nexmark::event_kind::bid);
  auto ctx = test::make_table_context("bid", schema);
  auto make = [&](const with_map& with) -> std::string {
    auto opts = options_from_strings(type->options, with);
    if (!opts)
      return describe(opts.error());
    auto src = type->make(ctx, *opts);
    return src ? std::string{} : describe(src.error());
  };
  CHECK(make({{"table", "bid"}}).empty());
  CHECK(make({}).find("missing required option 'table'") != std::string::npos);
  CHECK(make({{"table", "bids"}}).find("\"bids\"") != std::string::npos);
  CHECK(make({{"table", "bid"}, {"out-of-order.fraction", "2"}})
            .find("'out-of-order.fraction'") != std::string::npos);
  CHECK(make({{"table", "bid"}, {"first-event.time", "noon"}}).find("'noon'") !=
        std::string::npos);
  CHECK(make({{"table", "bid"}, {"bid.proportion", "0"}})
            .find("'bid.proportion'") != std::string::npos);
  ctx.schema = make_schema({{"price", string_type()}});
  CHECK(make({{"table", "bid"}}).find("column 'price' must be BIGINT") !=
        std::string::npos);
  ctx.schema = make_schema({{"cost", int64_type()}});
  CHECK(make({{"table", "bid"}}).find("no column 'cost'") != std::string::npos);
}

SCENARIO("a nexmark table starting now has event times near the wall clock",
         "[nexmark_table]") {
  auto before = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
  auto d = read_nexmark({{"table", "bid"},
                         {"events.num", "500"},
                         {"first-event.time", "now"},
                         {"out-of-order.fraction", "0"}});
  REQUIRE(d.rows.num_rows() == 460);
  auto ts = d.rows.col(5).values<int64_t>();
  // Whole seconds: the start lies at most 1 s before the source was made.
  CHECK(ts.front() >= before - 1000);
  CHECK(ts.front() % 1000 == 0); // the first bid is event 4: 0.4 ms in
  // 500 events at 10,000 events/s of event time span 50 ms, in order.
  CHECK(std::is_sorted(ts.begin(), ts.end()));
  CHECK(ts.back() - ts.front() < 50);
  CHECK(ts.back() <= before + 60000);
}
