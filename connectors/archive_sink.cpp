#include "connectors/archive_sink.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <random>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>
#include <zstd.h>

#include "connectors/fd_io.hpp"
#include "connectors/registry.hpp"
#include "runtime/errors.hpp"
#include "runtime/log.hpp"
#include "runtime/paths.hpp"

namespace sluice {

namespace fs = std::filesystem;

namespace {

constexpr int64_t ms_per_hour = 3'600'000;
constexpr std::string_view tmp_suffix = ".inprogress";
constexpr std::string_view file_suffix = ".jsonl.zst";
/// Lines are handed to zstd, and its output to the file, in pieces of
/// about this size.
constexpr size_t chunk_bytes = 64 * 1024;

int64_t floor_div(int64_t x, int64_t y) {
  auto q = x / y;
  return (x % y != 0 && (x < 0) != (y < 0)) ? q - 1 : q;
}

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

/// The time of event `i`: its `timestamp` header when that is an integer,
/// else `fallback`.
int64_t event_time(const event_batch& b, size_t i, int64_t fallback) {
  auto v = b.header(i, "timestamp");
  int64_t ts = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), ts);
  if (v.empty() || ec != std::errc{} || end != v.data() + v.size())
    return fallback;
  return ts;
}

/// Length of the valid UTF-8 sequence at `p` (n bytes available), 0 when
/// it is not one (overlong, surrogate, past U+10FFFF, truncated).
size_t utf8_length(const unsigned char* p, size_t n) {
  auto b = p[0];
  auto cont = [&](size_t k, unsigned char lo = 0x80, unsigned char hi = 0xBF) {
    return k < n && p[k] >= lo && p[k] <= hi;
  };
  if (b < 0x80)
    return 1;
  if (b < 0xC2)
    return 0;
  if (b < 0xE0)
    return cont(1) ? 2 : 0;
  if (b < 0xF0) {
    unsigned char lo = b == 0xE0 ? 0xA0 : 0x80;
    unsigned char hi = b == 0xED ? 0x9F : 0xBF;
    return cont(1, lo, hi) && cont(2) ? 3 : 0;
  }
  if (b < 0xF5) {
    unsigned char lo = b == 0xF0 ? 0x90 : 0x80;
    unsigned char hi = b == 0xF4 ? 0x8F : 0xBF;
    return cont(1, lo, hi) && cont(2) && cont(3) ? 4 : 0;
  }
  return 0;
}

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

// -- JSON lines ---------------------------------------------------------------

