// A topic shard's log: appends, group commit, reads, retention and producer
// dedup; its index and snapshot files and its recovery are in
// shard_log_recovery.cpp. The byte layout is shard_log_format.hpp, the file
// IO segment_files.hpp.
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

/// Batches per producer whose offsets a shard remembers.
constexpr size_t recent_batches = 64;

/// Intervals of sequence numbers kept per producer. A shard of a topic
/// with several shards sees every n-th seq of a producer (or any subset), so
/// its intervals seldom merge: each batch may keep one interval, and this
/// bounds the window of retries recognised per producer and shard. Past it
/// the oldest interval is forgotten and a retry of it is appended again: a
/// duplicate, never a loss (no seq is assumed appended that was not).
constexpr size_t max_intervals = 4096;

constexpr int64_t max_segment_bytes = int64_t{1} << 30;

} // namespace

shard_log::shard_log(shard_log_config cfg)
    : cfg_(std::move(cfg)), files_([this] {
        segment_files_config f;
        f.directory = cfg_.directory;
        f.owner = "shard";
        f.max_disk_bytes = cfg_.max_disk_bytes;
        f.min_free_space = cfg_.min_free_space;
        f.max_request = cfg_.segment_bytes;
        f.free_space_check_bytes = cfg_.free_space_check_bytes;
        f.writeback_bytes = cfg_.writeback_bytes;
        f.stat_fs = cfg_.stat_fs;
        f.sync_data = cfg_.sync_data;
        f.write = cfg_.write;
        f.open_segment = cfg_.open_segment;
        return f;
      }()) {}

shard_log::~shard_log() {
  for (auto& [_, seg] : segments_)
    if (seg.read_fd >= 0)
      ::close(seg.read_fd);
}

std::string shard_log::name(uint64_t base) const {
  return file_name(base, ".log");
}

caf::expected<std::unique_ptr<shard_log>>
shard_log::open(shard_log_config cfg) {
  if (cfg.directory.empty())
    return make_error(channel_errc::io_error, "a shard needs a directory");
  cfg.segment_bytes =
      std::clamp<int64_t>(cfg.segment_bytes, 4096, max_segment_bytes);
  cfg.index_interval_bytes = std::max<int64_t>(cfg.index_interval_bytes, 1);
  std::unique_ptr<shard_log> log{new shard_log(std::move(cfg))};
  if (auto err = log->files_.lock())
    return err;
  if (auto err = log->recover())
    return err;
  log->open_ = true;
  return log;
}

// -- dedup --------------------------------------------------------------------

std::optional<append_result>
shard_log::find_duplicate(std::string_view producer, uint64_t seq) const {
  auto p = producers_.find(producer);
  if (p == producers_.end())
    return std::nullopt;
  auto& st = p->second;
  auto i = st.ranges.upper_bound(seq);
  if (i == st.ranges.begin() || seq > std::prev(i)->second)
    return std::nullopt;
  for (auto& r : st.recent)
    if (r.seq == seq)
      return append_result{r.base_offset, r.count, true};
  // Known as appended, its offsets forgotten: the first copy lies below the
  // end, so it is durable once everything appended so far is
  // (append_result).
  return append_result{end_offset_, 0, true};
}

void shard_log::remember(std::string_view producer, uint64_t seq, uint64_t base,
                         uint32_t count) {
  if (producer.empty() || seq == 0)
    return;
  auto p = producers_.find(producer);
  if (p == producers_.end())
    p = producers_.emplace(std::string{producer}, producer_state{}).first;
  auto& st = p->second;
  st.last_use = ++clock_;
  st.recent.push_back({seq, base, count});
  while (st.recent.size() > recent_batches)
    st.recent.pop_front();
  auto& ranges = st.ranges;
  uint64_t first = seq;
  uint64_t last = seq;
  auto i = ranges.upper_bound(first);
  if (i != ranges.begin()) {
    auto prev = std::prev(i);
    if (prev->second + 1 >= first) {
      first = prev->first;
      last = std::max(last, prev->second);
      i = ranges.erase(prev);
    }
  }
  while (i != ranges.end() && (last == std::numeric_limits<uint64_t>::max() ||
                               i->first <= last + 1)) {
    last = std::max(last, i->second);
    i = ranges.erase(i);
  }
  ranges.emplace(first, last);
  while (ranges.size() > max_intervals)
    ranges.erase(ranges.begin());
  trim_producers();
}

