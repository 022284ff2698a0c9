#include "connectors/line_buffer.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <unistd.h>

namespace sluice {

line_buffer::line_buffer(size_t max_line_length, size_t read_size)
    : max_(max_line_length), read_size_(read_size) {
  // Room for one read to start with; it grows only while a line is longer,
  // so an idle connection costs little whatever the limit.
  buf_.resize(std::min(2 * read_size_, max_ + 1 + read_size_));
}

ssize_t line_buffer::fill(int fd) {
  if (begin_ > 0) {
    std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  auto cap = std::max(read_size_, max_ + 1) + read_size_;
  if (buf_.size() - end_ < read_size_ && buf_.size() < cap)
    buf_.resize(std::min(cap, std::max(buf_.size() * 2, end_ + read_size_)));
  auto room = std::min(read_size_, buf_.size() - end_);
  if (room == 0)
    return -1; // a full line is waiting; `next` will cut it
  for (;;) {
    auto n = ::read(fd, buf_.data() + end_, room);
    if (n < 0 && errno == EINTR)
      continue;
    if (n > 0)
      end_ += static_cast<size_t>(n);
    return n;
  }
}

bool line_buffer::next(std::string_view& line) {
  while (begin_ < end_) {
    auto* start = buf_.data() + begin_;
    auto size = end_ - begin_;
    auto* nl = static_cast<char*>(std::memchr(start, '\n', size));
    if (skipping_) {
      if (!nl) {
        begin_ = end_;
        return false;
      }
      begin_ += static_cast<size_t>(nl - start) + 1;
      skipping_ = false;
      continue;
    }
    if (!nl) {
      // Only a line longer than the limit is cut: wait for max + 1 bytes.
      if (size <= max_)
        return false;
      line = {start, max_};
      begin_ = end_;
      skipping_ = true;
      ++cut_;
      return true;
    }
    auto len = static_cast<size_t>(nl - start);
    begin_ += len + 1;
    if (len > max_) {
      len = max_;
      ++cut_;
    }
    line = {start, len};
    if (!line.empty() && line.back() == '\r')
      line.remove_suffix(1);
    return true;
  }
  return false;
}

std::string_view line_buffer::rest() {
  if (skipping_ || begin_ == end_) {
    begin_ = end_ = 0;
    return {};
  }
  std::string_view line{buf_.data() + begin_, end_ - begin_};
  begin_ = end_;
  return line;
}

} // namespace sluice
