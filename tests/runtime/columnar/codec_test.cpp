#include "runtime/columnar/codec.hpp"

#include <cstring>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "runtime/crc32c.hpp"
#include "runtime/errors.hpp"

using namespace sluice::columnar;

namespace {

/// A batch with a column of every type, NULLs in each nullable one, and
/// kinds on some rows.
row_batch every_type(size_t n) {
  auto s = make_schema({{"b", boolean_type()},
                        {"i", int32_type()},
                        {"l", int64_type(false)},
                        {"d", float64_type()},
                        {"m", decimal_type(23, 3)},
                        {"s", string_type()},
                        {"ts", timestamp_type()},
                        {"iv", interval_type()},
                        {"n", data_type{}}},
                       6);
  row_batch b{s};
  for (size_t i = 0; i < n; ++i) {
    auto null = i % 5 == 2;
    auto v = static_cast<int64_t>(i);
    null ? b.col(0).push_null() : b.col(0).push<uint8_t>(i % 2);
    null ? b.col(1).push_null() : b.col(1).push<int32_t>(-3 * int32_t(i));
    b.col(2).push<int64_t>(v * 1000003);
    null ? b.col(3).push_null() : b.col(3).push<double>(v / 7.0);
    null ? b.col(4).push_null()
         : b.col(4).push<int128>(pow10_i128(25) * (v - 3) + 908);
    null ? b.col(5).push_null()
         : b.col(5).push_str(std::string(i % 13, char('a' + i % 26)));
    null ? b.col(6).push_null() : b.col(6).push<int64_t>(1700000000000 + v);
    null ? b.col(7).push_null() : b.col(7).push<int64_t>(v * 60000);
    b.col(8).push_null();
    if (i % 4 == 1)
      b.set_kind(i, static_cast<row_kind>(i % 3 + 1));
  }
  return b;
}

std::vector<char> encoded(const row_batch& b) {
  std::vector<char> out;
  encode(b, out);
  return out;
}

void fix_crc(std::vector<char>& buf) {
  auto crc = sluice::crc32c::value(buf.data(), buf.size() - 4);
  std::memcpy(buf.data() + buf.size() - 4, &crc, 4);
}

} // namespace

TEST_CASE("every type survives the codec", "[codec]") {
  auto b = every_type(200);
  REQUIRE(b.well_formed());
  auto buf = encoded(b);
  CHECK(buf.size() == encoded_size(b));
  CHECK(std::string_view{buf.data(), 4} == "SLC1");
  auto back = decode(buf);
  REQUIRE(back);
  CHECK(equal_rows(*back, b));
  CHECK(*back->row_schema() == *b.row_schema());
  CHECK(back->row_schema()->rowtime == 6);
  CHECK(back->kind(1) == row_kind::update_after);
  CHECK(back->kind(5) == row_kind::del);
  CHECK(back->kind(9) == row_kind::update_before);
  CHECK(back->col(4).value<int128>(8) == pow10_i128(25) * 5 + 908);
  CHECK(back->col(5).str(3) == "ddd");
  CHECK_FALSE(back->col(1).valid(2));
  CHECK(back->col(8).null_count() == 200);
  SECTION("and encodes again to the same bytes") {
    CHECK(encoded(*back) == buf);
  }
  SECTION("encode appends to what the buffer holds") {
    std::vector<char> two{'x'};
    encode(b, two);
    encode(b, two);
    REQUIRE(two.size() == 1 + 2 * buf.size());
    CHECK(decode({two.data() + 1 + buf.size(), buf.size()}));
  }
}

TEST_CASE("the codec writes only the selected rows", "[codec]") {
  auto b = every_type(150);
  std::vector<uint32_t> sel{149, 3, 2, 70, 71, 0};
  b.set_selection(sel);
  auto buf = encoded(b);
  CHECK(buf.size() == encoded_size(b));
  auto back = decode(buf);
  REQUIRE(back);
  CHECK(back->num_rows() == sel.size());
  CHECK(back->all_selected());
  CHECK(equal_rows(*back, b));
  CHECK_FALSE(back->col(5).valid(2));
  CHECK(back->col(5).str(0) == std::string(149 % 13, char('a' + 149 % 26)));
  auto all = every_type(150);
  row_batch gathered{all.row_schema()};
  gathered.append_rows(all, sel);
  CHECK(encoded(gathered) == buf);
}

