#include "connectors/taildir.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <glob.h>
#include <sys/stat.h>
#include <unistd.h>

#include "connectors/registry.hpp"
#include "runtime/errors.hpp"
#include "runtime/log.hpp"

namespace sluice {

namespace fs = std::filesystem;

namespace {

/// Most bytes one poll reads, so skipping a huge line cannot block it.
constexpr int64_t poll_byte_budget = int64_t{16} << 20;

/// A file gone from the globs is dropped after this many scans found it at
/// its end, and no sooner than `retire_idle` after the first: its writer
/// may still append to it for a moment after a rotation by rename.
constexpr int retire_after_scans = 2;
constexpr auto retire_idle = std::chrono::seconds{1};

std::vector<std::string> glob_paths(const std::string& pattern) {
  std::vector<std::string> result;
  glob_t g{};
  if (::glob(pattern.c_str(), 0, nullptr, &g) == 0)
    for (size_t i = 0; i < g.gl_pathc; ++i)
      result.emplace_back(g.gl_pathv[i]);
  ::globfree(&g);
  return result;
}

} // namespace

taildir_source::taildir_source(taildir_config cfg, connector_context ctx)
    : cfg_(std::move(cfg)), ctx_(std::move(ctx)) {}

taildir_source::~taildir_source() {
  // Like a crash: the position file keeps what was committed last.
  release_files();
}

void taildir_source::release_files() noexcept {
  for (auto& f : st_.files)
    if (f.fd >= 0)
      ::close(f.fd);
  st_.files.clear();
  st_.open_files = 0;
}

caf::error taildir_source::resume(const std::string& token) {
  uint64_t serial = 0;
  auto positions = decode_positions(token, &serial);
  if (!positions)
    return std::move(positions.error());
  resume_from_ = std::pair{serial, std::move(*positions)};
  return {};
}

std::string taildir_source::progress() const {
  // Called right after `seal`: the newest snapshot is the batch's.
  if (!st_.sealed.empty() && st_.sealed.back().serial == st_.serial)
    return encode_positions(st_.sealed.back().positions, st_.serial);
  return encode_positions(positions(), st_.serial);
}

caf::error taildir_source::open() {
  if (st_.opened)
    return {};
  st_ = taildir_state{};
  st_.max_open = taildir_open_cap(cfg_.max_open_files);
  if (st_.max_open < static_cast<size_t>(cfg_.max_open_files))
    log().info("source {}: keeping at most {} files open (max_open_files is "
               "{}, but half the descriptor limit is less)",
               ctx_.name, st_.max_open, cfg_.max_open_files);
  buf_.resize(static_cast<size_t>(cfg_.read_buffer));
  auto parent = fs::path{cfg_.position_file}.parent_path();
  std::error_code ec;
  if (!parent.empty())
    fs::create_directories(parent, ec);
  if (ec)
    return make_error(connector_errc::io_error,
                      "cannot create the directory of position file " +
                          cfg_.position_file + ": " + ec.message());
  // The position file is read even when the channel's progress is used:
  // damage is still reported, and a removed file means "start over". Of
  // the two, the newer (higher serial) wins: the channel's is newer when
  // the source died before it saw the channel's ack; the file's is newer
  // when the last polls' lines were all dropped by interceptors (nothing
  // reached the channel).
  bool had_file = fs::exists(cfg_.position_file, ec);
  uint64_t file_serial = 0;
  auto restored = read_position_file(cfg_.position_file, &file_serial);
  if (!restored)
    return std::move(restored.error());
  st_.restored = std::move(*restored);
  st_.serial = file_serial;
  // Only a first run (no position file: never run, or removed to start
  // over) applies skip_to_end; after that, a file not in the positions
  // appeared while sluice was down and is read from its start.
  st_.fresh_start = !had_file;
  if (resume_from_ && !had_file) {
    log().info("source {}: position file {} is gone: starting over, not "
               "from the positions its channel holds",
               ctx_.name, cfg_.position_file);
  } else if (resume_from_ && resume_from_->first > file_serial) {
    st_.restored = std::move(resume_from_->second);
    st_.serial = resume_from_->first;
    log().info("source {}: resuming from the positions its channel holds",
               ctx_.name);
  }
  if (resume_from_)
    st_.serial = std::max(st_.serial, resume_from_->first);
  resume_from_.reset();
  scan();
  place_restored(true);
  // Nothing was handed out yet: the starting positions are committed.
  st_.committed = positions();
  st_.committed_serial = st_.serial;
  // Durably: a position file lost to a power cut would mean a start over.
  if (auto err = write_position_file(cfg_.position_file, st_.committed,
                                     st_.committed_serial, true)) {
    release_files();
    return err;
  }
  st_.opened = true;
  return {};
}

void taildir_source::scan() {
  st_.last_scan = std::chrono::steady_clock::now();
  for (auto& f : st_.files)
    f.matched = false;
  for (auto& [group, pattern] : cfg_.filegroups)
    for (auto& path : glob_paths(pattern))
      track(path, group, !st_.scanned);
  st_.scanned = true;
  check_closed();
}

void taildir_source::track(const std::string& path, const std::string& group,
                           bool first) {
  auto known = [this](uint64_t dev, uint64_t ino) {
    return std::find_if(st_.files.begin(), st_.files.end(), [&](auto& f) {
      return f.dev == dev && f.inode == ino;
    });
  };
  auto mark_matched = [&](taildir_file& f) {
    f.matched = true;
    f.idle_scans = 0;
    if (f.path != path) {
      log().info("source {}: {} (inode {}) is now {}", ctx_.name, f.path,
                 f.inode, path);
      f.path = path;
    }
  };
  struct stat sb;
  if (::stat(path.c_str(), &sb) != 0 || !S_ISREG(sb.st_mode))
    return;
  if (auto i = known(sb.st_dev, sb.st_ino); i != st_.files.end()) {
    mark_matched(*i);
    return;
  }
  // Opened by the next poll (under the cap), which checks it is this file.
  taildir_file f;
  f.dev = static_cast<uint64_t>(sb.st_dev);
  f.inode = static_cast<uint64_t>(sb.st_ino);
  f.path = path;
  f.group = group;
  auto r = std::find_if(st_.restored.begin(), st_.restored.end(), [&](auto& p) {
    return p.inode == f.inode && (p.dev == 0 || p.dev == f.dev);
  });
  if (r != st_.restored.end()) {
    f.pos = r->pos;
    f.skipping = r->skipping;
    f.fingerprint = r->fingerprint;
    f.fp_len = r->fp_len;
    if (f.pos > sb.st_size) {
      log().warn("source {}: {} is shorter than its saved position {}; "
                 "reading it from the start",
                 ctx_.name, path, f.pos);
      f.pos = 0;
      f.skipping = false;
      f.fp_len = 0;
    }
    st_.restored.erase(r);
  } else if (first && cfg_.skip_to_end && st_.fresh_start) {
    f.pos = sb.st_size;
  }
  // Files appearing while running start at 0: they are new (a rotation).
  log().info("source {}: following {} (inode {}) from byte {}", ctx_.name, path,
             f.inode, f.pos);
  st_.files.push_back(std::move(f));
}

void taildir_source::emit(taildir_file& f, batch_builder& out,
                          std::string_view line) {
  if (!line.empty() && line.back() == '\r')
    line.remove_suffix(1);
  if (auto max_len = static_cast<size_t>(cfg_.max_line_length);
      line.size() > max_len) {
    note_cut(f);
    line = line.substr(0, max_len);
  }
  if (cfg_.file_header && cfg_.group_header)
    out.append(line, {{cfg_.file_header_key, f.path}, {"filegroup", f.group}});
  else if (cfg_.file_header)
    out.append(line, cfg_.file_header_key, f.path);
  else if (cfg_.group_header)
    out.append(line, "filegroup", f.group);
  else
    out.append(line);
}

void taildir_source::note_cut(taildir_file& f) {
  ctx_.metrics->errors.fetch_add(1, std::memory_order_relaxed);
  if (!f.warned_long) {
    f.warned_long = true;
    log().warn("source {}: {} has a line longer than max_line_length ({} "
               "bytes); cutting it (further cuts in this file are only "
               "counted)",
               ctx_.name, f.path, cfg_.max_line_length);
  }
}

size_t taildir_source::read_file(taildir_file& f, batch_builder& out,
                                 size_t max_events, int64_t& byte_budget) {
  size_t tried = 0;
  struct stat sb;
  if (::fstat(f.fd, &sb) != 0) {
    ctx_.metrics->errors.fetch_add(1, std::memory_order_relaxed);
    log().error("source {}: cannot stat {}: {}", ctx_.name, f.path,
                std::strerror(errno));
    return 0;
  }
  // Changed since the last look: grown, or rewritten (maybe to its size).
  auto mtime = static_cast<int64_t>(sb.st_mtim.tv_sec) * 1'000'000'000 +
               sb.st_mtim.tv_nsec;
  bool changed = sb.st_size != f.eof_at || mtime != f.seen_mtime_ns;
  f.seen_mtime_ns = mtime;
  if (sb.st_size < f.pos) {
    log().warn("source {}: {} was truncated (copy-truncate rotation?) from "
               "{} to {} bytes; reading it again from the start",
               ctx_.name, f.path, f.pos, sb.st_size);
    f.pos = 0;
    f.skipping = false;
    f.eof_at = -1;
    f.fp_len = 0;
  } else if (changed && !check_fingerprint(f, sb.st_size)) {
    log().warn("source {}: the first bytes of {} (inode {}) changed: it is "
               "another file (rewritten, or a new file reusing the inode); "
               "reading it from the start, not from byte {}",
               ctx_.name, f.path, f.inode, f.pos);
    f.pos = 0;
    f.skipping = false;
    f.eof_at = -1;
    f.fp_len = 0;
    check_fingerprint(f, sb.st_size);
  }
  if (sb.st_size == f.pos || sb.st_size == f.eof_at) {
    f.eof_at = sb.st_size;
    return 0; // nothing new
  }
  auto max_len = static_cast<size_t>(cfg_.max_line_length);
  while (tried < max_events && byte_budget > 0) {
    auto n = ::pread(f.fd, buf_.data(), buf_.size(), f.pos);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      ctx_.metrics->errors.fetch_add(1, std::memory_order_relaxed);
      log().error("source {}: cannot read {}: {}", ctx_.name, f.path,
                  std::strerror(errno));
      break;
    }
    if (n == 0) {
      f.eof_at = f.pos;
      break;
    }
    byte_budget -= n;
    auto size = static_cast<size_t>(n);
    std::string_view data{buf_.data(), size};
    size_t used = 0; // bytes up to the last newline handled
    while (tried < max_events) {
      auto nl = data.find('\n', used);
      if (nl == std::string_view::npos)
        break;
      if (f.skipping) {
        f.skipping = false; // the end of a line already cut
      } else {
        emit(f, out, data.substr(used, nl - used));
        ++tried;
      }
      used = nl + 1;
    }
    if (tried >= max_events) {
      f.pos += static_cast<int64_t>(used);
      break;
    }
    // What follows the last newline starts a line not complete yet.
    auto rest = size - used;
    size_t pending = 0;
    if (f.skipping) {
      f.pos += n;
    } else if (rest > max_len + 1) {
      // Surely too long (even with a '\r'): cut it now, skip the rest.
      note_cut(f);
      emit(f, out, data.substr(used, max_len));
      ++tried;
      f.skipping = true;
      f.pos += n;
    } else if (used == 0 && size == buf_.size()) {
      // One line longer than the buffer: grow it once to hold a whole line.
      buf_.resize(max_len + 2);
      continue;
    } else {
      f.pos += static_cast<int64_t>(used);
      pending = rest;
    }
    if (size < buf_.size()) {
      f.eof_at = f.pos + static_cast<int64_t>(pending);
      break;
    }
  }
  return tried;
}

