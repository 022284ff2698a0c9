#include <catch2/catch.hpp>

#include "sql/parser.hpp"

using namespace sluice::sql;

TEST_CASE("a diagnostic renders as file:line:column, the line and a caret",
          "[sqldiag]") {
  std::string_view text = "CREATE TABLE src (\n"
                          "  k STRING,\n"
                          "  v BIGINT WITH ('connector' = 'values');\n";
  auto result = parse_script(text, "script.sql");
  REQUIRE(result.diagnostics.size() == 1);
  auto& d = result.diagnostics[0];
  CHECK(d.code == diag_code::syntax);
  CHECK(d.where.file == "script.sql");
  CHECK(d.where.line == 3);
  CHECK(d.where.column == 12);
  CHECK(d.where.length == 4);
  CHECK(text.substr(d.where.offset, d.where.length) == "WITH");
  CHECK(render(d, text) ==
        "script.sql:3:12: error: expected ')' after the column list, "
        "found 'WITH'\n"
        "  v BIGINT WITH ('connector' = 'values');\n"
        "           ^~~~");
}

TEST_CASE("every syntax error of a script is reported, each with its caret",
          "[sqldiag]") {
  std::string_view text =
      "CREATE TABLE src (k STRING, v BIGINT) WITH ('connector' = 'values');\n"
      "SELECT k,, v FROM src;\n"
      "INSERT INTO out SELECT k FROM src WHERE v >;\n"
      "CREATE TABLE out (k STRING WITH ('connector' = 'print');\n"
      "\tSELECT x FROM src WHERE ;\n"
      "SELECT 'h\xC3\xA9llo' FROM t WHERE x = = 1;\n"
      "CREATE VIEW ok AS SELECT k FROM src\n"
      "CREATE VIEW also_ok AS SELECT v FROM src;\n"
      "SELECT a FROM";
  auto result = parse_script(text, "test.sql");
  CHECK(render(result.diagnostics, text) ==
        "test.sql:2:10: error: expected an expression, found ','\n"
        "SELECT k,, v FROM src;\n"
        "         ^\n"
        "test.sql:3:44: error: expected an expression, found ';'\n"
        "INSERT INTO out SELECT k FROM src WHERE v >;\n"
        "                                           ^\n"
        "test.sql:4:28: error: expected ')' after the column list, found "
        "'WITH'\n"
        "CREATE TABLE out (k STRING WITH ('connector' = 'print');\n"
        "                           ^~~~\n"
        "test.sql:5:26: error: expected an expression, found ';'\n"
        "\tSELECT x FROM src WHERE ;\n"
        "\t                        ^\n"
        "test.sql:6:33: error: expected an expression, found '='\n"
        "SELECT 'h\xC3\xA9llo' FROM t WHERE x = = 1;\n"
        "                                ^\n"
        "test.sql:8:1: error: expected ';' after the statement, found "
        "'CREATE'\n"
        "CREATE VIEW also_ok AS SELECT v FROM src;\n"
        "^~~~~~\n"
        "test.sql:9:14: error: expected a table, a subquery or TABLE(...) "
        "in FROM, found the end of the script\n"
        "SELECT a FROM\n"
        "             ^\n");
  // The statements between the errors still parse: src, and also_ok after
  // the statement without its ';' (the parser resynchronises at CREATE).
  REQUIRE(result.statements.size() == 2);
  CHECK(std::get<create_table_stmt>(result.statements[0].body).name.name ==
        "src");
  CHECK(std::get<create_view_stmt>(result.statements[1].body).name.name ==
        "also_ok");
}

TEST_CASE("the caret covers a token's characters, not its bytes", "[sqldiag]") {
  std::string_view text = "SELECT x FROM t WHERE \xC3\xA9t\xC3\xA9 @";
  auto result = parse_script(text, "u.sql");
  REQUIRE(result.diagnostics.size() == 1);
  CHECK(render(result.diagnostics[0], text) ==
        "u.sql:1:27: error: unexpected character '@'\n"
        "SELECT x FROM t WHERE \xC3\xA9t\xC3\xA9 @\n"
        "                          ^");
  sql_diagnostic wide{{"u.sql", 1, 23, 5, 22},
                      diag_code::unknown_column,
                      "unknown column '\xC3\xA9t\xC3\xA9'"};
  CHECK(render(wide, text) ==
        "u.sql:1:23: error: unknown column '\xC3\xA9t\xC3\xA9'\n"
        "SELECT x FROM t WHERE \xC3\xA9t\xC3\xA9 @\n"
        "                      ^~~");
}

