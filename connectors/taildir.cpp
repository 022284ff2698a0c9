#include "connectors/taildir.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <glob.h>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "connectors/registry.hpp"
#include "runtime/errors.hpp"
#include "runtime/log.hpp"

namespace sluice {

namespace fs = std::filesystem;

namespace {

std::vector<std::string> glob_paths(const std::string& pattern) {
  std::vector<std::string> result;
  glob_t g{};
  if (::glob(pattern.c_str(), GLOB_NOSORT, nullptr, &g) == 0)
    for (size_t i = 0; i < g.gl_pathc; ++i)
      result.emplace_back(g.gl_pathv[i]);
  ::globfree(&g);
  std::sort(result.begin(), result.end());
  return result;
}

} // namespace

taildir_source::taildir_source(taildir_config cfg, connector_context ctx)
    : cfg_(std::move(cfg)), ctx_(std::move(ctx)),
      buf_(static_cast<size_t>(cfg_.read_buffer)) {}

taildir_source::~taildir_source() {
  for (auto& f : st_.files)
    if (f.fd >= 0)
      ::close(f.fd);
}

caf::error taildir_source::load_positions() {
  std::ifstream in{cfg_.position_file};
  if (!in)
    return {}; // first run
  std::stringstream ss;
  ss << in.rdbuf();
  auto text = ss.str();
  if (text.empty())
    return {};
  auto fail = [&](const std::string& why) {
    return make_error(connector_errc::bad_input,
                      "position file " + cfg_.position_file + ": " + why +
                          " (fix or remove it to start over)");
  };
  try {
    auto doc = nlohmann::json::parse(text);
    if (!doc.is_array())
      return fail("expected a JSON array of {inode, pos, file} objects");
    for (auto& e : doc) {
      if (!e.is_object() || !e.contains("inode") || !e.contains("pos"))
        return fail("an entry lacks 'inode' or 'pos': " + e.dump());
      file_position p;
      p.inode = e.at("inode").get<uint64_t>();
      p.dev = e.value("dev", uint64_t{0});
      p.pos = e.at("pos").get<int64_t>();
      p.path = e.value("file", std::string{});
      if (p.pos < 0)
        return fail("negative position in " + e.dump());
      st_.restored[{p.dev, p.inode}] = p;
      st_.committed.push_back(p);
    }
  } catch (const nlohmann::json::exception& e) {
    return fail(e.what());
  }
  return {};
}

caf::error
taildir_source::save_positions(const std::vector<file_position>& positions) {
  auto doc = nlohmann::json::array();
  for (auto& p : positions)
    doc.push_back(
        {{"inode", p.inode}, {"dev", p.dev}, {"pos", p.pos}, {"file", p.path}});
  auto tmp = cfg_.position_file + ".tmp";
  {
    std::ofstream out{tmp, std::ios::trunc};
    out << doc.dump() << '\n';
    out.flush();
    if (!out)
      return make_error(connector_errc::io_error,
                        "cannot write position file " + tmp);
  }
  if (::rename(tmp.c_str(), cfg_.position_file.c_str()) != 0)
    return make_error(connector_errc::io_error,
                      "cannot replace position file " + cfg_.position_file +
                          ": " + std::strerror(errno));
  return {};
}

caf::error taildir_source::open() {
  std::error_code ec;
  auto parent = fs::path{cfg_.position_file}.parent_path();
  if (!parent.empty())
    fs::create_directories(parent, ec);
  if (ec)
    return make_error(connector_errc::io_error,
                      "cannot create " + parent.string() + ": " + ec.message());
  if (auto err = load_positions())
    return err;
  scan();
  return {};
}

void taildir_source::scan() {
  st_.last_scan = std::chrono::steady_clock::now();
  for (auto& f : st_.files)
    f.matched = false;
  for (auto& [group, pattern] : cfg_.filegroups) {
    for (auto& path : glob_paths(pattern)) {
      struct stat sb;
      if (::stat(path.c_str(), &sb) != 0 || !S_ISREG(sb.st_mode))
        continue;
      auto dev = static_cast<uint64_t>(sb.st_dev);
      auto ino = static_cast<uint64_t>(sb.st_ino);
      auto known =
          std::find_if(st_.files.begin(), st_.files.end(),
                       [&](auto& f) { return f.dev == dev && f.inode == ino; });
      if (known != st_.files.end()) {
        struct stat fsb;
        // A deleted file's inode number may come back for a new file.
        if (::fstat(known->fd, &fsb) == 0 && fsb.st_nlink > 0) {
          known->matched = true;
          known->idle_scans = 0;
          known->path = path;
          continue;
        }
      }
      int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) {
        log().warn("source {}: cannot open {}: {}", ctx_.name, path,
                   std::strerror(errno));
        continue;
      }
      tracked_file f;
      f.dev = dev;
      f.inode = ino;
      f.path = path;
      f.group = group;
      f.fd = fd;
      if (auto i = st_.restored.find({dev, ino}); i != st_.restored.end()) {
        f.pos = i->second.pos;
        if (f.pos > sb.st_size) {
          log().warn("source {}: {} is shorter than its saved position; "
                     "reading it from the start",
                     ctx_.name, path);
          f.pos = 0;
        }
        st_.restored.erase(i);
      } else if (cfg_.skip_to_end && st_.scanned) {
        f.pos = 0; // appeared while we run: read it all
      } else if (cfg_.skip_to_end) {
        f.pos = sb.st_size;
      }
      log().info("source {}: following {} (inode {}) from byte {}", ctx_.name,
                 path, ino, f.pos);
      st_.files.push_back(std::move(f));
    }
  }
  if (!st_.scanned)
    find_rotated_away();
  st_.scanned = true;
}

