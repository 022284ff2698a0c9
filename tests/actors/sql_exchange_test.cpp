#include <catch2/catch.hpp>

#include <algorithm>
#include <vector>

#include "actors/sql/exchange.hpp"
#include "runtime/columnar/row_batch.hpp"
#include "runtime/columnar/schema.hpp"

using namespace sluice;
using sluice::sql_actors::exchange;

namespace {

struct sent {
  uint32_t target;
  uint64_t seq;
  stream_chunk chunk;
};

columnar::row_batch numbers(int64_t from, int64_t to) {
  auto schema = columnar::make_schema({{"n", columnar::int64_type()}});
  columnar::row_batch b{schema};
  for (auto i = from; i < to; ++i)
    b.col(0).push<int64_t>(i);
  return b;
}

} // namespace

TEST_CASE("an exchange sends within each target's credit, in chunks of at "
          "most a batch, and the watermark after the rows it covers",
          "[exchange]") {
  std::vector<sent> out;
  exchange ex{partitioning::single,
              {},
              1,
              0,
              0,
              7,
              4,
              5,
              [&](uint32_t t, uint64_t seq, stream_chunk c) {
                out.push_back({t, seq, std::move(c)});
              }};
  ex.push(numbers(0, 12));
  ex.watermark(100);
  // Credit 5: one chunk of 4 rows, one of 1; 7 rows wait.
  REQUIRE(out.size() == 2);
  CHECK(out[0].chunk.rows.rows() == 4);
  CHECK(out[1].chunk.rows.rows() == 1);
  CHECK(out[0].seq == 1);
  CHECK(out[1].seq == 2);
  CHECK(out[0].chunk.producer == 7);
  // The watermark does not pass rows still waiting.
  CHECK(out[1].chunk.watermark == columnar::min_timestamp);
  CHECK(ex.blocked());
  CHECK_FALSE(ex.can_send());
  ex.on_ack(0, 5);
  REQUIRE(out.size() == 4);
  CHECK(out[2].chunk.rows.rows() == 4);
  CHECK(out[3].chunk.rows.rows() == 1);
  CHECK(out[3].chunk.watermark == columnar::min_timestamp);
  ex.on_ack(0, 8);
  // The last 2 rows, with the watermark that covers them.
  REQUIRE(out.size() == 5);
  CHECK(out[4].chunk.rows.rows() == 2);
  CHECK(out[4].chunk.watermark == 100);
  CHECK(out[4].chunk.rows.ptr->col(0).value<int64_t>(1) == 11);
  CHECK_FALSE(ex.blocked());
  // A watermark alone needs no credit; the end follows everything.
  ex.watermark(200);
  ex.end();
  REQUIRE(out.size() == 7);
  CHECK(out[5].chunk.rows.rows() == 0);
  CHECK(out[5].chunk.watermark == 200);
  CHECK(out[6].chunk.flags == chunk_end);
  CHECK(out[6].seq == 7);
  CHECK(ex.done());
}

TEST_CASE("a hash exchange keeps each key on one target and the row order "
          "per target",
          "[exchange]") {
  std::vector<sent> out;
  exchange ex{partitioning::hash,
              {0},
              3,
              0,
              1,
              0,
              1000,
              1000,
              [&](uint32_t t, uint64_t seq, stream_chunk c) {
                out.push_back({t, seq, std::move(c)});
              }};
  auto b = numbers(0, 100);
  auto twice = numbers(0, 100);
  ex.push(b);
  ex.push(twice);
  std::vector<std::vector<int64_t>> got(3);
  for (auto& s : out) {
    CHECK(s.chunk.port == 1);
    for (size_t i = 0; i < s.chunk.rows.rows(); ++i)
      got[s.target].push_back(s.chunk.rows.ptr->col(0).value<int64_t>(i));
  }
  size_t total = 0;
  for (auto& g : got) {
    total += g.size();
    // Each key twice, both times on this target; in push order.
    REQUIRE(g.size() % 2 == 0);
    auto half = g.size() / 2;
    for (size_t i = 0; i < half; ++i)
      CHECK(g[i] == g[half + i]);
    CHECK(std::is_sorted(g.begin(), g.begin() + static_cast<long>(half)));
  }
  CHECK(total == 200);
}
