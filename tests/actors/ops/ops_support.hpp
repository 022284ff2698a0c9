#pragma once

#include <charconv>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/columnar/format.hpp"
#include "runtime/columnar/row_batch.hpp"
#include "runtime/columnar/schema.hpp"

/// Helpers of the operator kernel tests: batches from text, rows as text.
namespace sluice::ops::test {

/// Builds a batch of schema `s` from rows of cells written as text:
/// "NULL" is a NULL, a TIMESTAMP cell is milliseconds since the epoch.
inline columnar::row_batch
make_rows(const columnar::schema_ptr& s,
          const std::vector<std::vector<std::string>>& rows) {
  columnar::row_batch b{s};
  for (auto& r : rows) {
    for (size_t c = 0; c < r.size(); ++c) {
      auto& col = b.col(c);
      if (r[c] == "NULL") {
        col.push_null();
      } else if (col.type().id == columnar::type_id::timestamp) {
        int64_t v = 0;
        std::from_chars(r[c].data(), r[c].data() + r[c].size(), v);
        col.push<int64_t>(v);
      } else if (auto err = columnar::push_parsed(col, r[c])) {
        throw std::runtime_error("bad test cell " + r[c]);
      }
    }
  }
  return b;
}

/// Physical row `row` as "a|b|c": TIMESTAMP as milliseconds, NULL as NULL.
inline std::string row_text(const columnar::row_batch& b, size_t row) {
  std::string out;
  for (size_t c = 0; c < b.num_columns(); ++c) {
    if (c > 0)
      out += '|';
    auto& col = b.col(c);
    if (col.valid(row) && col.type().id == columnar::type_id::timestamp)
      out += std::to_string(col.value<int64_t>(row));
    else
      out += columnar::value_text(col, row);
  }
  return out;
}

/// Every active row of `b` as text, in order.
inline std::vector<std::string> rows_text(const columnar::row_batch& b) {
  std::vector<uint32_t> scratch;
  std::vector<std::string> out;
  for (auto r : b.active(scratch))
    out.push_back(row_text(b, r));
  return out;
}

} // namespace sluice::ops::test