void append_json_string(std::string_view s, std::string& out) {
  static constexpr char hex[] = "0123456789abcdef";
  auto escape_byte = [&](unsigned char c) {
    out += "\\u00";
    out += hex[c >> 4];
    out += hex[c & 0xF];
  };
  out += '"';
  auto* p = reinterpret_cast<const unsigned char*>(s.data());
  size_t n = s.size();
  size_t i = 0;
  while (i < n) {
    // Copy a run of bytes that need nothing.
    size_t j = i;
    while (j < n && p[j] >= 0x20 && p[j] < 0x80 && p[j] != '"' && p[j] != '\\')
      ++j;
    out.append(s.data() + i, j - i);
    i = j;
    if (i == n)
      break;
    auto c = p[i];
    if (c >= 0x80) {
      if (auto len = utf8_length(p + i, n - i); len > 0) {
        out.append(s.data() + i, len);
        i += len;
      } else {
        escape_byte(c);
        ++i;
      }
      continue;
    }
    switch (c) {
    case '"':
      out += "\\\"";
      break;
    case '\\':
      out += "\\\\";
      break;
    case '\b':
      out += "\\b";
      break;
    case '\f':
      out += "\\f";
      break;
    case '\n':
      out += "\\n";
      break;
    case '\r':
      out += "\\r";
      break;
    case '\t':
      out += "\\t";
      break;
    default:
      escape_byte(c);
    }
    ++i;
  }
  out += '"';
}

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
  if (name.size() <= 1 + tmp_suffix.size() || name.front() != '.' ||
      !name.ends_with(tmp_suffix))
    return make_error(connector_errc::bad_input,
                      "not an in-progress archive file: " + tmp_path.string());
  auto final_path = tmp_path.parent_path() /
                    name.substr(1, name.size() - 1 - tmp_suffix.size());
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
    stem.resize(stem.size() - file_suffix.size());
    for (int k = 1;; ++k) {
      final_path = dir / fmt::format("{}-r{}{}", stem, k, file_suffix);
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

// -- the sink -----------------------------------------------------------------

struct archive_sink::zstd_state {
  ZSTD_CCtx* cctx = nullptr;
  ~zstd_state() { ZSTD_freeCCtx(cctx); }
};

archive_sink::archive_sink(archive_sink_config cfg) : cfg_(std::move(cfg)) {
  root_ = cfg_.directory / cfg_.topic;
  if (!cfg_.write_data)
    cfg_.write_data = [](int fd, const void* p, size_t n) {
      return ::write(fd, p, n);
    };
  if (!cfg_.sync_data)
    cfg_.sync_data = [](int fd) {
      return ::fdatasync(fd);
    };
}

archive_sink::~archive_sink() {
  close();
}

caf::error archive_sink::open() {
  if (auto bad = prepare_directory(root_)) {
    auto err = make_error(connector_errc::io_error, bad->text);
    return cfg_.restarted ? err : classify_errno(std::move(err), bad->code);
  }
  if (!zstd_) {
    auto z = std::make_unique<zstd_state>();
    z->cctx = ZSTD_createCCtx();
    if (!z->cctx)
      return make_error(connector_errc::io_error,
                        "archive sink: cannot create a zstd context");
    ZSTD_CCtx_setParameter(z->cctx, ZSTD_c_compressionLevel,
                           cfg_.compression_level);
    ZSTD_CCtx_setParameter(z->cctx, ZSTD_c_checksumFlag, 1);
    zstd_ = std::move(z);
  }
  instance_ = std::random_device{}();
  // Leftovers of earlier runs hold committed events: recover, never delete.
  std::vector<fs::path> leftovers;
  std::error_code ec;
  for (auto i = fs::recursive_directory_iterator{root_, ec};
       !ec && i != fs::recursive_directory_iterator{}; i.increment(ec)) {
    auto name = i->path().filename().string();
    if (name.size() > 1 && name.front() == '.' && name.ends_with(tmp_suffix) &&
        i->is_regular_file(ec))
      leftovers.push_back(i->path());
  }
  if (ec)
    return make_error(connector_errc::io_error,
                      "cannot list " + root_.string() + ": " + ec.message());
  std::sort(leftovers.begin(), leftovers.end());
  recovered_.clear();
  for (auto& p : leftovers) {
    auto r = recover_archive_file(p);
    if (!r)
      return std::move(r.error());
    if (r->skipped)
      continue;
    if (r->path.empty())
      log().warn("archive sink: removed {} (no complete frame, {} bytes)",
                 p.string(), r->cut_bytes);
    else
      log().info("archive sink: recovered {} ({} bytes kept, {} cut)",
                 r->path.string(), r->kept_bytes, r->cut_bytes);
    recovered_.push_back(std::move(*r));
  }
  open_ = true;
  return {};
}

caf::error archive_sink::open_file(int64_t hour) {
  auto rel = fs::path{archive_partition(hour)};
  if (auto err = make_partition_dirs(root_, rel))
    return err;
  auto dir = root_ / rel;
  auto utc = [] {
    auto ms = now_ms();
    auto t = static_cast<std::time_t>(floor_div(ms, 1000));
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof(buf), "%Y%m%dT%H%M%S", &tm);
    return fmt::format("{}{:03d}Z", buf, ms - floor_div(ms, 1000) * 1000);
  };
  for (int attempt = 0; attempt < 100; ++attempt) {
    auto name = fmt::format("{}-{}-{:08x}-{:06d}{}", cfg_.prefix, utc(),
                            instance_, ++counter_, file_suffix);
    final_path_ = dir / name;
    tmp_path_ = dir / fmt::format(".{}{}", name, tmp_suffix);
    if (::access(final_path_.c_str(), F_OK) == 0)
      continue;
    fd_ = ::open(tmp_path_.c_str(),
                 O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0644);
    if (fd_ < 0) {
      if (errno == EEXIST)
        continue;
      auto err = io_error("cannot create", tmp_path_, errno);
      tmp_path_.clear();
      return err;
    }
    // Locked while written: a recovering sink leaves it alone. Another
    // sink's recovery may have taken it between create and lock.
    if (::flock(fd_, LOCK_EX) != 0 || !same_file(fd_, tmp_path_)) {
      ::close(fd_);
      fd_ = -1;
      continue;
    }
    // The file's entry must survive a crash once its frames are synced.
    if (auto err = sync_directory(dir)) {
      ::close(fd_);
      fd_ = -1;
      ::unlink(tmp_path_.c_str());
      tmp_path_.clear();
      return err;
    }
    hour_ = hour;
    file_bytes_ = 0;
    synced_bytes_ = 0;
    dirty_ = false;
    opened_at_ = std::chrono::steady_clock::now();
    ZSTD_CCtx_reset(zstd_->cctx, ZSTD_reset_session_only);
    return {};
  }
  tmp_path_.clear();
  return make_error(connector_errc::io_error,
                    "cannot find a free file name in " + dir.string());
}

