#include <catch2/catch.hpp>

#include "sql/parser.hpp"

using namespace sluice;
using namespace sluice::sql;

namespace {

/// The tree as an S-expression, to compare shapes in one line.
std::string show(const expr& e) {
  auto list = [&](std::string head, size_t from = 0) {
    std::string out = "(" + head;
    for (size_t i = from; i < e.args.size(); ++i)
      out += " " + show(*e.args[i]);
    return out + ")";
  };
  switch (e.kind) {
  case expr_kind::literal:
    switch (e.literal) {
    case literal_kind::null:
      return "NULL";
    case literal_kind::string:
      return "'" + e.text + "'";
    case literal_kind::date:
      return "DATE '" + e.text + "'";
    case literal_kind::timestamp:
      return "TIMESTAMP '" + e.text + "'";
    case literal_kind::interval:
      return "INTERVAL '" + e.text + "' " + to_string(e.unit);
    default:
      return e.text;
    }
  case expr_kind::column_ref:
    return e.qualifier.empty() ? e.name : e.qualifier + "." + e.name;
  case expr_kind::call: {
    std::string out = e.name + "(";
    if (e.distinct)
      out += "DISTINCT ";
    if (e.star_arg)
      out += "*";
    for (size_t i = 0; i < e.args.size(); ++i)
      out += (i ? ", " : "") + show(*e.args[i]);
    return out + ")";
  }
  case expr_kind::unary:
  case expr_kind::binary:
    return list(to_string(e.op));
  case expr_kind::is_null:
    return list(e.negated ? "IS NOT NULL" : "IS NULL");
  case expr_kind::in_list:
    return list(e.negated ? "NOT IN" : "IN");
  case expr_kind::between:
    return list(e.negated ? "NOT BETWEEN" : "BETWEEN");
  case expr_kind::like:
    return list(e.negated ? "NOT LIKE" : "LIKE");
  case expr_kind::cast:
    return "(CAST " + show(*e.args[0]) + " " + columnar::to_string(e.type) +
           ")";
  case expr_kind::extract:
    return std::string{"(EXTRACT "} + to_string(e.unit) + " " +
           show(*e.args[0]) + ")";
  case expr_kind::case_when: {
    std::string out = "(CASE";
    if (e.case_operand)
      out += " " + show(*e.case_operand);
    for (auto& w : e.whens)
      out += " (WHEN " + show(*w.condition) + " " + show(*w.result) + ")";
    if (e.else_result)
      out += " (ELSE " + show(*e.else_result) + ")";
    return out + ")";
  }
  }
  return "?";
}

std::string parse(std::string_view text) {
  auto result = parse_expression(text, "e.sql");
  for (auto& d : result.diagnostics)
    UNSCOPED_INFO(render(d, text));
  REQUIRE(result.diagnostics.empty());
  REQUIRE(result.value);
  return show(*result.value);
}

std::string error_of(std::string_view text) {
  auto result = parse_expression(text, "e.sql");
  REQUIRE(result.diagnostics.size() == 1);
  return result.diagnostics[0].message;
}

} // namespace

TEST_CASE("arithmetic binds tighter than comparison, AND tighter than OR",
          "[parser]") {
  CHECK(parse("a + b * c") == "(+ a (* b c))");
  CHECK(parse("a * b + c") == "(+ (* a b) c)");
  CHECK(parse("a - b - c") == "(- (- a b) c)");
  CHECK(parse("a / b % c") == "(% (/ a b) c)");
  CHECK(parse("(a + b) * c") == "(* (+ a b) c)");
  CHECK(parse("a OR b AND c") == "(OR a (AND b c))");
  CHECK(parse("a AND b OR c") == "(OR (AND a b) c)");
  CHECK(parse("a = 1 AND b <> 2 OR c < 3 AND d <= 4") ==
        "(OR (AND (= a 1) (<> b 2)) (AND (< c 3) (<= d 4)))");
  CHECK(parse("a > b + 1") == "(> a (+ b 1))");
  CHECK(parse("a >= b != c") == "(<> (>= a b) c)");
  CHECK(parse("NOT a = b AND c") == "(AND (NOT (= a b)) c)");
  CHECK(parse("NOT NOT a") == "(NOT (NOT a))");
  CHECK(parse("-a * b") == "(* (- a) b)");
  CHECK(parse("- - 1") == "(- (- 1))");
  CHECK(parse("+a") == "(+ a)");
  CHECK(parse("a || b || c") == "(|| (|| a b) c)");
  CHECK(parse("a || b = c") == "(= (|| a b) c)");
}

