#include "tests/support/test_tables.hpp"

#include <algorithm>
#include <utility>

#include "connectors/dead_letter.hpp"
#include "connectors/lookup_options.hpp"
#include "connectors/table_files.hpp"
#include "runtime/columnar/format.hpp"
#include "runtime/errors.hpp"

namespace sluice::test {

void test_table_data::add_row(const std::string& table, std::string text) {
  std::lock_guard guard{mtx_};
  inputs_[table].rows.push_back(std::move(text));
}

void test_table_data::add_watermark(const std::string& table, int64_t ms) {
  std::lock_guard guard{mtx_};
  auto& in = inputs_[table];
  in.steps.push_back({in.rows.size(), ms});
}

void test_table_data::end(const std::string& table) {
  std::lock_guard guard{mtx_};
  inputs_[table].ended = true;
}

bool test_table_data::has_input(const std::string& table) const {
  std::lock_guard guard{mtx_};
  return inputs_.count(table) > 0;
}

bool test_table_data::ended(const std::string& table) const {
  std::lock_guard guard{mtx_};
  auto i = inputs_.find(table);
  return i != inputs_.end() && i->second.ended;
}

size_t test_table_data::row_count(const std::string& table) const {
  std::lock_guard guard{mtx_};
  auto i = inputs_.find(table);
  return i == inputs_.end() ? 0 : i->second.rows.size();
}

uint64_t test_table_data::keys_looked_up(const std::string& table) const {
  std::lock_guard guard{mtx_};
  auto i = looked_up_.find(table);
  return i == looked_up_.end() ? 0 : i->second;
}

void test_table_data::count_lookups(const std::string& table, uint64_t keys) {
  std::lock_guard guard{mtx_};
  looked_up_[table] += keys;
}

test_table_data::table_input
test_table_data::input_of(const std::string& table) const {
  std::lock_guard guard{mtx_};
  auto i = inputs_.find(table);
  return i == inputs_.end() ? table_input{} : i->second;
}

void test_table_data::start_run(std::map<std::string, uint32_t> readers) {
  std::lock_guard guard{mtx_};
  readers_hint_ = std::move(readers);
  runs_.clear();
  collected_.clear();
}

std::vector<std::string>
test_table_data::collected(const std::string& table) const {
  std::lock_guard guard{mtx_};
  auto i = collected_.find(table);
  return i == collected_.end() ? std::vector<std::string>{} : i->second;
}

std::pair<size_t, test_table_data::table_input>
test_table_data::register_reader(const std::string& table, uint32_t splits) {
  std::lock_guard guard{mtx_};
  auto& run = runs_[table];
  auto hint = readers_hint_.find(table);
  run.expected = std::max(splits, hint == readers_hint_.end() ? uint32_t{0}
                                                              : hint->second);
  run.readers.push_back(0);
  auto in = inputs_.find(table);
  return {run.readers.size() - 1,
          in == inputs_.end() ? table_input{} : in->second};
}

void test_table_data::confirm(const std::string& table, size_t id,
                              size_t passed) {
  std::lock_guard guard{mtx_};
  auto& r = runs_[table].readers;
  if (id < r.size())
    r[id] = std::max(r[id], passed);
}

bool test_table_data::all_confirmed(const std::string& table,
                                    size_t passed) const {
  std::lock_guard guard{mtx_};
  auto i = runs_.find(table);
  if (i == runs_.end() || i->second.readers.size() < i->second.expected)
    return false;
  return std::all_of(i->second.readers.begin(), i->second.readers.end(),
                     [&](size_t x) { return x >= passed; });
}

void test_table_data::append_collected(const std::string& table,
                                       std::vector<std::string> rows) {
  std::lock_guard guard{mtx_};
  auto& dst = collected_[table];
  dst.insert(dst.end(), std::make_move_iterator(rows.begin()),
             std::make_move_iterator(rows.end()));
}

std::string collect_row_text(const columnar::row_batch& b, size_t row) {
  std::string out = columnar::to_string(b.kind(row));
  for (size_t c = 0; c < b.num_columns(); ++c) {
    out += ' ';
    columnar::append_value(b.col(c), row, out, "null");
  }
  return out;
}

namespace {

/// One split of a `values` table (see test_table_data).
class values_source : public table_source {
 public:
  values_source(table_context ctx, std::shared_ptr<test_table_data> data)
      : ctx_(std::move(ctx)), data_(std::move(data)) {
    fmt_.null_literal = "NULL";
  }

  caf::error open() override {
    auto [id, in] = data_->register_reader(ctx_.name, ctx_.splits);
    id_ = id;
    in_ = std::move(in);
    next_ = ctx_.split;
    return {};
  }