caf::error archive_sink::write_out() {
  size_t done = 0;
  while (done < out_.size()) {
    auto n = cfg_.write_data(fd_, out_.data() + done, out_.size() - done);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      auto err = io_error("cannot write", tmp_path_, errno);
      out_.clear();
      return err;
    }
    if (n == 0) {
      out_.clear();
      return io_error("cannot write", tmp_path_, EIO);
    }
    done += static_cast<size_t>(n);
    file_bytes_ += n;
  }
  out_.clear();
  return {};
}

caf::error archive_sink::compress(std::string_view data, bool end_frame) {
  ZSTD_inBuffer in{data.data(), data.size(), 0};
  auto mode = end_frame ? ZSTD_e_end : ZSTD_e_continue;
  auto step = ZSTD_CStreamOutSize();
  while (true) {
    auto used = out_.size();
    out_.resize(used + step);
    ZSTD_outBuffer out{out_.data() + used, step, 0};
    auto rc = ZSTD_compressStream2(zstd_->cctx, &out, &in, mode);
    out_.resize(used + out.pos);
    if (ZSTD_isError(rc))
      return make_error(connector_errc::io_error,
                        std::string{"zstd: "} + ZSTD_getErrorName(rc));
    if (out_.size() >= chunk_bytes)
      if (auto err = write_out())
        return err;
    bool done = end_frame ? rc == 0 : in.pos == in.size;
    if (done)
      break;
  }
  if (end_frame)
    return write_out();
  return {};
}

caf::error archive_sink::compress_pending() {
  if (pending_.empty())
    return {};
  auto err = compress(pending_, false);
  pending_.clear();
  return err;
}

caf::error archive_sink::sync_file() {
  if (!dirty_)
    return {};
  if (auto err = compress_pending())
    return err;
  if (auto err = compress({}, true))
    return err;
  if (cfg_.sync_data(fd_) != 0)
    return io_error("cannot sync", tmp_path_, errno);
  synced_bytes_ = file_bytes_;
  dirty_ = false;
  return {};
}

caf::error archive_sink::finish_file() {
  if (auto err = sync_file())
    return err;
  auto dir = tmp_path_.parent_path();
  if (synced_bytes_ == 0) {
    // Nothing was written: leave nothing behind.
    ::unlink(tmp_path_.c_str());
  } else {
    if (!rename_new(tmp_path_, final_path_))
      return io_error("cannot rename", tmp_path_, errno);
    ++files_finished_;
    if (cfg_.metrics)
      cfg_.metrics->files_finished.fetch_add(1, std::memory_order_relaxed);
  }
  auto err = sync_directory(dir);
  // Renamed: the file is final even if the directory sync failed (it is
  // retried with the next file's).
  ::close(fd_);
  fd_ = -1;
  tmp_path_.clear();
  return err;
}

void archive_sink::fail_file() {
  pending_.clear();
  out_.clear();
  if (fd_ < 0)
    return;
  if (zstd_)
    ZSTD_CCtx_reset(zstd_->cctx, ZSTD_reset_session_only);
  // What was not synced belongs to the lease that rolls back: cut it, then
  // finish what is left; when that fails too, a later open recovers it.
  dirty_ = false;
  if (::ftruncate(fd_, static_cast<off_t>(synced_bytes_)) == 0) {
    file_bytes_ = synced_bytes_;
    if (cfg_.sync_data(fd_) == 0) {
      if (auto err = finish_file(); !err)
        return;
      else
        log().error("archive sink: {}", describe(err));
    }
  }
  if (fd_ < 0)
    return;
  log().error("archive sink: left {} for recovery at the next open",
              tmp_path_.string());
  ::close(fd_);
  fd_ = -1;
  tmp_path_.clear();
}

caf::error archive_sink::failed(caf::error err) {
  fail_file();
  return err;
}