size_t taildir_source::retire(batch_builder& out, size_t max_events) {
  size_t tried = 0;
  for (size_t i = st_.files.size(); i > 0 && tried < max_events; --i) {
    auto& f = st_.files[i - 1];
    if (f.gone) {
      // Deleted while closed: what it held past its position is lost.
      if (f.fd >= 0)
        close_file(f);
      st_.files.erase(st_.files.begin() + static_cast<ptrdiff_t>(i - 1));
      if (st_.next_file >= i)
        --st_.next_file;
      continue;
    }
    if (f.matched)
      continue;
    struct stat sb;
    bool at_end = f.fd >= 0 ? ::fstat(f.fd, &sb) == 0 && sb.st_size == f.eof_at
                            : !f.wanted && f.closed_size == f.eof_at;
    if (!at_end) {
      f.idle_scans = 0; // still growing, or not read to its end yet
      continue;
    }
    auto now = std::chrono::steady_clock::now();
    if (f.idle_scans++ == 0)
      f.idle_since = now;
    if (f.idle_scans < retire_after_scans || now - f.idle_since < retire_idle)
      continue;
    auto end = f.eof_at; // opening a closed file forgets it
    if (end > f.pos && !f.skipping && ensure_open(f)) {
      // Its writer is gone: hand out the last line even without newline.
      auto len = std::min(static_cast<size_t>(end - f.pos), buf_.size());
      auto n = ::pread(f.fd, buf_.data(), len, f.pos);
      if (n > 0) {
        emit(f, out, {buf_.data(), static_cast<size_t>(n)});
        ++tried;
        f.pos += n;
      }
    }
    log().info("source {}: done with {} (inode {}) at byte {}", ctx_.name,
               f.path, f.inode, f.pos);
    close_file(f);
    st_.files.erase(st_.files.begin() + static_cast<ptrdiff_t>(i - 1));
    if (st_.next_file >= i)
      --st_.next_file;
  }
  return tried;
}

