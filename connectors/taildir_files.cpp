// The taildir source's descriptors and file identity: opening and closing
// files under the cap, finding files that moved while closed, fingerprints.
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

#include "connectors/taildir.hpp"
#include "runtime/log.hpp"

namespace sluice {

namespace fs = std::filesystem;

namespace {

int64_t mtime_ns(const struct stat& sb) {
  return static_cast<int64_t>(sb.st_mtim.tv_sec) * 1'000'000'000 +
         sb.st_mtim.tv_nsec;
}

bool same_file(const struct stat& sb, uint64_t dev, uint64_t inode) {
  return static_cast<uint64_t>(sb.st_ino) == inode &&
         (dev == 0 || static_cast<uint64_t>(sb.st_dev) == dev);
}

/// Where the file `dev`/`inode` is in `dir` (empty if not there); `listed`
/// says whether the directory could be read at all.
std::string find_inode(const fs::path& dir, uint64_t dev, uint64_t inode,
                       bool& listed) {
  std::error_code ec;
  fs::directory_iterator it{dir.empty() ? "." : dir, ec};
  listed = !ec;
  for (fs::directory_iterator end; !ec && it != end; it.increment(ec)) {
    struct stat sb;
    auto name = it->path().string();
    if (::stat(name.c_str(), &sb) == 0 && S_ISREG(sb.st_mode) &&
        same_file(sb, dev, inode))
      return name;
  }
  if (ec)
    listed = false;
  return {};
}

} // namespace

size_t taildir_open_cap(int64_t configured) {
  auto cap = static_cast<size_t>(std::max<int64_t>(configured, 1));
  struct rlimit rl;
  if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
    cap = std::min(cap, std::max<size_t>(1, rl.rlim_cur / 2));
  return cap;
}

void taildir_source::close_file(taildir_file& f) noexcept {
  if (f.fd < 0)
    return;
  struct stat sb;
  if (::fstat(f.fd, &sb) == 0) {
    f.closed_size = sb.st_size;
    f.closed_mtime_ns = mtime_ns(sb);
  } else {
    f.closed_size = -1;
  }
  // Read to its end (bar a partial last line): nothing to do until it grows.
  f.wanted = f.closed_size < 0 || f.closed_size != f.eof_at;
  ::close(f.fd);
  f.fd = -1;
  --st_.open_files;
}

bool taildir_source::close_idle(const taildir_file* keep) noexcept {
  // A file read to its end is closed first: one with unread bytes keeps
  // its descriptor as long as possible, since a closed file rotated away
  // to another directory (or compressed) before it is reopened takes its
  // unread tail with it.
  auto read_to_end = [](const taildir_file& f) {
    struct stat sb;
    return ::fstat(f.fd, &sb) == 0 && sb.st_size == f.eof_at;
  };
  taildir_file* victim = nullptr;
  bool victim_done = false;
  for (auto& f : st_.files) {
    if (f.fd < 0 || &f == keep)
      continue;
    bool done = read_to_end(f);
    if (victim == nullptr || (done && !victim_done) ||
        (done == victim_done && f.last_active < victim->last_active)) {
      victim = &f;
      victim_done = done;
    }
  }
  if (victim == nullptr)
    return false;
  if (!victim_done)
    ++st_.closed_unread;
  close_file(*victim);
  return true;
}

bool taildir_source::ensure_open(taildir_file& f) {
  if (f.fd >= 0)
    return true;
  while (st_.open_files >= st_.max_open && close_idle(&f)) {
  }
  int fd = ::open(f.path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 && (errno == EMFILE || errno == ENFILE)) {
    auto err = errno;
    auto open_now = st_.open_files;
    struct rlimit rl {};
    ::getrlimit(RLIMIT_NOFILE, &rl);
    ctx_.metrics->errors.fetch_add(1, std::memory_order_relaxed);
    if (!warned_descriptors_) {
      warned_descriptors_ = true;
      log().error(
          "source {}: cannot open {}: {}: the process has run out of file "
          "descriptors (its limit, ulimit -n, is {}; this source holds {} "
          "open). Closing idle files and keeping their positions; raise the "
          "limit (ulimit -n, LimitNOFILE= for a systemd service) or lower "
          "max_open_files (now {})",
          ctx_.name, f.path, std::strerror(err),
          rl.rlim_cur == RLIM_INFINITY ? std::string{"unlimited"}
                                       : std::to_string(rl.rlim_cur),
          open_now, st_.max_open);
    }
    // Hold a quarter fewer from now on, leaving descriptors to the rest of
    // the process (the position file, sinks, channels), and retry.
    st_.max_open = std::max<size_t>(1, open_now * 3 / 4);
    bool closed = false;
    while (st_.open_files >= st_.max_open && close_idle(&f))
      closed = true;
    if (closed)
      fd = ::open(f.path.c_str(), O_RDONLY | O_CLOEXEC);
    else
      errno = err;
  }
  if (fd < 0) {
    if (errno == ENOENT) {
      f.wanted = true; // moved away while closed: looked for below
    } else {
      if (unreadable_.insert(f.path).second)
        log().warn("source {}: cannot open {}: {}; keeping its position "
                   "(byte {}) and trying again at every scan",
                   ctx_.name, f.path, std::strerror(errno), f.pos);
      f.open_failed = true;
      return false;
    }
  } else {
    unreadable_.erase(f.path);
  }
  struct stat sb;
  if (fd >= 0 && (::fstat(fd, &sb) != 0 || !same_file(sb, f.dev, f.inode))) {
    // The name holds another file now: this one was renamed away.
    ::close(fd);
    fd = -1;
  }
  if (fd < 0) {
    bool listed = false;
    auto name =
        find_inode(fs::path{f.path}.parent_path(), f.dev, f.inode, listed);
    if (name.empty()) {
      if (!listed) {
        f.open_failed = true; // its directory cannot be read: try later
        return false;
      }
      if (f.closed_size > f.pos)
        log().warn("source {}: {} (inode {}) is gone while closed, with {} "
                   "byte(s) after its position (byte {}) unread; raise "
                   "max_open_files to keep files with unread data open",
                   ctx_.name, f.path, f.inode, f.closed_size - f.pos, f.pos);
      else
        log().info("source {}: {} (inode {}) is gone; dropping its position "
                   "(byte {})",
                   ctx_.name, f.path, f.inode, f.pos);
      f.gone = true;
      return false;
    }
    log().info("source {}: {} (inode {}) is now {}", ctx_.name, f.path, f.inode,
               name);
    f.path = std::move(name);
    return ensure_open(f);
  }
  f.fd = fd;
  f.dev = static_cast<uint64_t>(sb.st_dev);
  f.open_failed = false;
  f.eof_at = -1; // look at it afresh: size and first bytes
  ++st_.open_files;
  return true;
}

void taildir_source::check_closed() {
  for (auto& f : st_.files) {
    if (f.fd >= 0)
      continue;
    f.open_failed = false; // try again
    if (f.wanted)
      continue;
    struct stat sb;
    if (::stat(f.path.c_str(), &sb) != 0 || !same_file(sb, f.dev, f.inode) ||
        sb.st_size != f.closed_size || mtime_ns(sb) != f.closed_mtime_ns)
      f.wanted = true; // grew, changed or moved: the next poll looks
  }
}

void taildir_source::place_restored(bool at_open) {
  // A file rotated away while closed or while sluice was stopped no longer
  // matches its glob; look for its inode next to its old name, so its
  // unread tail is read.
  for (auto i = st_.restored.begin(); i != st_.restored.end();) {
    auto& p = *i;
    bool listed = false;
    auto dir = fs::path{p.path}.parent_path();
    auto name = find_inode(dir, p.dev, p.inode, listed);
    if (name.empty() && listed) {
      log().info("source {}: forgetting the position of {} (inode {}): the "
                 "file no longer exists",
                 ctx_.name, p.path, p.inode);
      i = st_.restored.erase(i);
      continue;
    }
    if (name.empty()) {
      // A directory that cannot be read now may come back (a mount).
      if (at_open)
        log().warn("source {}: cannot read the directory {} of {}: keeping "
                   "its position (byte {}) until it can be read",
                   ctx_.name, dir.string(), p.path, p.pos);
      ++i;
      continue;
    }
    struct stat sb;
    if (::stat(name.c_str(), &sb) == 0 && sb.st_size == p.pos) {
      i = st_.restored.erase(i); // read entirely before the stop
      continue;
    }
    taildir_file f;
    f.dev = p.dev;
    f.inode = p.inode;
    f.path = name;
    f.group = p.group;
    f.pos = p.pos;
    f.skipping = p.skipping;
    f.fingerprint = p.fingerprint;
    f.fp_len = p.fp_len;
    f.matched = false;
    log().info("source {}: {} was rotated to {}; reading it from byte {}",
               ctx_.name, p.path, name, f.pos);
    st_.files.push_back(std::move(f));
    i = st_.restored.erase(i);
  }
}

bool taildir_source::check_fingerprint(taildir_file& f, int64_t size) {
  auto n = static_cast<uint32_t>(
      std::min<int64_t>(size, int64_t{fingerprint_bytes}));
  if (n < f.fp_len)
    return false; // shorter than what was fingerprinted: not the same
  if (n == 0)
    return true;
  unsigned char head[fingerprint_bytes];
  ssize_t got = 0;
  do
    got = ::pread(f.fd, head, n, 0);
  while (got < 0 && errno == EINTR);
  if (got < static_cast<ssize_t>(f.fp_len))
    return got < 0; // a read error is not a new file
  auto crc = crc32_z(0, head, f.fp_len);
  if (f.fp_len > 0 && static_cast<uint32_t>(crc) != f.fingerprint)
    return false;
  if (static_cast<uint32_t>(got) > f.fp_len) {
    crc = crc32_z(crc, head + f.fp_len, static_cast<size_t>(got) - f.fp_len);
    f.fingerprint = static_cast<uint32_t>(crc);
    f.fp_len = static_cast<uint32_t>(got);
  }
  return true;
}

} // namespace sluice
