// SQL type names, parsed into columnar::data_type.
#include <charconv>
#include <cstdint>

#include "sql/parser_detail.hpp"

namespace sluice::sql::detail {

namespace {

constexpr std::string_view supported_types =
    "BOOLEAN, INT, BIGINT, DOUBLE, DECIMAL(p, s), VARCHAR, STRING or "
    "TIMESTAMP(3)";

} // namespace

void parser::skip_type_parameters() {
  // (n), (p, s), <T>, <a T, b U> of a type sluice does not know, nested.
  if (peek().kind != token_kind::lparen && peek().kind != token_kind::lt)
    return;
  int depth = 0;
  do {
    auto k = next().kind;
    if (k == token_kind::lparen || k == token_kind::lt)
      ++depth;
    else if (k == token_kind::rparen || k == token_kind::gt)
      --depth;
  } while (depth > 0 && !at_end() && peek().kind != token_kind::semicolon);
}

columnar::data_type parser::parse_type(sql_position& where) {
  const auto& t = peek();
  if (t.kind != token_kind::identifier)
    fail_expected("a type", "");
  where = pos(t);
  auto name = to_upper(t.text);
  next();
  // An optional (n) or (p, s); returns how many numbers were given.
  auto numbers = [&](int64_t& a, int64_t& b, const token*& first,
                     const token*& second) {
    if (!accept(token_kind::lparen))
      return 0;
    first = &expect(token_kind::integer, "for the type's length");
    std::from_chars(first->text.data(), first->text.data() + first->text.size(),
                    a);
    if (first->text.size() > 10)
      a = INT64_MAX;
    int n = 1;
    if (accept(token_kind::comma)) {
      second = &expect(token_kind::integer, "for the type's scale");
      std::from_chars(second->text.data(),
                      second->text.data() + second->text.size(), b);
      if (second->text.size() > 10)
        b = INT64_MAX;
      n = 2;
    }
    where = through(where, expect(token_kind::rparen, "after the type's "
                                                      "parameters"));
    return n;
  };
  int64_t a = 0;
  int64_t b = 0;
  const token* first = nullptr;
  const token* second = nullptr;
  columnar::data_type result;
  if (name == "INT" || name == "INTEGER") {
    result = columnar::int32_type();
  } else if (name == "BIGINT") {
    result = columnar::int64_type();
  } else if (name == "DOUBLE") {
    accept("PRECISION");
    result = columnar::float64_type();
  } else if (name == "BOOLEAN") {
    result = columnar::boolean_type();
  } else if (name == "STRING") {
    result = columnar::string_type();
  } else if (name == "VARCHAR" || name == "CHAR" || name == "CHARACTER") {
    if (name == "CHARACTER")
      accept("VARYING");
    if (numbers(a, b, first, second) == 2)
      report(*second, name + " takes one length");
    if (first && (a < 1 || a > 2147483647))
      report(*first, name + " length must be between 1 and 2147483647, found " +
                         std::string{first->text});
    result = columnar::string_type();
  } else if (name == "DECIMAL" || name == "DEC" || name == "NUMERIC") {
    a = 10;
    b = 0;
    numbers(a, b, first, second);
    // Errors in the parameters do not stop the parse: report and go on
    // with the nearest valid type.
    if (a < 1 || a > columnar::max_decimal_precision) {
      report(*first, "DECIMAL precision must be between 1 and 38, found " +
                         std::string{first->text});
      a = a < 1 ? 1 : columnar::max_decimal_precision;
    }
    if (b < 0 || b > a) {
      report(*second, "DECIMAL scale must be between 0 and the precision (" +
                          std::to_string(a) + "), found " +
                          std::string{second->text});
      b = a;
    }
    result = columnar::decimal_type(static_cast<uint8_t>(a),
                                    static_cast<uint8_t>(b));
  } else if (name == "TIMESTAMP") {
    a = 3;
    if (numbers(a, b, first, second) == 2)
      report(*second, "TIMESTAMP takes one precision");
    if (a != 3)
      report(*first,
             "TIMESTAMP(" + std::string{first->text} +
                 ") is not supported: sluice keeps milliseconds, use "
                 "TIMESTAMP(3)",
             diag_code::unsupported);
    if (peek().is("WITH") && (peek(1).is("LOCAL") || peek(1).is("TIME")))
      fail(peek(), "TIMESTAMP WITH TIME ZONE is not supported",
           diag_code::unsupported);
    if (accept("WITHOUT")) {
      expect("TIME", "after WITHOUT");
      where = through(where, expect("ZONE", "after WITHOUT TIME"));
    }
    result = columnar::timestamp_type();
  } else if (name == "TINYINT" || name == "SMALLINT" || name == "FLOAT" ||
             name == "REAL" || name == "DATE" || name == "TIME" ||
             name == "TIMESTAMP_LTZ" || name == "BYTES" || name == "BINARY" ||
             name == "VARBINARY" || name == "ARRAY" || name == "MAP" ||
             name == "ROW" || name == "MULTISET" || name == "INTERVAL" ||
             name == "RAW") {
    report(t,
           "type " + name + " is not supported: use " +
               std::string{supported_types},
           diag_code::unsupported);
    skip_type_parameters();
  } else {
    report(t, "unknown type " + found(t) + ": expected " +
                  std::string{supported_types});
    skip_type_parameters();
  }
  if (peek().is("NOT") && peek(1).is("NULL")) {
    next();
    where = through(where, next());
    result.nullable = false;
  } else if (peek().is("NULL")) {
    next();
  }
  return result;
}

} // namespace sluice::sql::detail