TEST_CASE("a caret never runs past the end of its line", "[sqldiag]") {
  std::string_view text = "a\r\nbcd\n";
  sql_diagnostic d{{"f.sql", 2, 2, 40, 4}, diag_code::syntax, "m"};
  CHECK(render(d, text) == "f.sql:2:2: error: m\nbcd\n ^~");
  sql_diagnostic first{{"f.sql", 1, 1, 1, 0}, diag_code::syntax, "m"};
  CHECK(render(first, text) == "f.sql:1:1: error: m\na\n^");
  sql_diagnostic nowhere{{"f.sql", 0, 0, 1, 0}, diag_code::bad_option, "m"};
  CHECK(render(nowhere, text) == "f.sql:0:0: error: m");
}

TEST_CASE("an unterminated string is reported once, by the lexer",
          "[sqldiag]") {
  std::string_view text = "SELECT 'abc FROM t;\nSELECT 1;";
  auto result = parse_script(text, "s.sql");
  REQUIRE(result.diagnostics.size() == 1);
  CHECK(result.diagnostics[0].code == diag_code::lexical);
  CHECK(render(result.diagnostics[0], text) ==
        "s.sql:1:8: error: unterminated string literal: no closing quote\n"
        "SELECT 'abc FROM t;\n"
        "       ^");
}

TEST_CASE("lexical and syntax errors come together, in script order",
          "[sqldiag]") {
  std::string_view text = "SELECT a ? b FROM t;\nSELECT FROM u;\n";
  auto result = parse_script(text, "m.sql");
  // With '?' skipped, "a b" reads as a column and its alias: one error.
  REQUIRE(result.diagnostics.size() == 2);
  CHECK(result.diagnostics[0].code == diag_code::lexical);
  CHECK(result.diagnostics[0].where.line == 1);
  CHECK(result.diagnostics[0].where.column == 10);
  CHECK(result.diagnostics[1].code == diag_code::syntax);
  CHECK(result.diagnostics[1].where.line == 2);
  CHECK(result.diagnostics[1].where.column == 8);
  CHECK(result.diagnostics[1].message ==
        "expected a column or an expression in the SELECT list, found "
        "'FROM'");
}

TEST_CASE("diagnostic codes have names", "[sqldiag]") {
  CHECK(std::string{to_string(diag_code::lexical)} == "lexical");
  CHECK(std::string{to_string(diag_code::not_grouped)} == "not_grouped");
  CHECK(std::string{to_string(diag_code::sink_no_updates)} ==
        "sink_no_updates");
}

TEST_CASE("errors that leave the grammar intact do not stop the statement",
          "[sqldiag]") {
  std::string_view text = "CREATE TABLE t (c DECIMAL(39, 2), d TIMESTAMP(6), "
                          "e FLOAT, f ARRAY<ROW<a INT>>, g INT,\n"
                          "  WATERMARK FOR d AS d, WATERMARK FOR d AS d)\n"
                          "  WITH ('n' = 42);\n"
                          "SELECT * FROM TABLE(TUMBLE(TABLE t, "
                          "DESCRIPTOR(d)));\n"
                          "SELECT 1;";
  auto result = parse_script(text, "s.sql");
  std::vector<std::string> messages;
  for (auto& d : result.diagnostics)
    messages.push_back(std::to_string(d.where.line) + ":" +
                       std::to_string(d.where.column) + " " + d.message);
  CHECK(messages ==
        std::vector<std::string>{
            "1:27 DECIMAL precision must be between 1 and 38, found 39",
            "1:47 TIMESTAMP(6) is not supported: sluice keeps milliseconds, "
            "use TIMESTAMP(3)",
            "1:53 type FLOAT is not supported: use BOOLEAN, INT, BIGINT, "
            "DOUBLE, DECIMAL(p, s), VARCHAR, STRING or TIMESTAMP(3)",
            "1:62 type ARRAY is not supported: use BOOLEAN, INT, BIGINT, "
            "DOUBLE, DECIMAL(p, s), VARCHAR, STRING or TIMESTAMP(3)",
            "2:25 a table has one WATERMARK declaration; the first is at 2:3",
            "3:15 option values are string literals: write '42'",
            "4:21 TUMBLE takes a size and an optional offset after "
            "DESCRIPTOR(...), found 0 arguments"});
  CHECK(result.diagnostics[1].code == diag_code::unsupported);
  CHECK(result.diagnostics[6].code == diag_code::bad_window);
  // Only the statement without errors is kept.
  REQUIRE(result.statements.size() == 1);
  CHECK(result.statements[0].where.line == 5);
}
