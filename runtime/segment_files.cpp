#include "runtime/segment_files.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/statvfs.h>

#include <fmt/format.h>

#include "runtime/errors.hpp"
#include "runtime/file_store_format.hpp"
#include "runtime/log.hpp"

namespace sluice {

namespace fs = std::filesystem;
using file_format::err_text;
using file_format::io_error;

std::string size_text(int64_t n) {
  if (n < 0)
    return "-" + size_text(-n);
  if (n < 1024)
    return fmt::format("{} B", n);
  const char* units[] = {"KiB", "MiB", "GiB", "TiB"};
  double x = static_cast<double>(n) / 1024;
  int u = 0;
  while (x >= 1024 && u < 3) {
    x /= 1024;
    ++u;
  }
  return fmt::format("{:.1f} {}", x, units[u]);
}

int open_for_append(const char* path) {
  return ::open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
}

segment_files::segment_files(segment_files_config cfg) : cfg_(std::move(cfg)) {}

segment_files::~segment_files() {
  close();
}

void segment_files::close() {
  for (int* fd : {&fd_, &dir_fd_, &lock_fd_}) {
    if (*fd >= 0)
      ::close(*fd);
    *fd = -1;
  }
}

caf::error segment_files::lock() {
  std::error_code ec;
  fs::create_directories(cfg_.directory, ec);
  if (ec)
    return make_error(channel_errc::io_error, "cannot create " +
                                                  cfg_.directory.string() +
                                                  ": " + ec.message());
  dir_fd_ = ::open(cfg_.directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd_ < 0)
    return io_error(cfg_.directory, "cannot open");
  auto lock_path = cfg_.directory / "lock";
  lock_fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock_fd_ < 0)
    return io_error(lock_path, "cannot open");
  if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK)
      return make_error(channel_errc::io_error,
                        fmt::format("directory {} is in use by another {} "
                                    "(its lock file is held); give each {} "
                                    "its own directory",
                                    cfg_.directory.string(), cfg_.owner,
                                    cfg_.owner));
    return io_error(lock_path, "cannot lock");
  }
  return {};
}

fs::path segment_files::path_of(const std::string& name) const {
  return cfg_.directory / name;
}

void segment_files::adopt(const std::string& name, int64_t size) {
  auto& s = sizes_[name];
  disk_bytes_ += size - s;
  s = size;
}

int64_t segment_files::size_of(const std::string& name) const {
  auto i = sizes_.find(name);
  return i == sizes_.end() ? 0 : i->second;
}

int start_writeback(int fd, int64_t offset, int64_t length) {
  return ::sync_file_range(fd, offset, length, SYNC_FILE_RANGE_WRITE);
}

caf::error segment_files::activate(const std::string& name) {
  auto path = path_of(name);
  std::error_code ec;
  bool existed = fs::exists(path, ec);
  if (ec)
    return make_error(channel_errc::io_error,
                      path.string() + ": cannot look up: " + ec.message());
  int fd = cfg_.open_segment(path.c_str());
  if (fd < 0)
    return io_error(path, "cannot create");
  if (!existed && ::fsync(dir_fd_) != 0) {
    auto err = io_error(cfg_.directory, "cannot sync the directory");
    ::close(fd);
    // A later try creates it again and then syncs the directory.
    ::unlink(path.c_str());
    return err;
  }
  auto end = ::lseek(fd, 0, SEEK_END);
  if (end < 0) {
    auto err = io_error(path, "cannot find the end");
    ::close(fd);
    return err;
  }
  auto size = static_cast<int64_t>(end);
  if (fd_ >= 0)
    ::close(fd_);
  fd_ = fd;
  active_ = name;
  ++epoch_;
  adopt(name, size);
  active_size_ = synced_size_ = writeback_from_ = size;
  dirty_ = false;
  return {};
}

