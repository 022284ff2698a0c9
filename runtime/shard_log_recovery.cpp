// A topic shard's log, the files it writes besides its segments (offset and
// time indexes of sealed segments, the producers' snapshot) and its
// recovery at open: the clean-shutdown marker, or a scan of the active
// segment that cuts a torn tail. The rest of shard_log is shard_log.cpp.
#include "runtime/shard_log.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <limits>

#include <fmt/format.h>

#include "runtime/crc32c.hpp"
#include "runtime/errors.hpp"
#include "runtime/file_store_format.hpp"
#include "runtime/log.hpp"

namespace sluice {

namespace fs = std::filesystem;
using namespace shard_format;
using file_format::io_error;
using file_format::pread_fully;

namespace {

constexpr const char* snapshot_name = "producers.snapshot";

std::string read_whole(const fs::path& path, bool& ok) {
  std::string out;
  ok = false;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return out;
  auto size = ::lseek(fd, 0, SEEK_END);
  if (size >= 0) {
    out.resize(static_cast<size_t>(size));
    ok = pread_fully(fd, out.data(), out.size(), 0) || size == 0;
  }
  ::close(fd);
  return out;
}

} // namespace

// -- index files --------------------------------------------------------------

caf::error shard_log::write_indexes(const segment& seg) {
  auto write = [&](std::string_view magic, const std::string& entries,
                   uint32_t count, const std::string& file) -> caf::error {
    std::string body;
    append_u64(body, static_cast<uint64_t>(seg.size));
    append_u32(body, count);
    append_u32(body, 0);
    body += entries;
    std::string out{magic};
    append_u32(out, version);
    append_u32(out, crc32c::value(body.data(), body.size()));
    out += body;
    return files_.write_atomically(file, out.data(), out.size());
  };
  std::string entries;
  for (auto& e : seg.index) {
    append_u32(entries, e.relative_offset);
    append_u32(entries, e.position);
  }
  if (auto err =
          write(index_magic, entries, static_cast<uint32_t>(seg.index.size()),
                file_name(seg.base, ".index")))
    return err;
  entries.clear();
  for (auto& e : seg.times) {
    append_u64(entries, static_cast<uint64_t>(e.timestamp_ms));
    append_u64(entries, e.offset);
  }
  return write(time_index_magic, entries,
               static_cast<uint32_t>(seg.times.size()),
               file_name(seg.base, ".timeindex"));
}

bool shard_log::load_indexes(segment& seg, int64_t file_size) {
  auto load = [&](std::string_view magic, const std::string& file,
                  size_t entry_size, std::string& entries) {
    bool ok = false;
    auto data = read_whole(cfg_.directory / file, ok);
    if (!ok || data.size() < index_header_size ||
        data.compare(0, 8, magic) != 0 || get_u32(data.data() + 8) != version)
      return false;
    if (get_u32(data.data() + 12) !=
        crc32c::value(data.data() + 16, data.size() - 16))
      return false;
    if (static_cast<int64_t>(get_u64(data.data() + 16)) != file_size)
      return false;
    auto count = get_u32(data.data() + 24);
    if (data.size() != index_header_size + count * entry_size)
      return false;
    entries = data.substr(index_header_size);
    return true;
  };
  std::string idx;
  std::string times;
  if (!load(index_magic, file_name(seg.base, ".index"), index_entry_size,
            idx) ||
      !load(time_index_magic, file_name(seg.base, ".timeindex"),
            time_entry_size, times))
    return false;
  seg.index.clear();
  seg.times.clear();
  for (size_t i = 0; i < idx.size(); i += index_entry_size)
    seg.index.push_back({get_u32(idx.data() + i), get_u32(idx.data() + i + 4)});
  for (size_t i = 0; i < times.size(); i += time_entry_size)
    seg.times.push_back({static_cast<int64_t>(get_u64(times.data() + i)),
                         get_u64(times.data() + i + 8)});
  seg.size = file_size;
  seg.max_timestamp =
      seg.times.empty() ? INT64_MIN : seg.times.back().timestamp_ms;
  seg.last_index_position =
      seg.index.empty() ? 0 : static_cast<int64_t>(seg.index.back().position);
  return true;
}

// -- producers' snapshot
// --------------------------------------------------------

caf::error shard_log::write_snapshot() {
  std::string body;
  append_u64(body, end_offset_);
  append_u32(body, static_cast<uint32_t>(producers_.size()));
  for (auto& [producer, st] : producers_) {
    append_u16(body, static_cast<uint16_t>(producer.size()));
    body += producer;
    append_u64(body, st.last_use);
    append_u32(body, static_cast<uint32_t>(st.ranges.size()));
    for (auto& [first, last] : st.ranges) {
      append_u64(body, first);
      append_u64(body, last);
    }
    append_u32(body, static_cast<uint32_t>(st.recent.size()));
    for (auto& r : st.recent) {
      append_u64(body, r.seq);
      append_u64(body, r.base_offset);
      append_u32(body, r.count);
    }
  }
  std::string out{snapshot_magic};
  append_u32(out, version);
  append_u32(out, crc32c::value(body.data(), body.size()));
  out += body;
  return files_.write_atomically(snapshot_name, out.data(), out.size());
}

caf::error shard_log::load_snapshot(uint64_t& covered) {
  covered = 0;
  bool ok = false;
  auto path = cfg_.directory / snapshot_name;
  auto data = read_whole(path, ok);
  if (!ok)
    return {};
  auto bad = [&](const char* why) {
    log().warn("shard {}: {} {}; the producers' memory is rebuilt from the "
               "log",
               cfg_.directory.string(), path.string(), why);
    producers_.clear();
    covered = 0;
    return caf::error{};
  };
  if (data.size() < 28 || data.compare(0, 8, snapshot_magic) != 0)
    return bad("is not a producers' snapshot");
  if (get_u32(data.data() + 8) != version)
    return bad("is not a snapshot of this version");
  if (get_u32(data.data() + 12) !=
      crc32c::value(data.data() + 16, data.size() - 16))
    return bad("fails its checksum");
  const char* p = data.data() + 16;
  const char* end = data.data() + data.size();
  auto need = [&](size_t n) {
    return static_cast<size_t>(end - p) >= n;
  };
  covered = get_u64(p);
  auto count = get_u32(p + 8);
  p += 12;
  for (uint32_t i = 0; i < count; ++i) {
    if (!need(2))
      return bad("is cut short");
    auto len = get_u16(p);
    p += 2;
    if (!need(len + 12u))
      return bad("is cut short");
    auto& st = producers_[std::string{p, len}];
    p += len;
    st.last_use = get_u64(p);
    clock_ = std::max(clock_, st.last_use);
    p += 8;
    auto ranges = get_u32(p);
    p += 4;
    if (!need(ranges * 16ull + 4))
      return bad("is cut short");
    for (uint32_t r = 0; r < ranges; ++r, p += 16)
      st.ranges.emplace(get_u64(p), get_u64(p + 8));
    auto recent = get_u32(p);
    p += 4;
    if (!need(recent * 20ull))
      return bad("is cut short");
    for (uint32_t r = 0; r < recent; ++r, p += 20)
      st.recent.push_back({get_u64(p), get_u64(p + 8), get_u32(p + 16)});
  }
  return {};
}

// -- recovery
// -------------------------------------------------------------------

std::string shard_log::check_batch(int fd, int64_t pos, int64_t file_size,
                                   char* header, batch_header& h) {
  if (file_size - pos < static_cast<int64_t>(batch_header_size) ||
      !pread_fully(fd, header, batch_header_size, pos))
    return "batch header cut short";
  h = decode_batch_header(header);
  if (h.magic != batch_magic || h.header_version != 1)
    return "no batch header";
  if (h.length < batch_header_size + h.producer_length ||
      pos + h.length > file_size)
    return "batch cut short";
  read_buf_.resize(h.length - batch_header_size);
  if (!pread_fully(fd, read_buf_.data(), read_buf_.size(),
                   pos + static_cast<int64_t>(batch_header_size)))
    return "batch unreadable";
  std::string_view producer{read_buf_.data(), h.producer_length};
  if (batch_crc(header, producer, read_buf_.data() + h.producer_length,
                read_buf_.size() - h.producer_length) != h.crc)
    return "checksum mismatch";
  return {};
}

caf::error shard_log::scan(segment& seg, bool last, uint64_t dedup_from) {
  auto path = files_.path_of(name(seg.base));
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return io_error(path, "cannot open");
  auto file_size = static_cast<int64_t>(::lseek(fd, 0, SEEK_END));
  if (file_size < 0) {
    auto err = io_error(path, "cannot find the end");
    ::close(fd);
    return err;
  }
  seg.index.clear();
  seg.times.clear();
  seg.max_timestamp = INT64_MIN;
  seg.last_index_position = 0;
  seg.end = seg.base;
  int64_t pos = 0;
  std::string reason;
  char header[batch_header_size];
  batch_header h;
  if (file_size > 0) {
    if (file_size < static_cast<int64_t>(segment_header_size) ||
        !pread_fully(fd, header, segment_header_size, 0)) {
      reason = "segment header cut short";
    } else if (valid_segment_header(header)) {
      pos = segment_header_size;
    } else {
      // The header goes to disk with the segment's first batch, in one
      // write, and an fdatasync covers both: a header a crash tore (or a
      // file system showed as zeros) in the last segment means nothing in
      // it was synced, unless a valid first batch says otherwise. Another
      // format's magic, or damage in a sealed segment, is not torn.
      bool other_format =
          std::memcmp(header, segment_magic.data(), segment_magic.size()) == 0;
      bool torn = last && !other_format;
      if (torn && file_size > static_cast<int64_t>(segment_header_size) &&
          check_batch(fd, segment_header_size, file_size, header, h).empty() &&
          h.base_offset == seg.base && h.count > 0)
        torn = false;
      if (!torn) {
        ::close(fd);
        return make_error(channel_errc::corrupt_log,
                          fmt::format("shard {}: segment {} at byte 0: not a "
                                      "segment of this format version: the "
                                      "shard does not open",
                                      cfg_.directory.string(), name(seg.base)));
      }
      reason = "segment header torn, and no batch follows it";
    }
  }
  while (reason.empty() && pos < file_size) {
    reason = check_batch(fd, pos, file_size, header, h);
    if (!reason.empty())
      break;
    if (h.base_offset != seg.end || h.count == 0) {
      reason =
          fmt::format("offset {} where {} was due", h.base_offset, seg.end);
      break;
    }
    std::string_view producer{read_buf_.data(), h.producer_length};
    note_batch(seg, pos, h.base_offset, h.count, h.timestamp_ms);
    if (h.base_offset >= dedup_from)
      remember(producer, h.seq, h.base_offset, h.count);
    pos += h.length;
  }
  ::close(fd);
  seg.size = pos;
  if (reason.empty())
    return {};
  if (!last)
    return make_error(channel_errc::corrupt_log,
                      fmt::format("shard {}: segment {} is damaged at byte {} "
                                  "({}); it was sealed, so this is not a torn "
                                  "write: the shard does not open",
                                  cfg_.directory.string(), name(seg.base), pos,
                                  reason));
  // A torn write of the last run: everything from the first bad batch on
  // goes (nothing there was synced and acknowledged).
  auto cut = file_size - pos;
  log().warn("shard {}: {} at byte {} of {}: cutting off a torn tail of {} "
             "byte(s)",
             cfg_.directory.string(), reason, pos, name(seg.base), cut);
  torn_bytes_cut_ += static_cast<uint64_t>(cut);
  return files_.cut(name(seg.base), pos);
}

caf::error
shard_log::list_directory(std::vector<std::pair<uint64_t, int64_t>>& found) {
  auto failed = [&](const std::error_code& ec) {
    return make_error(channel_errc::io_error, "cannot list " +
                                                  cfg_.directory.string() +
                                                  ": " + ec.message());
  };
  std::vector<std::pair<uint64_t, fs::path>> indexes; // base, path
  std::vector<fs::path> doomed;
  std::error_code ec;
  // `increment(ec)` and `file_size(ec)`: an error (a vanished file,
  // EACCES) is an error of `open`, not an exception in the caller.
  fs::directory_iterator it{cfg_.directory, ec};
  for (; !ec && it != fs::directory_iterator{}; it.increment(ec)) {
    auto& path = it->path();
    auto file = path.filename().string();
    auto ext = path.extension().string();
    uint64_t base = 0;
    if (parse_segment_name(file, base)) {
      auto size = it->file_size(ec);
      if (ec)
        return make_error(channel_errc::io_error, "cannot read the size of " +
                                                      path.string() + ": " +
                                                      ec.message());
      found.emplace_back(base, static_cast<int64_t>(size));
    } else if (ext == ".tmp") {
      doomed.push_back(path);
    } else if ((ext == ".index" || ext == ".timeindex") &&
               parse_segment_name(path.stem().string() + ".log", base)) {
      indexes.emplace_back(base, path);
    }
  }
  if (ec)
    return failed(ec);
  // Index files without their segment: retention (or a crash while it
  // ran) deleted the segment.
  for (auto& [base, path] : indexes)
    if (std::none_of(found.begin(), found.end(),
                     [b = base](auto& f) { return f.first == b; }))
      doomed.push_back(path);
  for (auto& path : doomed) {
    if (!fs::remove(path, ec) && ec)
      log().warn("shard {}: cannot delete {}: {}", cfg_.directory.string(),
                 path.string(), ec.message());
    ec.clear();
  }
  return {};
}

caf::error shard_log::recover() {
  std::vector<std::pair<uint64_t, int64_t>> found; // base, size
  if (auto err = list_directory(found))
    return err;
  std::sort(found.begin(), found.end());
  uint64_t covered = 0;
  if (auto err = load_snapshot(covered))
    return err;
  // The clean-shutdown marker: end offset and the active segment's size.
  bool ok = false;
  auto clean_path = cfg_.directory / clean_marker_name;
  auto marker = read_whole(clean_path, ok);
  uint64_t clean_end = 0;
  int64_t clean_size = -1;
  if (ok && marker.size() == 32 && marker.compare(0, 8, clean_magic) == 0 &&
      get_u32(marker.data() + 8) == version &&
      get_u32(marker.data() + 12) == crc32c::value(marker.data() + 16, 16)) {
    clean_end = get_u64(marker.data() + 16);
    clean_size = static_cast<int64_t>(get_u64(marker.data() + 24));
  }
  if (found.empty()) {
    // A new shard (or one whose segments all went): offsets go on from
    // what the snapshot covered.
    found.emplace_back(covered, 0);
    if (auto err = files_.activate(name(covered)))
      return err;
  }
  for (size_t i = 0; i < found.size(); ++i) {
    auto [base, size] = found[i];
    bool last = i + 1 == found.size();
    segment seg;
    seg.base = seg.end = base;
    if (!last) {
      auto next = found[i + 1].first;
      bool trusted = load_indexes(seg, size);
      if (trusted && covered < next) {
        // The snapshot is older than this segment's end: its batches feed
        // the producers' memory (a full scan, checking every CRC).
        trusted = false;
      }
      if (trusted) {
        seg.end = next;
      } else if (auto err = scan(seg, false, covered)) {
        return err;
      } else if (seg.end != next) {
        return make_error(
            channel_errc::corrupt_log,
            fmt::format("shard {}: segment {} ends at offset {} but the next "
                        "one starts at {}: the shard does not open",
                        cfg_.directory.string(), name(base), seg.end, next));
      }
    } else if (clean_size >= 0 && clean_size == size && covered == clean_end &&
               (size == 0 || load_indexes(seg, size))) {
      seg.end = clean_end;
      recovered_clean_ = true;
    } else if (auto err = scan(seg, true, covered)) {
      return err;
    }
    files_.adopt(name(base), seg.size);
    segments_.emplace(base, std::move(seg));
  }
  auto& active = segments_.rbegin()->second;
  end_offset_ = active.end;
  if (auto err = files_.activate(name(active.base)))
    return err;
  if (!recovered_clean_) {
    // The last run's writes may still be only in the page cache.
    if (auto err = files_.sync_directory())
      return err;
    int fd =
        ::open(files_.path_of(name(active.base)).c_str(), O_RDWR | O_CLOEXEC);
    bool synced = fd >= 0 && cfg_.sync_data(fd) == 0;
    if (fd >= 0)
      ::close(fd);
    if (!synced)
      return io_error(files_.path_of(name(active.base)), "cannot sync");
  }
  durable_end_ = end_offset_;
  if (ok) {
    // Appends follow: the next start must not trust the marker.
    if (::unlink(clean_path.c_str()) != 0 && errno != ENOENT)
      return io_error(clean_path, "cannot delete");
    if (auto err = files_.sync_directory())
      return err;
  }
  return {};
}

} // namespace sluice
