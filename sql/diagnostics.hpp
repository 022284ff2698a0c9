#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

/// Positions and diagnostics of SQL scripts: what the lexer, parser and
/// analyzer report, and how it is printed.
namespace sluice::sql {

/// Where something is in a script: 1-based line and column (columns count
/// characters, not bytes), the byte offset from the start of the text and the
/// length in bytes (what the caret line underlines).
struct sql_position {
  std::string file;
  uint32_t line = 0;
  uint32_t column = 0;
  uint32_t length = 1;
  uint32_t offset = 0;

  friend bool operator==(const sql_position&, const sql_position&) = default;
};

/// The class of a diagnostic (typed; never parsed back from the message).
enum class diag_code : uint8_t {
  lexical,          ///< a character or literal the lexer cannot read
  syntax,           ///< a token the grammar does not allow where it stands
  unknown_table,    ///< a table or view that is not declared
  unknown_column,   ///< a column that no input has
  unknown_function, ///< a function the registry does not know
  type_mismatch,    ///< operand or argument types that do not fit
  not_grouped,      ///< a column outside GROUP BY and outside an aggregate
  bad_window,       ///< a window function with wrong arguments
  unsupported,      ///< valid Flink SQL that sluice does not run
  bad_option,       ///< a WITH option a connector refuses
  env_missing,      ///< ${env:NAME} of a variable that is not set
  sink_no_updates,  ///< an update stream into a sink that takes inserts only
  no_sample,        ///< a table a job reads, in a run on samples without one
};

/// The name of a code ("syntax", "unknown_column", ...).
const char* to_string(diag_code x) noexcept;

/// One problem found in a script.
struct sql_diagnostic {
  sql_position where;
  diag_code code = diag_code::syntax;
  std::string message;
};

/// Renders "file:line:column: error: message", a newline, the source line the
/// position is on, a newline and a caret line: spaces (tabs where the source
/// line has tabs) up to the column, then `^` and one `~` per further character
/// of the position's length on that line. No trailing newline.
std::string render(const sql_diagnostic& d, std::string_view source_text);

/// Renders every diagnostic, each followed by a newline.
std::string render(const std::vector<sql_diagnostic>& ds,
                   std::string_view source_text);

} // namespace sluice::sql