caf::error archive_sink::write(const event_batch& batch) {
  if (!open_)
    return make_error(connector_errc::io_error, "archive sink is closed");
  auto received = now_ms();
  for (size_t i = 0; i < batch.size(); ++i) {
    auto ts = event_time(batch, i, received);
    auto hour = floor_div(ts, ms_per_hour);
    if (fd_ >= 0) {
      auto age = std::chrono::steady_clock::now() - opened_at_;
      bool too_old = cfg_.roll_interval_ms > 0 &&
                     age >= std::chrono::milliseconds{cfg_.roll_interval_ms};
      if (hour != hour_ || too_old) {
        if (auto err = finish_file())
          return failed(std::move(err));
      }
    }
    if (fd_ < 0)
      if (auto err = open_file(hour))
        return err;
    append_json_line(batch, i, ts, pending_);
    dirty_ = true;
    if (pending_.size() >= chunk_bytes) {
      if (auto err = compress_pending())
        return failed(std::move(err));
      if (cfg_.roll_size > 0 &&
          file_bytes_ + static_cast<int64_t>(out_.size()) >= cfg_.roll_size)
        if (auto err = finish_file())
          return failed(std::move(err));
    }
  }
  if (fd_ >= 0) {
    if (auto err = compress_pending())
      return failed(std::move(err));
    if (cfg_.roll_size > 0 &&
        file_bytes_ + static_cast<int64_t>(out_.size()) >= cfg_.roll_size)
      if (auto err = finish_file())
        return failed(std::move(err));
  }
  return {};
}

caf::error archive_sink::flush() {
  if (fd_ < 0)
    return {};
  if (auto err = sync_file())
    return failed(std::move(err));
  // Past the size now that the frame ended: the next event starts a file.
  if (cfg_.roll_size > 0 && file_bytes_ >= cfg_.roll_size)
    if (auto err = finish_file())
      return failed(std::move(err));
  return {};
}

caf::error archive_sink::tick() {
  if (fd_ < 0 || cfg_.roll_interval_ms <= 0)
    return {};
  auto age = std::chrono::steady_clock::now() - opened_at_;
  if (age >= std::chrono::milliseconds{cfg_.roll_interval_ms})
    if (auto err = finish_file())
      return failed(std::move(err));
  return {};
}

caf::error archive_sink::probe() {
  if (auto bad = prepare_directory(root_))
    return make_error(connector_errc::io_error, bad->text);
  return {};
}

void archive_sink::close() {
  open_ = false;
  if (fd_ < 0)
    return;
  if (auto err = finish_file()) {
    log().error("archive sink: {}", describe(err));
    if (cfg_.metrics)
      cfg_.metrics->errors.fetch_add(1, std::memory_order_relaxed);
    fail_file();
  }
}

sink_type archive_sink_type() {
  sink_type t;
  t.name = "archive";
  t.help = "writes events as JSON lines to zstd files partitioned by hour, "
           "each renamed into place only when complete";
  t.options = {
      {"directory", option_type::string, "directory of the archive", true},
      {"topic", option_type::string,
       "path element under the directory (default: the component's name)",
       false, option_value{std::string{}}},
      {"prefix", option_type::string, "file name prefix", false,
       option_value{std::string{"part"}}},
      {"roll_size", option_type::bytes,
       "start a new file past this many compressed bytes (0: never)", false,
       option_value{int64_t{128} << 20}, 0},
      {"roll_interval", option_type::duration,
       "start a new file after this long (0: never by time)", false,
       option_value{int64_t{3'600'000}}, 0},
      {"compression_level", option_type::integer, "zstd level", false,
       option_value{int64_t{3}}, 1, 19},
  };
  t.make = [](const connector_context& ctx,
              const options& opts) -> caf::expected<sink_connector_ptr> {
    archive_sink_config cfg;
    cfg.directory = opts.get_string("directory");
    cfg.topic = opts.get_string("topic");
    if (cfg.topic.empty())
      cfg.topic = ctx.name;
    cfg.prefix = opts.get_string("prefix");
    auto one_element = [](const std::string& x) {
      return !x.empty() && x != "." && x != ".." &&
             x.find('/') == std::string::npos && x.front() != '.';
    };
    if (!one_element(cfg.topic))
      return make_permanent(
          make_error(connector_errc::bad_input,
                     "archive sink " + ctx.name + ": topic \"" + cfg.topic +
                         "\" is not a plain name (no '/', no leading '.')"));
    if (!one_element(cfg.prefix))
      return make_permanent(
          make_error(connector_errc::bad_input,
                     "archive sink " + ctx.name + ": prefix \"" + cfg.prefix +
                         "\" is not a plain name (no '/', no leading '.')"));
    cfg.roll_size = opts.get_int("roll_size");
    cfg.roll_interval_ms = opts.get_int("roll_interval");
    cfg.compression_level = static_cast<int>(opts.get_int("compression_level"));
    cfg.metrics = ctx.metrics;
    // The metrics outlive the sink's restarts, and count them.
    cfg.restarted = ctx.metrics &&
                    ctx.metrics->restarts.load(std::memory_order_relaxed) > 0;
    return sink_connector_ptr{std::make_unique<archive_sink>(std::move(cfg))};
  };
  return t;
}

} // namespace sluice