void shard_log::trim_producers() {
  while (producers_.size() > cfg_.max_producers) {
    auto oldest = producers_.begin();
    for (auto j = producers_.begin(); j != producers_.end(); ++j)
      if (j->second.last_use < oldest->second.last_use)
        oldest = j;
    producers_.erase(oldest);
  }
}

// -- appending ----------------------------------------------------------------

void shard_log::note_batch(segment& seg, int64_t position, uint64_t base,
                           uint32_t count, int64_t timestamp) {
  if (seg.index.empty() ||
      position - seg.last_index_position >= cfg_.index_interval_bytes) {
    seg.index.push_back({static_cast<uint32_t>(base - seg.base),
                         static_cast<uint32_t>(position)});
    seg.last_index_position = position;
  }
  if (timestamp > seg.max_timestamp) {
    seg.times.push_back({timestamp, base});
    seg.max_timestamp = timestamp;
  }
  seg.end = base + count;
}

caf::expected<append_result> shard_log::append(const event_batch& b,
                                               std::string_view producer,
                                               uint64_t seq, int64_t now_ms) {
  if (!open_)
    return make_error(channel_errc::stopped,
                      "shard " + cfg_.directory.string() + " is closed");
  if (files_.broken())
    return files_.broken_error();
  if (!producer.empty() && seq != 0)
    if (auto dup = find_duplicate(producer, seq)) {
      ++duplicates_;
      return *dup;
    }
  if (b.empty())
    return append_result{end_offset_, 0, false};
  if (producer.size() > std::numeric_limits<uint16_t>::max())
    return make_error(channel_errc::protocol,
                      "a producer name is at most 65535 bytes");
  // Payload encoding v3, written from the batch's own buffers (no copy):
  // the record's CRC32C covers it, so it has no checksum of its own.
  auto payload = b.encode_parts();
  auto length = batch_header_size + producer.size() + payload.size;
  if (length > std::numeric_limits<uint32_t>::max() / 2)
    return make_error(channel_errc::protocol, "record batch too large");
  auto* active = &segments_.rbegin()->second;
  // A sync in flight defers the roll (see begin_sync) up to twice the
  // segment size, where the roll's own sync goes first after all.
  auto roll_at = sync_in_flight_ ? 2 * cfg_.segment_bytes : cfg_.segment_bytes;
  if (active->size > static_cast<int64_t>(segment_header_size) &&
      active->size + static_cast<int64_t>(length) > roll_at) {
    if (auto err = roll())
      return err;
    active = &segments_.rbegin()->second;
  }
  bool first = active->size == 0;
  auto need = length + (first ? segment_header_size : 0);
  std::string why;
  if (!files_.has_room(need, why))
    return make_error(channel_errc::disk_full, why); // why names the directory
  batch_header h;
  h.length = static_cast<uint32_t>(length);
  h.base_offset = end_offset_;
  h.count = static_cast<uint32_t>(b.size());
  h.producer_length = static_cast<uint16_t>(producer.size());
  h.seq = seq;
  h.timestamp_ms = now_ms;
  char seg_header[segment_header_size];
  char header[batch_header_size];
  encode(h, header);
  h.crc = batch_crc(header, producer, payload.head, payload.head_size);
  for (auto& part : payload.parts)
    h.crc = crc32c::extend(h.crc, part.data(), part.size());
  put_u32(header + 8, h.crc);
  iovec parts[8];
  int n = 0;
  if (first) {
    encode_segment_header(seg_header);
    parts[n++] = {seg_header, segment_header_size};
  }
  parts[n++] = {header, batch_header_size};
  parts[n++] = {const_cast<char*>(producer.data()), producer.size()};
  parts[n++] = {payload.head, payload.head_size};
  for (auto& part : payload.parts)
    if (!part.empty())
      parts[n++] = {const_cast<char*>(part.data()), part.size()};
  if (auto err = files_.append(parts, n))
    return err;
  auto position =
      first ? static_cast<int64_t>(segment_header_size) : active->size;
  active->size = position + static_cast<int64_t>(length);
  note_batch(*active, position, h.base_offset, h.count, now_ms);
  end_offset_ += h.count;
  remember(producer, seq, h.base_offset, h.count);
  return append_result{h.base_offset, h.count, false};
}