  caf::expected<poll_status> poll(columnar::row_batch& out,
                                  size_t max_rows) override {
    // This poll follows the one that passed step `passed_`: the scan sent
    // that watermark.
    data_->confirm(ctx_.name, id_, passed_);
    auto limit = passed_ < in_.steps.size() ? in_.steps[passed_].rows_before
                                            : in_.rows.size();
    size_t given = 0;
    if (next_ < limit) {
      if (passed_ > 0 && !data_->all_confirmed(ctx_.name, passed_))
        return poll_status::idle;
      for (; next_ < limit && given < max_rows; next_ += ctx_.splits) {
        auto& text = in_.rows[next_];
        if (auto err = csv_decode_row(text, fmt_, out, scratch_))
          return make_error(connector_errc::bad_input,
                            "values table " + ctx_.name + " row " +
                                std::to_string(next_ + 1) + " (" + text +
                                "): " + reason_of(err));
        ++given;
      }
    }
    if (next_ < limit)
      return poll_status::more;
    if (passed_ < in_.steps.size()) {
      ++passed_;
      return poll_status::more;
    }
    if (given > 0)
      return poll_status::more;
    return in_.ended ? poll_status::finished : poll_status::idle;
  }

  uint32_t max_splits() const override { return 64; }

  int64_t source_watermark() const override {
    return passed_ == 0 ? columnar::min_timestamp : in_.steps[passed_ - 1].ms;
  }

 private:
  table_context ctx_;
  std::shared_ptr<test_table_data> data_;
  table_format fmt_;
  decode_scratch scratch_;
  test_table_data::table_input in_;
  size_t id_ = 0;
  size_t next_ = 0;   ///< the next row of this split
  size_t passed_ = 0; ///< steps passed
};

/// Appends every row written, as text, to the shared data.
class collect_sink : public table_sink {
 public:
  collect_sink(table_context ctx, std::shared_ptr<test_table_data> data)
      : ctx_(std::move(ctx)), data_(std::move(data)) {}

  caf::error open() override { return {}; }

  caf::error write(const columnar::row_batch& rows) override {
    std::vector<std::string> texts;
    for (auto i : rows.active(scratch_))
      texts.push_back(collect_row_text(rows, i));
    data_->append_collected(ctx_.name, std::move(texts));
    return {};
  }

 private:
  table_context ctx_;
  std::shared_ptr<test_table_data> data_;
  std::vector<uint32_t> scratch_;
};

/// A `values` table read by key: every row of its input, matched by the
/// text of the key values (as sluice prints them).
class values_lookup : public table_lookup {
 public:
  values_lookup(table_context ctx, std::shared_ptr<test_table_data> data)
      : ctx_(std::move(ctx)), data_(std::move(data)), rows_(ctx_.schema) {
    fmt_.null_literal = "NULL";
  }

  caf::error open() override {
    for (auto& text : data_->input_of(ctx_.name).rows)
      if (auto err = csv_decode_row(text, fmt_, rows_, scratch_))
        return err;
    return {};
  }

  caf::error lookup(const columnar::row_batch& keys, columnar::row_batch& out,
                    std::vector<uint32_t>& of) override {
    data_->count_lookups(ctx_.name, keys.num_rows());
    std::string want, have;
    std::vector<uint32_t> all(keys.num_columns());
    for (uint32_t c = 0; c < all.size(); ++c)
      all[c] = c;
    for (uint32_t k = 0; k < keys.num_rows(); ++k) {
      text_of(keys, all, k, want);
      for (uint32_t r = 0; r < rows_.num_rows(); ++r) {
        text_of(rows_, ctx_.lookup_keys, r, have);
        if (have != want)
          continue;
        out.append_rows(rows_, std::span<const uint32_t>{&r, 1});
        of.push_back(k);
      }
    }
    return {};
  }

 private:
  static void text_of(const columnar::row_batch& b,
                      const std::vector<uint32_t>& cols, uint32_t row,
                      std::string& out) {
    out.clear();
    for (auto c : cols) {
      columnar::append_value(b.col(c), row, out, "\x01null");
      out += '\x1f';
    }
  }

  table_context ctx_;
  std::shared_ptr<test_table_data> data_;
  table_format fmt_;
  decode_scratch scratch_;
  columnar::row_batch rows_;
};

} // namespace

void add_test_tables(table_registry& tables,
                     std::shared_ptr<test_table_data> data) {
  table_source_type src;
  src.name = "values";
  src.help = "test rows and watermark steps given by the test";
  src.blocking = false;
  src.make = [data](const table_context& ctx,
                    const options&) -> caf::expected<table_source_ptr> {
    return table_source_ptr{std::make_unique<values_source>(ctx, data)};
  };
  tables.add(std::move(src));
  table_lookup_type lk;
  lk.name = "values";
  lk.help = "the test rows of the table, read by key";
  lk.blocking = false;
  lk.options = lookup_option_specs();
  lk.make = [data](const table_context& ctx,
                   const options&) -> caf::expected<table_lookup_ptr> {
    return table_lookup_ptr{std::make_unique<values_lookup>(ctx, data)};
  };
  tables.add(std::move(lk));
  table_sink_type snk;
  snk.name = "collect";
  snk.help = "keeps every row written, with its kind, for the test";
  snk.blocking = false;
  snk.accepts_updates = true;
  snk.make = [data](const table_context& ctx,
                    const options&) -> caf::expected<table_sink_ptr> {
    return table_sink_ptr{std::make_unique<collect_sink>(ctx, data)};
  };
  tables.add(std::move(snk));
}

} // namespace sluice::test
