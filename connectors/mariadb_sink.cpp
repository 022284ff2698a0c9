#include "connectors/mariadb_sink.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "connectors/mariadb_table.hpp"
#include "connectors/table_registry.hpp"
#include "runtime/errors.hpp"
#include "runtime/log.hpp"

namespace sluice {

namespace {

constexpr std::chrono::milliseconds first_backoff{100};
constexpr std::chrono::milliseconds max_backoff{2000};

/// A statement stays well below the server's packet limit.
size_t statement_limit(uint64_t max_packet) {
  auto half = max_packet / 2;
  return static_cast<size_t>(std::clamp<uint64_t>(half, 64u << 10, 8u << 20));
}

} // namespace

mariadb_sink::mariadb_sink(const table_context& ctx, mariadb_sink_settings s)
    : ctx_(ctx), cfg_(std::move(s)) {
  keyed_ = !ctx_.primary_key.empty();
  auto& fields = ctx_.schema->fields;
  insert_head_ = "INSERT INTO ";
  mariadb::append_name(cfg_.table, insert_head_);
  insert_head_ += " (";
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i > 0)
      insert_head_ += ',';
    mariadb::append_name(fields[i].name, insert_head_);
  }
  insert_head_ += ") VALUES ";
  if (keyed_) {
    upsert_tail_ = " ON DUPLICATE KEY UPDATE ";
    bool any = false;
    for (size_t i = 0; i < fields.size(); ++i) {
      if (std::find(ctx_.primary_key.begin(), ctx_.primary_key.end(), i) !=
          ctx_.primary_key.end())
        continue;
      if (any)
        upsert_tail_ += ',';
      any = true;
      auto name = mariadb::quote_name(fields[i].name);
      upsert_tail_ += fmt::format("{}=VALUES({})", name, name);
    }
    if (!any) {
      // Every column is in the key: a row that is there stays as it is.
      auto name = mariadb::quote_name(fields[ctx_.primary_key[0]].name);
      upsert_tail_ += fmt::format("{}={}", name, name);
    }
    delete_head_ = "DELETE FROM ";
    mariadb::append_name(cfg_.table, delete_head_);
    delete_head_ += " WHERE (";
    for (size_t i = 0; i < ctx_.primary_key.size(); ++i) {
      if (i > 0)
        delete_head_ += ',';
      mariadb::append_name(fields[ctx_.primary_key[i]].name, delete_head_);
    }
    delete_head_ += ") IN (";
  }
}

mariadb_sink::~mariadb_sink() {
  close();
}

caf::error mariadb_sink::open() {
  if (auto err = ensure_connected())
    return err;
  return {};
}

caf::error mariadb_sink::ensure_connected() {
  if (db_.connected())
    return {};
  if (auto err = db_.connect(cfg_.target, cfg_.connect_timeout_s)) {
    if (db_.last_failure() != mariadb::failure::connection)
      return err;
    lost_connection(describe(err));
    return check_outage();
  }
  auto label = fmt::format("sink table '{}'", ctx_.name);
  if (cfg_.create_table && !checked_) {
    auto sql =
        mariadb::create_table_sql(cfg_.table, *ctx_.schema, ctx_.primary_key);
    if (auto r = db_.exec(sql); !r) {
      if (db_.last_failure() == mariadb::failure::connection) {
        lost_connection(describe(r.error()));
        return check_outage();
      }
      return r.error();
    }
  }
  if (auto err = mariadb::check_table(db_, cfg_.table, *ctx_.schema,
                                      ctx_.primary_key, label)) {
    if (db_.last_failure() == mariadb::failure::connection) {
      lost_connection(describe(err));
      return check_outage();
    }
    return err;
  }
  if (!checked_) {
    log().info("{}: writing to MariaDB {} table '{}' ({})", label,
               cfg_.target.where(), cfg_.table,
               keyed_ ? "upsert by primary key" : "append");
  } else if (holding_) {
    ++reconnects_;
    auto down = std::chrono::duration_cast<std::chrono::milliseconds>(
        clock::now() - outage_since_);
    log().info("{}: MariaDB {} is back after {} ms; writing {} held row(s)",
               label, cfg_.target.where(), down.count(), live_);
  }
  checked_ = true;
  backoff_ = std::chrono::milliseconds{0};
  return {};
}