caf::error shard_log::sync() {
  if (!open_)
    return make_error(channel_errc::stopped,
                      "shard " + cfg_.directory.string() + " is closed");
  auto end = end_offset_;
  if (auto err = files_.sync())
    return err;
  durable_end_ = end;
  return {};
}

caf::expected<std::optional<log_sync>> shard_log::begin_sync() {
  if (!open_)
    return make_error(channel_errc::stopped,
                      "shard " + cfg_.directory.string() + " is closed");
  auto end = end_offset_;
  auto ticket = files_.begin_sync();
  if (!ticket)
    return std::move(ticket.error());
  if (!*ticket) {
    // Nothing new was written: what was appended is as durable as the
    // last sync (or a roll) made it, unless a sync for it is still out.
    if (!sync_in_flight_)
      durable_end_ = end;
    return std::optional<log_sync>{};
  }
  sync_in_flight_ = true;
  return std::optional<log_sync>{log_sync{**ticket, end}};
}

caf::error shard_log::end_sync(const log_sync& s, bool ok) {
  sync_in_flight_ = false;
  if (auto err = files_.end_sync(s.files, ok))
    return err;
  durable_end_ = std::max(durable_end_, s.end_offset);
  return {};
}

caf::error shard_log::roll() {
  auto& old = segments_.rbegin()->second;
  if (auto err = files_.sync())
    return err;
  durable_end_ = end_offset_;
  if (auto err = write_indexes(old))
    return err;
  auto base = end_offset_;
  if (auto err = files_.roll(name(base)))
    return err;
  segment seg;
  seg.base = seg.end = base;
  segments_.emplace(base, std::move(seg));
  if (auto err = write_snapshot())
    log().warn("shard {}: cannot write the producers' snapshot (a restart "
               "scans more of the log): {}",
               cfg_.directory.string(), describe(err));
  return {};
}

// -- reading
// --------------------------------------------------------------------

uint64_t shard_log::start_offset() const noexcept {
  return segments_.empty() ? end_offset_ : segments_.begin()->first;
}

int shard_log::read_fd(const segment& seg) const {
  if (seg.read_fd < 0)
    seg.read_fd =
        ::open(files_.path_of(name(seg.base)).c_str(), O_RDONLY | O_CLOEXEC);
  return seg.read_fd;
}

namespace {

/// Bytes `shard_log::read` asks for beyond what the batch at hand needs:
/// at least this much, up to its budget (one pread covers many batches).
constexpr size_t read_ahead_min = size_t{64} << 10;
constexpr size_t read_ahead_max = size_t{1} << 20;

/// A window buffer larger than this (grown for one big batch) is released
/// after the read.
constexpr size_t read_window_keep = size_t{4} << 20;

/// The bytes `shard_log::read` preads, shared by every shard a thread
/// reads (reads are synchronous and do not nest), reused across reads.
std::vector<char>& read_window() {
  thread_local std::vector<char> buf;
  return buf;
}

} // namespace

caf::expected<std::vector<read_batch>> shard_log::read(uint64_t offset,
                                                       size_t max_bytes) const {
  std::vector<read_batch> out;
  if (auto err = read_into(offset, max_bytes, out))
    return err;
  return out;
}

