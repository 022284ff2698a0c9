#pragma once

#include <cstdint>
#include <string>
#include <string_view>

/// The tokens of a SQL script.
namespace sluice::sql {

/// Where a token is: byte offset and length in the text, 1-based line and
/// column of its first character (columns count characters, not bytes).
struct source_span {
  uint32_t offset = 0;
  uint32_t length = 0;
  uint32_t line = 1;
  uint32_t column = 1;

  friend bool operator==(const source_span&, const source_span&) = default;
};

/// What a token is. Keywords are identifiers (compare them with
/// `token::is`); backquoted identifiers never match a keyword.
enum class token_kind : uint8_t {
  end,               ///< after the last token
  identifier,        ///< `name`, a keyword or a function name
  quoted_identifier, ///< `` `dateTime` ``: value holds the name without quotes
  string,            ///< 'text': value holds the text with '' turned into '
  integer,           ///< 42
  decimal,           ///< 0.908, .5, 3. (exact: DECIMAL in Flink)
  real,              ///< 1e10, 2.5E-3 (approximate: DOUBLE)
  comma,             ///< ,
  dot,               ///< .
  semicolon,         ///< ;
  lparen,            ///< (
  rparen,            ///< )
  plus,              ///< +
  minus,             ///< -
  star,              ///< *
  slash,             ///< /
  percent,           ///< %
  concat,            ///< ||
  eq,                ///< =
  ne,                ///< <> or !=
  lt,                ///< <
  le,                ///< <=
  gt,                ///< >
  ge,                ///< >=
};

/// How a token kind is written in messages ("')'", "an identifier").
const char* describe(token_kind k) noexcept;

/// One token of a script.
struct token {
  token_kind kind = token_kind::end;
  source_span span;
  std::string_view text; ///< the token as written (a slice of the script)
  std::string value;     ///< decoded text of strings and quoted identifiers

  /// True for an unquoted identifier equal to `keyword` ignoring case
  /// (`keyword` is given in upper case).
  bool is(std::string_view keyword) const noexcept;

  /// The name of an identifier token: its text, or the value when quoted.
  std::string_view name() const noexcept {
    return kind == token_kind::quoted_identifier ? std::string_view{value}
                                                 : text;
  }
};

/// True if `a` and the upper-case `upper` are equal ignoring ASCII case.
bool iequals(std::string_view a, std::string_view upper) noexcept;

/// The ASCII upper-case of `x`.
std::string to_upper(std::string_view x);

/// True for the words that cannot be an alias or an implicit column name
/// without backquotes (SELECT, FROM, JOIN, ON, WHERE, AS, ...).
bool is_reserved(const token& t) noexcept;

} // namespace sluice::sql