void taildir_source::find_rotated_away() {
  // A file rotated away while sluice was down no longer matches its glob;
  // look for its inode next to where it was, so its unread tail is read.
  for (auto i = st_.restored.begin(); i != st_.restored.end();) {
    auto& p = i->second;
    auto dir = fs::path{p.path}.parent_path();
    std::error_code ec;
    bool found = false;
    for (auto& e : fs::directory_iterator{dir, ec}) {
      struct stat sb;
      if (::stat(e.path().c_str(), &sb) != 0 || !S_ISREG(sb.st_mode) ||
          static_cast<uint64_t>(sb.st_ino) != p.inode ||
          static_cast<uint64_t>(sb.st_dev) != p.dev)
        continue;
      found = true;
      if (sb.st_size <= p.pos)
        break;
      int fd = ::open(e.path().c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0)
        break;
      tracked_file f;
      f.dev = p.dev;
      f.inode = p.inode;
      f.path = e.path().string();
      f.fd = fd;
      f.pos = p.pos;
      f.matched = false;
      log().info("source {}: {} was rotated to {} while stopped; reading its "
                 "last {} byte(s)",
                 ctx_.name, p.path, f.path, sb.st_size - p.pos);
      st_.files.push_back(std::move(f));
      break;
    }
    i = found ? st_.restored.erase(i) : std::next(i);
  }
}

bool taildir_source::emit(tracked_file& f, batch_builder& out,
                          std::string_view line) {
  if (!line.empty() && line.back() == '\r')
    line.remove_suffix(1);
  if (cfg_.file_header && cfg_.group_header)
    out.append(line, {{cfg_.file_header_key, f.path}, {"filegroup", f.group}});
  else if (cfg_.file_header)
    out.append(line, cfg_.file_header_key, f.path);
  else if (cfg_.group_header)
    out.append(line, "filegroup", f.group);
  else
    out.append(line);
  return true;
}

size_t taildir_source::read_file(tracked_file& f, batch_builder& out,
                                 size_t max_events, bool& at_end) {
  size_t emitted = 0;
  at_end = false;
  auto max_len = static_cast<size_t>(cfg_.max_line_length);
  struct stat sb;
  if (::fstat(f.fd, &sb) == 0 &&
      sb.st_size < f.pos + static_cast<int64_t>(f.carry.size())) {
    log().warn("source {}: {} was truncated (copy-truncate rotation?); "
               "reading it again from the start",
               ctx_.name, f.path);
    f.pos = 0;
    f.carry.clear();
    f.skipping = false;
  }
  while (emitted < max_events) {
    auto offset = f.pos + static_cast<int64_t>(f.carry.size());
    auto n = ::pread(f.fd, buf_.data(), buf_.size(), offset);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      if (n < 0) {
        ctx_.metrics->errors.fetch_add(1, std::memory_order_relaxed);
        log().error("source {}: cannot read {}: {}", ctx_.name, f.path,
                    std::strerror(errno));
      }
      at_end = true;
      break;
    }
    std::string_view data{buf_.data(), static_cast<size_t>(n)};
    while (!data.empty() && emitted < max_events) {
      auto nl = data.find('\n');
      if (f.skipping) {
        auto skip = nl == std::string_view::npos ? data.size() : nl + 1;
        f.pos += static_cast<int64_t>(skip);
        data.remove_prefix(skip);
        if (nl != std::string_view::npos)
          f.skipping = false;
        continue;
      }
      if (nl == std::string_view::npos) {
        f.carry.append(data);
        data = {};
        if (f.carry.size() >= max_len) {
          if (!f.warned_long) {
            log().warn("source {}: a line of {} is longer than "
                       "max_line_length {}; cutting it",
                       ctx_.name, f.path, max_len);
            f.warned_long = true;
          }
          ctx_.metrics->errors.fetch_add(1, std::memory_order_relaxed);
          emit(f, out, std::string_view{f.carry}.substr(0, max_len));
          ++emitted;
          f.pos += static_cast<int64_t>(f.carry.size());
          f.carry.clear();
          f.skipping = true;
        }
        break;
      }
      auto piece = data.substr(0, nl);
      if (!f.carry.empty()) {
        f.carry.append(piece);
        auto consumed = f.carry.size() + 1;
        if (f.carry.size() > max_len) {
          ctx_.metrics->errors.fetch_add(1, std::memory_order_relaxed);
          f.carry.resize(max_len);
        }
        emit(f, out, f.carry);
        f.pos += static_cast<int64_t>(consumed);
        f.carry.clear();
      } else {
        if (piece.size() > max_len) {
          ctx_.metrics->errors.fetch_add(1, std::memory_order_relaxed);
          emit(f, out, piece.substr(0, max_len));
        } else {
          emit(f, out, piece);
        }
        f.pos += static_cast<int64_t>(nl + 1);
      }
      ++emitted;
      data.remove_prefix(nl + 1);
    }
    if (static_cast<size_t>(n) < buf_.size() && data.empty() &&
        emitted < max_events) {
      at_end = true;
      break;
    }
  }
  return emitted;
}

