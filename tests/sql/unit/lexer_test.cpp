#include <catch2/catch.hpp>

#include "sql/lexer.hpp"

using namespace sluice::sql;

namespace {

std::vector<token> lex_ok(std::string_view text) {
  std::vector<sql_diagnostic> diags;
  auto result = lex(text, "t.sql", diags);
  REQUIRE(diags.empty());
  return result;
}

} // namespace

TEST_CASE("the lexer splits identifiers, keywords and operators", "[lexer]") {
  auto ts = lex_ok("select a,b.c FROM `dateTime` where x<>1 and y!=2 "
                   "or z<=3 || w>=4 < > = + - * / % ( ) ;");
  std::vector<token_kind> kinds;
  for (auto& t : ts)
    kinds.push_back(t.kind);
  using k = token_kind;
  CHECK(kinds ==
        std::vector<token_kind>{
            k::identifier, k::identifier, k::comma,      k::identifier,
            k::dot,        k::identifier, k::identifier, k::quoted_identifier,
            k::identifier, k::identifier, k::ne,         k::integer,
            k::identifier, k::identifier, k::ne,         k::integer,
            k::identifier, k::identifier, k::le,         k::integer,
            k::concat,     k::identifier, k::ge,         k::integer,
            k::lt,         k::gt,         k::eq,         k::plus,
            k::minus,      k::star,       k::slash,      k::percent,
            k::lparen,     k::rparen,     k::semicolon,  k::end});
  CHECK(ts[0].is("SELECT"));
  CHECK(ts[6].is("FROM"));
  CHECK_FALSE(ts[0].is("FROM"));
  CHECK(ts[7].value == "dateTime");
  CHECK(ts[7].name() == "dateTime");
  CHECK(ts[7].text == "`dateTime`");
  CHECK_FALSE(ts[7].is("DATETIME"));
}

TEST_CASE("a backquoted keyword is a name, not a keyword", "[lexer]") {
  auto ts = lex_ok("`select` `a``b`");
  CHECK(ts[0].kind == token_kind::quoted_identifier);
  CHECK_FALSE(ts[0].is("SELECT"));
  CHECK_FALSE(is_reserved(ts[0]));
  CHECK(ts[1].value == "a`b");
}

TEST_CASE("reserved words are known in any case", "[lexer]") {
  auto ts = lex_ok("from Where JOIN on dateTime price window_start");
  CHECK(is_reserved(ts[0]));
  CHECK(is_reserved(ts[1]));
  CHECK(is_reserved(ts[2]));
  CHECK(is_reserved(ts[3]));
  CHECK_FALSE(is_reserved(ts[4]));
  CHECK_FALSE(is_reserved(ts[5]));
  CHECK_FALSE(is_reserved(ts[6]));
}

TEST_CASE("string literals turn '' into one quote", "[lexer]") {
  auto ts = lex_ok("'it''s' '' 'a\nb'");
  REQUIRE(ts.size() == 4);
  CHECK(ts[0].kind == token_kind::string);
  CHECK(ts[0].value == "it's");
  CHECK(ts[0].text == "'it''s'");
  CHECK(ts[1].value.empty());
  CHECK(ts[2].value == "a\nb");
}

TEST_CASE("numbers are integers, decimals or reals", "[lexer]") {
  auto ts = lex_ok("42 0.908 .5 3. 1e10 2.5E-3 7e+2 12ab");
  CHECK(ts[0].kind == token_kind::integer);
  CHECK(ts[0].text == "42");
  CHECK(ts[1].kind == token_kind::decimal);
  CHECK(ts[1].text == "0.908");
  CHECK(ts[2].kind == token_kind::decimal);
  CHECK(ts[2].text == ".5");
  CHECK(ts[3].kind == token_kind::decimal);
  CHECK(ts[3].text == "3.");
  CHECK(ts[4].kind == token_kind::real);
  CHECK(ts[4].text == "1e10");
  CHECK(ts[5].kind == token_kind::real);
  CHECK(ts[5].text == "2.5E-3");
  CHECK(ts[6].kind == token_kind::real);
  CHECK(ts[6].text == "7e+2");
  // A number then a name: the parser decides what that means.
  CHECK(ts[7].kind == token_kind::integer);
  CHECK(ts[7].text == "12");
  CHECK(ts[8].kind == token_kind::identifier);
  CHECK(ts[8].text == "ab");
}

TEST_CASE("comments are skipped", "[lexer]") {
  auto ts = lex_ok("a -- one ' line\n/* a 'block'\n * comment */ b--\nc/**/d");
  REQUIRE(ts.size() == 5);
  CHECK(ts[0].text == "a");
  CHECK(ts[1].text == "b");
  CHECK(ts[2].text == "c");
  CHECK(ts[3].text == "d");
  CHECK(ts[4].kind == token_kind::end);
}

