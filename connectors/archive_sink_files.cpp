#include "connectors/archive_sink_files.hpp"

#include <cerrno>
#include <charconv>
#include <ctime>
#include <fcntl.h>
#include <memory>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#include <fmt/format.h>
#include <zstd.h>

#include "connectors/fd_io.hpp"
#include "runtime/errors.hpp"
#include "runtime/json_text.hpp"

namespace sluice {

namespace fs = std::filesystem;

namespace {

/// Where the complete, intact frames of `data` end.
size_t complete_frames_end(const char* data, size_t size) {
  std::unique_ptr<ZSTD_DCtx, size_t (*)(ZSTD_DCtx*)> dctx{ZSTD_createDCtx(),
                                                          ZSTD_freeDCtx};
  std::vector<char> scratch(ZSTD_DStreamOutSize());
  size_t pos = 0;
  while (pos < size) {
    auto n = ZSTD_findFrameCompressedSize(data + pos, size - pos);
    if (ZSTD_isError(n) || n == 0)
      break;
    // The frame's blocks are all there; its checksum says whether its
    // bytes are the ones written.
    ZSTD_DCtx_reset(dctx.get(), ZSTD_reset_session_only);
    ZSTD_inBuffer in{data + pos, n, 0};
    size_t rc = 1;
    while (true) {
      ZSTD_outBuffer out{scratch.data(), scratch.size(), 0};
      rc = ZSTD_decompressStream(dctx.get(), &out, &in);
      if (ZSTD_isError(rc) || rc == 0)
        break;
      if (in.pos == in.size && out.pos < out.size)
        break; // needs input the frame does not have
    }
    if (ZSTD_isError(rc) || rc != 0 || in.pos != in.size)
      break;
    pos += n;
  }
  return pos;
}

} // namespace

namespace archive_io {

caf::error io_error(const std::string& what, const fs::path& path, int code) {
  return make_error(connector_errc::io_error,
                    what + " " + path.string() + ": " + errno_text(code));
}

/// fsyncs a directory.
caf::error sync_directory(const fs::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return io_error("cannot open", dir, errno);
  auto rc = ::fsync(fd);
  auto code = errno;
  ::close(fd);
  if (rc != 0)
    return io_error("cannot sync", dir, code);
  return {};
}

/// Creates `dir` below `root` level by level, syncing each parent that got
/// a new entry, so that a file synced in it later is found after a crash.
caf::error make_partition_dirs(const fs::path& root, const fs::path& rel) {
  auto dir = root;
  for (auto& part : rel) {
    auto next = dir / part;
    if (::mkdir(next.c_str(), 0755) == 0) {
      if (auto err = sync_directory(dir))
        return err;
    } else if (errno != EEXIST) {
      return io_error("cannot create", next, errno);
    }
    dir = std::move(next);
  }
  return {};
}

/// Renames without replacing an existing file; false with errno set when
/// that failed.
bool rename_new(const fs::path& from, const fs::path& to) {
  if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(),
                  RENAME_NOREPLACE) == 0)
    return true;
  if (errno != EINVAL && errno != ENOSYS)
    return false;
  // A file system without RENAME_NOREPLACE: the names are unique anyway.
  if (::access(to.c_str(), F_OK) == 0) {
    errno = EEXIST;
    return false;
  }
  return ::rename(from.c_str(), to.c_str()) == 0;
}

/// True when `path` still names the file open as `fd`.
bool same_file(int fd, const fs::path& path) {
  struct stat a {};
  struct stat b {};
  return ::fstat(fd, &a) == 0 && ::stat(path.c_str(), &b) == 0 &&
         a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

} // namespace archive_io

using namespace archive_io;

// -- JSON lines ---------------------------------------------------------------

void append_json_line(const event_batch& batch, size_t i, int64_t ts_ms,
                      std::string& out) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof(buf), ts_ms);
  out += "{\"ts\":";
  out.append(buf, r.ptr);
  out += ",\"body\":";
  append_json_string(batch.body(i), out);
  out += ",\"headers\":{";
  bool first = true;
  for (auto& h : batch.headers(i)) {
    if (!first)
      out += ',';
    first = false;
    append_json_string(batch.key(h), out);
    out += ':';
    append_json_string(batch.value(h), out);
  }
  out += "}}\n";
}

std::string archive_partition(int64_t hour) {
  auto t = static_cast<std::time_t>(hour * 3600);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  std::strftime(buf, sizeof(buf), "dt=%Y-%m-%d/hour=%H", &tm);
  return buf;
}

// -- recovery -----------------------------------------------------------------

caf::expected<archive_recovery> recover_archive_file(const fs::path& tmp_path) {
  archive_recovery result;
  auto name = tmp_path.filename().string();
  if (name.size() <= 1 + archive_tmp_suffix.size() || name.front() != '.' ||
      !name.ends_with(archive_tmp_suffix))
    return make_error(connector_errc::bad_input,
                      "not an in-progress archive file: " + tmp_path.string());
  auto final_path = tmp_path.parent_path() /
                    name.substr(1, name.size() - 1 - archive_tmp_suffix.size());
  int fd = ::open(tmp_path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0)
    return io_error("cannot open", tmp_path, errno);
  auto guard = std::unique_ptr<int, void (*)(int*)>{&fd, [](int* p) {
                                                      ::close(*p);
                                                    }};
  // A live writer holds its file locked until it renamed it.
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK)
      return io_error("cannot lock", tmp_path, errno);
    result.skipped = true;
    return result;
  }
  if (!same_file(fd, tmp_path)) {
    result.skipped = true; // finished by its writer meanwhile
    return result;
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0)
    return io_error("cannot stat", tmp_path, errno);
  auto size = static_cast<size_t>(st.st_size);
  size_t keep = 0;
  if (size > 0) {
    std::vector<char> data(size);
    size_t got = 0;
    while (got < size) {
      auto n =
          ::pread(fd, data.data() + got, size - got, static_cast<off_t>(got));
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return io_error("cannot read", tmp_path, errno);
      if (n == 0)
        break;
      got += static_cast<size_t>(n);
    }
    keep = complete_frames_end(data.data(), got);
  }
  result.kept_bytes = static_cast<int64_t>(keep);
  result.cut_bytes = static_cast<int64_t>(size - keep);
  auto dir = tmp_path.parent_path();
  if (keep == 0) {
    if (::unlink(tmp_path.c_str()) != 0)
      return io_error("cannot remove", tmp_path, errno);
    if (auto err = sync_directory(dir))
      return err;
    return result;
  }
  if (keep < size && ::ftruncate(fd, static_cast<off_t>(keep)) != 0)
    return io_error("cannot truncate", tmp_path, errno);
  if (::fdatasync(fd) != 0)
    return io_error("cannot sync", tmp_path, errno);
  if (!rename_new(tmp_path, final_path)) {
    if (errno != EEXIST)
      return io_error("cannot rename", tmp_path, errno);
    // Never replace a finished file: keep both under another name.
    auto stem = final_path.filename().string();
    stem.resize(stem.size() - archive_file_suffix.size());
    for (int k = 1;; ++k) {
      final_path = dir / fmt::format("{}-r{}{}", stem, k, archive_file_suffix);
      if (rename_new(tmp_path, final_path))
        break;
      if (errno != EEXIST)
        return io_error("cannot rename", tmp_path, errno);
    }
  }
  if (auto err = sync_directory(dir))
    return err;
  result.path = final_path;
  return result;
}

} // namespace sluice