void mariadb_sink::lost_connection(const std::string& why) {
  db_.close();
  auto now = clock::now();
  if (!holding_) {
    holding_ = true;
    outage_since_ = now;
    backoff_ = first_backoff;
    log().warn("sink table '{}': {}; holding {} row(s) and reconnecting "
               "(the sources wait)",
               ctx_.name, why, live_);
  } else {
    backoff_ = std::min(backoff_ * 2, max_backoff);
  }
  retry_at_ = now + backoff_;
}

caf::error mariadb_sink::check_outage() {
  if (cfg_.outage_limit_ms <= 0)
    return {};
  auto down = std::chrono::duration_cast<std::chrono::milliseconds>(
      clock::now() - outage_since_);
  if (down.count() < cfg_.outage_limit_ms)
    return {};
  return make_error(connector_errc::io_error,
                    fmt::format("sink table '{}': MariaDB {} unreachable for "
                                "{} ms ('sink.outage-timeout'); {} row(s) "
                                "not written",
                                ctx_.name, cfg_.target.where(), down.count(),
                                live_));
}

caf::error mariadb_sink::write(const columnar::row_batch& rows) {
  auto active = rows.active(active_);
  if (active.empty())
    return {};
  if (live_ == 0)
    oldest_ = clock::now();
  auto ncols = rows.num_columns();
  for (auto r : active) {
    auto kind = rows.kind(r);
    if (kind == columnar::row_kind::update_before)
      continue;
    entry e;
    e.offset = static_cast<uint32_t>(text_.size());
    e.del = kind == columnar::row_kind::del;
    value_spans_.clear();
    text_ += '(';
    for (size_t c = 0; c < ncols; ++c) {
      if (c > 0)
        text_ += ',';
      auto begin = text_.size();
      db_.append_value(rows.col(c), r, text_);
      value_spans_.push_back(static_cast<uint32_t>(begin));
      value_spans_.push_back(static_cast<uint32_t>(text_.size()));
    }
    text_ += ')';
    e.length = static_cast<uint32_t>(text_.size() - e.offset);
    if (keyed_) {
      key_.assign(1, '(');
      for (size_t k = 0; k < ctx_.primary_key.size(); ++k) {
        if (k > 0)
          key_ += ',';
        auto c = ctx_.primary_key[k];
        key_.append(text_, value_spans_[2 * c],
                    value_spans_[2 * c + 1] - value_spans_[2 * c]);
      }
      key_ += ')';
      text_ += key_;
      e.key_length = static_cast<uint32_t>(key_.size());
      remember_key(static_cast<uint32_t>(entries_.size()), e.offset + e.length,
                   e.key_length);
    }
    entries_.push_back(e);
    ++live_;
  }
  if (db_.lost_values > lost_reported_) {
    auto n = db_.lost_values - lost_reported_;
    lost_reported_ = db_.lost_values;
    ctx_.metrics->errors.fetch_add(n, std::memory_order_relaxed);
    log().warn("sink table '{}': {} NaN or infinite DOUBLE value(s) written "
               "as NULL (MariaDB cannot store them)",
               ctx_.name, n);
  }
  if (holding_)
    return write_pending();
  // Full statements only: the rest waits for more rows, the interval or
  // the flush, so that statements (each its own commit) stay full.
  if (live_ >= cfg_.max_rows)
    return write_pending(false);
  return {};
}

caf::error mariadb_sink::flush() {
  return write_pending();
}

caf::error mariadb_sink::tick() {
  if (live_ == 0)
    return {};
  auto now = clock::now();
  if (holding_)
    return write_pending();
  if (cfg_.interval_ms > 0 &&
      now - oldest_ >= std::chrono::milliseconds{cfg_.interval_ms})
    return write_pending();
  return {};
}

void mariadb_sink::append_statement(std::string& sql, size_t first, size_t last,
                                    bool del) {
  sql = del ? delete_head_ : insert_head_;
  bool any = false;
  for (auto i = first; i < last; ++i) {
    auto& e = entries_[i];
    if (!e.live)
      continue;
    if (any)
      sql += ',';
    any = true;
    if (del)
      sql.append(text_, e.offset + e.length, e.key_length);
    else
      sql.append(text_, e.offset, e.length);
  }
  if (del)
    sql += ')';
  else
    sql += upsert_tail_;
}