TEST_CASE("empty batches and batches without NULLs or kinds round trip",
          "[codec]") {
  auto none = every_type(0);
  auto back = decode(encoded(none));
  REQUIRE(back);
  CHECK(back->num_rows() == 0);
  CHECK(back->num_columns() == 9);
  row_batch plain{make_schema({{"x", int64_type()}, {"y", string_type()}})};
  for (int64_t i = 0; i < 10; ++i) {
    plain.col(0).push(i);
    plain.col(1).push_str("v");
  }
  auto buf = encoded(plain);
  auto p = decode(buf);
  REQUIRE(p);
  CHECK(p->kinds().empty());
  CHECK_FALSE(p->col(0).has_nulls());
  CHECK(p->row_schema()->rowtime == -1);
  CHECK(equal_rows(*p, plain));
  row_batch nocols{make_schema({})};
  nocols.set_num_rows(17);
  auto n = decode(encoded(nocols));
  REQUIRE(n);
  CHECK(n->num_rows() == 17);
}

TEST_CASE("decode refuses damaged input without crashing", "[codec]") {
  auto b = every_type(40);
  auto buf = encoded(b);
  SECTION("input cut at every length") {
    for (size_t len = 0; len < buf.size(); ++len) {
      INFO("length " << len);
      CHECK_FALSE(decode({buf.data(), len}));
    }
  }
  SECTION("input cut at every length, its CRC made right") {
    for (size_t len = 20; len < buf.size(); ++len) {
      INFO("length " << len);
      std::vector<char> cut{buf.begin(), buf.begin() + len};
      fix_crc(cut);
      CHECK_FALSE(decode(cut));
    }
  }
  SECTION("any flipped bit") {
    for (size_t i = 0; i < buf.size(); i += 7) {
      auto bad = buf;
      bad[i] ^= 0x10;
      INFO("byte " << i);
      CHECK_FALSE(decode(bad));
    }
  }
  SECTION("a byte after the CRC") {
    auto longer = buf;
    longer.push_back(0);
    CHECK_FALSE(decode(longer));
  }
  SECTION("another version") {
    auto bad = buf;
    bad[4] = 2;
    fix_crc(bad);
    auto r = decode(bad);
    REQUIRE_FALSE(r);
    CHECK(sluice::describe(r.error()).find("version") != std::string::npos);
  }
  SECTION("an unknown type byte") {
    auto bad = buf;
    // The first column's type byte follows the header and the rowtime.
    bad[20] = 42;
    fix_crc(bad);
    auto r = decode(bad);
    REQUIRE_FALSE(r);
    CHECK(sluice::describe(r.error()).find("type") != std::string::npos);
  }
  SECTION("a row kind out of range") {
    auto bad = buf;
    bad[bad.size() - 5] = 9;
    fix_crc(bad);
    CHECK_FALSE(decode(bad));
  }
  SECTION("a boolean that is neither 0 nor 1") {
    row_batch bools{make_schema({{"b", boolean_type(false)}})};
    bools.col(0).push<uint8_t>(1);
    auto bad = encoded(bools);
    bad[bad.size() - 5] = 7;
    fix_crc(bad);
    CHECK_FALSE(decode(bad));
  }
  SECTION("string offsets that fall") {
    row_batch strs{make_schema({{"s", string_type(false)}})};
    strs.col(0).push_str("ab");
    strs.col(0).push_str("cd");
    auto bad = encoded(strs);
    // header 16, column header 6 + 1, validity count 4, then offsets.
    uint32_t off = 5;
    std::memcpy(bad.data() + 16 + 7 + 4 + 4, &off, 4);
    fix_crc(bad);
    CHECK_FALSE(decode(bad));
  }
}

TEST_CASE("decode_into reuses the receiver's batch", "[codec]") {
  auto b = every_type(300);
  auto buf = encoded(b);
  row_batch recv;
  REQUIRE(!decode_into(buf, recv));
  CHECK(equal_rows(recv, b));
  auto schema = recv.row_schema();
  auto* data = recv.col(5).data().data();
  auto small = every_type(100);
  REQUIRE(!decode_into(encoded(small), recv));
  CHECK(equal_rows(recv, small));
  CHECK(recv.row_schema() == schema);
  CHECK(recv.col(5).data().data() == data);
  SECTION("another schema replaces it") {
    row_batch other{make_schema({{"x", int64_type()}})};
    other.col(0).push<int64_t>(5);
    REQUIRE(!decode_into(encoded(other), recv));
    CHECK(recv.row_schema() != schema);
    CHECK(recv.num_columns() == 1);
    CHECK(equal_rows(recv, other));
  }
  SECTION("a failed decode leaves it empty with its schema") {
    auto bad = buf;
    bad[100] ^= 1;
    CHECK(decode_into(bad, recv));
    CHECK(recv.num_rows() == 0);
    CHECK(recv.row_schema() == schema);
    CHECK(recv.well_formed());
  }
}
