#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "sql/diagnostics.hpp"
#include "sql/token.hpp"

/// The lexer of SQL scripts.
namespace sluice::sql {

/// Splits `text` into tokens, ending with one `token_kind::end`. Skips
/// whitespace, `-- line` and `/* block */` comments. Lexical errors (an
/// unexpected character, an unterminated string, quoted identifier or
/// comment) go to `diags` with positions in `file`; the lexer goes on after
/// them (an unterminated string still yields a string token). Tokens refer to
/// `text`, which must outlive them.
std::vector<token> lex(std::string_view text, const std::string& file,
                       std::vector<sql_diagnostic>& diags);

/// A `${env:NAME}` reference inside a string literal, kept as written by
/// the lexer and the parser (the analyzer substitutes it).
struct env_reference {
  std::string name;        ///< NAME
  source_span where;       ///< the whole `${env:NAME}` in the script
  size_t value_offset = 0; ///< where it starts in the decoded string value
  size_t value_length = 0; ///< its length in the decoded string value
};

/// The `${env:NAME}` references of a string token, in order, with positions
/// in the script (line and column even when the literal spans lines). A
/// `${env:` without its closing `}` or with an empty name is not a reference.
std::vector<env_reference> find_env_references(const token& string_token);

/// A position of a span in a file.
sql_position to_position(const source_span& s, const std::string& file);

} // namespace sluice::sql
