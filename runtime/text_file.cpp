#include "runtime/text_file.hpp"

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/errors.hpp"

namespace sluice {

namespace {

/// What a file that is not a regular one is, for messages.
std::string file_kind(mode_t mode) {
  if (S_ISDIR(mode))
    return "a directory";
  if (S_ISCHR(mode))
    return "a character device";
  if (S_ISBLK(mode))
    return "a block device";
  if (S_ISFIFO(mode))
    return "a FIFO (named pipe)";
  if (S_ISSOCK(mode))
    return "a socket";
  return "not a regular file";
}

std::string size_limit(size_t max_bytes) {
  if (max_bytes >= (size_t{1} << 20) && max_bytes % (size_t{1} << 20) == 0)
    return std::to_string(max_bytes >> 20) + " MiB";
  return std::to_string(max_bytes) + " bytes";
}

std::string too_large(uint64_t size, size_t max_bytes,
                      const text_file_kind& kind) {
  return "the file is " +
         (size > max_bytes ? std::to_string(size) + " bytes"
                           : std::string{"growing"}) +
         ", more than the " + size_limit(max_bytes) + " a " + kind.name +
         " may hold";
}

} // namespace

caf::expected<std::string> read_text_file(const std::string& path,
                                          size_t max_bytes,
                                          const text_file_kind& kind) {
  auto not_regular = [&](mode_t mode) {
    return make_error(config_errc::invalid, file_kind(mode) + ", not a " +
                                                kind.name + " (" +
                                                kind.regular + ")");
  };
  auto failed = [&](const char* verb, int err) {
    return make_error(config_errc::not_found, std::string{"cannot "} + verb +
                                                  " the " + kind.name + ": " +
                                                  std::strerror(err));
  };
  // Looking before opening keeps a FIFO or a device from being opened.
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    return failed("read", errno);
  if (!S_ISREG(st.st_mode))
    return not_regular(st.st_mode);
  if (static_cast<uint64_t>(st.st_size) > max_bytes)
    return make_error(
        config_errc::invalid,
        too_large(static_cast<uint64_t>(st.st_size), max_bytes, kind));
  int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0)
    return failed("open", errno);
  // The name may have changed since it was looked at.
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return not_regular(st.st_mode);
  }
  // One read of up to a byte past the limit tells a file that grew.
  std::string text(max_bytes + 1, '\0');
  size_t got = 0;
  while (got < text.size()) {
    auto n = ::read(fd, text.data() + got, text.size() - got);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      auto err = errno;
      ::close(fd);
      return failed("read", err);
    }
    if (n == 0)
      break;
    got += static_cast<size_t>(n);
  }
  ::close(fd);
  if (got > max_bytes)
    return make_error(config_errc::invalid, too_large(got, max_bytes, kind));
  text.resize(got);
  text.shrink_to_fit();
  return text;
}

} // namespace sluice
