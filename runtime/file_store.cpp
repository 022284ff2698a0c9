// The writing half of the file channel's store: appends, syncs, leases,
// segment deletion, room. Recovery is file_store_recovery.cpp, the on-disk
// format file_store_format.hpp.
#include "runtime/file_store.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <fmt/format.h>

#include "runtime/errors.hpp"
#include "runtime/file_store_format.hpp"
#include "runtime/file_store_scan.hpp"
#include "runtime/log.hpp"

namespace sluice {

namespace fs = std::filesystem;

using namespace file_format;

namespace {

// Sequence numbers of a log never restart: its epoch names the log, the
// same in every run (FNV-1a of the directory's absolute path).
uint64_t log_epoch(const file_store_config& cfg_) {
  std::error_code ec;
  auto path = std::filesystem::absolute(cfg_.directory, ec);
  auto text = (ec ? cfg_.directory : path).lexically_normal().string();
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h == 0 ? 1 : h;
}

} // namespace

namespace {

segment_files_config files_config(const file_store_config& cfg) {
  segment_files_config f;
  f.directory = cfg.directory;
  f.owner = "file channel";
  f.max_disk_bytes = cfg.max_disk_bytes;
  f.min_free_space = cfg.min_free_space;
  // A guess of the next batch's size, never more than a segment may hold.
  f.max_request =
      std::max<int64_t>(1, std::min(cfg.segment_size, cfg.max_disk_bytes / 4));
  f.sync_data = cfg.sync_data;
  return f;
}

} // namespace

file_store::file_store(file_store_config cfg)
    : cfg_(std::move(cfg)), files_(files_config(cfg_)),
      segment_size_(std::max<int64_t>(
          1, std::min(cfg_.segment_size, cfg_.max_disk_bytes / 4))),
      epoch_(log_epoch(cfg_)) {}

caf::expected<std::unique_ptr<file_store>>
file_store::make(file_store_config cfg) {
  if (cfg.directory.empty())
    return make_error(channel_errc::io_error, "file channel needs a directory");
  return std::unique_ptr<file_store>{new file_store(std::move(cfg))};
}

file_store::~file_store() {
  // No sync here: a store dropped without close behaves like a crash
  // (segment_files closes its files the same way).
  if (pointer_fd_ >= 0)
    ::close(pointer_fd_);
}

fs::path file_store::segment_path(uint64_t number) const {
  return cfg_.directory / segment_name(number);
}

void file_store::advance_pointer() {
  // Every batch below the oldest one held was committed, or is not in the
  // log at all (lost to damage, or before a rebuilt pointer).
  auto low = st_.next_seq;
  if (!st_.queue.empty())
    low = std::min(low, st_.queue.front().seq);
  for (auto& [_, refs] : st_.leases)
    if (!refs.empty())
      low = std::min(low, refs.front().seq);
  st_.committed_through = std::max(st_.committed_through, low - 1);
}

caf::error file_store::write_pointer(bool force) {
  if (!force && st_.committed_through == st_.persisted_pointer)
    return {};
  pointer_slot s{};
  s.magic = pointer_magic;
  s.generation = ++st_.pointer_generation;
  s.pointer = st_.committed_through;
  s.crc = slot_crc(s);
  auto offset = static_cast<off_t>((s.generation % 2) * sizeof(s));
  auto path = cfg_.directory / "commit.ptr";
  if (::pwrite(pointer_fd_, &s, sizeof(s), offset) !=
      static_cast<ssize_t>(sizeof(s)))
    return io_error(path, "cannot write");
  if (::fdatasync(pointer_fd_) != 0)
    return io_error(path, "cannot sync");
  st_.persisted_pointer = s.pointer;
  return {};
}

caf::error file_store::open_segment(uint64_t number) {
  if (auto err = files_.activate(segment_name(number)))
    return err;
  st_.active = number;
  st_.segments[number] = segment_info{};
  return {};
}

caf::error file_store::roll() {
  if (auto err = files_.roll(segment_name(st_.active + 1)))
    return err;
  st_.active += 1;
  st_.segments[st_.active] = segment_info{};
  return {};
}

caf::error file_store::write_records(const iovec* parts, int n) {
  // A roll whose new segment could not be created is tried again here.
  if (!files_.has_active())
    if (auto err = open_segment(st_.active + 1))
      return err;
  if (auto err = files_.append(parts, n))
    return err;
  st_.segments[st_.active].size = files_.active_size();
  return {};
}

caf::error file_store::append(event_batch&& batch) {
  return append_batch(std::move(batch), nullptr, nullptr);
}

caf::error file_store::append(event_batch&& batch, const std::string& source,
                              const std::string& token) {
  return append_batch(std::move(batch), &source, &token);
}

caf::error file_store::append_batch(event_batch&& batch,
                                    const std::string* source,
                                    const std::string* token) {
  if (!opened_)
    return make_error(channel_errc::stopped, "file channel is closed");
  if (files_.broken())
    return files_.broken_error();
  if (files_.has_active() && st_.segments[st_.active].size >= segment_size_)
    if (auto err = roll())
      return err;
  buf_.clear();
  batch.encode(buf_);
  record_header h{record_magic, static_cast<uint32_t>(buf_.size()),
                  st_.next_seq, static_cast<uint32_t>(batch.size()), 0};
  h.crc = header_crc(h);
  // The source's token follows its batch in the same write: a crash keeps
  // it only with the batch (recovery cuts off a torn write at the end).
  iovec parts[4] = {{&h, sizeof(h)}, {buf_.data(), buf_.size()}, {}, {}};
  int n = 2;
  record_header ph{progress_magic, 0, 0, 0, 0};
  if (source != nullptr) {
    encode_progress(*source, *token, progress_buf_);
    ph.payload = static_cast<uint32_t>(progress_buf_.size());
    ph.crc = header_crc(ph);
    parts[2] = {&ph, sizeof(ph)};
    parts[3] = {progress_buf_.data(), progress_buf_.size()};
    n = 4;
  }
  if (auto err = write_records(parts, n))
    return err;
  auto& seg = st_.segments[st_.active];
  auto length = static_cast<uint32_t>(sizeof(h) + buf_.size());
  auto extra =
      n == 4 ? static_cast<int64_t>(sizeof(ph) + progress_buf_.size()) : 0;
  st_.queue.push_back(
      {st_.active, seg.size - extra - length, length, st_.next_seq, h.events});
  seg.max_seq = st_.next_seq;
  ++st_.next_seq;
  st_.queued_events += batch.size();
  st_.unsynced_events += batch.size();
  st_.held_events += batch.size();
  st_.held_bytes += buf_.size();
  if (source != nullptr) {
    auto& e = st_.progress[*source];
    e.token = *token;
    e.segment = st_.active;
    e.pending = false;
  }
  return {};
}

std::map<std::string, std::string> file_store::recovered_progress() const {
  std::map<std::string, std::string> result;
  for (auto& [source, e] : st_.progress)
    result.emplace(source, e.token);
  return result;
}

void file_store::write_progress() {
  for (auto& [source, e] : st_.progress) {
    if (!e.pending)
      continue;
    encode_progress(source, e.token, progress_buf_);
    record_header h{progress_magic, static_cast<uint32_t>(progress_buf_.size()),
                    0, 0, 0};
    h.crc = header_crc(h);
    iovec parts[2] = {{&h, sizeof(h)},
                      {progress_buf_.data(), progress_buf_.size()}};
    if (auto err = write_records(parts, 2)) {
      // Tried again at the next sync; until then a restarted source reads
      // again from an older token or its own position (duplicates, no
      // loss).
      log().warn("file channel {}: cannot write progress tokens: {}",
                 cfg_.directory.string(), describe(err));
      return;
    }
    e.segment = st_.active;
    e.pending = false;
  }
}

caf::error file_store::sync() {
  if (auto err = files_.sync())
    return err;
  st_.synced_seq = st_.next_seq - 1;
  st_.unsynced_events = 0;
  if (pointer_fd_ >= 0) {
    if (auto err = write_pointer())
      return err;
    // Tokens a segment deletion could not carry forward are tried again.
    if (opened_)
      write_progress();
    delete_committed_segments();
  }
  return {};
}

caf::expected<event_batch> file_store::read_record(const record_ref& ref) {
  auto path = segment_path(ref.segment);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return io_error(path, "cannot open");
  buf_.resize(ref.length);
  bool ok = pread_fully(fd, buf_.data(), ref.length, ref.offset);
  ::close(fd);
  if (!ok)
    return make_error(channel_errc::corrupt_log,
                      fmt::format("{} at byte {}: record unreadable",
                                  path.string(), ref.offset));
  record_header h;
  std::memcpy(&h, buf_.data(), sizeof(h));
  if (h.magic != record_magic || h.crc != header_crc(h) || h.seq != ref.seq)
    return make_error(channel_errc::corrupt_log,
                      fmt::format("{} at byte {}: bad record header",
                                  path.string(), ref.offset));
  auto batch = event_batch::decode(
      std::span<const char>{buf_.data() + sizeof(h), h.payload});
  if (!batch)
    return make_error(channel_errc::corrupt_log,
                      fmt::format("{} at byte {}: {}", path.string(),
                                  ref.offset, describe(batch.error())));
  return batch;
}

caf::expected<lease> file_store::take(size_t max_events) {
  if (files_.broken())
    return files_.broken_error();
  if (st_.queue.empty() || st_.queue.front().seq > st_.synced_seq)
    return lease{};
  std::vector<record_ref> refs;
  std::vector<event_batch> batches;
  size_t n = 0;
  while (!st_.queue.empty() && st_.queue.front().seq <= st_.synced_seq &&
         (refs.empty() || n + st_.queue.front().events <= max_events)) {
    auto& ref = st_.queue.front();
    auto batch = read_record(ref);
    if (!batch) {
      // Leave everything queued, in order.
      for (auto r = refs.rbegin(); r != refs.rend(); ++r)
        st_.queue.push_front(*r);
      return batch.error();
    }
    n += ref.events;
    batches.push_back(std::move(*batch));
    refs.push_back(ref);
    st_.queue.pop_front();
  }
  st_.queued_events -= n;
  lease l;
  l.id = st_.next_lease++;
  l.batches.ptr =
      std::make_shared<const std::vector<event_batch>>(std::move(batches));
  l.epoch = epoch_;
  l.seqs.reserve(refs.size());
  for (auto& r : refs)
    l.seqs.push_back(r.seq);
  st_.leases.emplace(l.id, std::move(refs));
  return l;
}

caf::error file_store::commit(uint64_t lease_id) {
  auto i = st_.leases.find(lease_id);
  if (i == st_.leases.end())
    return make_error(channel_errc::unknown_lease,
                      "lease " + std::to_string(lease_id));
  for (auto& ref : i->second) {
    st_.held_events -= ref.events;
    st_.held_bytes -= ref.length - sizeof(record_header);
  }
  st_.leases.erase(i);
  advance_pointer();
  return {};
}

caf::error file_store::rollback(uint64_t lease_id) {
  auto i = st_.leases.find(lease_id);
  if (i == st_.leases.end())
    return make_error(channel_errc::unknown_lease,
                      "lease " + std::to_string(lease_id));
  // Each record goes back to its place by sequence number, so leases
  // rolled back in any order leave the queue in order.
  for (auto& ref : i->second) {
    auto at = std::upper_bound(
        st_.queue.begin(), st_.queue.end(), ref.seq,
        [](uint64_t seq, const record_ref& r) { return seq < r.seq; });
    st_.queue.insert(at, ref);
    st_.queued_events += ref.events;
  }
  st_.leases.erase(i);
  return {};
}

void file_store::delete_committed_segments() {
  std::set<uint64_t> doomed;
  for (auto& [number, info] : st_.segments)
    if (number != st_.active && info.max_seq <= st_.persisted_pointer)
      doomed.insert(number);
  if (doomed.empty())
    return;
  // A source's newest token must outlive its segment: write it again to the
  // active one first. If that fails (disk full) the segment goes anyway:
  // space matters more, and a lost token costs re-reads, not events.
  bool carry = false;
  for (auto& [source, e] : st_.progress)
    if (!e.pending && doomed.count(e.segment) > 0) {
      e.pending = true;
      carry = true;
    }
  if (carry && files_.has_active())
    write_progress();
  for (auto number : doomed) {
    if (auto err = files_.remove(segment_name(number))) {
      log().warn("file channel: cannot delete: {}", describe(err));
      continue;
    }
    st_.segments.erase(number);
  }
}

size_t file_store::events() const noexcept {
  return st_.held_events;
}

size_t file_store::queued_events() const noexcept {
  return st_.queued_events;
}

size_t file_store::takeable_events() const noexcept {
  return st_.queued_events - st_.unsynced_events;
}

size_t file_store::bytes() const noexcept {
  return st_.held_bytes;
}

size_t file_store::indexed_records() const noexcept {
  size_t n = st_.queue.size();
  for (auto& [_, refs] : st_.leases)
    n += refs.size();
  return n;
}

bool file_store::has_room(size_t bytes, std::string& why) const {
  return files_.has_room(bytes, why);
}

void file_store::make_room() {
  // An active segment without batches (progress records only) frees
  // nothing when retired.
  if (!files_.has_active() || st_.segments[st_.active].max_seq == 0)
    return;
  if (auto err = sync()) {
    log().warn("file channel {}: {}", cfg_.directory.string(), describe(err));
    return;
  }
  // Only a segment whose records are all committed, and known to be on
  // disk, may go.
  if (st_.segments[st_.active].max_seq > st_.persisted_pointer)
    return;
  if (auto err = roll()) {
    log().warn("file channel {}: {}", cfg_.directory.string(), describe(err));
    return;
  }
  delete_committed_segments();
}

void file_store::close() {
  if (!opened_)
    return;
  if (auto err = sync())
    log().error("file channel {}: {}", cfg_.directory.string(), describe(err));
  if (pointer_fd_ >= 0)
    ::close(pointer_fd_);
  pointer_fd_ = -1;
  files_.close();
  opened_ = false;
}

} // namespace sluice
