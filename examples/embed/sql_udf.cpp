// A program that embeds sluice's SQL engine and adds a C++ function to it:
// `EUROS(cents BIGINT) -> STRING` formats a price in cents as euros. The
// script below calls it like any built-in function; the job reads
// generated Nexmark bids and writes CSV into a temporary directory, which
// the program reads back to check every row.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <unistd.h>

#include "connectors/table_registry.hpp"
#include "engine/jobs.hpp"
#include "runtime/errors.hpp"
#include "runtime/expr/functions.hpp"
#include "sql/diagnostics.hpp"
#include "sql/script.hpp"

using namespace sluice;
namespace fs = std::filesystem;

int main(int argc, char** argv) {
  auto events = argc > 1 ? std::stoul(argv[1]) : 100000ul;
  auto fns = expr::function_registry::builtin();
  // Per value: NULL in gives NULL out; the engine loops over a batch.
  fns.add_scalar("EUROS", [](int64_t cents) {
    return fmt::format("{}.{:02} EUR", cents / 100, cents % 100);
  });
  auto dir = fs::temp_directory_path() /
             fmt::format("sql_udf.{}", static_cast<long>(getpid()));
  fs::create_directories(dir);
  auto text = fmt::format(R"(
CREATE TABLE bid (auction BIGINT, bidder BIGINT, price BIGINT,
  channel VARCHAR, url VARCHAR, `dateTime` TIMESTAMP(3), extra VARCHAR,
  WATERMARK FOR `dateTime` AS `dateTime` - INTERVAL '4' SECOND)
  WITH ('connector' = 'nexmark', 'table' = 'bid', 'events.num' = '{}');
CREATE TABLE priced (price BIGINT, euros STRING)
  WITH ('connector' = 'filesystem', 'path' = '{}/', 'format' = 'csv');
INSERT INTO priced SELECT price, EUROS(price) FROM bid;
)",
                          events, dir.string());
  std::vector<sql::sql_diagnostic> diags;
  auto script = sql::compile_script(
      text, "embedded.sql", fns, table_registry::builtin().infos(), {}, diags);
  if (!diags.empty() || !script) {
    std::cerr << sql::render(diags, text);
    return 2;
  }
  auto runner =
      job_runner::make(std::move(script->jobs), table_registry::builtin(), fns);
  if (!runner) {
    std::cerr << describe(runner.error()) << '\n';
    return 2;
  }
  if (auto err = (*runner)->start(); err) {
    std::cerr << describe(err) << '\n';
    return 1;
  }
  if (auto err = (*runner)->wait(); err) {
    std::cerr << describe(err) << '\n';
    return 1;
  }
  size_t rows = 0, right = 0;
  for (auto& e : fs::directory_iterator(dir)) {
    std::ifstream in{e.path()};
    std::string line;
    while (std::getline(in, line)) {
      ++rows;
      auto comma = line.find(',');
      auto cents = std::stoll(line.substr(0, comma));
      if (line.substr(comma + 1) ==
          fmt::format("{}.{:02} EUR", cents / 100, cents % 100))
        ++right;
    }
  }
  fs::remove_all(dir);
  std::cout << "EUROS() formatted " << right << " of " << rows << " row(s)\n";
  return rows > 0 && right == rows ? 0 : 1;
}
