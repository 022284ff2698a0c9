#include "sql/parser.hpp"

#include <algorithm>
#include <utility>

#include "sql/lexer.hpp"
#include "sql/parser_detail.hpp"

namespace sluice::sql {

namespace detail {

// -- tokens -------------------------------------------------------------------

parser::parser(std::vector<token> tokens, const std::string& file,
               std::vector<sql_diagnostic>& diags)
    : tokens_(std::move(tokens)), file_(file), diags_(diags) {}

const token& parser::peek(size_t n) const {
  auto i = pos_ + n;
  return i < tokens_.size() ? tokens_[i] : tokens_.back();
}

const token& parser::next() {
  const auto& t = tokens_[pos_];
  if (t.kind != token_kind::end)
    ++pos_;
  return t;
}

bool parser::accept(token_kind k) {
  if (peek().kind != k)
    return false;
  next();
  return true;
}

bool parser::accept(std::string_view keyword) {
  if (!peek().is(keyword))
    return false;
  next();
  return true;
}

const token& parser::expect(token_kind k, std::string_view context) {
  if (peek().kind != k)
    fail_expected(describe(k), context);
  return next();
}

const token& parser::expect(std::string_view keyword,
                            std::string_view context) {
  if (!peek().is(keyword))
    fail_expected(keyword, context);
  return next();
}

bool parser::at_name() const {
  const auto& t = peek();
  return t.kind == token_kind::quoted_identifier ||
         (t.kind == token_kind::identifier && !is_reserved(t));
}

identifier parser::expect_name(std::string_view context) {
  if (!at_name())
    fail_expected("a name", context);
  const auto& t = next();
  return {std::string{t.name()}, pos(t)};
}

sql_position parser::pos(const token& t) const {
  return to_position(t.span, file_);
}

std::string parser::found(const token& t) {
  if (t.kind == token_kind::end)
    return "the end of the script";
  auto text = t.text;
  auto nl = text.find('\n');
  bool cut = false;
  if (nl != std::string_view::npos) {
    text = text.substr(0, nl);
    cut = true;
  }
  if (text.size() > 40) {
    size_t n = 40;
    while (n > 0 && (static_cast<unsigned char>(text[n]) & 0xC0) == 0x80)
      --n; // do not split a UTF-8 character
    text = text.substr(0, n);
    cut = true;
  }
  std::string result = "'";
  result += text;
  if (cut)
    result += "...";
  result += '\'';
  return result;
}

void parser::report(const token& at, std::string message, diag_code code) {
  report(pos(at), std::move(message), code);
}

void parser::report(sql_position where, std::string message, diag_code code) {
  diags_.push_back({std::move(where), code, std::move(message)});
  statement_failed_ = true;
}

void parser::fail(const token& at, std::string message, diag_code code) const {
  fail(pos(at), std::move(message), code);
}

void parser::fail(sql_position where, std::string message,
                  diag_code code) const {
  throw parse_error{{std::move(where), code, std::move(message)}};
}

void parser::fail_expected(std::string_view what,
                           std::string_view context) const {
  std::string message = "expected ";
  message += what;
  if (!context.empty()) {
    message += ' ';
    message += context;
  }
  message += ", found ";
  message += found(peek());
  fail(peek(), std::move(message));
}

parser::depth_guard::depth_guard(parser& p) : self(p) {
  if (++self.depth_ > max_nesting_depth) {
    --self.depth_;
    self.fail(self.peek(), "nested too deeply (more than " +
                               std::to_string(max_nesting_depth) + " levels)");
  }
}

parser::depth_guard::~depth_guard() {
  --self.depth_;
}

/// Widens `where` to end where `last` ends, when both are on one line.
sql_position through(sql_position where, const token& last) {
  if (last.span.line == where.line && last.span.offset >= where.offset)
    where.length = last.span.offset + last.span.length - where.offset;
  return where;
}

expr_ptr make_expr(expr_kind kind, sql_position where) {
  auto e = std::make_unique<expr>();
  e->kind = kind;
  e->where = std::move(where);
  return e;
}

// -- script -------------------------------------------------------------------

namespace {

bool starts_statement(const token& t) {
  return t.is("CREATE") || t.is("INSERT") || t.is("SET") || t.is("EXPLAIN");
}

} // namespace

std::vector<statement> parser::script() {
  std::vector<statement> result;
  bool lexical_errors = !diags_.empty();
  while (!at_end()) {
    if (accept(token_kind::semicolon))
      continue;
    // Flink's statement sets group INSERTs into one job; sluice runs each
    // INSERT as its own job, so the grouping is read and dropped.
    if (peek().is("EXECUTE") && peek(1).is("STATEMENT") && peek(2).is("SET") &&
        peek(3).is("BEGIN")) {
      pos_ += 4;
      in_statement_set_ = true;
      continue;
    }
    if (peek().is("BEGIN") && peek(1).is("STATEMENT") && peek(2).is("SET")) {
      pos_ += 3;
      in_statement_set_ = true;
      continue;
    }
    if (in_statement_set_ && peek().is("END") &&
        (peek(1).kind == token_kind::semicolon ||
         peek(1).kind == token_kind::end)) {
      next();
      in_statement_set_ = false;
      continue;
    }
    auto start = pos_;
    statement_failed_ = false;
    try {
      auto s = parse_statement();
      if (!at_end() && peek().kind != token_kind::semicolon)
        fail_expected("';'", "after the statement");
      accept(token_kind::semicolon);
      if (!statement_failed_)
        result.push_back(std::move(s));
    } catch (parse_error& e) {
      // An unterminated string or comment already said why the script ends.
      if (!(lexical_errors && at_end()))
        diags_.push_back(std::move(e.diagnostic));
      recover(start);
    }
  }
  return result;
}

void parser::recover(size_t statement_start) {
  if (pos_ == statement_start)
    next();
  while (!at_end()) {
    if (accept(token_kind::semicolon))
      return;
    if (starts_statement(peek()))
      return;
    next();
  }
}

// -- statements ---------------------------------------------------------------

statement parser::parse_statement() {
  const auto& first = peek();
  statement s;
  s.where = pos(first);
  if (first.is("CREATE")) {
    auto result = create_statement();
    result.where = s.where;
    return result;
  }
  if (first.is("INSERT")) {
    next();
    if (peek().is("OVERWRITE"))
      fail(peek(), "INSERT OVERWRITE is not supported on streams",
           diag_code::unsupported);
    expect("INTO", "after INSERT");
    insert_stmt i;
    i.table = expect_name("after INSERT INTO");
    if (peek().kind == token_kind::lparen && !peek(1).is("SELECT") &&
        peek(1).kind != token_kind::lparen)
      i.columns = name_list("after the column list of INSERT INTO");
    if (peek().is("VALUES"))
      fail(peek(), "INSERT INTO ... VALUES is not supported: insert a query",
           diag_code::unsupported);
    i.body = parse_query();
    s.body = std::move(i);
    return s;
  }
  if (first.is("SET")) {
    next();
    set_stmt st;
    if (peek().kind == token_kind::string) {
      st.option = option();
    } else {
      // The SQL client's older form: SET key.path = value (any words).
      auto key_part = [&](std::string_view context) -> const token& {
        if (peek().kind != token_kind::identifier &&
            peek().kind != token_kind::quoted_identifier)
          fail_expected("a key", context);
        return next();
      };
      auto& o = st.option;
      const auto& first_part = key_part("after SET");
      o.key = std::string{first_part.name()};
      o.key_where = pos(first_part);
      while (accept(token_kind::dot)) {
        o.key += '.';
        o.key += key_part("after '.' in the key").name();
      }
      expect(token_kind::eq, "after the key of SET");
      const auto& v = next();
      if (v.kind == token_kind::end || v.kind == token_kind::semicolon)
        fail(v, "expected a value after '=', found " + found(v));
      o.value = v.kind == token_kind::string ? v.value : std::string{v.text};
      o.value_where = pos(v);
      o.env = find_env_references(v);
    }
    s.body = std::move(st);
    return s;
  }
  if (first.is("EXPLAIN")) {
    next();
    if (accept("PLAN"))
      expect("FOR", "after EXPLAIN PLAN");
    if (peek().is("EXPLAIN"))
      fail(peek(), "EXPLAIN of an EXPLAIN");
    explain_stmt e;
    e.inner = std::make_unique<statement>(parse_statement());
    s.body = std::move(e);
    return s;
  }
  if (first.is("WITH"))
    fail(first,
         "WITH (common table expressions) is not supported: use CREATE VIEW",
         diag_code::unsupported);
  if (first.is("SELECT") || first.kind == token_kind::lparen) {
    s.body = query_stmt{parse_query()};
    return s;
  }
  fail_expected("a statement (CREATE TABLE, CREATE VIEW, INSERT INTO, SET, "
                "EXPLAIN or SELECT)",
                "");
}

statement parser::create_statement() {
  next(); // CREATE
  bool temporary = accept("TEMPORARY");
  statement s;
  if (peek().is("TABLE")) {
    next();
    auto t = create_table();
    t.temporary = temporary;
    s.body = std::move(t);
    return s;
  }
  if (peek().is("VIEW")) {
    next();
    create_view_stmt v;
    v.temporary = temporary;
    if (accept("IF")) {
      expect("NOT", "after IF");
      expect("EXISTS", "after IF NOT");
      v.if_not_exists = true;
    }
    v.name = expect_name("for the view");
    if (peek().kind == token_kind::lparen)
      v.columns = name_list("after the column list of the view");
    expect("AS", "after the view's name");
    v.body = parse_query();
    s.body = std::move(v);
    return s;
  }
  if (peek().is("FUNCTION") || peek().is("CATALOG") || peek().is("DATABASE"))
    fail(peek(), "CREATE " + to_upper(peek().text) + " is not supported",
         diag_code::unsupported);
  fail_expected("TABLE or VIEW",
                temporary ? "after CREATE TEMPORARY" : "after CREATE");
}

create_table_stmt parser::create_table() {
  create_table_stmt t;
  if (accept("IF")) {
    expect("NOT", "after IF");
    expect("EXISTS", "after IF NOT");
    t.if_not_exists = true;
  }
  t.name = expect_name("for the table");
  expect(token_kind::lparen, "after the table's name");
  table_element(t);
  while (accept(token_kind::comma))
    table_element(t);
  expect(token_kind::rparen, "after the column list");
  if (accept("COMMENT"))
    expect(token_kind::string, "after COMMENT");
  if (peek().is("PARTITIONED"))
    fail(peek(), "PARTITIONED BY is not supported", diag_code::unsupported);
  if (peek().is("LIKE"))
    fail(peek(), "CREATE TABLE ... LIKE is not supported",
         diag_code::unsupported);
  if (peek().is("WITH"))
    t.options = with_options();
  return t;
}

void parser::table_element(create_table_stmt& t) {
  const auto& first = peek();
  if (first.is("WATERMARK") && peek(1).is("FOR")) {
    if (t.watermark)
      report(first, "a table has one WATERMARK declaration; the first is at " +
                        std::to_string(t.watermark->where.line) + ":" +
                        std::to_string(t.watermark->where.column));
    watermark_def w;
    w.where = pos(first);
    next();
    next();
    w.column = expect_name("after WATERMARK FOR");
    expect("AS", "after the watermark's time column");
    w.strategy = parse_expr();
    if (!t.watermark)
      t.watermark = std::move(w);
    return;
  }
  auto primary_key = [&](sql_position where, std::vector<identifier> cols) {
    if (t.primary_key)
      report(where, "a table has one PRIMARY KEY; the first is at " +
                        std::to_string(t.primary_key->where.line) + ":" +
                        std::to_string(t.primary_key->where.column));
    if (!accept("NOT"))
      fail_expected("NOT ENFORCED", "after PRIMARY KEY (Flink does not "
                                    "enforce primary keys)");
    expect("ENFORCED", "after NOT");
    if (!t.primary_key)
      t.primary_key = primary_key_def{std::move(where), std::move(cols)};
  };
  if ((first.is("PRIMARY") && peek(1).is("KEY")) || first.is("CONSTRAINT")) {
    if (accept("CONSTRAINT"))
      expect_name("after CONSTRAINT");
    auto where = pos(expect("PRIMARY", "after the constraint's name"));
    expect("KEY", "after PRIMARY");
    auto cols = name_list("after the primary key's columns");
    primary_key(std::move(where), std::move(cols));
    return;
  }
  column_def c;
  c.name = expect_name("for a column");
  if (accept("AS")) {
    c.computed = parse_expr();
  } else {
    c.type = parse_type(c.type_where);
    if (peek().is("METADATA"))
      fail(peek(), "METADATA columns are not supported",
           diag_code::unsupported);
    if ((peek().is("PRIMARY") && peek(1).is("KEY")) ||
        peek().is("CONSTRAINT")) {
      if (accept("CONSTRAINT"))
        expect_name("after CONSTRAINT");
      auto where = pos(next());
      expect("KEY", "after PRIMARY");
      primary_key(std::move(where), {c.name});
    }
  }
  if (accept("COMMENT"))
    expect(token_kind::string, "after COMMENT");
  t.columns.push_back(std::move(c));
}

std::vector<option_def> parser::with_options() {
  expect("WITH", "before the table's options");
  expect(token_kind::lparen, "after WITH");
  std::vector<option_def> result;
  if (accept(token_kind::rparen))
    return result;
  result.push_back(option());
  while (accept(token_kind::comma))
    result.push_back(option());
  expect(token_kind::rparen, "after the options");
  return result;
}

option_def parser::option() {
  option_def o;
  const auto& key = expect(token_kind::string, "for an option key");
  o.key = key.value;
  o.key_where = pos(key);
  expect(token_kind::eq, "after the option key");
  const auto& v = peek();
  if (v.kind == token_kind::integer || v.kind == token_kind::decimal ||
      v.kind == token_kind::real || v.is("TRUE") || v.is("FALSE")) {
    report(v, "option values are string literals: write '" +
                  std::string{v.text} + "'");
    const auto& t = next();
    o.value = std::string{t.text};
    o.value_where = pos(t);
    return o;
  }
  const auto& value = expect(token_kind::string, "for the option value");
  o.value = value.value;
  o.value_where = pos(value);
  o.env = find_env_references(value);
  return o;
}

std::vector<identifier> parser::name_list(std::string_view context) {
  expect(token_kind::lparen, "before the column list");
  std::vector<identifier> result;
  result.push_back(expect_name("in the column list"));
  while (accept(token_kind::comma))
    result.push_back(expect_name("in the column list"));
  expect(token_kind::rparen, context);
  return result;
}

} // namespace detail

parsed_script parse_script(std::string_view text, const std::string& file) {
  parsed_script result;
  auto tokens = lex(text, file, result.diagnostics);
  detail::parser p{std::move(tokens), file, result.diagnostics};
  result.statements = p.script();
  // Lexical errors were found first; report everything in script order.
  std::stable_sort(result.diagnostics.begin(), result.diagnostics.end(),
                   [](const sql_diagnostic& x, const sql_diagnostic& y) {
                     return x.where.offset < y.where.offset;
                   });
  return result;
}

parsed_expression parse_expression(std::string_view text,
                                   const std::string& file) {
  parsed_expression result;
  auto tokens = lex(text, file, result.diagnostics);
  detail::parser p{std::move(tokens), file, result.diagnostics};
  try {
    auto e = p.parse_expr();
    if (!p.at_end())
      p.fail_expected("the end of the expression", "");
    if (result.diagnostics.empty())
      result.value = std::move(e);
  } catch (detail::parse_error& e) {
    result.diagnostics.push_back(std::move(e.diagnostic));
  }
  return result;
}

} // namespace sluice::sql
