// The `filesystem` lookup: a CSV or JSON-lines file read whole at the
// start and looked up by key in memory. What `sluice sql --sample` turns a
// lookup table into, and a small dimension table that lives in a file.
#include <unordered_map>

#include <fmt/format.h>

#include "connectors/lookup_options.hpp"
#include "connectors/table_files.hpp"
#include "connectors/table_registry.hpp"
#include "runtime/errors.hpp"
#include "runtime/log.hpp"

namespace sluice {

namespace {

/// Every row of the files, and where each key's rows are.
class filesystem_lookup : public table_lookup {
 public:
  filesystem_lookup(table_context ctx, table_source_ptr source)
      : ctx_(std::move(ctx)), source_(std::move(source)), rows_(ctx_.schema) {}

  caf::error open() override {
    if (auto err = source_->open())
      return err;
    // A bounded source of files: it finishes; a source that stays idle
    // this often is not a file.
    for (int idle = 0; idle < 1000;) {
      auto st = source_->poll(rows_, columnar::row_batch::default_rows);
      if (!st)
        return st.error();
      if (*st == poll_status::finished)
        break;
      if (*st == poll_status::idle)
        ++idle;
    }
    source_->close();
    std::string text;
    for (uint32_t r = 0; r < rows_.num_rows(); ++r) {
      lookup_key_text(rows_, ctx_.lookup_keys, r, text);
      index_.emplace(text, r);
    }
    log().info("lookup table '{}': {} row(s) read from files, {} key(s)",
               ctx_.name, rows_.num_rows(), index_.size());
    return {};
  }

  caf::error lookup(const columnar::row_batch& keys, columnar::row_batch& out,
                    std::vector<uint32_t>& of) override {
    std::vector<uint32_t> all(keys.num_columns());
    for (uint32_t c = 0; c < all.size(); ++c)
      all[c] = c;
    std::string text;
    std::vector<uint32_t> rows;
    for (uint32_t k = 0; k < keys.num_rows(); ++k) {
      lookup_key_text(keys, all, k, text);
      auto [first, last] = index_.equal_range(text);
      for (auto i = first; i != last; ++i) {
        rows.push_back(i->second);
        of.push_back(k);
      }
    }
    out.append_rows(rows_, rows);
    return {};
  }

 private:
  table_context ctx_;
  table_source_ptr source_;
  columnar::row_batch rows_;
  std::unordered_multimap<std::string, uint32_t> index_;
};

} // namespace

table_lookup_type filesystem_table_lookup_type() {
  table_lookup_type t;
  t.name = "filesystem";
  t.help = "reads CSV or JSON-lines files whole at the start and looks rows "
           "up by key in memory (a small dimension table, or a sample)";
  t.blocking = true;
  t.options = filesystem_table_options();
  for (auto& spec : lookup_option_specs())
    t.options.push_back(std::move(spec));
  t.make = [](const table_context& ctx,
              const options& opts) -> caf::expected<table_lookup_ptr> {
    // One reader of every file.
    auto whole = ctx;
    whole.split = 0;
    whole.splits = 1;
    auto src = filesystem_table_source_type().make(whole, opts);
    if (!src)
      return std::move(src.error());
    return table_lookup_ptr{
        std::make_unique<filesystem_lookup>(whole, std::move(*src))};
  };
  return t;
}

} // namespace sluice