TEST_CASE("every token has line, column, offset and length", "[lexer]") {
  std::string_view text = "SELECT a,\n  `b c`\n\tFROM  'x''y' -- c\n  é <= 10";
  auto ts = lex_ok(text);
  REQUIRE(ts.size() == 10);
  auto check = [&](const token& t, uint32_t line, uint32_t col,
                   std::string_view written) {
    INFO(t.text);
    CHECK(t.span.line == line);
    CHECK(t.span.column == col);
    CHECK(t.span.length == written.size());
    CHECK(text.substr(t.span.offset, t.span.length) == written);
    CHECK(t.text == written);
  };
  check(ts[0], 1, 1, "SELECT");
  check(ts[1], 1, 8, "a");
  check(ts[2], 1, 9, ",");
  check(ts[3], 2, 3, "`b c`");
  check(ts[4], 3, 2, "FROM");
  check(ts[5], 3, 8, "'x''y'");
  check(ts[6], 4, 3, "é");  // a name: letters beyond ASCII are allowed
  check(ts[7], 4, 5, "<="); // columns count characters, not bytes
  check(ts[8], 4, 8, "10");
  CHECK(ts[9].kind == token_kind::end);
}

TEST_CASE("lexical errors are reported with positions and lexing goes on",
          "[lexer]") {
  std::vector<sql_diagnostic> diags;
  auto ts = lex("a ? b\n  # c 'open", "t.sql", diags);
  REQUIRE(diags.size() == 3);
  CHECK(diags[0].code == diag_code::lexical);
  CHECK(diags[0].where.line == 1);
  CHECK(diags[0].where.column == 3);
  CHECK(diags[0].message == "unexpected character '?'");
  CHECK(diags[1].where.line == 2);
  CHECK(diags[1].where.column == 3);
  CHECK(diags[1].message == "unexpected character '#'");
  CHECK(diags[2].where.column == 7);
  CHECK(diags[2].message == "unterminated string literal: no closing quote");
  // a b c and the unterminated string, then the end.
  REQUIRE(ts.size() == 5);
  CHECK(ts[2].text == "c");
  CHECK(ts[3].kind == token_kind::string);
  CHECK(ts[3].value == "open");
}

TEST_CASE("an unterminated comment or quoted name is a lexical error",
          "[lexer]") {
  std::vector<sql_diagnostic> diags;
  lex("a /* no end", "t.sql", diags);
  lex("`abc", "t.sql", diags);
  REQUIRE(diags.size() == 2);
  CHECK(diags[0].message == "unterminated comment: '/*' without its '*/'");
  CHECK(diags[0].where.column == 3);
  CHECK(diags[0].where.length == 2);
  CHECK(diags[1].message == "unterminated quoted name: no closing '`'");
}

TEST_CASE("${env:NAME} stays in string literals and is found with its place",
          "[lexer]") {
  std::string_view text = "x = 'host=${env:DB_HOST};it''s ${env:PORT}'\n"
                          "  'a\n${env:N}${env:}${env:X'";
  auto ts = lex_ok(text);
  REQUIRE(ts[2].kind == token_kind::string);
  CHECK(ts[2].value == "host=${env:DB_HOST};it's ${env:PORT}");
  auto refs = find_env_references(ts[2]);
  REQUIRE(refs.size() == 2);
  CHECK(refs[0].name == "DB_HOST");
  CHECK(refs[0].where.line == 1);
  CHECK(refs[0].where.column == 11);
  CHECK(text.substr(refs[0].where.offset, refs[0].where.length) ==
        "${env:DB_HOST}");
  CHECK(ts[2].value.substr(refs[0].value_offset, refs[0].value_length) ==
        "${env:DB_HOST}");
  CHECK(refs[1].name == "PORT");
  CHECK(refs[1].where.column == 32); // after '' (two columns in the script)
  CHECK(text.substr(refs[1].where.offset, refs[1].where.length) ==
        "${env:PORT}");
  CHECK(ts[2].value.substr(refs[1].value_offset, refs[1].value_length) ==
        "${env:PORT}");
  // A literal over two lines; an empty name and an open one are not refs.
  auto more = find_env_references(ts[3]);
  REQUIRE(more.size() == 1);
  CHECK(more[0].name == "N");
  CHECK(more[0].where.line == 3);
  CHECK(more[0].where.column == 1);
  CHECK(find_env_references(ts[0]).empty());
}
