#include <fmt/format.h>

#include "connectors/table_files.hpp"
#include "runtime/columnar/format.hpp"
#include "runtime/errors.hpp"

namespace sluice {

namespace {

using columnar::row_batch;
using columnar::type_id;

/// Splits `record` into fields; quoted fields are unescaped into
/// `scratch.texts` (views point there or into `record`).
caf::error split_fields(std::string_view record, const table_format& fmt,
                        decode_scratch& scratch) {
  auto& fields = scratch.fields;
  auto& quoted = scratch.quoted;
  fields.clear();
  quoted.clear();
  size_t n_quoted = 0;
  size_t i = 0;
  for (;;) {
    if (i < record.size() && record[i] == fmt.quote) {
      if (scratch.texts.size() <= n_quoted)
        scratch.texts.resize(n_quoted + 1);
      auto& text = scratch.texts[n_quoted++];
      text.clear();
      ++i;
      for (;;) {
        auto q = record.find(fmt.quote, i);
        if (q == std::string_view::npos)
          return make_error(
              connector_errc::bad_input,
              fmt::format("field {} has no closing quote", fields.size() + 1));
        text.append(record.data() + i, q - i);
        i = q + 1;
        if (i < record.size() && record[i] == fmt.quote) {
          text += fmt.quote; // a doubled quote
          ++i;
          continue;
        }
        break;
      }
      if (i < record.size() && record[i] != fmt.delimiter)
        return make_error(
            connector_errc::bad_input,
            fmt::format("field {} has text after its closing quote",
                        fields.size() + 1));
      fields.emplace_back(text);
      quoted.push_back(1);
    } else {
      auto end = record.find(fmt.delimiter, i);
      if (end == std::string_view::npos)
        end = record.size();
      fields.push_back(record.substr(i, end - i));
      quoted.push_back(0);
      i = end;
    }
    if (i >= record.size())
      return {};
    ++i; // the delimiter
  }
}

} // namespace

size_t csv_record_end(std::string_view buf, size_t pos, char delimiter,
                      char quote, uint64_t& lines) {
  // States: at a field's start, in an unquoted field, in a quoted one.
  enum { start, plain, in_quotes } state = start;
  uint64_t breaks = 0;
  for (auto i = pos; i < buf.size(); ++i) {
    auto ch = buf[i];
    if (state == in_quotes) {
      if (ch == '\n')
        ++breaks;
      else if (ch == quote) {
        if (i + 1 >= buf.size())
          return std::string_view::npos; // doubled or closing: need more
        if (buf[i + 1] == quote)
          ++i;
        else
          state = plain;
      }
      continue;
    }
    if (ch == '\n') {
      lines += breaks + 1;
      return i + 1;
    }
    if (ch == delimiter)
      state = start;
    else if (ch == quote && state == start)
      state = in_quotes;
    else
      state = plain;
  }
  return std::string_view::npos;
}

caf::error csv_decode_row(std::string_view record, const table_format& fmt,
                          row_batch& out, decode_scratch& scratch) {
  if (auto err = split_fields(record, fmt, scratch))
    return err;
  auto& sch = *out.row_schema();
  if (scratch.fields.size() != sch.size())
    return make_error(connector_errc::bad_input,
                      fmt::format("expected {} fields, got {}", sch.size(),
                                  scratch.fields.size()));
  auto rows = out.num_rows();
  for (size_t c = 0; c < sch.size(); ++c) {
    auto& col = out.col(c);
    auto& f = sch.fields[c];
    auto text = scratch.fields[c];
    bool null =
        (fmt.null_literal && !scratch.quoted[c] && text == *fmt.null_literal) ||
        (text.empty() && f.type.id != type_id::string);
    caf::error err;
    if (null) {
      if (!f.type.nullable)
        err = make_error(connector_errc::bad_input,
                         "NULL in NOT NULL column '" + f.name + "'");
      else
        col.push_null();
    } else if (auto e = columnar::push_parsed(col, text)) {
      err = make_error(connector_errc::bad_input,
                       "column '" + f.name + "': " + reason_of(e));
    }
    if (err) {
      for (size_t k = 0; k < c; ++k)
        out.col(k).resize(rows);
      return err;
    }
  }
  return {};
}

void csv_encode_row(const row_batch& b, size_t row, const table_format& fmt,
                    std::string& out) {
  if (!fmt.null_literal) {
    auto start = out.size();
    columnar::append_csv_row(b, row, out, fmt.delimiter, fmt.quote);
    // An empty line would be skipped: a lone NULL is written as "".
    if (out.size() == start) {
      out += fmt.quote;
      out += fmt.quote;
    }
    out += '\n';
    return;
  }
  std::string text;
  for (size_t c = 0; c < b.num_columns(); ++c) {
    if (c > 0)
      out += fmt.delimiter;
    auto& col = b.col(c);
    if (!col.valid(row)) {
      out += *fmt.null_literal;
      continue;
    }
    text.clear();
    columnar::append_value(col, row, text);
    // A value that reads as the null literal or an empty field is quoted.
    if (text.empty() || text == *fmt.null_literal) {
      out += fmt.quote;
      out += text;
      out += fmt.quote;
    } else {
      columnar::append_csv_field(text, out, fmt.delimiter, fmt.quote);
    }
  }
  out += '\n';
}

} // namespace sluice