void taildir_source::drop(size_t index, batch_builder& out) {
  auto& f = st_.files[index];
  if (!f.carry.empty() && !f.skipping) {
    // The last line of a rotated file may lack its newline.
    emit(f, out, f.carry);
    f.pos += static_cast<int64_t>(f.carry.size());
  }
  log().info("source {}: done with {} (inode {}) at byte {}", ctx_.name, f.path,
             f.inode, f.pos);
  ::close(f.fd);
  st_.files.erase(st_.files.begin() + static_cast<ptrdiff_t>(index));
}

caf::expected<poll_status> taildir_source::poll(batch_builder& out,
                                                size_t max_events) {
  auto now = std::chrono::steady_clock::now();
  bool rescan =
      now - st_.last_scan >= std::chrono::milliseconds{cfg_.scan_interval_ms};
  if (rescan) {
    scan();
    // Files gone from the globs and idle at their end for two scans are
    // done.
    for (size_t i = st_.files.size(); i > 0; --i) {
      auto& f = st_.files[i - 1];
      if (f.matched)
        continue;
      struct stat sb;
      bool at_end = ::fstat(f.fd, &sb) == 0 &&
                    sb.st_size <= f.pos + static_cast<int64_t>(f.carry.size());
      if (at_end && ++f.idle_scans >= 2)
        drop(i - 1, out);
    }
  }
  size_t emitted = 0;
  bool all_at_end = true;
  auto n = st_.files.size();
  for (size_t k = 0; k < n && emitted < max_events; ++k) {
    auto i = (st_.next_file + k) % n;
    bool at_end = false;
    emitted += read_file(st_.files[i], out, max_events - emitted, at_end);
    all_at_end = all_at_end && at_end;
  }
  if (n > 0)
    st_.next_file = (st_.next_file + 1) % n;
  if (emitted >= max_events || !all_at_end)
    return poll_status::more;
  return poll_status::idle;
}

void taildir_source::seal(uint64_t seq) {
  std::vector<file_position> snapshot;
  snapshot.reserve(st_.files.size() + st_.restored.size());
  for (auto& f : st_.files)
    snapshot.push_back({f.dev, f.inode, f.pos, f.path});
  // Keep positions of files not found yet (their directory may come back).
  for (auto& [_, p] : st_.restored)
    snapshot.push_back(p);
  st_.sealed.emplace_back(seq, std::move(snapshot));
}

caf::error taildir_source::commit(uint64_t seq) {
  std::vector<file_position>* latest = nullptr;
  while (!st_.sealed.empty() && st_.sealed.front().first <= seq) {
    st_.committed = std::move(st_.sealed.front().second);
    st_.sealed.pop_front();
    latest = &st_.committed;
  }
  if (!latest)
    return {};
  return save_positions(st_.committed);
}

void taildir_source::close() {
  for (auto& f : st_.files) {
    if (f.fd >= 0)
      ::close(f.fd);
    f.fd = -1;
  }
  st_.files.clear();
}

source_type taildir_source_type() {
  source_type t;
  t.name = "taildir";
  t.help = "follows files matching globs by inode, with a position file";
  t.options = {
      {"filegroups", option_type::string_map, "group name -> glob pattern",
       true},
      {"position_file", option_type::string, "JSON file of committed positions",
       true},
      {"file_header", option_type::boolean, "add the file path as a header",
       false, option_value{false}},
      {"file_header_key", option_type::string, "header name of the file path",
       false, option_value{std::string{"file"}}},
      {"group_header", option_type::boolean, "add the header 'filegroup'",
       false, option_value{false}},
      {"max_line_length", option_type::bytes, "longer lines are cut", false,
       option_value{int64_t{1} << 20}, 16},
      {"scan_interval", option_type::duration, "how often globs are re-read",
       false, option_value{int64_t{1000}}, 10},
      {"skip_to_end", option_type::boolean,
       "files never seen before start at their end", false,
       option_value{false}},
      {"read_buffer", option_type::bytes, "read size", false,
       option_value{int64_t{64} << 10}, 4096, int64_t{64} << 20},
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
    if (cfg.filegroups.empty())
      return make_error(config_errc::invalid,
                        "taildir needs at least one file group");
    return source_connector_ptr{
        std::make_unique<taildir_source>(std::move(cfg), ctx)};
  };
  return t;
}

} // namespace sluice
