#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "connectors/table_connector.hpp"

/// The debugging table sinks: `print` and `blackhole`. Both take update
/// streams.
namespace sluice {

/// Writes each row as Flink's print connector does: its kind and values,
/// `+I[1, abc, 2026-12-04 10:00:00.000]` (`-U`, `+U`, `-D` for updates and
/// deletes, NULL as `null`), one per line, to stdout, stderr
/// (`standard-error`) or the file `path` (appending). The line starts with
/// `<print-identifier>> ` when an identifier is set; with more than one sink
/// instance, the instance number (1-based) follows it as Flink writes it:
/// `id:2> `, or `2> ` alone. Each `write` ends with the lines handed to the
/// kernel.
class print_sink : public table_sink {
 public:
  print_sink(const table_context& ctx, std::string identifier, std::string path,
             bool standard_error = false);
  ~print_sink() override;

  caf::error open() override;
  caf::error write(const columnar::row_batch& rows) override;
  void close() override;

  /// Appends row `row` of `b` without prefix or line break.
  static void format_row(const columnar::row_batch& b, size_t row,
                         std::string& out);

 private:
  table_context ctx_;
  std::string prefix_;
  std::string path_;
  bool stderr_ = false;
  int fd_ = -1;
  bool own_fd_ = false;
  std::string buf_;
  std::vector<uint32_t> active_;
};

/// Drops every row, counting them.
class blackhole_sink : public table_sink {
 public:
  caf::error open() override { return {}; }
  caf::error write(const columnar::row_batch& rows) override;

  /// Rows written so far (inserts, updates and deletes).
  uint64_t rows() const noexcept { return rows_; }

 private:
  uint64_t rows_ = 0;
};

} // namespace sluice
