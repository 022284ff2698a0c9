#include "runtime/columnar/format.hpp"

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "runtime/errors.hpp"

using namespace sluice::columnar;

namespace {

std::string ts(int64_t ms, uint8_t precision = 3) {
  std::string out;
  append_timestamp(ms, out, precision);
  return out;
}

std::string dec(int128 v, uint8_t scale) {
  std::string out;
  append_decimal(v, scale, out);
  return out;
}

std::string dbl(double v) {
  std::string out;
  append_double(v, out);
  return out;
}

} // namespace

TEST_CASE("timestamps render and parse as UTC calendar times", "[format]") {
  CHECK(ts(0) == "1970-01-01 00:00:00.000");
  CHECK(ts(1700000000123) == "2023-11-14 22:13:20.123");
  CHECK(ts(-1) == "1969-12-31 23:59:59.999");
  CHECK(ts(951782400000) == "2000-02-29 00:00:00.000");
  CHECK(ts(1700000000123, 0) == "2023-11-14 22:13:20");
  CHECK(*parse_timestamp("2023-11-14 22:13:20.123") == 1700000000123);
  CHECK(*parse_timestamp("2023-11-14T22:13:20.123Z") == 1700000000123);
  CHECK(*parse_timestamp(" 2023-11-14 22:13:20 ") == 1700000000000);
  CHECK(*parse_timestamp("2023-11-14 22:13") == 1699999980000);
  CHECK(*parse_timestamp("2023-11-14") == 1699920000000);
  CHECK(*parse_timestamp("2023-11-14 22:13:20.1") == 1700000000100);
  CHECK(*parse_timestamp("2023-11-14 22:13:20.123999") == 1700000000123);
  CHECK(*parse_timestamp("1969-12-31 23:59:59.999") == -1);
  CHECK(*parse_timestamp("2000-02-29 00:00:00") == 951782400000);
  for (auto bad : {"", "2023", "2023-13-01", "2023-02-29", "2023-11-14 24:00",
                   "2023-11-14 22:13:20.", "2023-11-14 22:13:61", "2023-11-14x",
                   "23-11-14", "2023-11-14 22:13:20.1234567890"})
    CHECK_FALSE(parse_timestamp(bad));
  SECTION("every day of four centuries round trips") {
    auto start = days_from_civil(1900, 1, 1);
    auto end = days_from_civil(2300, 1, 1);
    CHECK(end - start == 146097);
    for (auto d = start; d < end; ++d) {
      auto ms = d * 86'400'000 + 12'345'678;
      auto back = parse_timestamp(ts(ms));
      REQUIRE(back);
      REQUIRE(*back == ms);
      auto c = to_civil(ms);
      REQUIRE(from_civil(c) == ms);
    }
  }
}

TEST_CASE("timestamps at the ends of the range render without overflow",
          "[format]") {
  // What a row batch from the wire may hold (found by the row batch
  // fuzzer): the calendar of any int64 millisecond count.
  for (auto ms : {std::numeric_limits<int64_t>::min(),
                  std::numeric_limits<int64_t>::min() + 1,
                  std::numeric_limits<int64_t>::max(), int64_t{-1},
                  int64_t{-86'400'000}, int64_t{-86'400'001}}) {
    INFO(ms);
    auto c = to_civil(ms);
    CHECK(c.hour < 24);
    CHECK(c.minute < 60);
    CHECK(c.second < 60);
    CHECK(c.millis < 1000);
    CHECK(c.month >= 1);
    CHECK(c.month <= 12);
    CHECK(c.day >= 1);
    CHECK(c.day <= 31);
    CHECK_FALSE(ts(ms).empty());
  }
  auto c = to_civil(-1);
  CHECK(c.year == 1969);
  CHECK(c.month == 12);
  CHECK(c.day == 31);
  CHECK(c.hour == 23);
  CHECK(c.millis == 999);
}

TEST_CASE("decimals keep their scale", "[format]") {
  CHECK(dec(0, 0) == "0");
  CHECK(dec(0, 3) == "0.000");
  CHECK(dec(908, 3) == "0.908");
  CHECK(dec(-5, 2) == "-0.05");
  CHECK(dec(123456, 3) == "123.456");
  CHECK(dec(pow10_i128(38) - 1, 0) == std::string(38, '9'));
  CHECK(dec(-(pow10_i128(38) - 1), 38) == "-0." + std::string(38, '9'));
  CHECK(*parse_decimal("0.908", 23, 3) == 908);
  CHECK(*parse_decimal("-12.3", 5, 2) == -1230);
  CHECK(*parse_decimal("+7", 5, 2) == 700);
  CHECK(*parse_decimal(".5", 5, 2) == 50);
  CHECK(*parse_decimal("1.005", 5, 2) == 101);
  CHECK(*parse_decimal("-1.005", 5, 2) == -101);
  CHECK(*parse_decimal("1.004", 5, 2) == 100);
  CHECK(*parse_decimal("1.5e2", 5, 0) == 150);
  CHECK(*parse_decimal("15E-3", 5, 3) == 15);
  CHECK(*parse_decimal("000123.40", 5, 2) == 12340);
  CHECK(*parse_decimal("0.0000001", 5, 2) == 0);
  CHECK(*parse_decimal(std::string(38, '9'), 38, 0) == pow10_i128(38) - 1);
  CHECK_FALSE(parse_decimal("1000", 5, 2));
  CHECK_FALSE(parse_decimal("999.995", 5, 2));
  CHECK_FALSE(parse_decimal("1e400", 38, 0));
  for (auto bad : {"", "-", ".", "1.2.3", "1e", "abc", "1 2", "0x10"})
    CHECK_FALSE(parse_decimal(bad, 10, 2));
  SECTION("rendered decimals parse back") {
    for (int128 v : {int128{0}, int128{1}, int128{-1}, int128{123456789},
                     -pow10_i128(20) * 7 + 3}) {
      CHECK(*parse_decimal(dec(v, 3), 38, 3) == v);
      CHECK(*parse_decimal(dec(v, 0), 38, 0) == v);
    }
  }
}