caf::expected<poll_status> taildir_source::poll(batch_builder& out,
                                                size_t max_events) {
  if (!st_.opened)
    return make_error(connector_errc::io_error,
                      "taildir source " + ctx_.name + " polled before open");
  size_t tried = 0;
  auto now = std::chrono::steady_clock::now();
  if (now - st_.last_scan >= std::chrono::milliseconds{cfg_.scan_interval_ms}) {
    scan();
    place_restored(false);
    tried += retire(out, max_events);
  }
  auto budget = std::max(poll_byte_budget, static_cast<int64_t>(buf_.size()));
  auto n = st_.files.size();
  for (size_t k = 0; k < n && tried < max_events && budget > 0; ++k) {
    auto& f = st_.files[(st_.next_file + k) % n];
    if (f.fd < 0 && (!f.wanted || f.open_failed || f.gone || !ensure_open(f)))
      continue;
    auto got = read_file(f, out, max_events - tried, budget);
    if (got > 0)
      f.last_active = ++st_.tick;
    tried += got;
  }
  if (n > 0)
    st_.next_file = (st_.next_file + 1) % n;
  return tried >= max_events || budget <= 0 ? poll_status::more
                                            : poll_status::idle;
}

std::vector<file_position> taildir_source::positions() const {
  std::vector<file_position> result;
  result.reserve(st_.files.size() + st_.restored.size());
  for (auto& f : st_.files)
    if (!f.gone)
      result.push_back({f.dev, f.inode, f.pos, f.path, f.group, f.skipping,
                        f.fingerprint, f.fp_len});
  // Positions not placed yet (their directory cannot be read) are kept.
  result.insert(result.end(), st_.restored.begin(), st_.restored.end());
  return result;
}

