// The filesystem table connector's text decoders on any bytes: CSV records
// (found with csv_record_end, as the source splits its buffer) and JSON
// lines either fail cleanly, leaving the batch as it was, or append one
// row; the batch stays well formed. Every row read is written again (CSV
// with a null literal, so NULLs survive, and JSON) and must read back to
// the same text (JSON: when its string is valid UTF-8). The first byte picks
// the format, the delimiter and the quote.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/table_files.hpp"
#include "runtime/columnar/format.hpp"

using namespace sluice;
using namespace sluice::columnar;

namespace {

schema_ptr the_schema() {
  static auto s = make_schema({{"i", int32_type()},
                               {"s", string_type()},
                               {"b", int64_type(false)},
                               {"d", float64_type()},
                               {"m", decimal_type(12, 3)},
                               {"t", timestamp_type()},
                               {"o", boolean_type()}});
  return s;
}

std::string row_text(const row_batch& b, size_t row) {
  std::string out;
  for (size_t c = 0; c < b.num_columns(); ++c) {
    out += '|';
    append_value(b.col(c), row, out);
  }
  return out;
}

/// True when `s` is valid UTF-8 (JSON text keeps only such strings as
/// they are; other bytes come back as the code points of their values).
bool valid_utf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80         ? 1
               : (c >> 5) == 6  ? 2
               : (c >> 4) == 14 ? 3
               : (c >> 3) == 30 ? 4
                                : 0;
    if (n == 0 || i + n > s.size())
      return false;
    uint32_t cp = n == 1 ? c : c & (0x7F >> n);
    for (size_t k = 1; k < n; ++k) {
      auto d = static_cast<unsigned char>(s[i + k]);
      if ((d >> 6) != 2)
        return false;
      cp = (cp << 6) | (d & 0x3F);
    }
    if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) ||
        (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp < 0xE000))
      return false;
    i += n;
  }
  return true;
}

void check_shape(const row_batch& b, size_t rows) {
  if (!b.well_formed() || b.num_rows() != rows)
    std::abort();
  for (size_t c = 0; c < b.num_columns(); ++c)
    if (b.col(c).size() != rows)
      std::abort();
}

/// Decodes `record`; on success writes the new row again and checks that
/// it reads back to the same values.
void one(std::string_view record, const table_format& fmt, row_batch& out,
         decode_scratch& scratch) {
  auto rows = out.num_rows();
  auto err = fmt.format == table_format::kind::csv
                 ? csv_decode_row(record, fmt, out, scratch)
                 : json_decode_row(record, fmt, out, scratch);
  check_shape(out, err ? rows : rows + 1);
  if (err)
    return;
  if (fmt.format == table_format::kind::json &&
      !valid_utf8(out.col(1).str(rows)))
    return;
  std::string text;
  if (fmt.format == table_format::kind::csv)
    csv_encode_row(out, rows, fmt, text);
  else
    json_encode_row(out, rows, fmt, text);
  uint64_t lines = 0;
  if (fmt.format == table_format::kind::csv &&
      csv_record_end(text, 0, fmt.delimiter, fmt.quote, lines) != text.size())
    std::abort();
  text.pop_back(); // the line break
  row_batch again{out.row_schema()};
  decode_scratch s2;
  auto err2 = fmt.format == table_format::kind::csv
                  ? csv_decode_row(text, fmt, again, s2)
                  : json_decode_row(text, fmt, again, s2);
  if (err2 || row_text(again, 0) != row_text(out, rows))
    std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0)
    return 0;
  auto mode = data[0];
  std::string_view in{reinterpret_cast<const char*>(data) + 1, size - 1};
  table_format fmt;
  fmt.format = mode & 1 ? table_format::kind::json : table_format::kind::csv;
  fmt.delimiter = (mode & 2) ? ';' : ',';
  fmt.quote = (mode & 4) ? '\'' : '"';
  fmt.null_literal = "\\N";
  fmt.fail_on_missing = (mode & 16) != 0;
  fmt.iso_timestamps = (mode & 32) != 0;
  row_batch out{the_schema()};
  decode_scratch scratch;
  size_t pos = 0;
  while (pos < in.size()) {
    uint64_t lines = 0;
    auto end = fmt.format == table_format::kind::csv
                   ? csv_record_end(in, pos, fmt.delimiter, fmt.quote, lines)
                   : in.find('\n', pos);
    if (end != std::string_view::npos && fmt.format == table_format::kind::json)
      ++end;
    if (end == std::string_view::npos)
      end = in.size();
    if (end <= pos || end > in.size())
      std::abort();
    auto record = in.substr(pos, end - pos);
    if (!record.empty() && record.back() == '\n')
      record.remove_suffix(1);
    one(record, fmt, out, scratch);
    pos = end;
  }
  return 0;
}
