#include <catch2/catch.hpp>

#include "actors/ops/lookup_cache.hpp"
#include "tests/actors/ops/ops_support.hpp"

using namespace sluice;
using namespace sluice::columnar;
using namespace sluice::ops;
using sluice::ops::test::make_rows;

namespace {

schema_ptr orders() {
  return make_schema({{"shop", int64_type()}, {"amount", int64_type()}});
}

schema_ptr shops() {
  return make_schema({{"id", int64_type()}, {"name", string_type()}});
}

/// A batch of orders of the given shops ("NULL" for a NULL key).
row_batch orders_of(const std::vector<std::string>& keys) {
  std::vector<std::vector<std::string>> rows;
  for (auto& k : keys)
    rows.push_back({k, "1"});
  return make_rows(orders(), rows);
}

/// What the table would answer for `wanted`: shop k has name "s<k>" when
/// k is below 100, two rows for shop 2, none from 100 on.
void answer(lookup_cache& c, const std::vector<uint32_t>& wanted, int64_t now) {
  row_batch keys;
  c.keys_of(wanted, keys);
  std::vector<std::vector<std::string>> rows;
  std::vector<uint32_t> of;
  for (uint32_t i = 0; i < keys.num_rows(); ++i) {
    auto k = keys.col(0).value<int64_t>(i);
    if (k >= 100)
      continue;
    rows.push_back({std::to_string(k), "s" + std::to_string(k)});
    of.push_back(i);
    if (k == 2) {
      rows.push_back({"2", "s2b"});
      of.push_back(i);
    }
  }
  c.fill(wanted, make_rows(shops(), rows), of, now);
}

std::vector<std::string> names(const lookup_cache& c, uint32_t entry) {
  std::vector<std::string> out;
  for (auto r : c.matches(entry))
    out.emplace_back(c.rows().col(1).str(r));
  return out;
}

lookup_settings partial(uint64_t max_rows) {
  lookup_settings s;
  s.cache = true;
  s.max_rows = max_rows;
  return s;
}

} // namespace

TEST_CASE("a lookup batch asks the table once per key and never for a NULL "
          "key",
          "[ops][lookup_cache]") {
  lookup_cache c{partial(100), shops()};
  auto in = orders_of({"1", "2", "1", "NULL", "100", "2"});
  std::vector<uint32_t> entries, wanted;
  std::vector<uint32_t> key{0};
  c.find(in, key, 0, entries, wanted);
  REQUIRE(wanted.size() == 3); // 1, 2, 100
  CHECK(entries[3] == no_group);
  CHECK(entries[0] == entries[2]);
  CHECK(entries[1] == entries[5]);
  answer(c, wanted, 0);
  CHECK(names(c, entries[0]) == std::vector<std::string>{"s1"});
  CHECK(names(c, entries[1]) == std::vector<std::string>{"s2", "s2b"});
  CHECK(names(c, entries[4]).empty());
  CHECK(c.misses == 3);
  c.trim(0);
  // The next batch finds everything cached, the missing key too.
  c.find(orders_of({"2", "100", "1"}), key, 10, entries, wanted);
  CHECK(wanted.empty());
  CHECK(c.hits == 3);
  CHECK(names(c, entries[0]) == std::vector<std::string>{"s2", "s2b"});
}

TEST_CASE("a lookup cache expires keys after write and after access",
          "[ops][lookup_cache]") {
  std::vector<uint32_t> entries, wanted;
  std::vector<uint32_t> key{0};
  SECTION("after write: a key is asked again once its answer is old") {
    auto s = partial(100);
    s.write_ttl = 1000;
    lookup_cache c{s, shops()};
    c.find(orders_of({"1"}), key, 0, entries, wanted);
    answer(c, wanted, 0);
    c.trim(0);
    c.find(orders_of({"1"}), key, 999, entries, wanted);
    CHECK(wanted.empty());
    c.trim(999);
    c.find(orders_of({"1"}), key, 1000, entries, wanted);
    CHECK(wanted.size() == 1);
  }
  SECTION("after access: a key used often stays, an unused one goes") {
    auto s = partial(100);
    s.access_ttl = 1000;
    lookup_cache c{s, shops()};
    c.find(orders_of({"1", "3"}), key, 0, entries, wanted);
    answer(c, wanted, 0);
    c.trim(0);
    c.find(orders_of({"1"}), key, 800, entries, wanted);
    CHECK(wanted.empty());
    c.trim(800);
    CHECK(c.size() == 2);
    c.trim(1500); // 3 unused since 0, 1 since 800
    CHECK(c.size() == 1);
    c.find(orders_of({"1", "3"}), key, 1500, entries, wanted);
    CHECK(wanted.size() == 1);
    CHECK(c.evictions == 1);
  }
  SECTION("missing keys are not kept when the settings say so") {
    auto s = partial(100);
    s.cache_missing = false;
    lookup_cache c{s, shops()};
    c.find(orders_of({"1", "100"}), key, 0, entries, wanted);
    answer(c, wanted, 0);
    c.trim(0);
    c.find(orders_of({"1", "100"}), key, 1, entries, wanted);
    REQUIRE(wanted.size() == 1);
    row_batch keys;
    c.keys_of(wanted, keys);
    CHECK(keys.col(0).value<int64_t>(0) == 100);
  }
}

TEST_CASE("a lookup cache over its size keeps the most recently used keys, "
          "with their rows",
          "[ops][lookup_cache]") {
  lookup_cache c{partial(10), shops()};
  std::vector<uint32_t> entries, wanted;
  std::vector<uint32_t> key{0};
  for (int64_t k = 0; k < 20; ++k) {
    c.find(orders_of({std::to_string(k)}), key, k, entries, wanted);
    answer(c, wanted, k);
    c.trim(k);
    CHECK(c.size() <= 10);
  }
  // The newest keys are there, with the right rows; the oldest are gone.
  c.find(orders_of({"19", "18", "2", "0"}), key, 100, entries, wanted);
  REQUIRE(wanted.size() == 2);
  CHECK(names(c, entries[0]) == std::vector<std::string>{"s19"});
  CHECK(names(c, entries[1]) == std::vector<std::string>{"s18"});
  CHECK(c.evictions >= 10);
  // The rows of evicted keys are dropped too, not only their keys.
  CHECK(c.rows().num_rows() <= 12);
}

TEST_CASE("without a cache a lookup keeps nothing between batches",
          "[ops][lookup_cache]") {
  lookup_cache c{lookup_settings{}, shops()};
  std::vector<uint32_t> entries, wanted;
  std::vector<uint32_t> key{0};
  c.find(orders_of({"1", "1"}), key, 0, entries, wanted);
  CHECK(wanted.size() == 1);
  answer(c, wanted, 0);
  CHECK(names(c, entries[1]) == std::vector<std::string>{"s1"});
  c.trim(0);
  CHECK(c.size() == 0);
  CHECK(c.rows().num_rows() == 0);
  c.find(orders_of({"1"}), key, 1, entries, wanted);
  CHECK(wanted.size() == 1);
}
