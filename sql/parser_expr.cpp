// Expressions (precedence climbing), literals, intervals, CASE, CAST and
// EXTRACT.
#include "sql/parser_detail.hpp"

namespace sluice::sql::detail {

namespace {

// Binding strength, loosest first.
constexpr int prec_or = 1;
constexpr int prec_and = 2;
constexpr int prec_not = 3;
constexpr int prec_compare = 4; // = <> < ..., IS, IN, BETWEEN, LIKE
constexpr int prec_add = 6;     // + -
constexpr int prec_mul = 7;     // * / % ||
constexpr int prec_unary = 8;   // unary - +

/// The binary operator of `t` and its precedence, if it is one.
bool binary_op(const token& t, op_kind& op, int& prec) {
  switch (t.kind) {
  case token_kind::plus:
    op = op_kind::add;
    prec = prec_add;
    return true;
  case token_kind::minus:
    op = op_kind::sub;
    prec = prec_add;
    return true;
  case token_kind::star:
    op = op_kind::mul;
    prec = prec_mul;
    return true;
  case token_kind::slash:
    op = op_kind::div;
    prec = prec_mul;
    return true;
  case token_kind::percent:
    op = op_kind::mod;
    prec = prec_mul;
    return true;
  case token_kind::concat:
    op = op_kind::concat;
    prec = prec_mul;
    return true;
  case token_kind::eq:
    op = op_kind::eq;
    prec = prec_compare;
    return true;
  case token_kind::ne:
    op = op_kind::ne;
    prec = prec_compare;
    return true;
  case token_kind::lt:
    op = op_kind::lt;
    prec = prec_compare;
    return true;
  case token_kind::le:
    op = op_kind::le;
    prec = prec_compare;
    return true;
  case token_kind::gt:
    op = op_kind::gt;
    prec = prec_compare;
    return true;
  case token_kind::ge:
    op = op_kind::ge;
    prec = prec_compare;
    return true;
  default:
    break;
  }
  if (t.is("AND")) {
    op = op_kind::and_;
    prec = prec_and;
    return true;
  }
  if (t.is("OR")) {
    op = op_kind::or_;
    prec = prec_or;
    return true;
  }
  return false;
}

/// True for `IS`, `IN`, `BETWEEN`, `LIKE` or `NOT` before one of the last
/// three: the comparison forms that are not plain binary operators.
bool predicate_start(const token& t, const token& after) {
  if (t.is("IS") || t.is("IN") || t.is("BETWEEN") || t.is("LIKE"))
    return true;
  return t.is("NOT") &&
         (after.is("IN") || after.is("BETWEEN") || after.is("LIKE"));
}

/// True if `text` is an optionally signed number: digits, and a fraction
/// when `fraction` allows it.
bool is_interval_number(std::string_view text, bool fraction) {
  size_t i = 0;
  while (i < text.size() && text[i] == ' ')
    ++i;
  if (i < text.size() && (text[i] == '-' || text[i] == '+'))
    ++i;
  size_t digits = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
    ++i;
    ++digits;
  }
  if (fraction && i < text.size() && text[i] == '.') {
    ++i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9')
      ++i;
  }
  while (i < text.size() && text[i] == ' ')
    ++i;
  return digits > 0 && i == text.size();
}

} // namespace

// -- operators ----------------------------------------------------------------