TEST_CASE("numbers and booleans render and parse", "[format]") {
  CHECK(dbl(1.0) == "1.0");
  CHECK(dbl(-2.0) == "-2.0");
  CHECK(dbl(0.1) == "0.1");
  CHECK(dbl(1.5e300) == "1.5e+300");
  CHECK(dbl(std::nan("")) == "NaN");
  CHECK(dbl(-std::numeric_limits<double>::infinity()) == "-Infinity");
  for (double v : {0.1, 1.0 / 3, -1e-300, 12345.678, 1e22, 5e-324}) {
    auto back = parse_double(dbl(v));
    REQUIRE(back);
    CHECK(*back == v);
  }
  CHECK(std::isnan(*parse_double("NaN")));
  CHECK(*parse_double("Infinity") == std::numeric_limits<double>::infinity());
  CHECK(*parse_double("-Infinity") == -std::numeric_limits<double>::infinity());
  CHECK(*parse_double("+2.5") == 2.5);
  CHECK(*parse_double("1e999") == std::numeric_limits<double>::infinity());
  CHECK_FALSE(parse_double("1.5x"));
  CHECK_FALSE(parse_double(""));
  CHECK(*parse_int64(" -9223372036854775808 ") ==
        std::numeric_limits<int64_t>::min());
  CHECK(*parse_int64("+42") == 42);
  CHECK_FALSE(parse_int64("9223372036854775808"));
  CHECK_FALSE(parse_int64("12a"));
  CHECK_FALSE(parse_int64("+-1"));
  CHECK(*parse_int32("-2147483648") == std::numeric_limits<int32_t>::min());
  CHECK_FALSE(parse_int32("2147483648"));
  CHECK(*parse_bool("TRUE"));
  CHECK_FALSE(*parse_bool("false"));
  CHECK(*parse_bool("1"));
  CHECK_FALSE(parse_bool("yes"));
}

TEST_CASE("intervals render as Flink prints them", "[format]") {
  std::string out;
  append_interval(90061001, out);
  CHECK(out == "+1 01:01:01.001");
  out.clear();
  append_interval(-4000, out);
  CHECK(out == "-0 00:00:04.000");
  CHECK(*parse_interval("+1 01:01:01.001") == 90061001);
  CHECK(*parse_interval("-0 00:00:04") == -4000);
  CHECK(*parse_interval("2500") == 2500);
  CHECK_FALSE(parse_interval("1 25:00:00"));
}

TEST_CASE("push_parsed fills a column of any type", "[format]") {
  struct cas {
    data_type type;
    std::string text;
    std::string rendered;
  };
  std::vector<cas> cases{
      {boolean_type(), "true", "true"},
      {int32_type(), "-17", "-17"},
      {int64_type(), "123456789012", "123456789012"},
      {float64_type(), "2.5", "2.5"},
      {decimal_type(23, 3), "0.9080", "0.908"},
      {string_type(), " a, \"b\" ", " a, \"b\" "},
      {timestamp_type(), "2024-03-01 12:00:00", "2024-03-01 12:00:00.000"},
      {interval_type(), "+0 00:00:10.000", "+0 00:00:10.000"},
  };
  for (auto& x : cases) {
    INFO(to_string(x.type) << " " << x.text);
    column c{x.type};
    REQUIRE(!push_parsed(c, x.text));
    REQUIRE(c.size() == 1);
    CHECK(value_text(c, 0) == x.rendered);
    CHECK(!push_parsed(c, value_text(c, 0)));
    CHECK(value_text(c, 1) == x.rendered);
  }
  column c{int64_type()};
  auto err = push_parsed(c, "twelve");
  REQUIRE(err);
  CHECK(c.size() == 0);
  CHECK(sluice::describe(err).find("'twelve' is not a valid BIGINT") !=
        std::string::npos);
  column n{int64_type()};
  n.push_null();
  CHECK(value_text(n, 0) == "NULL");
  CHECK(value_text(n, 0, "") == "");
}

TEST_CASE("rows render as CSV and JSON", "[format]") {
  row_batch b{make_schema({{"id", int64_type()},
                           {"s", string_type()},
                           {"m", decimal_type(10, 2)},
                           {"t", timestamp_type()}})};
  b.col(0).push<int64_t>(1);
  b.col(1).push_str("a,b \"q\"\nline");
  b.col(2).push<int128>(-1050);
  b.col(3).push<int64_t>(0);
  b.col(0).push_null();
  b.col(1).push_str("");
  b.col(2).push_null();
  b.col(3).push_null();
  std::string out;
  append_csv_row(b, 0, out);
  CHECK(out == "1,\"a,b \"\"q\"\"\nline\",-10.50,1970-01-01 00:00:00.000");
  out.clear();
  append_csv_row(b, 1, out, ';');
  CHECK(out == ";\"\";;");
  out.clear();
  append_csv_field(" padded", out);
  CHECK(out == "\" padded\"");
  out.clear();
  for (size_t i = 0; i < b.num_columns(); ++i) {
    if (i > 0)
      out += ',';
    append_json_value(b.col(i), 0, out);
  }
  CHECK(out == "1,\"a,b \\\"q\\\"\\nline\",-10.50,\"1970-01-01 00:00:00.000\"");
  out.clear();
  append_json_value(b.col(0), 1, out);
  append_json_string(std::string_view{"\x01\t", 2}, out);
  CHECK(out == "null\"\\u0001\\t\"");
}
