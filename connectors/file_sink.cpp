#include "connectors/file_sink.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>

#include "connectors/fd_io.hpp"
#include "connectors/registry.hpp"
#include "runtime/errors.hpp"
#include "runtime/log.hpp"
#include "runtime/paths.hpp"

namespace sluice {

namespace fs = std::filesystem;

namespace {

std::string utc_now() {
  auto t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y%m%dT%H%M%S", &tm);
  return buf;
}

/// The counter of a file named `PREFIX.NNNNNNNN.*`, or 0.
uint64_t counter_of(const std::string& name, const std::string& prefix) {
  if (name.size() <= prefix.size() + 1 ||
      name.compare(0, prefix.size(), prefix) || name[prefix.size()] != '.')
    return 0;
  uint64_t n = 0;
  for (size_t i = prefix.size() + 1; i < name.size() && isdigit(name[i]); ++i)
    n = n * 10 + static_cast<uint64_t>(name[i] - '0');
  return n;
}

} // namespace

file_sink::~file_sink() {
  if (fd_ >= 0)
    ::close(fd_);
}

caf::error file_sink::open() {
  // A path in the way or a directory we may not write is permanent at the
  // first start; after a restart the run has worked before, so it retries.
  if (auto bad = prepare_directory(cfg_.directory)) {
    auto err = make_error(connector_errc::io_error, bad->text);
    return cfg_.restarted ? err : classify_errno(std::move(err), bad->code);
  }
  std::error_code ec;
  for (auto& e : fs::directory_iterator{cfg_.directory, ec})
    counter_ = std::max(counter_,
                        counter_of(e.path().filename().string(), cfg_.prefix));
  if (ec)
    return make_error(connector_errc::io_error, "cannot list " +
                                                    cfg_.directory.string() +
                                                    ": " + ec.message());
  return open_next(!cfg_.restarted);
}

caf::error file_sink::open_next(bool first_start) {
  path_ = cfg_.directory / fmt::format("{}.{:08d}.{}{}", cfg_.prefix,
                                       ++counter_, utc_now(), cfg_.suffix);
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd_ < 0) {
    auto code = errno;
    auto err =
        make_error(connector_errc::io_error,
                   "cannot open " + path_.string() + ": " + errno_text(code));
    // Only the first start may end the run; a roll or reopen retries.
    return first_start ? classify_errno(std::move(err), code) : err;
  }
  file_bytes_ = 0;
  opened_at_ = std::chrono::steady_clock::now();
  return {};
}

caf::error file_sink::roll() {
  if (auto err = flush())
    return err;
  ::close(fd_);
  fd_ = -1;
  return open_next();
}

size_t file_sink::fitting_end(size_t pos) const {
  auto n = buf_.size();
  if (cfg_.roll_size <= 0 ||
      static_cast<int64_t>(n - pos) <= cfg_.roll_size - file_bytes_)
    return n;
  const char* start = buf_.data() + pos;
  auto room =
      static_cast<size_t>(std::max<int64_t>(0, cfg_.roll_size - file_bytes_));
  if (room > 0)
    if (auto* cut = static_cast<const char*>(::memrchr(start, '\n', room)))
      return static_cast<size_t>(cut - buf_.data()) + 1;
  if (file_bytes_ > 0)
    return pos; // nothing more fits: roll first
  // A line longer than roll_size gets a file of its own.
  auto* nl = static_cast<const char*>(std::memchr(start, '\n', n - pos));
  return nl ? static_cast<size_t>(nl - buf_.data()) + 1 : n;
}

caf::error file_sink::write(const event_batch& batch) {
  if (fd_ < 0)
    return make_error(connector_errc::io_error, "file sink is closed");
  buf_.clear();
  format_lines(batch, cfg_.headers, buf_);
  // A batch may span files (see `fitting_end`).
  size_t pos = 0;
  while (pos < buf_.size()) {
    auto end = fitting_end(pos);
    if (end == pos) {
      if (auto err = roll())
        return err;
      continue;
    }
    if (auto err =
            write_fully(fd_, buf_.data() + pos, end - pos, path_.string()))
      return err;
    file_bytes_ += static_cast<int64_t>(end - pos);
    dirty_ = true;
    pos = end;
    if (cfg_.roll_size > 0 && file_bytes_ >= cfg_.roll_size)
      if (auto err = roll())
        return err;
  }
  return {};
}

caf::error file_sink::flush() {
  if (!dirty_ || fd_ < 0)
    return {};
  if (cfg_.sync && ::fdatasync(fd_) != 0)
    return make_error(connector_errc::io_error, "cannot sync " +
                                                    path_.string() + ": " +
                                                    errno_text(errno));
  dirty_ = false;
  return {};
}

caf::error file_sink::tick() {
  if (fd_ < 0 || cfg_.roll_interval_ms <= 0 || file_bytes_ == 0)
    return {};
  auto age = std::chrono::steady_clock::now() - opened_at_;
  if (age >= std::chrono::milliseconds{cfg_.roll_interval_ms})
    return roll();
  return {};
}

void file_sink::close() {
  if (fd_ < 0)
    return;
  if (auto err = flush())
    log().error("file sink: {}", describe(err));
  ::close(fd_);
  fd_ = -1;
  // An empty last file carries nothing; do not leave it behind.
  if (file_bytes_ == 0) {
    std::error_code ec;
    fs::remove(path_, ec);
  }
}

sink_type file_sink_type() {
  sink_type t;
  t.name = "file";
  t.help = "appends events as lines to rolling files in a directory";
  t.options = {
      {"directory", option_type::string, "directory of the files", true},
      {"prefix", option_type::string, "file name prefix", false,
       option_value{std::string{"events"}}},
      {"suffix", option_type::string, "file name suffix", false,
       option_value{std::string{".log"}}},
      {"roll_size", option_type::bytes, "start a new file past this size",
       false, option_value{int64_t{128} << 20}, 0},
      {"roll_interval", option_type::duration,
       "start a new file after this long", false, option_value{int64_t{0}}, 0},
      {"sync",
       option_type::string,
       "\"batch\": fdatasync before each commit",
       false,
       option_value{std::string{"batch"}},
       std::nullopt,
       std::nullopt,
       {"batch", "none"}},
      {"headers", option_type::boolean, "prefix each line with its headers",
       false, option_value{false}},
  };
  t.make = [](const connector_context& ctx,
              const options& opts) -> caf::expected<sink_connector_ptr> {
    file_sink_config cfg;
    cfg.directory = opts.get_string("directory");
    cfg.prefix = opts.get_string("prefix");
    cfg.suffix = opts.get_string("suffix");
    if (!cfg.suffix.empty() && cfg.suffix.front() != '.')
      cfg.suffix.insert(cfg.suffix.begin(), '.');
    cfg.roll_size = opts.get_int("roll_size");
    cfg.roll_interval_ms = opts.get_int("roll_interval");
    cfg.sync = opts.get_string("sync") == "batch";
    cfg.headers = opts.get_bool("headers");
    // The metrics outlive the sink's restarts, and count them.
    cfg.restarted = ctx.metrics &&
                    ctx.metrics->restarts.load(std::memory_order_relaxed) > 0;
    return sink_connector_ptr{std::make_unique<file_sink>(std::move(cfg))};
  };
  return t;
}

} // namespace sluice