expr_ptr parser::parse_expr(int min_precedence) {
  depth_guard guard{*this};
  auto lhs = parse_prefix();
  for (;;) {
    const auto& t = peek();
    op_kind op;
    int prec = 0;
    if (binary_op(t, op, prec)) {
      if (prec < min_precedence)
        return lhs;
      auto node = make_expr(expr_kind::binary, pos(next()));
      node->op = op;
      node->args.push_back(std::move(lhs));
      node->args.push_back(parse_expr(prec + 1));
      lhs = std::move(node);
      continue;
    }
    if (!predicate_start(t, peek(1)) || prec_compare < min_precedence)
      return lhs;
    auto where = pos(t);
    if (accept("IS")) {
      auto node = make_expr(expr_kind::is_null, where);
      node->negated = accept("NOT");
      auto& null_kw =
          expect("NULL", node->negated ? "after IS NOT" : "after IS");
      node->where = through(where, null_kw);
      node->args.push_back(std::move(lhs));
      lhs = std::move(node);
      continue;
    }
    bool negated = accept("NOT");
    if (accept("IN")) {
      auto node = make_expr(expr_kind::in_list, where);
      node->negated = negated;
      node->args.push_back(std::move(lhs));
      expect(token_kind::lparen, "after IN");
      if (peek().is("SELECT"))
        fail(peek(), "subqueries in IN are not supported",
             diag_code::unsupported);
      node->args.push_back(parse_expr());
      while (accept(token_kind::comma))
        node->args.push_back(parse_expr());
      expect(token_kind::rparen, "after the IN list");
      lhs = std::move(node);
    } else if (accept("BETWEEN")) {
      auto node = make_expr(expr_kind::between, where);
      node->negated = negated;
      if (!accept("ASYMMETRIC") && peek().is("SYMMETRIC"))
        fail(peek(), "BETWEEN SYMMETRIC is not supported",
             diag_code::unsupported);
      node->args.push_back(std::move(lhs));
      node->args.push_back(parse_expr(prec_add));
      expect("AND", "between the bounds of BETWEEN");
      node->args.push_back(parse_expr(prec_add));
      lhs = std::move(node);
    } else {
      expect("LIKE", "after NOT");
      auto node = make_expr(expr_kind::like, where);
      node->negated = negated;
      node->args.push_back(std::move(lhs));
      node->args.push_back(parse_expr(prec_add));
      if (accept("ESCAPE"))
        node->args.push_back(parse_expr(prec_add));
      lhs = std::move(node);
    }
  }
}

expr_ptr parser::parse_prefix() {
  const auto& t = peek();
  if (t.is("NOT")) {
    auto node = make_expr(expr_kind::unary, pos(next()));
    node->op = op_kind::not_;
    node->args.push_back(parse_expr(prec_not));
    return node;
  }
  if (t.kind == token_kind::minus || t.kind == token_kind::plus) {
    auto node = make_expr(expr_kind::unary, pos(next()));
    node->op = t.kind == token_kind::minus ? op_kind::neg : op_kind::plus;
    node->args.push_back(parse_expr(prec_unary));
    return node;
  }
  return parse_primary();
}

// -- primaries ----------------------------------------------------------------

