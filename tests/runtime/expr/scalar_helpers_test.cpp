#include <catch2/catch.hpp>

#include <string>

#include "runtime/expr/decimal.hpp"
#include "runtime/expr/like.hpp"
#include "runtime/expr/time_util.hpp"

using namespace sluice;
using namespace sluice::expr;
using columnar::decimal_type;
using columnar::int128;

namespace {

std::string fmt_ms(int64_t ms, std::string_view pattern) {
  auto p = time::compile(pattern);
  REQUIRE(p);
  std::string out;
  time::format(ms, *p, out);
  return out;
}

bool like(std::string_view s, std::string_view p, std::string_view esc = {}) {
  auto m = like_matcher::make(p, esc);
  REQUIRE(m);
  return m->match(s);
}

// 2024-02-29 13:05:09.007 UTC.
constexpr int64_t leap_ms = 1709211909007;

} // namespace

TEST_CASE("decimal result types follow Flink's rules", "[expr][decimal]") {
  auto lit = decimal::literal_type("0.908");
  CHECK(lit == decimal_type(3, 3, false));
  auto bigint = *decimal::as_decimal(columnar::int64_type());
  CHECK(bigint == decimal_type(19, 0));
  // Nexmark q1: 0.908 * price (BIGINT) is DECIMAL(23, 3).
  auto q1 = decimal::multiply_type(lit, bigint);
  CHECK(q1.precision == 23);
  CHECK(q1.scale == 3);
  CHECK(decimal::add_type(decimal_type(5, 2), decimal_type(7, 4)) ==
        decimal_type(8, 4, true));
  // Past 38 digits the scale gives way, but not below 6.
  auto big = decimal::multiply_type(decimal_type(38, 10), decimal_type(38, 10));
  CHECK(big.precision == 38);
  CHECK(big.scale == 6);
  auto div = decimal::divide_type(decimal_type(10, 2), decimal_type(5, 1));
  CHECK(div.scale == 8);      // max(6, 2 + 5 + 1)
  CHECK(div.precision == 17); // 10 - 2 + 1 + 8
  CHECK(decimal::round_type(decimal_type(10, 4), 2) == decimal_type(9, 2));
  CHECK(decimal::literal_type("12.50") == decimal_type(4, 2, false));
}

TEST_CASE("decimal arithmetic rounds half up", "[expr][decimal]") {
  CHECK(*decimal::rescale(12345, 3, 2) == 1235);   // 12.345 -> 12.35
  CHECK(*decimal::rescale(-12345, 3, 2) == -1235); // away from zero
  CHECK(*decimal::rescale(12344, 3, 2) == 1234);
  CHECK(*decimal::rescale(5, 0, 3) == 5000);
  // 0.908 * 1000 = 908.000
  CHECK(*decimal::multiply(908, 3, 1000, 0, 3) == 908000);
  // 1 / 3 at scale 6 = 0.333333; 2 / 3 = 0.666667
  CHECK(*decimal::divide(1, 0, 3, 0, 6) == 333333);
  CHECK(*decimal::divide(2, 0, 3, 0, 6) == 666667);
  CHECK(*decimal::divide(-2, 0, 3, 0, 6) == -666667);
  CHECK_FALSE(decimal::divide(1, 0, 0, 0, 6));
  CHECK(decimal::round_to(12345, 3, 1) == 12300); // 12.345 -> 12.300
  CHECK(decimal::floor_int(-1500, 3) == -2);
  CHECK(decimal::ceil_int(1500, 3) == 2);
  CHECK(decimal::ceil_int(-1500, 3) == -1);
}

TEST_CASE("decimal text round trips", "[expr][decimal]") {
  CHECK(decimal::to_string(-12340, 3) == "-12.340");
  CHECK(decimal::to_string(5, 3) == "0.005");
  CHECK(decimal::to_string(0, 0) == "0");
  CHECK(decimal::to_string(908000, 3) == "908.000");
  CHECK(*decimal::parse("-12.34", 10, 3) == -12340);
  CHECK(*decimal::parse(" 0.0005 ", 10, 3) == 1); // half up
  CHECK(*decimal::parse("1e3", 10, 0) == 1000);
  CHECK(*decimal::parse(".5", 10, 1) == 5);
  CHECK_FALSE(decimal::parse("abc", 10, 2));
  CHECK_FALSE(decimal::parse("12345", 4, 0)); // does not fit
  CHECK_FALSE(decimal::parse("1.2.3", 10, 2));
  int128 big = columnar::pow10_i128(37) * 9;
  CHECK(*decimal::parse(decimal::to_string(big, 0), 38, 0) == big);
}

TEST_CASE("civil dates from days and back", "[expr][time]") {
  CHECK(time::days_from_civil(1970, 1, 1) == 0);
  CHECK(time::days_from_civil(2000, 3, 1) == 11017);
  auto c = time::civil_from_days(-1);
  CHECK(c.year == 1969);
  CHECK(c.month == 12);
  CHECK(c.day == 31);
  for (int64_t d = -800000; d < 800000; d += 997) {
    auto x = time::civil_from_days(d);
    REQUIRE(time::days_from_civil(x.year, x.month, x.day) == d);
  }
  auto t = time::to_civil(leap_ms);
  CHECK(t.year == 2024);
  CHECK(t.month == 2);
  CHECK(t.day == 29);
  CHECK(t.hour == 13);
  CHECK(t.minute == 5);
  CHECK(t.second == 9);
  CHECK(t.millis == 7);
  CHECK(time::from_civil(t) == leap_ms);
  auto before = time::to_civil(-1); // 1969-12-31 23:59:59.999
  CHECK(before.year == 1969);
  CHECK(before.hour == 23);
  CHECK(before.millis == 999);
}

