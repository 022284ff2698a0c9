#include "connectors/archive_sink.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <ctime>
#include <fcntl.h>
#include <random>
#include <sys/file.h>
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

/// The last millisecond of the year 9999.
constexpr int64_t max_event_time = 253'402'300'799'999;

/// The time of event `i`: its `timestamp` header when that is an integer
/// from 1970 to the year 9999, else `fallback`.
int64_t event_time(const event_batch& b, size_t i, int64_t fallback) {
  auto v = b.header(i, "timestamp");
  int64_t ts = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), ts);
  if (v.empty() || ec != std::errc{} || end != v.data() + v.size() || ts < 0 ||
      ts > max_event_time)
    return fallback;
  return ts;
}

} // namespace

using namespace archive_io;

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
  // Leftovers of earlier runs hold every committed event they were sent
  // (and maybe some of a lease in flight at the crash, delivered again):
  // recover, never delete.
  std::vector<fs::path> leftovers;
  std::error_code ec;
  for (auto i = fs::recursive_directory_iterator{root_, ec};
       !ec && i != fs::recursive_directory_iterator{}; i.increment(ec)) {
    auto name = i->path().filename().string();
    if (name.size() > 1 && name.front() == '.' &&
        name.ends_with(archive_tmp_suffix) && i->is_regular_file(ec))
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
                            instance_, ++counter_, archive_file_suffix);
    final_path_ = dir / name;
    tmp_path_ = dir / fmt::format(".{}{}", name, archive_tmp_suffix);
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