expr_ptr parser::parse_primary() {
  const auto& t = peek();
  auto literal = [&](literal_kind k, std::string text) {
    auto node = make_expr(expr_kind::literal, pos(next()));
    node->literal = k;
    node->text = std::move(text);
    return node;
  };
  switch (t.kind) {
  case token_kind::integer:
    return literal(literal_kind::integer, std::string{t.text});
  case token_kind::decimal:
    return literal(literal_kind::decimal, std::string{t.text});
  case token_kind::real:
    return literal(literal_kind::real, std::string{t.text});
  case token_kind::string:
    return literal(literal_kind::string, t.value);
  case token_kind::lparen: {
    next();
    if (peek().is("SELECT"))
      fail(peek(), "subqueries in expressions are not supported",
           diag_code::unsupported);
    auto inner = parse_expr();
    expect(token_kind::rparen, "after the expression in parentheses");
    return inner;
  }
  case token_kind::identifier:
  case token_kind::quoted_identifier:
    break;
  default:
    fail_expected("an expression", "");
  }
  if (t.kind == token_kind::identifier) {
    if (t.is("TRUE") || t.is("FALSE"))
      return literal(literal_kind::boolean, to_upper(t.text));
    if (t.is("NULL"))
      return literal(literal_kind::null, "");
    if (t.is("CASE"))
      return parse_case(next());
    if (t.is("INTERVAL"))
      return parse_interval(next());
    if ((t.is("DATE") || t.is("TIMESTAMP")) &&
        peek(1).kind == token_kind::string) {
      auto where = pos(next());
      const auto& text = next();
      auto node = make_expr(expr_kind::literal, through(where, text));
      node->literal =
          t.is("DATE") ? literal_kind::date : literal_kind::timestamp;
      node->text = text.value;
      return node;
    }
    if ((t.is("CAST") || t.is("TRY_CAST")) &&
        peek(1).kind == token_kind::lparen) {
      if (t.is("TRY_CAST"))
        fail(t, "TRY_CAST is not supported: use CAST", diag_code::unsupported);
      auto node = make_expr(expr_kind::cast, pos(next()));
      next();
      node->args.push_back(parse_expr());
      expect("AS", "after the value in CAST");
      node->type = parse_type(node->type_where);
      expect(token_kind::rparen, "after the type in CAST");
      return node;
    }
    if (t.is("EXTRACT") && peek(1).kind == token_kind::lparen) {
      auto node = make_expr(expr_kind::extract, pos(next()));
      next();
      node->unit = parse_unit(false);
      expect("FROM", "after the unit in EXTRACT");
      node->args.push_back(parse_expr());
      expect(token_kind::rparen, "after the value in EXTRACT");
      return node;
    }
    if (is_reserved(t))
      fail_expected("an expression", "");
  }
  if (peek(1).kind == token_kind::lparen)
    return parse_call(t);
  if (t.is("CURRENT_TIMESTAMP") || t.is("CURRENT_DATE") ||
      t.is("CURRENT_TIME") || t.is("LOCALTIMESTAMP") || t.is("LOCALTIME") ||
      t.is("CURRENT_ROW_TIMESTAMP")) {
    auto node = make_expr(expr_kind::call, pos(next()));
    node->name = to_upper(t.text);
    return node;
  }
  auto node = make_expr(expr_kind::column_ref, pos(t));
  node->name = std::string{next().name()};
  if (peek().kind == token_kind::dot &&
      (peek(1).kind == token_kind::quoted_identifier ||
       (peek(1).kind == token_kind::identifier && !is_reserved(peek(1))))) {
    next();
    const auto& column = next();
    node->qualifier = std::move(node->name);
    node->name = std::string{column.name()};
    node->where = through(node->where, column);
  }
  return node;
}

expr_ptr parser::parse_call(const token& name_token) {
  auto node = make_expr(expr_kind::call, pos(next()));
  node->name = to_upper(name_token.name());
  next(); // (
  if (accept("DISTINCT"))
    node->distinct = true;
  else
    accept("ALL");
  if (!node->distinct && peek().kind == token_kind::star &&
      peek(1).kind == token_kind::rparen) {
    next();
    node->star_arg = true;
  } else if (node->name == "TRIM" && !node->distinct) {
    trim_arguments(*node);
  } else if (node->name == "POSITION" && !node->distinct) {
    // POSITION(needle IN haystack): IN is the separator here.
    node->args.push_back(parse_expr(prec_add));
    expect("IN", "in POSITION");
    node->args.push_back(parse_expr());
  } else if (peek().kind != token_kind::rparen || node->distinct) {
    node->args.push_back(parse_expr());
    if (node->name == "SUBSTRING" && accept("FROM")) {
      // SUBSTRING(s FROM start [FOR length]) = SUBSTRING(s, start, length)
      node->args.push_back(parse_expr());
      if (accept("FOR"))
        node->args.push_back(parse_expr());
    } else {
      while (accept(token_kind::comma))
        node->args.push_back(parse_expr());
    }
  }
  expect(token_kind::rparen, "after the arguments of " + node->name);
  if (peek().is("OVER"))
    fail(peek(), "OVER windows are not supported", diag_code::unsupported);
  if (peek().is("FILTER") && peek(1).kind == token_kind::lparen)
    fail(peek(), "FILTER (WHERE ...) is not supported: use CASE WHEN",
         diag_code::unsupported);
  return node;
}

