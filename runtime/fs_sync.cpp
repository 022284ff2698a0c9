#include "runtime/fs_sync.hpp"

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/errors.hpp"

namespace sluice {

namespace {

caf::error io_failure(const std::filesystem::path& path, const char* what,
                      int code) {
  auto errc = code == ENOSPC || code == EDQUOT ? topic_errc::disk_full
                                               : topic_errc::io_error;
  return make_error(errc,
                    path.string() + ": " + what + ": " + std::strerror(code));
}

} // namespace

caf::error sync_directory(const std::filesystem::path& dir) {
  auto name = dir.empty() ? std::filesystem::path{"."} : dir;
  int fd = ::open(name.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return io_failure(name, "cannot open", errno);
  auto rc = ::fsync(fd);
  auto code = errno;
  ::close(fd);
  if (rc != 0)
    return io_failure(name, "cannot sync", code);
  return {};
}

caf::error create_directories_synced(const std::filesystem::path& dir) {
  // The levels that do not exist yet, outermost first.
  std::vector<std::filesystem::path> missing;
  for (auto p = dir.lexically_normal(); !p.empty(); p = p.parent_path()) {
    if (p.filename().empty()) { // a trailing separator
      if (p == p.parent_path())
        break;
      continue;
    }
    struct stat sb;
    if (::stat(p.c_str(), &sb) == 0) {
      if (!S_ISDIR(sb.st_mode))
        return make_error(topic_errc::io_error,
                          p.string() + ": exists and is not a directory");
      break;
    }
    if (errno != ENOENT)
      return io_failure(p, "cannot inspect", errno);
    missing.push_back(p);
    if (p == p.parent_path())
      break;
  }
  for (auto i = missing.rbegin(); i != missing.rend(); ++i) {
    if (::mkdir(i->c_str(), 0755) != 0 && errno != EEXIST)
      return io_failure(*i, "cannot create", errno);
    if (auto err = sync_directory(i->parent_path()))
      return err;
  }
  return {};
}

} // namespace sluice
