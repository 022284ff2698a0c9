#include "connectors/fd_io.hpp"

#include <cerrno>
#include <cstring>
#include <unistd.h>

#include "runtime/errors.hpp"

namespace sluice {

std::string errno_text(int code) {
  return std::strerror(code);
}

caf::error write_fully(int fd, const char* data, size_t size,
                       const std::string& what) {
  while (size > 0) {
    auto n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return make_error(connector_errc::io_error,
                        "cannot write to " + what + ": " + errno_text(errno));
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
  return {};
}

void format_lines(const event_batch& batch, bool headers,
                  std::vector<char>& out) {
  auto put = [&out](std::string_view s) {
    out.insert(out.end(), s.begin(), s.end());
  };
  for (size_t i = 0; i < batch.size(); ++i) {
    if (headers) {
      auto hs = batch.headers(i);
      out.push_back('{');
      for (size_t j = 0; j < hs.size(); ++j) {
        if (j > 0)
          put(", ");
        put(batch.key(hs[j]));
        out.push_back('=');
        put(batch.value(hs[j]));
      }
      put("} ");
    }
    put(batch.body(i));
    out.push_back('\n');
  }
}

} // namespace sluice
