#include "runtime/paths.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

namespace sluice {

std::optional<path_failure>
prepare_directory(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec)
    return path_failure{ec.value(),
                        "cannot create " + dir.string() + ": " + ec.message()};
  if (!std::filesystem::is_directory(dir, ec))
    return path_failure{ENOTDIR,
                        "cannot use " + dir.string() + ": not a directory"};
  // The effective ids and capabilities decide, as they do for open.
  if (::faccessat(AT_FDCWD, dir.c_str(), W_OK | X_OK, AT_EACCESS) != 0) {
    auto code = errno;
    return path_failure{code, "cannot write in " + dir.string() + ": " +
                                  std::strerror(code)};
  }
  return std::nullopt;
}

std::filesystem::path blocking_file(const std::filesystem::path& dir) {
  std::error_code ec;
  for (auto p = dir.lexically_normal(); !p.empty(); p = p.parent_path()) {
    auto st = std::filesystem::status(p, ec);
    if (std::filesystem::exists(st))
      return std::filesystem::is_directory(st) ? std::filesystem::path{} : p;
    if (p == p.parent_path())
      break;
  }
  return {};
}

} // namespace sluice
