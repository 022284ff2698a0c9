#include "runtime/columnar/row_batch.hpp"

#include <string>
#include <vector>

#include <catch2/catch.hpp>

using namespace sluice::columnar;

namespace {

schema_ptr people_schema() {
  return make_schema({{"id", int64_type(false)},
                      {"name", string_type()},
                      {"score", float64_type()},
                      {"ok", boolean_type()}},
                     -1);
}

/// Rows i = 0..n-1: id i, name "p<i>" (NULL when i % 3 == 1), score i/2
/// (NULL when i % 4 == 3), ok i % 2.
row_batch people(size_t n) {
  row_batch b{people_schema()};
  for (size_t i = 0; i < n; ++i) {
    b.col(0).push<int64_t>(static_cast<int64_t>(i));
    if (i % 3 == 1)
      b.col(1).push_null();
    else
      b.col(1).push_str("p" + std::to_string(i));
    if (i % 4 == 3)
      b.col(2).push_null();
    else
      b.col(2).push<double>(i / 2.0);
    b.col(3).push<uint8_t>(i % 2);
  }
  return b;
}

/// Checks that row `k` of `b` holds person `i` (see `people`).
void check_person(const row_batch& b, size_t k, size_t i) {
  INFO("row " << k << " person " << i);
  CHECK(b.col(0).values<int64_t>()[k] == static_cast<int64_t>(i));
  CHECK(b.col(1).valid(k) == (i % 3 != 1));
  if (i % 3 != 1)
    CHECK(b.col(1).str(k) == "p" + std::to_string(i));
  else
    CHECK(b.col(1).str(k).empty());
  CHECK(b.col(2).valid(k) == (i % 4 != 3));
  if (i % 4 != 3)
    CHECK(b.col(2).value<double>(k) == i / 2.0);
  CHECK(b.col(3).values<uint8_t>()[k] == i % 2);
}

} // namespace

TEST_CASE("a column without NULLs keeps no bitmap", "[columnar]") {
  column c{int32_type()};
  for (int32_t i = 0; i < 100; ++i)
    c.push(i);
  CHECK(c.size() == 100);
  CHECK_FALSE(c.has_nulls());
  CHECK(c.null_count() == 0);
  CHECK(c.values<int32_t>()[99] == 99);
  CHECK(c.well_formed());
  c.push_null();
  CHECK(c.has_nulls());
  CHECK(c.null_count() == 1);
  CHECK(c.valid(99));
  CHECK_FALSE(c.valid(100));
  CHECK(c.values<int32_t>()[100] == 0);
  CHECK(c.validity().size() == 2);
  CHECK(c.well_formed());
}

TEST_CASE("a column's bitmap grows word by word", "[columnar]") {
  column c{int64_type()};
  for (size_t i = 0; i < 200; ++i) {
    if (i % 7 == 0)
      c.push_null();
    else
      c.push<int64_t>(static_cast<int64_t>(i));
  }
  REQUIRE(c.well_formed());
  CHECK(c.validity().size() == 4);
  CHECK(c.null_count() == 29);
  for (size_t i = 0; i < 200; ++i)
    CHECK(c.valid(i) == (i % 7 != 0));
  c.set_null(5);
  c.set_valid(7);
  CHECK_FALSE(c.valid(5));
  CHECK(c.valid(7));
  CHECK(c.null_count() == 29);
}

TEST_CASE("strings are offsets into one buffer", "[columnar]") {
  column c{string_type()};
  c.push_str("alpha");
  c.push_null();
  c.push_str("");
  c.push_str("gamma");
  REQUIRE(c.well_formed());
  CHECK(c.offsets() == std::vector<uint32_t>{0, 5, 5, 5, 10});
  CHECK(c.str(0) == "alpha");
  CHECK(c.str(1).empty());
  CHECK_FALSE(c.valid(1));
  CHECK(c.valid(2));
  CHECK(c.str(3) == "gamma");
}

