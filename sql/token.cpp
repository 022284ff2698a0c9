#include "sql/token.hpp"

#include <algorithm>
#include <array>

namespace sluice::sql {

namespace {

char upper(char c) noexcept {
  return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
}

// Sorted, for binary search.
constexpr std::array<std::string_view, 50> reserved_words = {
    "ALL",       "AND",      "AS",     "ASC",     "BETWEEN",  "BY",    "CASE",
    "CAST",      "CREATE",   "CROSS",  "DESC",    "DISTINCT", "ELSE",  "END",
    "ESCAPE",    "EXCEPT",   "EXISTS", "EXPLAIN", "FALSE",    "FETCH", "FOR",
    "FROM",      "FULL",     "GROUP",  "HAVING",  "IN",       "INNER", "INSERT",
    "INTERSECT", "INTERVAL", "INTO",   "IS",      "JOIN",     "LEFT",  "LIKE",
    "LIMIT",     "NOT",      "NULL",   "OFFSET",  "ON",       "OR",    "ORDER",
    "OUTER",     "RIGHT",    "SELECT", "SET",     "THEN",     "TRUE",  "UNION",
    "WHERE",
};

// Not in the sorted array above because they sort elsewhere.
constexpr std::array<std::string_view, 6> more_reserved_words = {
    "PARTITION", "TABLE", "USING", "VALUES", "WHEN", "WITH",
};

} // namespace

const char* describe(token_kind k) noexcept {
  switch (k) {
  case token_kind::end:
    return "the end of the script";
  case token_kind::identifier:
  case token_kind::quoted_identifier:
    return "a name";
  case token_kind::string:
    return "a string literal";
  case token_kind::integer:
    return "an integer";
  case token_kind::decimal:
  case token_kind::real:
    return "a number";
  case token_kind::comma:
    return "','";
  case token_kind::dot:
    return "'.'";
  case token_kind::semicolon:
    return "';'";
  case token_kind::lparen:
    return "'('";
  case token_kind::rparen:
    return "')'";
  case token_kind::plus:
    return "'+'";
  case token_kind::minus:
    return "'-'";
  case token_kind::star:
    return "'*'";
  case token_kind::slash:
    return "'/'";
  case token_kind::percent:
    return "'%'";
  case token_kind::concat:
    return "'||'";
  case token_kind::eq:
    return "'='";
  case token_kind::ne:
    return "'<>'";
  case token_kind::lt:
    return "'<'";
  case token_kind::le:
    return "'<='";
  case token_kind::gt:
    return "'>'";
  case token_kind::ge:
    return "'>='";
  }
  return "a token";
}

bool iequals(std::string_view a, std::string_view upper_text) noexcept {
  if (a.size() != upper_text.size())
    return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (upper(a[i]) != upper_text[i])
      return false;
  return true;
}

std::string to_upper(std::string_view x) {
  std::string result{x};
  for (auto& c : result)
    c = upper(c);
  return result;
}

bool token::is(std::string_view keyword) const noexcept {
  return kind == token_kind::identifier && iequals(text, keyword);
}

bool is_reserved(const token& t) noexcept {
  if (t.kind != token_kind::identifier || t.text.size() > 12)
    return false;
  auto word = to_upper(t.text);
  if (std::binary_search(reserved_words.begin(), reserved_words.end(),
                         std::string_view{word}))
    return true;
  return std::find(more_reserved_words.begin(), more_reserved_words.end(),
                   std::string_view{word}) != more_reserved_words.end();
}

} // namespace sluice::sql
