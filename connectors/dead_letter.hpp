#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <caf/error.hpp>

namespace sluice {

/// The dead-letter file of a table source: one line per input row that did
/// not parse, `where:line: reason: raw text`, so that nothing read is lost
/// silently and a user can find the row in its file.
///
/// The file is created (appending, never truncating) only when the first
/// bad row arrives, so a clean run leaves no file behind. Each row is
/// written at once; `close` (and the destructor) fdatasyncs. Line breaks and
/// carriage returns inside the raw text are written as `\n` and `\r`, so
/// every entry is one line. Not thread-safe (one source instance owns it).
class dead_letter {
 public:
  /// The file `path`; nothing is opened yet.
  explicit dead_letter(std::string path) : path_(std::move(path)) {}

  dead_letter(const dead_letter&) = delete;
  dead_letter& operator=(const dead_letter&) = delete;

  ~dead_letter();

  /// Appends one entry. Fails with `connector_errc::io_error` naming the
  /// dead-letter file when it cannot be opened or written.
  caf::error add(std::string_view where, uint64_t line, std::string_view reason,
                 std::string_view raw);

  /// Syncs and closes the file if it was opened. Idempotent.
  caf::error close();

  /// Entries written by this object.
  uint64_t count() const noexcept { return count_; }

  const std::string& path() const noexcept { return path_; }

 private:
  std::string path_;
  int fd_ = -1;
  uint64_t count_ = 0;
  std::string line_;
};

/// The text of an error for a dead-letter entry: its context string (what
/// the parser said, e.g. "'x' is not a valid INT"), or its description.
std::string reason_of(const caf::error& err);

/// The dead-letter path for table `table`: `configured` when not empty,
/// else `<table>.dead-letter` in the working directory.
std::string dead_letter_path(std::string_view configured,
                             std::string_view table);

} // namespace sluice