TEST_CASE("clear keeps the capacity and reset changes the type", "[columnar]") {
  column c{string_type()};
  for (int i = 0; i < 1000; ++i)
    c.push_str("some text");
  c.push_null();
  auto data_cap = c.data().capacity();
  auto off_cap = c.offsets().capacity();
  c.clear();
  CHECK(c.size() == 0);
  CHECK_FALSE(c.has_nulls());
  CHECK(c.well_formed());
  CHECK(c.data().capacity() == data_cap);
  CHECK(c.offsets().capacity() == off_cap);
  c.push_str("again");
  CHECK(c.str(0) == "again");
  c.reset(decimal_type(23, 3));
  CHECK(c.type() == decimal_type(23, 3));
  CHECK(c.offsets().empty());
  c.push<int128>(pow10_i128(30) + 7);
  CHECK(c.value<int128>(0) == pow10_i128(30) + 7);
  CHECK(c.well_formed());
}

TEST_CASE("resize adds valid zero rows and removes rows", "[columnar]") {
  column c{int32_type()};
  c.push<int32_t>(5);
  c.push_null();
  c.resize(70);
  REQUIRE(c.well_formed());
  CHECK(c.size() == 70);
  CHECK(c.valid(69));
  CHECK_FALSE(c.valid(1));
  CHECK(c.values<int32_t>()[69] == 0);
  c.resize(1);
  CHECK(c.well_formed());
  CHECK(c.null_count() == 0);
  column s{string_type()};
  s.push_str("abc");
  s.resize(3);
  CHECK(s.well_formed());
  CHECK(s.str(2).empty());
  s.resize(0);
  CHECK(s.well_formed());
  CHECK(s.data().empty());
}

TEST_CASE("gather copies rows with their NULLs", "[columnar]") {
  auto b = people(130);
  std::vector<uint32_t> rows{129, 1, 64, 3, 3, 0, 100};
  row_batch out{b.row_schema()};
  out.append_rows(b, rows);
  REQUIRE(out.well_formed());
  REQUIRE(out.num_rows() == rows.size());
  for (size_t k = 0; k < rows.size(); ++k)
    check_person(out, k, rows[k]);
  SECTION("a gather of only valid rows from a column with NULLs adds no "
          "bitmap") {
    column c{string_type()};
    std::vector<uint32_t> valid_rows{0, 2, 3};
    c.gather_from(b.col(1), valid_rows);
    CHECK_FALSE(c.has_nulls());
    CHECK(c.str(2) == "p3");
  }
  SECTION("a gather into a column with NULLs from one without keeps both") {
    column c{float64_type()};
    c.push_null();
    column src{float64_type()};
    src.push(1.5);
    src.push(2.5);
    std::vector<uint32_t> both{1, 0};
    c.gather_from(src, both);
    REQUIRE(c.well_formed());
    CHECK_FALSE(c.valid(0));
    CHECK(c.valid(1));
    CHECK(c.value<double>(1) == 2.5);
    CHECK(c.value<double>(2) == 1.5);
  }
}

TEST_CASE("a selection narrows a batch and compact applies it", "[columnar]") {
  auto b = people(150);
  b.set_kind(4, row_kind::del);
  std::vector<uint32_t> sel;
  for (uint32_t i = 0; i < 150; ++i)
    if (i % 5 != 0)
      sel.push_back(i);
  b.set_selection(sel);
  CHECK_FALSE(b.all_selected());
  CHECK(b.active_rows() == 120);
  CHECK(b.num_rows() == 150);
  REQUIRE(b.well_formed());
  auto data_cap = b.col(1).data().capacity();
  b.compact();
  REQUIRE(b.well_formed());
  CHECK(b.all_selected());
  CHECK(b.num_rows() == 120);
  for (size_t k = 0; k < sel.size(); ++k)
    check_person(b, k, sel[k]);
  CHECK(b.kind(3) == row_kind::del);
  CHECK(b.kind(0) == row_kind::insert);
  CHECK(b.kinds().size() == 120);
  CHECK(b.col(1).data().capacity() == data_cap);
  SECTION("a selection out of order compacts in its order") {
    b.set_selection({7, 2, 2, 0});
    b.compact();
    REQUIRE(b.well_formed());
    REQUIRE(b.num_rows() == 4);
    check_person(b, 0, sel[7]);
    check_person(b, 1, sel[2]);
    check_person(b, 2, sel[2]);
    check_person(b, 3, sel[0]);
    CHECK(b.kind(0) == row_kind::insert);
  }
  SECTION("an empty selection compacts to no rows") {
    b.set_selection({});
    CHECK(b.active_rows() == 0);
    b.compact();
    CHECK(b.num_rows() == 0);
    CHECK(b.well_formed());
  }
}