caf::error segment_files::append(const iovec* parts, int n) {
  if (broken_)
    return broken_error();
  if (fd_ < 0)
    return make_error(channel_errc::stopped, cfg_.owner + " " +
                                                 cfg_.directory.string() +
                                                 ": no active segment");
  size_t length = 0;
  for (int i = 0; i < n; ++i)
    length += parts[i].iov_len;
  auto path = path_of(active_);
  errno = 0;
  auto written = cfg_.write(fd_, parts, n);
  if (written != static_cast<ssize_t>(length)) {
    auto err = written < 0
                   ? io_error(path, "cannot append")
                   : make_error(channel_errc::disk_full,
                                path.string() + ": short write (disk full?)");
    if (written > 0)
      cut_partial_record(path, written);
    free_space_budget_ = -1; // the disk may be full: look at the next call
    return err;
  }
  active_size_ += static_cast<int64_t>(length);
  sizes_[active_] = active_size_;
  disk_bytes_ += static_cast<int64_t>(length);
  appended_since_check_ += static_cast<int64_t>(length);
  dirty_ = true;
  start_write_behind();
  return {};
}

void segment_files::start_write_behind() {
  if (cfg_.writeback_bytes <= 0 ||
      active_size_ - writeback_from_ < cfg_.writeback_bytes)
    return;
  // Only a hint: the next fdatasync writes what this did not and reports
  // any error, so a failure here changes nothing.
  (void)cfg_.write_behind(fd_, writeback_from_, active_size_ - writeback_from_);
  writeback_from_ = active_size_;
}

void segment_files::cut_partial_record(const fs::path& path, ssize_t written) {
  // Cut a partial record off so the segment stays valid. If that fails, the
  // next append (O_APPEND) would land behind it, where neither the owner's
  // positions nor a restart's scan expect it: nothing more is accepted.
  if (cfg_.truncate(fd_, active_size_) == 0)
    return;
  log().error("{}: cannot cut off a partial record of {} byte(s) of {}: {}",
              cfg_.owner, written, path.string(), err_text());
  broken_ = true;
  broken_why_ = "a partial record could not be cut off";
}

caf::error segment_files::sync_failed() {
  auto path = path_of(active_);
  auto err = io_error(path, "cannot sync");
  // The kernel may have dropped the pages whose write-back failed while a
  // read still shows them; cut what was not known durable, so a restart
  // does not trust it.
  if (fd_ >= 0 && cfg_.truncate(fd_, synced_size_) != 0)
    log().error("{}: cannot cut {} back to its last synced size {}: {}",
                cfg_.owner, path.string(), synced_size_, err_text());
  broken_ = true;
  broken_why_ = "an fdatasync failed";
  return err;
}

caf::error segment_files::broken_error() const {
  return make_error(channel_errc::io_error,
                    cfg_.owner + " " + cfg_.directory.string() + ": " +
                        broken_why_ +
                        "; nothing more is accepted until a restart "
                        "recovers from what the log holds");
}

caf::error segment_files::sync() {
  if (broken_)
    return broken_error();
  if (dirty_ && fd_ >= 0) {
    if (cfg_.sync_data(fd_) != 0)
      return sync_failed();
    dirty_ = false;
  }
  synced_size_ = active_size_;
  return {};
}

caf::expected<std::optional<sync_ticket>> segment_files::begin_sync() {
  if (broken_)
    return broken_error();
  if (!dirty_ || fd_ < 0)
    return std::optional<sync_ticket>{};
  int fd = ::fcntl(fd_, F_DUPFD_CLOEXEC, 0);
  if (fd < 0)
    return io_error(path_of(active_), "cannot duplicate its descriptor");
  dirty_ = false;
  return std::optional<sync_ticket>{sync_ticket{fd, active_size_, epoch_}};
}

caf::error segment_files::end_sync(const sync_ticket& t, bool ok) {
  if (broken_)
    return broken_error();
  if (!ok) {
    // A later append set dirty_ again or not: either way the pages the
    // failed write-back covered may be gone.
    return sync_failed();
  }
  // A roll (or a plain `sync`) since then synced more already.
  if (t.epoch == epoch_)
    synced_size_ = std::max(synced_size_, t.size);
  return {};
}

caf::error segment_files::roll(const std::string& next) {
  if (auto err = sync())
    return err;
  // `activate` closes the old segment only once the new one is open: a
  // failure (no inodes left, too many open files) leaves the old one
  // active, so the owner can append again or roll later.
  return activate(next);
}

