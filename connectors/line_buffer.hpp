#pragma once

#include <cstddef>
#include <string_view>
#include <sys/types.h>
#include <vector>

namespace sluice {

/// Splits bytes read from a descriptor (pipe, socket) into lines, keeping
/// what was read but not yet handed out, so a caller can stop after any
/// line and go on later without losing bytes. Lines longer than the limit
/// are cut there and the rest up to the newline is dropped.
class line_buffer {
 public:
  explicit line_buffer(size_t max_line_length, size_t read_size = 64 << 10);

  /// Reads once from `fd`: bytes read, 0 at end of input, -1 with errno
  /// set (EAGAIN when nothing is ready).
  ssize_t fill(int fd);

  /// The next complete (or cut) line without its '\n' and '\r'; false when
  /// none is complete yet.
  bool next(std::string_view& line);

  /// The incomplete last line at end of input (empty if none); consumes it.
  std::string_view rest();

  /// Lines cut at the limit so far.
  size_t cut_lines() const noexcept { return cut_; }

  /// Bytes of buffer allocated (grows with the longest line, up to the
  /// limit plus one read).
  size_t capacity() const noexcept { return buf_.size(); }

  /// Bytes held that are not handed out yet.
  size_t buffered() const noexcept { return end_ - begin_; }

 private:
  std::vector<char> buf_;
  size_t begin_ = 0;
  size_t end_ = 0;
  size_t max_;
  size_t read_size_;
  size_t cut_ = 0;
  bool skipping_ = false;
};

} // namespace sluice
