#include "connectors/mariadb_lookup.hpp"

#include <algorithm>
#include <unordered_map>

#include <fmt/format.h>

#include "connectors/lookup_options.hpp"
#include "connectors/mariadb_table.hpp"
#include "connectors/table_registry.hpp"
#include "runtime/columnar/format.hpp"
#include "runtime/errors.hpp"
#include "runtime/log.hpp"

namespace sluice {

namespace {

/// Keys per query: the statement stays small, the IN list fast.
constexpr size_t keys_per_query = 500;

} // namespace

mariadb_lookup::mariadb_lookup(const table_context& ctx,
                               mariadb_lookup_settings s)
    : ctx_(ctx), cfg_(std::move(s)) {
  select_head_ = "SELECT ";
  auto& fields = ctx_.schema->fields;
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i > 0)
      select_head_ += ',';
    mariadb::append_name(fields[i].name, select_head_);
  }
  select_head_ += " FROM ";
  mariadb::append_name(cfg_.table, select_head_);
  select_head_ += " WHERE ";
  auto& keys = ctx_.lookup_keys;
  if (keys.size() > 1)
    select_head_ += '(';
  for (size_t i = 0; i < keys.size(); ++i) {
    if (i > 0)
      select_head_ += ',';
    mariadb::append_name(fields[keys[i]].name, select_head_);
  }
  select_head_ += keys.size() > 1 ? ") IN (" : " IN (";
}

caf::error mariadb_lookup::open() {
  if (ctx_.lookup_keys.empty())
    return make_error(
        config_errc::invalid,
        fmt::format("lookup table '{}': no key columns", ctx_.name));
  auto err = connect();
  if (err && unreachable_) {
    log().warn("lookup table '{}': MariaDB {} cannot be reached yet ({}); "
               "rows wait until it can",
               ctx_.name, cfg_.target.where(), describe(err));
    return {};
  }
  return err;
}

caf::error mariadb_lookup::failed(caf::error err) {
  unreachable_ = db_.last_failure() == mariadb::failure::connection;
  if (unreachable_)
    db_.close();
  return err;
}

caf::error mariadb_lookup::connect() {
  if (db_.connected())
    return {};
  if (auto err = db_.connect(cfg_.target, cfg_.connect_timeout_s))
    return failed(std::move(err));
  auto label = fmt::format("lookup table '{}'", ctx_.name);
  if (auto err =
          mariadb::check_table(db_, cfg_.table, *ctx_.schema, {}, label, false))
    return failed(std::move(err));
  if (!checked_)
    log().info("{}: reading MariaDB {} table '{}' by key", label,
               cfg_.target.where(), cfg_.table);
  else
    log().info("{}: MariaDB {} is reachable again", label, cfg_.target.where());
  checked_ = true;
  unreachable_ = false;
  return {};
}

caf::error mariadb_lookup::query_chunk(const columnar::row_batch& keys,
                                       size_t first, size_t last,
                                       columnar::row_batch& got,
                                       std::vector<uint32_t>& of) {
  auto width = keys.num_columns();
  sql_ = select_head_;
  std::unordered_map<std::string, uint32_t> by_text;
  std::vector<uint32_t> all(width);
  for (uint32_t c = 0; c < width; ++c)
    all[c] = c;
  for (auto r = first; r < last; ++r) {
    if (r > first)
      sql_ += ',';
    if (width > 1)
      sql_ += '(';
    for (size_t c = 0; c < width; ++c) {
      if (c > 0)
        sql_ += ',';
      db_.append_value(keys.col(c), r, sql_);
    }
    if (width > 1)
      sql_ += ')';
    lookup_key_text(keys, all, r, text_);
    by_text.emplace(text_, static_cast<uint32_t>(r));
  }
  sql_ += ')';
  auto rows = db_.query(sql_);
  if (!rows)
    return failed(rows.error());
  ++queries_;
  auto& fields = ctx_.schema->fields;
  size_t bad = 0;
  std::string why;
  for (auto& row : *rows) {
    auto at = got.num_rows();
    bool ok = row.size() == fields.size();
    size_t c = 0;
    for (; ok && c < fields.size(); ++c) {
      if (!row[c]) {
        got.col(c).push_null();
        continue;
      }
      if (auto err = columnar::push_parsed(got.col(c), *row[c])) {
        why = fmt::format("column '{}': {}", fields[c].name, describe(err));
        ok = false;
        break;
      }
    }
    if (ok) {
      got.set_num_rows(at + 1);
      lookup_key_text(got, ctx_.lookup_keys, at, text_);
      if (auto i = by_text.find(text_); i != by_text.end()) {
        of.push_back(i->second);
        continue;
      }
    } else {
      ++bad;
    }
    // Not a row of ours (another collation's match) or a bad value: undo.
    for (size_t k = 0; k < fields.size(); ++k)
      got.col(k).resize(at);
  }
  if (bad > 0) {
    ctx_.metrics->errors.fetch_add(bad, std::memory_order_relaxed);
    log().warn("lookup table '{}': {} row(s) of MariaDB table '{}' left out: "
               "{}",
               ctx_.name, bad, cfg_.table, why);
  }
  return {};
}

caf::error mariadb_lookup::lookup(const columnar::row_batch& keys,
                                  columnar::row_batch& out,
                                  std::vector<uint32_t>& of) {
  if (auto err = connect())
    return err;
  columnar::row_batch got{ctx_.schema};
  std::vector<uint32_t> got_of;
  for (size_t first = 0; first < keys.num_rows(); first += keys_per_query) {
    auto last = std::min(keys.num_rows(), first + keys_per_query);
    if (auto err = query_chunk(keys, first, last, got, got_of))
      return err;
  }
  std::vector<uint32_t> all(got.num_rows());
  for (uint32_t i = 0; i < all.size(); ++i)
    all[i] = i;
  out.append_rows(got, all);
  of.insert(of.end(), got_of.begin(), got_of.end());
  return {};
}

void mariadb_lookup::close() {
  db_.close();
}

table_lookup_type mariadb_table_lookup_type() {
  table_lookup_type t;
  t.name = "mariadb";
  t.help = "reads a MariaDB or MySQL table by key for a lookup join (JOIN t "
           "FOR SYSTEM_TIME AS OF o.proc_time), as Flink's JDBC lookup";
  t.blocking = true;
  t.options = mariadb::connection_option_specs();
  for (auto& spec : lookup_option_specs())
    t.options.push_back(std::move(spec));
  t.make = [](const table_context& ctx,
              const options& opts) -> caf::expected<table_lookup_ptr> {
    auto where = mariadb::table_target_of(opts);
    if (!where)
      return where.error();
    mariadb_lookup_settings s;
    s.target = std::move(where->server);
    s.table = std::move(where->table);
    s.connect_timeout_s = where->connect_timeout_s;
    return table_lookup_ptr{
        std::make_unique<mariadb_lookup>(ctx, std::move(s))};
  };
  return t;
}

} // namespace sluice
