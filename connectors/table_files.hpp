#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "connectors/dead_letter.hpp"
#include "connectors/table_connector.hpp"
#include "runtime/columnar/row_batch.hpp"

/// The `filesystem` table connector: rows in CSV or JSON-lines files.
///
/// CSV (RFC 4180 as Flink's `csv` format reads it): fields separated by
/// `csv.field-delimiter`, quoted with `csv.quote-character` (a quote inside
/// a quoted field doubled), quoted fields may hold delimiters and line
/// breaks; CRLF line ends are accepted, empty lines skipped. An empty field
/// is NULL for every type but STRING, where it is the empty string (Flink's
/// rule; quoted or not); a field equal to `csv.null-literal`, when set, is
/// NULL for every type when unquoted. The sink writes NULL as an empty field,
/// or as the null literal when set (quoting a value equal to it), so a NULL
/// STRING reads back as '' only without a null literal.
///
/// JSON lines: one object per line, keys = column names (exact case),
/// values null, numbers, strings, booleans; a missing key is NULL, unknown
/// keys are ignored, a nested object or array in a STRING column is kept
/// as its JSON text. Timestamps are strings ('yyyy-MM-dd HH:mm:ss[.SSS]' or
/// ISO with 'T' and an optional 'Z'; the sink writes the first, or the
/// second without 'Z' with `json.timestamp-format.standard` = 'ISO-8601').
///
/// `csv.allow-comments` skips lines starting with '#';
/// `json.fail-on-missing-field` makes a missing key a bad row.
///
/// A row that does not parse is counted (`errors`), written to the
/// dead-letter file and skipped; `*.ignore-parse-errors` are accepted for
/// Flink DDL compatibility and change nothing.
namespace sluice {

/// How rows are written as text.
struct table_format {
  enum class kind { csv, json };
  kind format = kind::csv;
  char delimiter = ',';
  char quote = '"';
  std::optional<std::string> null_literal; ///< CSV only
  bool allow_comments = false;  ///< CSV: skip lines starting with '#'
  bool fail_on_missing = false; ///< JSON: a missing key is a bad row
  bool iso_timestamps = false;  ///< JSON sink: "2026-12-04T10:00:00.000"
};

/// Reusable buffers of the decoders.
struct decode_scratch {
  std::vector<std::string_view> fields;
  std::vector<uint8_t> quoted;
  /// Unescaped values; a deque, so that growing it keeps the views of
  /// `fields` into earlier elements valid.
  std::deque<std::string> texts;
  std::string unescaped;
};

// -- CSV (table_csv.cpp) ------------------------------------------------------

/// One past the line break that ends the CSV record starting at `pos`, or
/// npos when the record may go on past the end of `buf` (an open quote, no
/// line break yet). Adds the record's line breaks to `lines`.
size_t csv_record_end(std::string_view buf, size_t pos, char delimiter,
                      char quote, uint64_t& lines);

/// Parses one CSV record (without its line break) as one row of `out`. On
/// error `out` is as before and the error says why (`bad_input`).
caf::error csv_decode_row(std::string_view record, const table_format& fmt,
                          columnar::row_batch& out, decode_scratch& scratch);

/// Appends physical row `row` of `b` as one CSV line with its line break.
void csv_encode_row(const columnar::row_batch& b, size_t row,
                    const table_format& fmt, std::string& out);

// -- JSON lines (table_json.cpp) ----------------------------------------------

/// Parses one JSON object as one row of `out`. On error `out` is as before
/// and the error says why (`bad_input`).
caf::error json_decode_row(std::string_view line, const table_format& fmt,
                           columnar::row_batch& out, decode_scratch& scratch);

/// Appends physical row `row` of `b` as one JSON object with its line break.
void json_encode_row(const columnar::row_batch& b, size_t row,
                     const table_format& fmt, std::string& out);

// -- the connector
// --------------------------------------------------------------

/// Reads the files of `path` (a file, or every file of a directory whose
/// name does not start with '.' or '_', sorted by name): file j belongs to
/// split j % splits. Bounded: `poll` returns `finished` after the last row.
class filesystem_source : public table_source {
 public:
  /// Lists the files (so `max_splits` is known before `open`).
  static caf::expected<std::unique_ptr<filesystem_source>>
  make(const table_context& ctx, std::string path, table_format fmt);

  ~filesystem_source() override;

  caf::error open() override;
  caf::expected<poll_status> poll(columnar::row_batch& out,
                                  size_t max_rows) override;
  uint32_t max_splits() const override;
  std::string progress() const override;
  void close() override;

  /// The files this instance reads, in order.
  const std::vector<std::string>& files() const noexcept { return mine_; }

  /// Rows that did not parse, so far.
  uint64_t bad_rows() const noexcept { return dead_.count(); }

 private:
  filesystem_source(const table_context& ctx, table_format fmt,
                    std::vector<std::string> all);

  /// Opens file `next_file_`; false when none is left.
  caf::expected<bool> open_next();
  caf::error read_more(size_t& got, bool& eof);
  caf::error take(std::string_view record, uint64_t line,
                  columnar::row_batch& out);

  table_context ctx_;
  table_format fmt_;
  std::vector<std::string> all_;
  std::vector<std::string> mine_;
  size_t next_file_ = 0;
  int fd_ = -1;
  std::string current_;
  std::string buf_;
  size_t pos_ = 0;
  uint64_t line_ = 1;   ///< line number of the record at pos_
  uint64_t offset_ = 0; ///< file offset of buf_[0]
  bool eof_ = false;
  decode_scratch scratch_;
  dead_letter dead_;
};

/// Writes rows as CSV or JSON lines, appending to `path`; when `path` is a
/// directory (or ends with '/') to `part-<split>.<csv|json>` in it. Takes
/// inserts only. `flush` and `tick` hand the bytes to the kernel; `close`
/// also fdatasyncs.
class filesystem_sink : public table_sink {
 public:
  filesystem_sink(const table_context& ctx, std::string path, table_format fmt);
  ~filesystem_sink() override;

  caf::error open() override;
  caf::error write(const columnar::row_batch& rows) override;
  caf::error flush() override;
  caf::error tick() override;
  void close() override;

  /// The file written (known after `open`).
  const std::string& file() const noexcept { return file_; }

 private:
  table_context ctx_;
  std::string path_;
  table_format fmt_;
  std::string file_;
  int fd_ = -1;
  std::string buf_;
  std::vector<uint32_t> active_;
};

/// The options of both halves of the connector (Flink's names).
std::vector<option_spec> filesystem_table_options();

/// The format settings of validated options.
caf::expected<table_format> table_format_from(const options& opts);

} // namespace sluice