TEST_CASE("append keeps kinds and joins the selection", "[columnar]") {
  auto src = people(10);
  src.set_kind(2, row_kind::update_before);
  src.set_kind(3, row_kind::update_after);
  auto dst = people(4);
  dst.set_selection({1, 3});
  std::vector<uint32_t> rows{3, 2, 9};
  dst.append_rows(src, rows);
  REQUIRE(dst.well_formed());
  CHECK(dst.num_rows() == 7);
  CHECK(dst.active_rows() == 5);
  CHECK(std::vector<uint32_t>(dst.selection().begin(), dst.selection().end()) ==
        std::vector<uint32_t>{1, 3, 4, 5, 6});
  CHECK(dst.kind(0) == row_kind::insert);
  CHECK(dst.kind(4) == row_kind::update_after);
  CHECK(dst.kind(5) == row_kind::update_before);
  CHECK(dst.kind(6) == row_kind::insert);
  check_person(dst, 4, 3);
  check_person(dst, 6, 9);
  SECTION("append_active takes a batch's selected rows") {
    row_batch all{src.row_schema()};
    all.append_active(src);
    CHECK(all.num_rows() == 10);
    CHECK(all.kind(3) == row_kind::update_after);
    src.set_selection({9, 8});
    all.append_active(src);
    REQUIRE(all.well_formed());
    CHECK(all.num_rows() == 12);
    check_person(all, 10, 9);
    check_person(all, 11, 8);
    CHECK(equal_rows(all, all));
  }
}

TEST_CASE("well_formed refuses batches that break the layout", "[columnar]") {
  auto b = people(5);
  REQUIRE(b.well_formed());
  SECTION("columns of different sizes") {
    b.col(2).push<double>(1.0);
    CHECK_FALSE(b.well_formed());
  }
  SECTION("a selection past the end") {
    b.set_selection({0, 5});
    CHECK_FALSE(b.well_formed());
  }
  SECTION("falling string offsets") {
    b.col(1).offsets()[2] = 1;
    CHECK_FALSE(b.well_formed());
  }
  SECTION("a bitmap bit past the end") {
    b.col(1).validity().back() |= uint64_t{1} << 40;
    CHECK_FALSE(b.well_formed());
  }
  SECTION("a boolean that is neither 0 nor 1") {
    b.col(3).data()[0] = 2;
    CHECK_FALSE(b.well_formed());
  }
}

TEST_CASE("clear keeps a batch's schema and capacity", "[columnar]") {
  auto b = people(4096);
  b.set_kind(1, row_kind::del);
  auto cap = b.col(0).data().capacity();
  b.clear();
  CHECK(b.num_rows() == 0);
  CHECK(b.kinds().empty());
  CHECK(b.num_columns() == 4);
  CHECK(b.col(0).data().capacity() == cap);
  CHECK(b.byte_size() < 100);
  b.reset(make_schema({{"x", string_type()}}));
  CHECK(b.num_columns() == 1);
  CHECK(b.col(0).type() == string_type());
  CHECK(b.well_formed());
}

TEST_CASE("a batch without columns counts rows", "[columnar]") {
  row_batch b{make_schema({})};
  b.set_num_rows(5);
  CHECK(b.num_rows() == 5);
  b.set_selection({1, 4});
  b.compact();
  CHECK(b.num_rows() == 2);
  row_batch c{make_schema({})};
  std::vector<uint32_t> rows{0, 1, 1};
  c.append_rows(b, rows);
  CHECK(c.num_rows() == 3);
  CHECK(c.well_formed());
}
