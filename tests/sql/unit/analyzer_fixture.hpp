#pragma once

// Shared by the analyzer tests: hand-made connector infos, the Nexmark DDL,
// and a helper that parses and analyzes a script.
#include <string>
#include <string_view>
#include <vector>

#include <catch2/catch.hpp>

#include "runtime/expr/program.hpp"
#include "sql/analyzer.hpp"
#include "sql/parser.hpp"

namespace sluice::sql::testing {

/// Connectors as the analyzer sees them; no connectors/ code involved.
inline connector_infos test_connectors() {
  connector_infos m;
  auto opt = [](std::string name, bool required = false,
                option_type type = option_type::string,
                std::vector<std::string> one_of = {}) {
    option_spec s;
    s.name = std::move(name);
    s.type = type;
    s.required = required;
    s.one_of = std::move(one_of);
    return s;
  };
  m["filesystem"] = {
      "filesystem",
      true,
      true,
      false,
      {opt("path", true),
       opt("format", false, option_type::string, {"csv", "json"})}};
  m["print"] = {"print", false, true, true, {opt("print-identifier")}};
  m["blackhole"] = {"blackhole", false, true, true, {}};
  m["nexmark"] = {
      "nexmark",
      true,
      false,
      false,
      {opt("table", true, option_type::string, {"person", "auction", "bid"}),
       opt("events.num", false, option_type::integer),
       opt("rate", false, option_type::integer)}};
  m["upsert"] = {"upsert", false, true, true, {opt("path", true)}};
  return m;
}

inline constexpr std::string_view nexmark_ddl = R"(CREATE TABLE person (
  id BIGINT, name VARCHAR, emailAddress VARCHAR, creditCard VARCHAR,
  city VARCHAR, state VARCHAR, dateTime TIMESTAMP(3), extra VARCHAR,
  WATERMARK FOR dateTime AS dateTime - INTERVAL '4' SECOND
) WITH ('connector' = 'nexmark', 'table' = 'person');
CREATE TABLE auction (
  id BIGINT, itemName VARCHAR, description VARCHAR, initialBid BIGINT,
  reserve BIGINT, dateTime TIMESTAMP(3), expires TIMESTAMP(3), seller BIGINT,
  category BIGINT, extra VARCHAR,
  WATERMARK FOR dateTime AS dateTime - INTERVAL '4' SECOND
) WITH ('connector' = 'nexmark', 'table' = 'auction');
CREATE TABLE bid (
  auction BIGINT, bidder BIGINT, price BIGINT, channel VARCHAR, url VARCHAR,
  `dateTime` TIMESTAMP(3), extra VARCHAR,
  WATERMARK FOR `dateTime` AS `dateTime` - INTERVAL '4' SECOND
) WITH ('connector' = 'nexmark', 'table' = 'bid');
)";

/// A parsed and analyzed script (the text is kept for render()).
struct analyzed {
  std::string text;
  bound_script script;
  std::vector<sql_diagnostic> diags;

  /// Every diagnostic rendered, for failure messages.
  std::string rendered() const { return render(diags, text); }
};

/// Parses (which must succeed) and analyzes `text`.
inline analyzed analyze_text(std::string text, analyze_options opts = {}) {
  analyzed a;
  a.text = std::move(text);
  auto parsed = parse_script(a.text, "test.sql");
  INFO(render(parsed.diagnostics, a.text));
  REQUIRE(parsed.diagnostics.empty());
  a.script = analyze(parsed, ::sluice::expr::function_registry::builtin(),
                     test_connectors(), opts, a.diags);
  return a;
}

/// Analyzes the Nexmark DDL followed by `text`; requires no diagnostic.
inline analyzed analyze_ok(std::string_view text) {
  auto a = analyze_text(std::string{nexmark_ddl} + std::string{text});
  INFO(a.rendered());
  REQUIRE(a.diags.empty());
  return a;
}

/// Every expression of a bound plan compiles over its input's schema (the
/// analyzer's types agree with the expression compiler's).
inline void require_compiles(const rel& r) {
  auto fns = ::sluice::expr::function_registry::builtin();
  columnar::schema in;
  if (r.kind == rel_kind::join) {
    in = r.inputs[0]->out;
    for (auto& f : r.inputs[1]->out.fields)
      in.fields.push_back(f);
  } else if (!r.inputs.empty()) {
    in = r.inputs[0]->out;
  }
  for (auto& e : r.exprs) {
    auto p = ::sluice::expr::program::compile(e, in, fns);
    INFO(::sluice::expr::to_string(e, in));
    REQUIRE(p);
  }
  for (auto& i : r.inputs)
    require_compiles(*i);
}

/// The kinds of a chain of single-input relations, top first.
inline std::vector<rel_kind> chain(const rel& r) {
  std::vector<rel_kind> out;
  for (auto* p = &r;; p = p->inputs[0].get()) {
    out.push_back(p->kind);
    if (p->inputs.size() != 1)
      break;
  }
  return out;
}

/// The field names of a schema.
inline std::vector<std::string> names(const columnar::schema& s) {
  std::vector<std::string> out;
  for (auto& f : s.fields)
    out.push_back(f.name);
  return out;
}

} // namespace sluice::sql::testing
