#pragma once

#include <string>
#include <string_view>

#include "sql/ast.hpp"

/// The parser of Flink's SQL dialect (hand-written recursive descent,
/// precedence climbing for expressions).
namespace sluice::sql {

/// Lexes and parses a script of statements separated by `;`. Reports every
/// lexical and syntax error, not only the first, sorted by position: after
/// an error the parser skips to the next `;` (or CREATE, INSERT, SET,
/// EXPLAIN) and goes on; errors that leave the grammar intact (a DECIMAL
/// precision out of range, an unsupported type, a window function's argument
/// count) do not stop the statement, so its later errors are found too. A
/// statement with an error is left out of the result. `file` names the
/// script in positions. Never throws for any input.
parsed_script parse_script(std::string_view text, const std::string& file);

/// What parse_expression returns: the expression (null on an error) and
/// the diagnostics.
struct parsed_expression {
  expr_ptr value;
  std::vector<sql_diagnostic> diagnostics;
};

/// Parses `text` as one expression (tests and tools).
parsed_expression parse_expression(std::string_view text,
                                   const std::string& file);

/// Deepest nesting of parentheses, subqueries and operators the parser
/// accepts (deeper input is a syntax error, not a stack overflow).
inline constexpr int max_nesting_depth = 200;

} // namespace sluice::sql
