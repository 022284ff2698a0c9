#include "tests/support/sql_jobs.hpp"

#include <algorithm>
#include <optional>
#include <string_view>

#include <catch2/catch.hpp>

#include "runtime/expr/functions.hpp"
#include "sql/diagnostics.hpp"
#include "sql/script.hpp"
#include "tests/support/process.hpp"

namespace sluice::test {

std::vector<job_spec> compile_jobs(const std::string& text,
                                   std::map<std::string, std::string> env,
                                   uint32_t parallelism,
                                   const table_registry& tables) {
  sql::compile_options co;
  co.parallelism = parallelism;
  co.getenv = [env](std::string_view name) -> std::optional<std::string> {
    if (auto i = env.find(std::string{name}); i != env.end())
      return i->second;
    return std::nullopt;
  };
  std::vector<sql::sql_diagnostic> diags;
  auto script =
      sql::compile_script(text, "test.sql", expr::function_registry::builtin(),
                          tables.infos(), co, diags);
  INFO(sql::render(diags, text));
  REQUIRE(diags.empty());
  REQUIRE(script);
  return std::move(script->jobs);
}

std::vector<std::string> sorted_lines_in(const std::string& dir) {
  auto lines = read_lines_in(dir);
  std::erase(lines, std::string{});
  std::sort(lines.begin(), lines.end());
  return lines;
}

} // namespace sluice::test