TEST_CASE("DATE_FORMAT patterns as Java's SimpleDateFormat", "[expr][time]") {
  CHECK(fmt_ms(leap_ms, "yyyy-MM-dd HH:mm:ss") == "2024-02-29 13:05:09");
  CHECK(fmt_ms(leap_ms, "yyyy-MM-dd HH:mm:ss.SSS") ==
        "2024-02-29 13:05:09.007");
  CHECK(fmt_ms(leap_ms, "yyyyMMdd") == "20240229");
  CHECK(fmt_ms(leap_ms, "yy/M/d h:mm a") == "24/2/29 1:05 PM");
  CHECK(fmt_ms(leap_ms, "EEE, d MMM yyyy") == "Thu, 29 Feb 2024");
  CHECK(fmt_ms(leap_ms, "EEEE MMMM") == "Thursday February");
  CHECK(fmt_ms(leap_ms, "yyyy-MM-dd'T'HH:mm") == "2024-02-29T13:05");
  CHECK(fmt_ms(leap_ms, "'o''clock' H") == "o'clock 13");
  CHECK(fmt_ms(leap_ms, "D") == "60");
  CHECK(fmt_ms(0, "yyyy-MM-dd HH:mm:ss") == "1970-01-01 00:00:00");
  CHECK_FALSE(time::compile("yyyy-qq"));   // unknown letter
  CHECK_FALSE(time::compile("'unclosed")); // unclosed quote
}

TEST_CASE("timestamps parse with patterns and SQL text", "[expr][time]") {
  auto p = *time::compile("yyyy-MM-dd HH:mm:ss");
  CHECK(*time::parse("2024-02-29 13:05:09", p) == leap_ms - 7);
  CHECK_FALSE(time::parse("2023-02-29 13:05:09", p)); // no such day
  CHECK_FALSE(time::parse("2024-02-29", p));
  auto compact = *time::compile("yyyyMMddHHmmss");
  CHECK(*time::parse("20240229130509", compact) == leap_ms - 7);
  CHECK(*time::parse_sql("2024-02-29 13:05:09.007") == leap_ms);
  CHECK(*time::parse_sql("2024-02-29T13:05:09.007Z") == leap_ms);
  CHECK(*time::parse_sql("2024-02-29 13:05:09.0071") == leap_ms);
  CHECK(*time::parse_sql("2024-02-29") == leap_ms - 47109007);
  CHECK_FALSE(time::parse_sql("2024-13-01"));
  CHECK_FALSE(time::parse_sql("yesterday"));
  std::string out;
  time::append_sql(leap_ms, out);
  CHECK(out == "2024-02-29 13:05:09.007");
}

TEST_CASE("EXTRACT fields", "[expr][time]") {
  using time::field;
  CHECK(time::extract(field::year, leap_ms) == 2024);
  CHECK(time::extract(field::quarter, leap_ms) == 1);
  CHECK(time::extract(field::month, leap_ms) == 2);
  CHECK(time::extract(field::day, leap_ms) == 29);
  CHECK(time::extract(field::doy, leap_ms) == 60);
  CHECK(time::extract(field::dow, leap_ms) == 5); // Thursday; Sunday = 1
  CHECK(time::extract(field::week, leap_ms) == 9);
  CHECK(time::extract(field::hour, leap_ms) == 13);
  CHECK(time::extract(field::minute, leap_ms) == 5);
  CHECK(time::extract(field::second, leap_ms) == 9);
  CHECK(time::extract(field::millisecond, leap_ms) == 9007);
  CHECK(time::extract(field::epoch, leap_ms) == 1709211909);
  // ISO week: 2021-01-03 (a Sunday) is week 53 of 2020.
  auto jan3 = time::days_from_civil(2021, 1, 3) * 86400000;
  CHECK(time::extract(field::week, jan3) == 53);
  CHECK(time::parse_field("MONTH") == field::month);
  CHECK_FALSE(time::parse_field("FORTNIGHT"));
}

TEST_CASE("LIKE matches % and _ and honours the escape", "[expr][like]") {
  CHECK(like("hello", "hello"));
  CHECK_FALSE(like("hello", "hell"));
  CHECK(like("hello", "he%"));
  CHECK(like("hello", "%llo"));
  CHECK(like("hello", "%ll%"));
  CHECK(like("hello", "h_llo"));
  CHECK_FALSE(like("hllo", "h_llo"));
  CHECK(like("hello", "%"));
  CHECK(like("", "%"));
  CHECK_FALSE(like("", "_"));
  CHECK(like("aabxc", "%b_c"));
  CHECK_FALSE(like("abcabc", "%b_c"));
  CHECK(like("abcXbc", "a%bc"));
  CHECK(like("mississippi", "%iss%ipp%"));
  CHECK_FALSE(like("mississippi", "%iss%ipx%"));
  CHECK(like("a_b", "a\\_b", "\\"));
  CHECK_FALSE(like("axb", "a\\_b", "\\"));
  CHECK(like("100%", "100!%", "!"));
  CHECK_FALSE(like("1000", "100!%", "!"));
  CHECK(like("a!b", "a!!b", "!"));
  CHECK(like("h\xc3\xa9llo", "h_llo"));         // one code point for _
  CHECK_FALSE(like_matcher::make("abc!", "!")); // escape at the end
  CHECK_FALSE(like_matcher::make("a!bc", "!")); // escapes a plain letter
  CHECK_FALSE(like_matcher::make("abc", "!!")); // two-character escape
}
