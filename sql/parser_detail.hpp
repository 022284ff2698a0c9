#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "sql/ast.hpp"
#include "sql/diagnostics.hpp"
#include "sql/token.hpp"

/// The parser's internals, shared by parser.cpp (statements),
/// parser_expr.cpp (expressions), parser_type.cpp (type names) and
/// parser_query.cpp (queries).
/// Not for use outside sql/parser*.cpp.
namespace sluice::sql::detail {

/// Thrown inside the parser on a syntax error; caught per statement, where
/// it becomes a diagnostic. Never leaves parse_script.
struct parse_error {
  sql_diagnostic diagnostic;
};

/// Recursive-descent parser over a token vector.
class parser {
 public:
  parser(std::vector<token> tokens, const std::string& file,
         std::vector<sql_diagnostic>& diags);

  // statements (parser.cpp)
  std::vector<statement> script();
  statement parse_statement();

  // expressions (parser_expr.cpp) and types (parser_type.cpp)
  expr_ptr parse_expr(int min_precedence = 0);
  columnar::data_type parse_type(sql_position& where);

  // queries (parser_query.cpp)
  query_ptr parse_query();

  // tokens
  const token& peek(size_t n = 0) const;
  const token& next();
  bool at_end() const { return peek().kind == token_kind::end; }
  bool accept(token_kind k);
  bool accept(std::string_view keyword);
  const token& expect(token_kind k, std::string_view context);
  const token& expect(std::string_view keyword, std::string_view context);
  identifier expect_name(std::string_view context);
  bool at_name() const;
  sql_position pos(const token& t) const;

  /// Throws a syntax error at `at`.
  /// Reports an error that does not stop the parse (a type's parameter out
  /// of range, a duplicate WATERMARK, ...): the statement goes on, so its
  /// later errors are found too, and is left out of the result.
  void report(const token& at, std::string message,
              diag_code code = diag_code::syntax);
  void report(sql_position where, std::string message,
              diag_code code = diag_code::syntax);

  [[noreturn]] void fail(const token& at, std::string message,
                         diag_code code = diag_code::syntax) const;
  [[noreturn]] void fail(sql_position where, std::string message,
                         diag_code code = diag_code::syntax) const;

  /// "expected X C, found 'Y'" at the current token.
  [[noreturn]] void fail_expected(std::string_view what,
                                  std::string_view context) const;

  /// "'WITH'", "the end of the script", ...
  static std::string found(const token& t);

  /// Counts nesting; a guard per recursive construct.
  struct depth_guard {
    explicit depth_guard(parser& p);
    ~depth_guard();
    parser& self;
  };

 private:
  // parser.cpp
  statement create_statement();
  create_table_stmt create_table();
  void table_element(create_table_stmt& t);
  std::vector<option_def> with_options();
  option_def option();
  std::vector<identifier> name_list(std::string_view context);
  void recover(size_t statement_start);

  // parser_expr.cpp
  expr_ptr parse_prefix();
  expr_ptr parse_primary();
  expr_ptr parse_call(const token& name);
  expr_ptr parse_case(const token& kw);
  void trim_arguments(expr& node);
  expr_ptr parse_interval(const token& kw);
  time_unit parse_unit(bool interval);

  // parser_type.cpp
  void skip_type_parameters();

  // parser_query.cpp
  select_core parse_select();
  select_item parse_select_item();
  table_ref_ptr parse_from();
  table_ref_ptr parse_join_chain();
  table_ref_ptr parse_table_primary();
  table_ref_ptr parse_window_tvf(const token& table_kw);
  std::optional<identifier> parse_alias();

  std::vector<token> tokens_;
  size_t pos_ = 0;
  const std::string& file_;
  std::vector<sql_diagnostic>& diags_;
  int depth_ = 0;
  bool statement_failed_ = false;
  bool in_statement_set_ = false;
};

/// `where` widened to end where `last` ends, when both are on one line.
sql_position through(sql_position where, const token& last);

/// A new expression node of `kind` at `where`.
expr_ptr make_expr(expr_kind kind, sql_position where);

} // namespace sluice::sql::detail
