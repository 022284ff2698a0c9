#include "runtime/columnar/hash.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

using namespace sluice::columnar;

namespace {

schema_ptr key_schema() {
  return make_schema(
      {{"id", int64_type()}, {"name", string_type()}, {"x", float64_type()}});
}

void push_row(row_batch& b, int64_t id, const char* name, double x) {
  b.col(0).push(id);
  name ? b.col(1).push_str(name) : b.col(1).push_null();
  b.col(2).push(x);
}

std::vector<uint64_t> hashes(const row_batch& b,
                             std::vector<uint32_t> keys = {0, 1}) {
  std::vector<uint64_t> out;
  hash_keys(b, keys, out);
  return out;
}

} // namespace

TEST_CASE("the same keys hash the same in any batch", "[hash]") {
  row_batch a{key_schema()};
  push_row(a, 1, "one", 1.0);
  push_row(a, 2, "two", 2.0);
  push_row(a, 1, "one", 9.0);
  row_batch b{key_schema()};
  push_row(b, 7, nullptr, 0.0);
  push_row(b, 1, "one", 5.0);
  push_row(b, 2, "two", 6.0);
  auto ha = hashes(a);
  auto hb = hashes(b);
  REQUIRE(ha.size() == 3);
  CHECK(ha[0] == ha[2]);
  CHECK(ha[0] == hb[1]);
  CHECK(ha[1] == hb[2]);
  CHECK(ha[0] != ha[1]);
  SECTION("a selection hashes only its rows, in its order") {
    b.set_selection({2, 1});
    auto hs = hashes(b);
    REQUIRE(hs.size() == 2);
    CHECK(hs[0] == ha[1]);
    CHECK(hs[1] == ha[0]);
  }
  SECTION("the order of key columns matters") {
    CHECK(hashes(a, {1, 0})[0] != ha[0]);
  }
  SECTION("no key columns give one hash for every row") {
    auto h0 = hashes(a, {});
    CHECK(h0 == std::vector<uint64_t>{0, 0, 0});
  }
}

TEST_CASE("NULL keys hash to a value of their own", "[hash]") {
  row_batch b{key_schema()};
  push_row(b, 1, nullptr, 0.0);
  push_row(b, 1, "", 0.0);
  push_row(b, 1, nullptr, 0.0);
  b.col(0).set_null(2);
  row_batch c{key_schema()};
  push_row(c, 5, nullptr, 0.0);
  c.col(0).set_null(0);
  auto h = hashes(b);
  CHECK(h[0] != h[1]);
  CHECK(h[2] == hashes(c)[0]);
  CHECK(h[2] != h[0]);
  SECTION("a NULL's hash does not depend on the value under it") {
    row_batch d{key_schema()};
    push_row(d, 99, nullptr, 0.0);
    d.col(0).set_null(0);
    CHECK(hashes(d)[0] == h[2]);
  }
}

TEST_CASE("DOUBLE keys hash by SQL equality", "[hash]") {
  row_batch b{key_schema()};
  push_row(b, 0, "", 0.0);
  push_row(b, 0, "", -0.0);
  push_row(b, 0, "", std::nan("1"));
  push_row(b, 0, "", -std::numeric_limits<double>::quiet_NaN());
  auto h = hashes(b, {2});
  CHECK(h[0] == h[1]);
  CHECK(h[2] == h[3]);
  CHECK(h[0] != h[2]);
}

TEST_CASE("hashes stay what they were when written down", "[hash]") {
  // Values computed once with this build. A change here moves keys between
  // operator instances: a mixed-version cluster would split groups.
  row_batch b{key_schema()};
  push_row(b, 0, "", 0.0);
  push_row(b, 42, "auction", 1.5);
  push_row(b, -1, nullptr, -2.25);
  auto h = hashes(b, {0, 1, 2});
  CHECK(h == std::vector<uint64_t>{0x83904dbbec664c49ULL, 0x355be9a59263499aULL,
                                   0xdc313170a27c23b5ULL});
  row_batch d{make_schema({{"m", decimal_type(23, 3)},
                           {"t", timestamp_type()},
                           {"f", boolean_type()},
                           {"i", int32_type()}})};
  d.col(0).push<int128>(pow10_i128(20) * 3 + 908);
  d.col(1).push<int64_t>(1700000000123);
  d.col(2).push<uint8_t>(1);
  d.col(3).push<int32_t>(-7);
  CHECK(hashes(d, {0, 1, 2, 3}) ==
        std::vector<uint64_t>{0x5249fc1b1c58c114ULL});
}

TEST_CASE("partition keeps batch order within each target", "[hash]") {
  row_batch b{key_schema()};
  for (int64_t i = 0; i < 5000; ++i)
    push_row(b, i % 997, "k", 0.0);
  std::vector<uint32_t> sel;
  for (uint32_t i = 0; i < 5000; i += 3)
    sel.push_back(i);
  b.set_selection(sel);
  auto h = hashes(b, {0});
  for (uint32_t n : {1u, 2u, 8u, 64u}) {
    INFO(n << " targets");
    std::vector<std::vector<uint32_t>> parts;
    partition(h, b, n, parts);
    REQUIRE(parts.size() == n);
    std::vector<uint32_t> all;
    std::vector<int> target_of_key(997, -1);
    for (uint32_t t = 0; t < n; ++t) {
      CHECK(std::is_sorted(parts[t].begin(), parts[t].end()));
      if (n > 1)
        CHECK(parts[t].size() < sel.size());
      for (auto r : parts[t]) {
        all.push_back(r);
        auto key = b.col(0).value<int64_t>(r);
        if (target_of_key[key] == -1)
          target_of_key[key] = static_cast<int>(t);
        CHECK(target_of_key[key] == static_cast<int>(t));
      }
    }
    std::sort(all.begin(), all.end());
    CHECK(all == sel);
  }
  SECTION("targets are spread evenly") {
    std::vector<std::vector<uint32_t>> parts;
    partition(h, b, 8, parts);
    for (auto& p : parts) {
      CHECK(p.size() > sel.size() / 8 / 2);
      CHECK(p.size() < sel.size() / 8 * 2);
    }
  }
}