void parser::trim_arguments(expr& node) {
  // TRIM([BOTH | LEADING | TRAILING] [characters] FROM s) or TRIM(s):
  // TRIM(s [, characters]), LTRIM(...) or RTRIM(...).
  bool mode = false;
  if (peek().is("BOTH") || peek().is("LEADING") || peek().is("TRAILING")) {
    mode = true;
    if (peek().is("LEADING"))
      node.name = "LTRIM";
    else if (peek().is("TRAILING"))
      node.name = "RTRIM";
    next();
  }
  expr_ptr characters;
  expr_ptr value;
  if (mode) {
    if (!peek().is("FROM"))
      characters = parse_expr();
    expect("FROM", "in TRIM");
    value = parse_expr();
  } else {
    value = parse_expr();
    if (accept("FROM")) {
      characters = std::move(value);
      value = parse_expr();
    }
  }
  node.args.push_back(std::move(value));
  if (characters)
    node.args.push_back(std::move(characters));
}

expr_ptr parser::parse_case(const token& kw) {
  auto node = make_expr(expr_kind::case_when, pos(kw));
  if (!peek().is("WHEN"))
    node->case_operand = parse_expr();
  if (!peek().is("WHEN"))
    fail_expected("WHEN", "in CASE");
  while (accept("WHEN")) {
    when_clause w;
    w.condition = parse_expr();
    expect("THEN", "after the WHEN condition");
    w.result = parse_expr();
    node->whens.push_back(std::move(w));
  }
  if (accept("ELSE"))
    node->else_result = parse_expr();
  expect("END", "to close CASE at line " + std::to_string(kw.span.line) +
                    ", column " + std::to_string(kw.span.column));
  return node;
}

expr_ptr parser::parse_interval(const token& kw) {
  auto node = make_expr(expr_kind::literal, pos(kw));
  node->literal = literal_kind::interval;
  bool negative = accept(token_kind::minus);
  const auto& value = peek();
  if (value.kind == token_kind::string) {
    node->text = value.value;
  } else if (value.kind == token_kind::integer) {
    node->text = std::string{value.text};
  } else {
    fail_expected("a quoted number", "after INTERVAL");
  }
  next();
  if (negative)
    node->text.insert(0, "-");
  node->unit = parse_unit(true);
  if (!is_interval_number(node->text, node->unit == time_unit::second))
    report(value, "expected a number in the INTERVAL literal, found " +
                      found(value) +
                      (node->unit == time_unit::second
                           ? ""
                           : " (only SECOND takes a fraction)"));
  if (peek().is("TO"))
    fail(peek(),
         "INTERVAL ... TO ... ranges are not supported: write "
         "INTERVAL 'n' with one unit",
         diag_code::unsupported);
  node->where = through(node->where, tokens_[pos_ - 1]);
  return node;
}

time_unit parser::parse_unit(bool interval) {
  const auto& t = peek();
  static constexpr std::pair<std::string_view, time_unit> units[] = {
      {"MILLISECOND", time_unit::millisecond},
      {"SECOND", time_unit::second},
      {"MINUTE", time_unit::minute},
      {"HOUR", time_unit::hour},
      {"DAY", time_unit::day},
      {"WEEK", time_unit::week},
      {"MONTH", time_unit::month},
      {"QUARTER", time_unit::quarter},
      {"YEAR", time_unit::year},
      {"DOW", time_unit::day_of_week},
      {"DOY", time_unit::day_of_year},
  };
  for (auto& [word, unit] : units) {
    if (!t.is(word))
      continue;
    if (interval && unit > time_unit::day)
      report(t,
             "INTERVAL in " + std::string{word} +
                 " is not supported: use MILLISECOND, SECOND, MINUTE, HOUR or "
                 "DAY",
             diag_code::unsupported);
    next();
    return unit;
  }
  if (interval)
    fail_expected("a unit (MILLISECOND, SECOND, MINUTE, HOUR or DAY)",
                  "after the INTERVAL value");
  fail_expected("a unit (YEAR, QUARTER, MONTH, WEEK, DAY, HOUR, MINUTE, "
                "SECOND, MILLISECOND, DOW or DOY)",
                "in EXTRACT");
}

} // namespace sluice::sql::detail