caf::error shard_log::read_into(uint64_t offset, size_t max_bytes,
                                std::vector<read_batch>& out) const {
  // The first `used` batches of `out` hold this read's batches; the rest
  // keep their buffers until the end.
  size_t used = 0;
  auto done = [&] {
    out.resize(used);
    return caf::error{};
  };
  auto fail = [&](caf::error err) {
    out.clear();
    return err;
  };
  offset = std::max(offset, start_offset());
  if (offset >= durable_end_ || segments_.empty())
    return done();
  auto it = segments_.upper_bound(offset);
  if (it != segments_.begin())
    --it;
  // The last index entry at or before `offset`.
  int64_t pos = segment_header_size;
  {
    auto& idx = it->second.index;
    auto rel = offset - it->second.base;
    auto e = std::upper_bound(
        idx.begin(), idx.end(), rel,
        [](uint64_t r, const index_entry& x) { return r < x.relative_offset; });
    if (e != idx.begin())
      pos = std::prev(e)->position;
  }
  auto& buf = read_window();
  struct release_big_window {
    std::vector<char>& buf;
    ~release_big_window() {
      if (buf.capacity() > read_window_keep)
        std::vector<char>{}.swap(buf);
    }
  } release{buf};
  size_t bytes = 0;
  for (; it != segments_.end(); ++it, pos = segment_header_size) {
    auto& seg = it->second;
    int fd = read_fd(seg);
    auto path = files_.path_of(name(seg.base));
    if (fd < 0)
      return fail(io_error(path, "cannot open"));
    // The active segment only up to its last sync: after a failed
    // fdatasync the rest was cut off.
    auto limit = std::next(it) == segments_.end()
                     ? std::min(seg.size, files_.synced_size())
                     : seg.size;
    // Segment bytes [window_pos, window_pos + window_size) are in `buf`.
    int64_t window_pos = 0;
    size_t window_size = 0;
    // Makes bytes [pos, pos + n) of the segment available in `buf`
    // (the caller checked that they lie before `limit`).
    auto fill = [&](size_t n) {
      if (pos >= window_pos &&
          pos + static_cast<int64_t>(n) <=
              window_pos + static_cast<int64_t>(window_size))
        return true;
      auto budget = max_bytes > bytes ? max_bytes - bytes : 0;
      auto want = std::max(n + batch_header_size,
                           std::clamp(budget, read_ahead_min, read_ahead_max) +
                               batch_header_size);
      want = std::min(want, static_cast<size_t>(limit - pos));
      if (buf.size() < want)
        buf.resize(want);
      window_pos = pos;
      window_size = 0;
      if (!pread_fully(fd, buf.data(), want, pos))
        return false;
      window_size = want;
      return true;
    };
    while (pos < limit) {
      auto damaged = [&](const char* why) {
        return make_error(channel_errc::corrupt_log,
                          fmt::format("shard {}: segment {} at byte {}: {}",
                                      cfg_.directory.string(), name(seg.base),
                                      pos, why));
      };
      if (limit - pos < static_cast<int64_t>(batch_header_size))
        return fail(damaged("batch header runs past the segment's end"));
      if (!fill(batch_header_size))
        return fail(damaged("batch header unreadable"));
      const char* header = buf.data() + (pos - window_pos);
      auto h = decode_batch_header(header);
      if (h.magic != batch_magic)
        return fail(damaged("no batch header"));
      // Sizes from disk are checked before they size anything: a sealed
      // segment's batches were not checked when it was opened.
      if (h.length < batch_header_size + h.producer_length)
        return fail(
            damaged("batch length smaller than its header and producer"));
      if (static_cast<int64_t>(h.length) > limit - pos)
        return fail(damaged("batch runs past the segment's end"));
      if (h.base_offset >= durable_end_)
        return done();
      if (h.base_offset + h.count <= offset) {
        pos += h.length;
        continue;
      }
      if (!out.empty() && bytes + h.length > max_bytes)
        return done();
      if (!fill(h.length))
        return fail(damaged("batch unreadable"));
      header = buf.data() + (pos - window_pos);
      const char* rest = header + batch_header_size;
      std::string_view producer{rest, h.producer_length};
      auto payload = rest + h.producer_length;
      auto payload_size = h.length - batch_header_size - h.producer_length;
      if (batch_crc(header, producer, payload, payload_size) != h.crc)
        return fail(damaged("checksum mismatch"));
      // The CRC32C above covered the payload: its own CRC adds nothing.
      if (used == out.size())
        out.emplace_back();
      auto& r = out[used++];
      if (auto err = event_batch::decode_into(
              std::span<const char>{payload, payload_size}, r.batch,
              batch_decode_options{.check_crc = false}))
        return fail(damaged("payload does not decode"));
      r.base_offset = h.base_offset;
      r.timestamp_ms = h.timestamp_ms;
      bytes += h.length;
      pos += h.length;
      if (bytes >= max_bytes)
        return done();
    }
  }
  return done();
}