void taildir_source::seal(uint64_t seq) {
  st_.sealed.push_back({seq, ++st_.serial, positions()});
}

caf::error taildir_source::commit(uint64_t seq) {
  auto last = std::find_if(st_.sealed.rbegin(), st_.sealed.rend(),
                           [seq](auto& s) { return s.seq <= seq; });
  if (last == st_.sealed.rend())
    return {}; // committed already
  st_.committed = std::move(last->positions);
  st_.committed_serial = last->serial;
  st_.sealed.erase(st_.sealed.begin(), last.base());
  return write_position_file(cfg_.position_file, st_.committed,
                             st_.committed_serial);
}

void taildir_source::close() {
  if (!st_.opened)
    return;
  st_.opened = false;
  if (auto err = write_position_file(cfg_.position_file, st_.committed,
                                     st_.committed_serial))
    log().error("source {}: {}", ctx_.name, describe(err));
  release_files();
  st_.sealed.clear();
}

source_type taildir_source_type() {
  source_type t;
  t.name = "taildir";
  t.help = "follows the files matching globs by inode and fingerprint, "
           "through rotations, and emits their lines; committed positions "
           "are kept in a JSON position file";
  t.options = {
      {"filegroups", option_type::string_map,
       "group name -> glob pattern of files to follow", true},
      {"position_file", option_type::string,
       "JSON file of committed positions by inode and fingerprint", true},
      {"file_header", option_type::boolean, "add the file path as a header",
       false, option_value{false}},
      {"file_header_key", option_type::string, "header name of the file path",
       false, option_value{std::string{"file"}}},
      {"group_header", option_type::boolean,
       "add the header 'filegroup' with the group name", false,
       option_value{false}},
      {"max_line_length", option_type::bytes,
       "longer lines are cut there (counted as errors)", false,
       option_value{int64_t{1} << 20}, 16, int64_t{64} << 20},
      {"scan_interval", option_type::duration,
       "how often the globs are read again for new and rotated files", false,
       option_value{int64_t{1000}}, 10},
      {"skip_to_end", option_type::boolean,
       "files never seen before start at their end", false,
       option_value{false}},
      {"read_buffer", option_type::bytes, "size of each read", false,
       option_value{int64_t{64} << 10}, 4096, int64_t{64} << 20},
      {"max_open_files", option_type::integer,
       "most files kept open at once (at most half the descriptor limit); "
       "idle ones are closed and reopened by position when they grow",
       false, option_value{int64_t{256}}, 1, int64_t{1} << 20},
  };
  t.make = [](const connector_context& ctx,
              const options& opts) -> caf::expected<source_connector_ptr> {
    taildir_config cfg;
    cfg.filegroups = opts.get_map("filegroups");
    cfg.position_file = opts.get_string("position_file");
    cfg.file_header = opts.get_bool("file_header");
    cfg.file_header_key = opts.get_string("file_header_key");
    cfg.group_header = opts.get_bool("group_header");
    cfg.max_line_length = opts.get_int("max_line_length");
    cfg.scan_interval_ms = opts.get_int("scan_interval");
    cfg.skip_to_end = opts.get_bool("skip_to_end");
    cfg.read_buffer = opts.get_int("read_buffer");
    cfg.max_open_files = opts.get_int("max_open_files");
    if (cfg.filegroups.empty())
      return make_error(config_errc::invalid,
                        "taildir needs at least one file group");
    if (cfg.position_file.empty())
      return make_error(config_errc::invalid,
                        "taildir needs a position_file path");
    return source_connector_ptr{
        std::make_unique<taildir_source>(std::move(cfg), ctx)};
  };
  return t;
}

} // namespace sluice
