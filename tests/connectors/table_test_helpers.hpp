#pragma once

#include <chrono>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "connectors/table_connector.hpp"
#include "connectors/table_registry.hpp"
#include "runtime/columnar/format.hpp"
#include "runtime/columnar/row_batch.hpp"
#include "runtime/metrics.hpp"
#include "runtime/option_strings.hpp"

namespace sluice::test {

/// A context for table `name` with `schema` and fresh metrics.
inline table_context make_table_context(const std::string& name,
                                        columnar::schema_ptr schema,
                                        uint32_t split = 0,
                                        uint32_t splits = 1) {
  table_context ctx;
  ctx.name = name;
  ctx.schema = std::move(schema);
  ctx.split = split;
  ctx.splits = splits;
  ctx.metrics = std::make_shared<component_metrics>(name, "source");
  return ctx;
}

/// Builds connector `name`'s source from WITH strings, as a job would.
inline table_source_ptr
make_table_source(const std::string& name, const table_context& ctx,
                  const std::map<std::string, std::string>& with) {
  auto reg = table_registry::builtin();
  auto* type = reg.find_source(name);
  REQUIRE(type != nullptr);
  auto opts = options_from_strings(type->options, with);
  REQUIRE(opts);
  auto src = type->make(ctx, *opts);
  REQUIRE(src);
  return std::move(*src);
}

/// Builds connector `name`'s sink from WITH strings, as a job would.
inline table_sink_ptr
make_table_sink(const std::string& name, const table_context& ctx,
                const std::map<std::string, std::string>& with) {
  auto reg = table_registry::builtin();
  auto* type = reg.find_sink(name);
  REQUIRE(type != nullptr);
  auto opts = options_from_strings(type->options, with);
  REQUIRE(opts);
  auto sink = type->make(ctx, *opts);
  REQUIRE(sink);
  return std::move(*sink);
}

/// Builds connector `name`'s lookup from WITH strings, as a job would.
inline table_lookup_ptr
make_table_lookup(const std::string& name, const table_context& ctx,
                  const std::map<std::string, std::string>& with) {
  auto reg = table_registry::builtin();
  auto* type = reg.find_lookup(name);
  REQUIRE(type != nullptr);
  auto opts = options_from_strings(type->options, with);
  REQUIRE(opts);
  auto lookup = type->make(ctx, *opts);
  REQUIRE(lookup);
  return std::move(*lookup);
}

/// What reading a source to its end found.
struct table_drain {
  columnar::row_batch rows;
  size_t polls = 0;
  bool finished = false;
};

/// Polls `src` until `finished` (or a bound on polls), `max_rows` at a
/// time, collecting every row.
inline table_drain drain_table(table_source& src, columnar::schema_ptr schema,
                               size_t max_rows = 1000,
                               size_t max_polls = 100000) {
  table_drain d{columnar::row_batch{schema}};
  columnar::row_batch batch{schema};
  while (d.polls < max_polls) {
    ++d.polls;
    batch.clear();
    auto st = src.poll(batch, max_rows);
    REQUIRE(st);
    REQUIRE(batch.num_rows() <= max_rows);
    d.rows.append_active(batch);
    if (*st == poll_status::finished) {
      d.finished = true;
      break;
    }
    if (*st == poll_status::idle)
      std::this_thread::sleep_for(std::chrono::milliseconds{1});
  }
  return d;
}

/// Row `row` of `b` as "v1|v2|..." (NULL as "NULL").
inline std::string row_text(const columnar::row_batch& b, size_t row) {
  std::string out;
  for (size_t c = 0; c < b.num_columns(); ++c) {
    if (c > 0)
      out += '|';
    columnar::append_value(b.col(c), row, out);
  }
  return out;
}

/// Every row of `b` as row_text.
inline std::vector<std::string> rows_text(const columnar::row_batch& b) {
  std::vector<std::string> out;
  for (size_t i = 0; i < b.num_rows(); ++i)
    out.push_back(row_text(b, i));
  return out;
}

/// Writes `text` to `path`.
inline void write_text(const std::string& path, const std::string& text) {
  std::ofstream out{path, std::ios::binary};
  out << text;
  REQUIRE(out.good());
}

} // namespace sluice::test