TEST_CASE("literals of every kind", "[parser]") {
  CHECK(parse("42") == "42");
  CHECK(parse("0.908 * price") == "(* 0.908 price)");
  CHECK(parse("1e3") == "1e3");
  CHECK(parse("'it''s'") == "'it's'");
  CHECK(parse("true") == "TRUE");
  CHECK(parse("FALSE") == "FALSE");
  CHECK(parse("NULL") == "NULL");
  CHECK(parse("DATE '2024-01-31'") == "DATE '2024-01-31'");
  CHECK(parse("TIMESTAMP '2024-01-31 10:00:00.123'") ==
        "TIMESTAMP '2024-01-31 10:00:00.123'");
  CHECK(parse("INTERVAL '10' SECOND") == "INTERVAL '10' SECOND");
  CHECK(parse("INTERVAL '1.5' second") == "INTERVAL '1.5' SECOND");
  CHECK(parse("INTERVAL '5' MINUTE") == "INTERVAL '5' MINUTE");
  CHECK(parse("INTERVAL '2' HOUR") == "INTERVAL '2' HOUR");
  CHECK(parse("INTERVAL '1' DAY") == "INTERVAL '1' DAY");
  CHECK(parse("INTERVAL '250' MILLISECOND") == "INTERVAL '250' MILLISECOND");
  CHECK(parse("INTERVAL 3 SECOND") == "INTERVAL '3' SECOND");
  CHECK(parse("INTERVAL -'3' SECOND") == "INTERVAL '-3' SECOND");
  CHECK(parse("ts - INTERVAL '4' SECOND") == "(- ts INTERVAL '4' SECOND)");
}

TEST_CASE("an interval literal covers its value and unit", "[parser]") {
  auto result = parse_expression("x + INTERVAL '10' SECOND", "e.sql");
  REQUIRE(result.value);
  auto& lit = *result.value->args[1];
  CHECK(lit.where.column == 5);
  CHECK(lit.where.length == 20);
  CHECK(lit.unit == time_unit::second);
}

TEST_CASE("column references and function calls", "[parser]") {
  CHECK(parse("price") == "price");
  CHECK(parse("B.price") == "B.price");
  CHECK(parse("`B`.`dateTime`") == "B.dateTime");
  CHECK(parse("count(*)") == "COUNT(*)");
  CHECK(parse("COUNT(DISTINCT bidder)") == "COUNT(DISTINCT bidder)");
  CHECK(parse("count(ALL bidder)") == "COUNT(bidder)");
  CHECK(parse("MOD(auction, 123) = 0") == "(= MOD(auction, 123) 0)");
  CHECK(parse("concat_ws('-', a, b)") == "CONCAT_WS('-', a, b)");
  CHECK(parse("PROCTIME()") == "PROCTIME()");
  CHECK(parse("CURRENT_TIMESTAMP") == "CURRENT_TIMESTAMP()");
  CHECK(parse("TUMBLE_START(ts, INTERVAL '1' MINUTE)") ==
        "TUMBLE_START(ts, INTERVAL '1' MINUTE)");
  CHECK(parse("IF(a > 1, 'x', 'y')") == "IF((> a 1), 'x', 'y')");
}

TEST_CASE("the standard forms of SUBSTRING, TRIM and POSITION", "[parser]") {
  CHECK(parse("SUBSTRING(s FROM 2 FOR 3)") == "SUBSTRING(s, 2, 3)");
  CHECK(parse("SUBSTRING(s FROM 2)") == "SUBSTRING(s, 2)");
  CHECK(parse("SUBSTRING(s, 2, 3)") == "SUBSTRING(s, 2, 3)");
  CHECK(parse("TRIM(s)") == "TRIM(s)");
  CHECK(parse("TRIM(BOTH ' ' FROM s)") == "TRIM(s, ' ')");
  CHECK(parse("TRIM(LEADING 'x' FROM s)") == "LTRIM(s, 'x')");
  CHECK(parse("TRIM(TRAILING FROM s)") == "RTRIM(s)");
  CHECK(parse("TRIM('x' FROM s)") == "TRIM(s, 'x')");
  CHECK(parse("POSITION('a' IN s) > 0") == "(> POSITION('a', s) 0)");
  CHECK(error_of("TRIM(LEADING 'x' s)") == "expected FROM in TRIM, found 's'");
}

TEST_CASE("CASE in both forms", "[parser]") {
  CHECK(parse("CASE WHEN a > 1 THEN 'big' WHEN a > 0 THEN 'small' END") ==
        "(CASE (WHEN (> a 1) 'big') (WHEN (> a 0) 'small'))");
  CHECK(parse("CASE event_type WHEN 0 THEN p ELSE b END") ==
        "(CASE event_type (WHEN 0 p) (ELSE b))");
  CHECK(parse("case when x is null then 0 else x + 1 end * 2") ==
        "(* (CASE (WHEN (IS NULL x) 0) (ELSE (+ x 1))) 2)");
}

