#include <catch2/catch.hpp>

#include "actors/ops/group_table.hpp"
#include "runtime/columnar/hash.hpp"
#include "tests/actors/ops/ops_support.hpp"

using namespace sluice;
using namespace sluice::columnar;
using namespace sluice::ops;
using sluice::ops::test::make_rows;
using sluice::ops::test::rows_text;

namespace {

schema_ptr two_keys() {
  return make_schema(
      {{"k", string_type()}, {"n", int64_type()}, {"v", int64_type()}});
}

} // namespace

TEST_CASE("groups get dense ids in order of first appearance, NULL keys equal "
          "each other",
          "[ops][group_table]") {
  auto b = make_rows(two_keys(), {{"a", "1", "10"},
                                  {"b", "1", "11"},
                                  {"a", "1", "12"},
                                  {"NULL", "1", "13"},
                                  {"a", "NULL", "14"},
                                  {"NULL", "1", "15"},
                                  {"a", "NULL", "16"},
                                  {"", "1", "17"}});
  std::vector<uint32_t> cols{0, 1};
  std::vector<uint64_t> h;
  hash_keys(b, cols, h);
  group_table t;
  std::vector<uint32_t> gids;
  t.find_or_insert(b, cols, h, gids);
  CHECK(gids == std::vector<uint32_t>{0, 1, 0, 2, 3, 2, 3, 4});
  REQUIRE(t.size() == 5);
  CHECK(rows_text(t.keys) ==
        std::vector<std::string>{"a|1", "b|1", "NULL|1", "a|NULL", "|1"});
  // A second batch finds the same groups.
  auto b2 = make_rows(two_keys(),
                      {{"NULL", "1", "0"}, {"c", "2", "0"}, {"b", "1", "0"}});
  hash_keys(b2, cols, h);
  t.find_or_insert(b2, cols, h, gids);
  CHECK(gids == std::vector<uint32_t>{2, 5, 1});
  CHECK(t.byte_size() > 0);
}

TEST_CASE("group lookup honours the selection of the batch",
          "[ops][group_table]") {
  auto b = make_rows(
      two_keys(),
      {{"a", "1", "0"}, {"b", "2", "0"}, {"c", "3", "0"}, {"b", "2", "0"}});
  b.set_selection({1, 3});
  std::vector<uint32_t> cols{0, 1};
  std::vector<uint64_t> h;
  hash_keys(b, cols, h);
  group_table t;
  std::vector<uint32_t> gids;
  t.find_or_insert(b, cols, h, gids);
  CHECK(gids == std::vector<uint32_t>{0, 0});
  CHECK(rows_text(t.keys) == std::vector<std::string>{"b|2"});
}

TEST_CASE("100k keys with every hash colliding into 64 values still get "
          "exact groups",
          "[ops][group_table]") {
  auto s = make_schema({{"k", int64_type()}});
  group_table t;
  std::vector<uint32_t> cols{0};
  std::vector<uint32_t> gids;
  constexpr int64_t keys = 100'000;
  // Two passes over the keys, in batches of 4096: the second finds them all.
  for (int pass = 0; pass < 2; ++pass) {
    for (int64_t from = 0; from < keys; from += 4096) {
      row_batch b{s};
      std::vector<uint64_t> forced;
      for (int64_t k = from; k < std::min(keys, from + 4096); ++k) {
        b.col(0).push<int64_t>(k * 7919);
        forced.push_back(static_cast<uint64_t>(k % 64)); // the test's hash
      }
      t.find_or_insert(b, cols, forced, gids);
      for (size_t i = 0; i < gids.size(); ++i)
        REQUIRE(gids[i] == static_cast<uint32_t>(from + i));
    }
  }
  CHECK(t.size() == keys);
  CHECK(t.first_by_hash.size() == 64);
  CHECK(t.keys.col(0).value<int64_t>(99'999) == 99'999 * 7919);
}

TEST_CASE("keep renumbers the groups and lookups still find the survivors",
          "[ops][group_table]") {
  auto s = make_schema({{"k", string_type()}});
  auto b = make_rows(s, {{"a"}, {"b"}, {"c"}, {"d"}});
  std::vector<uint32_t> cols{0};
  // Forced collisions: a and c share a hash, b and d another.
  std::vector<uint64_t> h{1, 2, 1, 2};
  group_table t;
  std::vector<uint32_t> gids;
  t.find_or_insert(b, cols, h, gids);
  REQUIRE(gids == std::vector<uint32_t>{0, 1, 2, 3});
  std::vector<uint32_t> survivors{1, 2, 3};
  t.keep(survivors);
  CHECK(rows_text(t.keys) == std::vector<std::string>{"b", "c", "d"});
  auto b2 = make_rows(s, {{"d"}, {"a"}, {"c"}, {"b"}});
  std::vector<uint64_t> h2{2, 1, 1, 2};
  t.find_or_insert(b2, cols, h2, gids);
  CHECK(gids == std::vector<uint32_t>{2, 3, 1, 0});
}

TEST_CASE("absorb maps another table's groups onto this one",
          "[ops][group_table]") {
  auto s = make_schema({{"k", int64_type()}});
  std::vector<uint32_t> cols{0};
  std::vector<uint64_t> h;
  std::vector<uint32_t> gids;
  group_table x, y;
  auto bx = make_rows(s, {{"1"}, {"2"}});
  hash_keys(bx, cols, h);
  x.find_or_insert(bx, cols, h, gids);
  auto by = make_rows(s, {{"3"}, {"2"}, {"NULL"}});
  hash_keys(by, cols, h);
  y.find_or_insert(by, cols, h, gids);
  std::vector<uint32_t> mapping;
  x.absorb(y, mapping);
  CHECK(mapping == std::vector<uint32_t>{2, 1, 3});
  CHECK(rows_text(x.keys) == std::vector<std::string>{"1", "2", "3", "NULL"});
}

TEST_CASE("DOUBLE keys: -0.0 groups with 0.0 and NaN with NaN",
          "[ops][group_table]") {
  auto s = make_schema({{"d", float64_type()}});
  auto b = make_rows(s, {{"0.0"}, {"-0.0"}, {"NaN"}, {"1.5"}, {"NaN"}});
  std::vector<uint32_t> cols{0};
  std::vector<uint64_t> h;
  hash_keys(b, cols, h);
  group_table t;
  std::vector<uint32_t> gids;
  t.find_or_insert(b, cols, h, gids);
  CHECK(gids == std::vector<uint32_t>{0, 0, 1, 2, 1});
}