caf::error segment_files::remove(const std::string& name) {
  if (name == active_)
    return make_error(channel_errc::io_error,
                      path_of(name).string() + ": the active segment stays");
  auto path = path_of(name);
  if (::unlink(path.c_str()) != 0 && errno != ENOENT)
    return io_error(path, "cannot delete");
  if (auto i = sizes_.find(name); i != sizes_.end()) {
    disk_bytes_ -= i->second;
    sizes_.erase(i);
  }
  return {};
}

caf::error segment_files::cut(const std::string& name, int64_t size) {
  auto path = path_of(name);
  int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0)
    return io_error(path, "cannot open");
  caf::error err;
  if (cfg_.truncate(fd, size) != 0)
    err = io_error(path, "cannot cut off the torn tail");
  else if (cfg_.sync_data(fd) != 0)
    err = io_error(path, "cannot sync");
  ::close(fd);
  if (err)
    return err;
  adopt(name, size);
  if (name == active_)
    active_size_ = synced_size_ = size;
  return {};
}

caf::error segment_files::sync_directory() {
  if (dir_fd_ >= 0 && ::fsync(dir_fd_) != 0)
    return io_error(cfg_.directory, "cannot sync the directory");
  return {};
}

caf::error segment_files::write_atomically(const std::string& name,
                                           const char* data, size_t size) {
  auto tmp = path_of(name + ".tmp");
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    return io_error(tmp, "cannot create");
  caf::error err;
  while (size > 0) {
    auto r = ::write(fd, data, size);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0) {
      err = r < 0 ? io_error(tmp, "cannot write")
                  : make_error(channel_errc::disk_full,
                               tmp.string() + ": short write (disk full?)");
      break;
    }
    data += r;
    size -= static_cast<size_t>(r);
  }
  if (!err && cfg_.sync_data(fd) != 0)
    err = io_error(tmp, "cannot sync");
  ::close(fd);
  if (!err && ::rename(tmp.c_str(), path_of(name).c_str()) != 0)
    err = io_error(path_of(name), "cannot rename into place");
  if (err) {
    ::unlink(tmp.c_str());
    return err;
  }
  return sync_directory();
}

bool segment_files::has_room(size_t bytes, std::string& why) const {
  auto need = static_cast<int64_t>(bytes);
  if (cfg_.max_request > 0)
    need = std::min(need, cfg_.max_request);
  if (cfg_.max_disk_bytes > 0 && disk_bytes_ + need > cfg_.max_disk_bytes) {
    why = fmt::format("directory {}: {} in use; writing the next batches (up "
                      "to {}) would pass max_disk_bytes {}",
                      cfg_.directory.string(), size_text(disk_bytes_),
                      size_text(need), size_text(cfg_.max_disk_bytes));
    return false;
  }
  // The free space is looked at again once `free_space_check_bytes` were
  // appended since the last look, or sooner when the room above
  // min_free_space found then is used up: this directory's own appends
  // never pass min_free_space unseen; other writers of the disk have that
  // margin, and ENOSPC stays an error of `append`.
  if (cfg_.free_space_check_bytes > 0 && free_space_budget_ >= 0 &&
      appended_since_check_ + need <= free_space_budget_)
    return true;
  free_space_budget_ = -1;
  struct statvfs sv;
  ++free_space_checks_;
  if (cfg_.stat_fs(cfg_.directory.c_str(), &sv) == 0) {
    auto free_bytes =
        static_cast<int64_t>(sv.f_bavail) * static_cast<int64_t>(sv.f_frsize);
    appended_since_check_ = 0;
    free_space_budget_ =
        std::max<int64_t>(0, std::min(free_bytes - cfg_.min_free_space,
                                      cfg_.free_space_check_bytes));
    if (free_bytes - need < cfg_.min_free_space) {
      auto left = size_text(free_bytes - need);
      auto limit = size_text(cfg_.min_free_space);
      if (left == limit) { // rounded alike: show the bytes
        left = fmt::format("{} bytes", free_bytes - need);
        limit = fmt::format("{} bytes", cfg_.min_free_space);
      }
      why = fmt::format("directory {}: {} free; writing the next batches "
                        "(up to {}) would leave {}, below min_free_space {}",
                        cfg_.directory.string(), size_text(free_bytes),
                        size_text(need), left, limit);
      return false;
    }
  }
  return true;
}

} // namespace sluice