uint64_t shard_log::offset_for_time(int64_t ts_ms) const {
  for (auto& [_, seg] : segments_) {
    if (seg.max_timestamp < ts_ms)
      continue;
    for (auto& e : seg.times)
      if (e.timestamp_ms >= ts_ms)
        return std::min(e.offset, durable_end_);
  }
  // Not `end_offset`: a crash may cut the batches past the durable end and
  // give their offsets to other records.
  return durable_end_;
}

// -- retention and room
// -----------------------------------------------------------

size_t shard_log::apply_retention(int64_t now_ms) {
  size_t removed = 0;
  while (segments_.size() > 1) {
    auto& seg = segments_.begin()->second;
    bool old =
        cfg_.retention_ms > 0 && seg.max_timestamp < now_ms - cfg_.retention_ms;
    bool over =
        cfg_.retention_bytes > 0 && files_.disk_bytes() > cfg_.retention_bytes;
    if (!old && !over)
      break;
    // The indexes first: a crash in between leaves a segment without
    // indexes (scanned at open), never indexes without a segment (which
    // `open` deletes anyway).
    std::error_code ec;
    for (auto ext : {".index", ".timeindex"}) {
      auto path = cfg_.directory / file_name(seg.base, ext);
      if (!fs::remove(path, ec) && ec)
        log().warn("shard {}: cannot delete {}: {}", cfg_.directory.string(),
                   path.string(), ec.message());
    }
    if (auto err = files_.remove(name(seg.base))) {
      log().warn("shard {}: {}", cfg_.directory.string(), describe(err));
      break;
    }
    if (seg.read_fd >= 0)
      ::close(seg.read_fd);
    segments_.erase(segments_.begin());
    ++removed;
  }
  if (removed > 0)
    if (auto err = files_.sync_directory())
      log().warn("shard {}: {}", cfg_.directory.string(), describe(err));
  return removed;
}

bool shard_log::has_room(size_t bytes, std::string& why) const {
  return files_.has_room(bytes, why);
}

// -- closing
// ----------------------------------------------------------------------

void shard_log::close() {
  if (!open_)
    return;
  open_ = false;
  auto fail = [&](const caf::error& err) {
    log().error("shard {}: {}; the next start scans the log",
                cfg_.directory.string(), describe(err));
  };
  if (files_.broken()) {
    files_.close();
    return;
  }
  auto& active = segments_.rbegin()->second;
  if (auto err = files_.sync()) {
    fail(err);
  } else if (auto err = write_indexes(active)) {
    fail(err);
  } else if (auto err = write_snapshot()) {
    fail(err);
  } else {
    std::string body;
    append_u64(body, end_offset_);
    append_u64(body, static_cast<uint64_t>(active.size));
    std::string out{clean_magic};
    append_u32(out, version);
    append_u32(out, crc32c::value(body.data(), body.size()));
    out += body;
    if (auto err =
            files_.write_atomically(clean_marker_name, out.data(), out.size()))
      fail(err);
  }
  durable_end_ = end_offset_;
  files_.close();
}

} // namespace sluice