caf::error mariadb_sink::write_pending(bool all) {
  if (live_ == 0) {
    reset_buffer();
    return {};
  }
  if (holding_ && clock::now() < retry_at_)
    return {};
  if (auto err = ensure_connected())
    return err;
  if (!db_.connected())
    return {};
  auto limit = statement_limit(db_.max_packet());
  while (done_ < entries_.size() && (all || live_ >= cfg_.max_rows)) {
    // One statement: consecutive live rows of one kind, up to max_rows
    // rows and the size limit.
    while (done_ < entries_.size() && !entries_[done_].live)
      ++done_;
    if (done_ == entries_.size())
      break;
    bool del = entries_[done_].del;
    size_t last = done_;
    size_t rows = 0;
    size_t bytes = 0;
    while (last < entries_.size() && rows < cfg_.max_rows && bytes < limit) {
      auto& e = entries_[last];
      if (e.live) {
        if (e.del != del)
          break;
        ++rows;
        bytes += (del ? e.key_length : e.length) + 1;
      }
      ++last;
    }
    append_statement(sql_, done_, last, del);
    if (auto err = run(sql_, done_, last, del))
      return err;
    if (holding_)
      return {}; // lost the connection or waiting to retry
  }
  if (live_ == 0)
    reset_buffer();
  else
    compact();
  return {};
}

void mariadb_sink::compact() {
  std::string text;
  std::vector<entry> entries;
  by_key_.clear();
  for (auto i = done_; i < entries_.size(); ++i) {
    auto e = entries_[i];
    if (!e.live)
      continue;
    auto offset = static_cast<uint32_t>(text.size());
    text.append(text_, e.offset, e.length + e.key_length);
    e.offset = offset;
    entries.push_back(e);
  }
  text_ = std::move(text);
  entries_ = std::move(entries);
  done_ = 0;
  if (keyed_)
    for (uint32_t i = 0; i < entries_.size(); ++i)
      remember_key(i, entries_[i].offset + entries_[i].length,
                   entries_[i].key_length);
}

void mariadb_sink::remember_key(uint32_t idx, uint32_t offset,
                                uint32_t length) {
  auto key = std::string_view{text_}.substr(offset, length);
  auto [it, fresh] =
      by_key_.try_emplace(std::hash<std::string_view>{}(key), idx);
  if (fresh)
    return;
  auto& prev = entries_[it->second];
  // Only the last change of a key between two flushes matters. Two keys
  // with one hash are both written, in order, which is right too.
  if (it->second >= done_ && prev.live &&
      std::string_view{text_}.substr(prev.offset + prev.length,
                                     prev.key_length) == key) {
    prev.live = false;
    --live_;
  }
  it->second = idx;
}

caf::error mariadb_sink::run(const std::string& sql, size_t first, size_t last,
                             bool del) {
  auto r = db_.exec(sql);
  if (r) {
    ++statements_;
    for (auto i = first; i < last; ++i)
      if (entries_[i].live) {
        entries_[i].live = false;
        --live_;
      }
    done_ = last;
    retries_ = 0;
    if (holding_) {
      holding_ = false;
      backoff_ = std::chrono::milliseconds{0};
    }
    return {};
  }
  switch (db_.last_failure()) {
  case mariadb::failure::connection:
    lost_connection(describe(r.error()));
    return check_outage();
  case mariadb::failure::data:
    return run_one_by_one(first, last, del);
  case mariadb::failure::permanent:
    return r.error();
  case mariadb::failure::transient:
  case mariadb::failure::none:
    break;
  }
  if (++retries_ > cfg_.max_retries)
    return make_error(connector_errc::io_error,
                      fmt::format("sink table '{}': {} (gave up after {} "
                                  "retries, 'sink.max-retries')",
                                  ctx_.name, describe(r.error()),
                                  cfg_.max_retries));
  ctx_.metrics->errors.fetch_add(1, std::memory_order_relaxed);
  log().warn("sink table '{}': {}; retry {} of {}", ctx_.name,
             describe(r.error()), retries_, cfg_.max_retries);
  holding_ = true;
  outage_since_ = clock::now();
  backoff_ = std::min(std::max(backoff_ * 2, first_backoff), max_backoff);
  retry_at_ = clock::now() + backoff_;
  return {};
}