TEST_CASE("CAST and EXTRACT", "[parser]") {
  CHECK(parse("CAST(price AS DECIMAL(23, 3))") ==
        "(CAST price DECIMAL(23, 3))");
  CHECK(parse("CAST(x AS VARCHAR)") == "(CAST x STRING)");
  CHECK(parse("CAST(x AS BIGINT NOT NULL)") == "(CAST x BIGINT NOT NULL)");
  CHECK(parse("CAST('2024-01-01 00:00:00' AS TIMESTAMP(3))") ==
        "(CAST '2024-01-01 00:00:00' TIMESTAMP(3))");
  CHECK(parse("EXTRACT(HOUR FROM ts)") == "(EXTRACT HOUR ts)");
  CHECK(parse("extract(year from ts) + 1") == "(+ (EXTRACT YEAR ts) 1)");
  CHECK(parse("EXTRACT(DOW FROM ts)") == "(EXTRACT DOW ts)");
}

TEST_CASE("IS NULL, IN, BETWEEN and LIKE, each with NOT", "[parser]") {
  CHECK(parse("a IS NULL") == "(IS NULL a)");
  CHECK(parse("a IS NOT NULL AND b") == "(AND (IS NOT NULL a) b)");
  CHECK(parse("a IN (1, 2, 3)") == "(IN a 1 2 3)");
  CHECK(parse("a NOT IN ('x')") == "(NOT IN a 'x')");
  CHECK(parse("a BETWEEN 1 AND 2 AND b") == "(AND (BETWEEN a 1 2) b)");
  CHECK(parse("a NOT BETWEEN b - 1 AND b + 1") ==
        "(NOT BETWEEN a (- b 1) (+ b 1))");
  CHECK(parse("B.dateTime BETWEEN B1.dateTime - INTERVAL '10' SECOND AND "
              "B1.dateTime") ==
        "(BETWEEN B.dateTime (- B1.dateTime INTERVAL '10' SECOND) "
        "B1.dateTime)");
  CHECK(parse("url LIKE '%apache%'") == "(LIKE url '%apache%')");
  CHECK(parse("url NOT LIKE 'a!%%' ESCAPE '!'") == "(NOT LIKE url 'a!%%' '!')");
  CHECK(parse("NOT a LIKE 'x'") == "(NOT (LIKE a 'x'))");
}

TEST_CASE("operator nodes point at their operator", "[parser]") {
  auto result = parse_expression("price  >=\n  10", "e.sql");
  REQUIRE(result.value);
  CHECK(result.value->where.line == 1);
  CHECK(result.value->where.column == 8);
  CHECK(result.value->where.length == 2);
  CHECK(result.value->args[1]->where.line == 2);
  CHECK(result.value->args[1]->where.column == 3);
}

TEST_CASE("expression errors say what was expected and what was found",
          "[parser]") {
  CHECK(error_of("a +") == "expected an expression, found the end of the "
                           "script");
  CHECK(error_of("f(a, b") == "expected ')' after the arguments of F, found "
                              "the end of the script");
  CHECK(error_of("CASE a END") == "expected WHEN in CASE, found 'END'");
  CHECK(error_of("CASE WHEN a THEN b") ==
        "expected END to close CASE at line 1, column 1, found the end "
        "of the script");
  CHECK(error_of("CAST(a BIGINT)") ==
        "expected AS after the value in CAST, found 'BIGINT'");
  CHECK(error_of("a BETWEEN 1 OR 2") ==
        "expected AND between the bounds of BETWEEN, found 'OR'");
  CHECK(error_of("a IS 1") == "expected NULL after IS, found '1'");
  CHECK(error_of("INTERVAL '10' WEEKS") ==
        "expected a unit (MILLISECOND, SECOND, MINUTE, HOUR or DAY) after "
        "the INTERVAL value, found 'WEEKS'");
  CHECK(error_of("INTERVAL '1' MONTH") ==
        "INTERVAL in MONTH is not supported: use MILLISECOND, SECOND, "
        "MINUTE, HOUR or DAY");
  CHECK(error_of("INTERVAL 'ten' SECOND") ==
        "expected a number in the INTERVAL literal, found ''ten''");
  CHECK(error_of("a IN (SELECT 1)") == "subqueries in IN are not supported");
  CHECK(error_of("EXTRACT(CENTURY FROM ts)") ==
        "expected a unit (YEAR, QUARTER, MONTH, WEEK, DAY, HOUR, MINUTE, "
        "SECOND, MILLISECOND, DOW or DOY) in EXTRACT, found 'CENTURY'");
  CHECK(error_of("a b") == "expected the end of the expression, found 'b'");
  CHECK(error_of("SUM(x) OVER (PARTITION BY k)") ==
        "OVER windows are not supported");
}

TEST_CASE("deep nesting is an error, not a crash", "[parser]") {
  std::string deep(5000, '(');
  deep += "1";
  deep += std::string(5000, ')');
  CHECK(error_of(deep) == "nested too deeply (more than 200 levels)");
  std::string minus;
  for (int i = 0; i < 50000; ++i)
    minus += "- "; // not "--": that starts a comment
  CHECK(error_of(minus + "1") == "nested too deeply (more than 200 levels)");
  std::string shallow(150, '(');
  shallow += "1";
  shallow += std::string(150, ')');
  CHECK(parse(shallow) == "1");
}
