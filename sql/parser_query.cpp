// Queries: SELECT, UNION ALL, FROM (tables, subqueries, window TVFs,
// joins), WHERE, GROUP BY, HAVING, ORDER BY, LIMIT.
#include "sql/parser_detail.hpp"

namespace sluice::sql::detail {

query_ptr parser::parse_query() {
  depth_guard guard{*this};
  auto q = std::make_unique<query>();
  q->where = pos(peek());
  auto operand = [&] {
    if (peek().is("SELECT")) {
      q->selects.push_back(parse_select());
      return;
    }
    if (peek().kind == token_kind::lparen &&
        (peek(1).is("SELECT") || peek(1).kind == token_kind::lparen)) {
      const auto& open = next();
      auto inner = parse_query();
      expect(token_kind::rparen, "after the query in parentheses");
      if (!inner->order_by.empty() || inner->limit)
        fail(open,
             "ORDER BY or LIMIT inside a UNION ALL operand is not "
             "supported",
             diag_code::unsupported);
      for (auto& s : inner->selects)
        q->selects.push_back(std::move(s));
      return;
    }
    fail_expected("SELECT", "");
  };
  operand();
  for (;;) {
    if (peek().is("UNION")) {
      next();
      if (!accept("ALL"))
        fail_expected("ALL after UNION", "(sluice runs UNION ALL only)");
      operand();
      continue;
    }
    if (peek().is("INTERSECT") || peek().is("EXCEPT") || peek().is("MINUS"))
      fail(peek(), to_upper(peek().text) + " is not supported",
           diag_code::unsupported);
    break;
  }
  if (accept("ORDER")) {
    expect("BY", "after ORDER");
    do {
      order_item item;
      item.value = parse_expr();
      if (accept("DESC"))
        item.descending = true;
      else
        accept("ASC");
      q->order_by.push_back(std::move(item));
    } while (accept(token_kind::comma));
  }
  if (accept("LIMIT"))
    q->limit = parse_expr();
  return q;
}

select_core parser::parse_select() {
  select_core c;
  c.where = pos(expect("SELECT", ""));
  if (accept("DISTINCT"))
    c.distinct = true;
  else
    accept("ALL");
  c.items.push_back(parse_select_item());
  while (accept(token_kind::comma))
    c.items.push_back(parse_select_item());
  if (accept("FROM"))
    c.from = parse_from();
  if (accept("WHERE"))
    c.where_clause = parse_expr();
  if (accept("GROUP")) {
    expect("BY", "after GROUP");
    c.group_by.push_back(parse_expr());
    while (accept(token_kind::comma))
      c.group_by.push_back(parse_expr());
  }
  if (accept("HAVING"))
    c.having = parse_expr();
  if (peek().is("WINDOW"))
    fail(peek(), "WINDOW clauses are not supported", diag_code::unsupported);
  return c;
}

select_item parser::parse_select_item() {
  select_item item;
  const auto& t = peek();
  item.where = pos(t);
  if (t.kind == token_kind::star) {
    next();
    item.kind = select_item::star;
    return item;
  }
  if ((t.kind == token_kind::identifier ||
       t.kind == token_kind::quoted_identifier) &&
      peek(1).kind == token_kind::dot && peek(2).kind == token_kind::star) {
    item.kind = select_item::qualified_star;
    item.qualifier = std::string{next().name()};
    next();
    next();
    return item;
  }
  if (t.kind == token_kind::identifier && is_reserved(t) && !t.is("CASE") &&
      !t.is("CAST") && !t.is("NOT") && !t.is("NULL") && !t.is("TRUE") &&
      !t.is("FALSE") && !t.is("INTERVAL"))
    fail_expected("a column or an expression", "in the SELECT list");
  item.expression = parse_expr();
  item.alias = parse_alias();
  return item;
}

std::optional<identifier> parser::parse_alias() {
  if (accept("AS"))
    return expect_name("after AS");
  if (at_name())
    return expect_name("");
  return std::nullopt;
}

table_ref_ptr parser::parse_from() {
  auto left = parse_join_chain();
  while (peek().kind == token_kind::comma) {
    auto node = std::make_unique<table_ref>();
    node->kind = table_ref_kind::join;
    node->join = join_type::cross;
    node->where = pos(next());
    node->left = std::move(left);
    node->right = parse_join_chain();
    left = std::move(node);
  }
  return left;
}

table_ref_ptr parser::parse_join_chain() {
  auto left = parse_table_primary();
  for (;;) {
    const auto& t = peek();
    join_type type = join_type::inner;
    if (t.is("JOIN")) {
      type = join_type::inner;
    } else if (t.is("INNER")) {
      next();
      if (!peek().is("JOIN"))
        fail_expected("JOIN", "after INNER");
    } else if (t.is("LEFT") || t.is("RIGHT") || t.is("FULL")) {
      type = t.is("LEFT")    ? join_type::left
             : t.is("RIGHT") ? join_type::right
                             : join_type::full;
      next();
      accept("OUTER");
      if (!peek().is("JOIN"))
        fail_expected("JOIN", "after " + to_upper(t.text));
    } else if (t.is("CROSS")) {
      type = join_type::cross;
      next();
      if (!peek().is("JOIN"))
        fail_expected("JOIN", "after CROSS");
    } else {
      return left;
    }
    auto node = std::make_unique<table_ref>();
    node->kind = table_ref_kind::join;
    node->join = type;
    node->where = pos(next()); // JOIN
    node->left = std::move(left);
    node->right = parse_table_primary();
    if (type != join_type::cross) {
      if (peek().is("USING"))
        fail(peek(), "JOIN ... USING is not supported: write ON",
             diag_code::unsupported);
      expect("ON", "after the joined table");
      node->condition = parse_expr();
    }
    left = std::move(node);
  }
}

table_ref_ptr parser::parse_table_primary() {
  depth_guard guard{*this};
  const auto& t = peek();
  if (t.is("TABLE") && peek(1).kind == token_kind::lparen) {
    auto node = parse_window_tvf(t);
    node->alias = parse_alias();
    return node;
  }
  if (t.kind == token_kind::lparen) {
    auto node = std::make_unique<table_ref>();
    node->kind = table_ref_kind::subquery;
    node->where = pos(next());
    if (!peek().is("SELECT") && peek().kind != token_kind::lparen)
      fail_expected("SELECT", "after '(' in FROM");
    node->subquery = parse_query();
    expect(token_kind::rparen, "after the subquery");
    node->alias = parse_alias();
    return node;
  }
  if (t.is("LATERAL") || t.is("UNNEST"))
    fail(t, to_upper(t.text) + " is not supported", diag_code::unsupported);
  if (!at_name())
    fail_expected("a table, a subquery or TABLE(...)", "in FROM");
  auto node = std::make_unique<table_ref>();
  node->kind = table_ref_kind::table;
  node->where = pos(t);
  node->name = expect_name("");
  while (peek().kind == token_kind::dot) {
    next();
    auto part = expect_name("after '.' in the table name");
    node->name.name += '.';
    node->name.name += part.name;
  }
  if (peek().is("FOR")) {
    next();
    expect("SYSTEM_TIME", "after FOR");
    expect("AS", "after FOR SYSTEM_TIME");
    expect("OF", "after FOR SYSTEM_TIME AS");
    node->system_time = parse_expr();
  }
  node->alias = parse_alias();
  return node;
}

table_ref_ptr parser::parse_window_tvf(const token& table_kw) {
  auto node = std::make_unique<table_ref>();
  node->kind = table_ref_kind::window;
  node->where = pos(table_kw);
  next(); // TABLE
  next(); // (
  const auto& fn = peek();
  size_t min_args = 0;
  size_t max_args = 0;
  std::string_view what;
  if (fn.is("TUMBLE")) {
    node->window = window_kind::tumble;
    min_args = 1;
    max_args = 2;
    what = "a size and an optional offset";
  } else if (fn.is("HOP")) {
    node->window = window_kind::hop;
    min_args = 2;
    max_args = 3;
    what = "a slide, a size and an optional offset";
  } else if (fn.is("CUMULATE")) {
    node->window = window_kind::cumulate;
    min_args = 2;
    max_args = 3;
    what = "a step, a size and an optional offset";
  } else if (fn.is("SESSION")) {
    node->window = window_kind::session;
    min_args = 1;
    max_args = 1;
    what = "a gap";
  } else {
    fail_expected("TUMBLE, HOP, CUMULATE or SESSION", "after TABLE(");
  }
  auto fn_name = to_upper(fn.text);
  auto fn_where = pos(next());
  expect(token_kind::lparen, "after " + fn_name);
  expect("TABLE", "before the input table of " + fn_name);
  node->input = expect_name("after TABLE");
  if (accept("PARTITION")) {
    expect("BY", "after PARTITION");
    // One key, or several in parentheses (a comma ends the input table).
    if (accept(token_kind::lparen)) {
      node->partition_keys.push_back(expect_name("after PARTITION BY ("));
      while (accept(token_kind::comma))
        node->partition_keys.push_back(expect_name("in PARTITION BY"));
      expect(token_kind::rparen, "after the PARTITION BY keys");
    } else {
      node->partition_keys.push_back(expect_name("after PARTITION BY"));
    }
  }
  expect(token_kind::comma, "after the input table of " + fn_name);
  expect("DESCRIPTOR", "for the time column of " + fn_name);
  expect(token_kind::lparen, "after DESCRIPTOR");
  node->time_column = expect_name("in DESCRIPTOR");
  expect(token_kind::rparen, "after the time column");
  while (accept(token_kind::comma))
    node->window_args.push_back(parse_expr());
  auto n = node->window_args.size();
  if (n < min_args || n > max_args) {
    const auto& close = peek();
    if (close.kind == token_kind::rparen)
      report(fn_where,
             fn_name + " takes " + std::string{what} +
                 " after DESCRIPTOR(...), " + "found " + std::to_string(n) +
                 " argument" + (n == 1 ? "" : "s"),
             diag_code::bad_window);
  }
  expect(token_kind::rparen, "after the arguments of " + fn_name);
  expect(token_kind::rparen, "to close TABLE(");
  return node;
}

} // namespace sluice::sql::detail