caf::error mariadb_sink::run_one_by_one(size_t first, size_t last, bool del) {
  std::string one;
  for (auto i = first; i < last; ++i) {
    auto& e = entries_[i];
    if (!e.live)
      continue;
    append_statement(one, i, i + 1, del);
    auto r = db_.exec(one);
    if (!r) {
      auto kind = db_.last_failure();
      if (kind == mariadb::failure::connection) {
        done_ = i;
        lost_connection(describe(r.error()));
        return check_outage();
      }
      if (kind != mariadb::failure::data)
        return r.error();
      if (!dead_)
        dead_ = std::make_unique<dead_letter>(
            dead_letter_path(ctx_.dead_letter_path, ctx_.name));
      auto raw = std::string_view{text_}.substr(e.offset, e.length);
      if (auto err = dead_->add(fmt::format("mariadb:{}", cfg_.table), 0,
                                db_.last_text(), raw))
        return err;
      ctx_.metrics->errors.fetch_add(1, std::memory_order_relaxed);
      log().warn("sink table '{}': MariaDB refused a row ({}); it is in {}",
                 ctx_.name, db_.last_text(), dead_->path());
    } else {
      ++statements_;
    }
    e.live = false;
    --live_;
  }
  done_ = last;
  return {};
}

void mariadb_sink::reset_buffer() {
  text_.clear();
  entries_.clear();
  by_key_.clear();
  done_ = 0;
  live_ = 0;
  holding_ = false;
}

void mariadb_sink::close() {
  db_.close();
  if (dead_)
    dead_->close();
}

table_sink_type mariadb_table_sink_type() {
  table_sink_type t;
  t.name = "mariadb";
  t.help = "writes rows to a MariaDB or MySQL table (upserts by the declared "
           "PRIMARY KEY, else inserts), as Flink's JDBC sink";
  t.blocking = true;
  t.accepts_updates = true;
  t.updates_need_key = true;
  t.options = mariadb::connection_option_specs();
  auto more = std::vector<option_spec>{
      {"sink.buffer-flush.max-rows", option_type::integer,
       "rows per statement; a flush starts when this many wait", false,
       option_value{int64_t{1000}}, 1, 100000},
      {"sink.buffer-flush.interval", option_type::duration,
       "longest a row waits before a flush; 0 = only by rows", false,
       option_value{int64_t{1000}}, 0},
      {"sink.max-retries", option_type::integer,
       "tries again of a statement the server refused for a passing reason "
       "(deadlock, lock wait timeout)",
       false, option_value{int64_t{3}}, 0, 1000},
      {"sink.create-table", option_type::boolean,
       "create the table at start when it does not exist", false,
       option_value{false}},
      {"sink.outage-timeout", option_type::duration,
       "fail after the server was unreachable this long; 0 = wait for it "
       "(rows are held and the sources wait)",
       false, option_value{int64_t{0}}, 0},
  };
  t.options.insert(t.options.end(), more.begin(), more.end());
  t.make = [](const table_context& ctx,
              const options& opts) -> caf::expected<table_sink_ptr> {
    auto where = mariadb::table_target_of(opts);
    if (!where)
      return where.error();
    mariadb_sink_settings s;
    s.target = std::move(where->server);
    s.table = std::move(where->table);
    s.connect_timeout_s = where->connect_timeout_s;
    s.max_rows =
        static_cast<size_t>(opts.get_int("sink.buffer-flush.max-rows"));
    s.interval_ms = opts.get_int("sink.buffer-flush.interval");
    s.max_retries = opts.get_int("sink.max-retries");
    s.create_table = opts.get_bool("sink.create-table");
    s.outage_limit_ms = opts.get_int("sink.outage-timeout");
    return table_sink_ptr{std::make_unique<mariadb_sink>(ctx, std::move(s))};
  };
  return t;
}

} // namespace sluice
