#include "runtime/file_store.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/statvfs.h>
#include <sys/uio.h>
#include <unistd.h>

#include <fmt/format.h>
#include <zlib.h>

#include "runtime/errors.hpp"
#include "runtime/log.hpp"

namespace sluice {

namespace fs = std::filesystem;

namespace {

constexpr uint32_t record_magic = 0x31524c53;          // "SLR1"
constexpr uint32_t progress_magic = 0x31504c53;        // "SLP1"
constexpr uint64_t pointer_magic = 0x3150544f50554c53; // "SLUPOTP1"

struct record_header {
  uint32_t magic;
  uint32_t payload;
  uint64_t seq;
  uint32_t events;
  uint32_t crc; ///< of the fields above
};
static_assert(sizeof(record_header) == 24);

struct pointer_slot {
  uint64_t magic;
  uint64_t generation;
  uint64_t pointer;
  uint32_t crc; ///< of the fields above
  uint32_t pad;
};
static_assert(sizeof(pointer_slot) == 32);

template <class T>
uint32_t crc_of_prefix(const T& x, size_t n) {
  return static_cast<uint32_t>(
      crc32_z(0, reinterpret_cast<const Bytef*>(&x), n));
}

uint32_t header_crc(const record_header& h) {
  return crc_of_prefix(h, offsetof(record_header, crc));
}

/// Encodes a progress record's payload into `out`: CRC (of what follows),
/// name length, name, token.
void encode_progress(const std::string& source, const std::string& token,
                     std::string& out) {
  out.assign(8, '\0');
  auto n = static_cast<uint32_t>(source.size());
  std::memcpy(out.data() + 4, &n, 4);
  out += source;
  out += token;
  auto crc = static_cast<uint32_t>(crc32_z(
      0, reinterpret_cast<const Bytef*>(out.data() + 4), out.size() - 4));
  std::memcpy(out.data(), &crc, 4);
}

bool decode_progress(const std::vector<char>& in, std::string& source,
                     std::string& token) {
  if (in.size() < 8)
    return false;
  uint32_t crc = 0;
  uint32_t n = 0;
  std::memcpy(&crc, in.data(), 4);
  std::memcpy(&n, in.data() + 4, 4);
  if (crc != static_cast<uint32_t>(
                 crc32_z(0, reinterpret_cast<const Bytef*>(in.data() + 4),
                         in.size() - 4)) ||
      n > in.size() - 8)
    return false;
  source.assign(in.data() + 8, n);
  token.assign(in.data() + 8 + n, in.size() - 8 - n);
  return true;
}

uint32_t slot_crc(const pointer_slot& s) {
  return crc_of_prefix(s, offsetof(pointer_slot, crc));
}

std::string err_text() {
  return std::strerror(errno);
}

caf::error io_error(const fs::path& path, const std::string& what) {
  auto code = errno == ENOSPC || errno == EDQUOT ? channel_errc::disk_full
                                                 : channel_errc::io_error;
  return make_error(code, path.string() + ": " + what + ": " + err_text());
}

/// Reads exactly `n` bytes at `offset`; false at end of file or on error.
bool pread_fully(int fd, char* out, size_t n, int64_t offset) {
  while (n > 0) {
    auto r = ::pread(fd, out, n, offset);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      return false;
    out += r;
    n -= static_cast<size_t>(r);
    offset += r;
  }
  return true;
}

} // namespace

file_store::file_store(file_store_config cfg)
    : cfg_(std::move(cfg)),
      segment_size_(std::max<int64_t>(
          1, std::min(cfg_.segment_size, cfg_.max_disk_bytes / 4))) {}

caf::expected<std::unique_ptr<file_store>>
file_store::make(file_store_config cfg) {
  if (cfg.directory.empty())
    return make_error(channel_errc::io_error, "file channel needs a directory");
  return std::unique_ptr<file_store>{new file_store(std::move(cfg))};
}

file_store::~file_store() {
  // No sync here: a store dropped without close behaves like a crash.
  for (int fd : {fd_, pointer_fd_, dir_fd_, lock_fd_})
    if (fd >= 0)
      ::close(fd);
}

fs::path file_store::segment_path(uint64_t number) const {
  return cfg_.directory / fmt::format("{:020d}.seg", number);
}

caf::error file_store::read_pointer() {
  auto path = cfg_.directory / "commit.ptr";
  pointer_fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (pointer_fd_ < 0)
    return io_error(path, "cannot open");
  pointer_slot slots[2] = {};
  for (int i = 0; i < 2; ++i) {
    if (!pread_fully(pointer_fd_, reinterpret_cast<char*>(&slots[i]),
                     sizeof(pointer_slot), i * sizeof(pointer_slot)))
      continue;
    auto& s = slots[i];
    if (s.magic != pointer_magic || s.crc != slot_crc(s))
      continue;
    if (s.generation >= st_.pointer_generation) {
      st_.pointer_generation = s.generation;
      st_.committed_through = s.pointer;
    }
  }
  st_.persisted_pointer = st_.committed_through;
  return {};
}

caf::error file_store::write_pointer() {
  if (st_.committed_through == st_.persisted_pointer)
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

caf::error file_store::scan_segment(uint64_t number, bool last) {
  auto path = segment_path(number);
  int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0)
    return io_error(path, "cannot open");
  auto size = static_cast<int64_t>(::lseek(fd, 0, SEEK_END));
  segment_info info;
  int64_t offset = 0;
  std::vector<char> payload;
  caf::error result;
  while (offset < size) {
    record_header h{};
    std::string problem;
    bool ok = pread_fully(fd, reinterpret_cast<char*>(&h), sizeof(h), offset);
    if (!ok)
      problem = "record header cut short";
    else if ((h.magic != record_magic && h.magic != progress_magic) ||
             h.crc != header_crc(h))
      problem = "bad record header";
    else if (offset + static_cast<int64_t>(sizeof(h) + h.payload) > size)
      problem = "record cut short";
    else if (h.magic == progress_magic) {
      payload.resize(h.payload);
      std::string source, token;
      if (pread_fully(fd, payload.data(), h.payload,
                      offset + static_cast<int64_t>(sizeof(h))) &&
          decode_progress(payload, source, token))
        st_.progress[source] = {std::move(token), number, false};
      else if (last)
        problem = "progress record damaged";
      else
        // Losing a token costs re-reads at most (sources fall back to an
        // older token or their own positions): not worth refusing the log.
        log().warn("file channel: damaged progress record at byte {} of {}; "
                   "skipped",
                   offset, path.string());
    } else {
      // Check the payload of every record still to deliver, and of every
      // record of the last segment (where a crash may have torn a write).
      if (last || h.seq > st_.committed_through) {
        payload.resize(h.payload);
        if (!pread_fully(fd, payload.data(), h.payload,
                         offset + static_cast<int64_t>(sizeof(h))))
          problem = "record payload unreadable";
        else if (!event_batch::decode(payload))
          problem = "record payload damaged";
      }
    }
    if (!problem.empty()) {
      if (!last) {
        result = make_error(
            channel_errc::corrupt_log,
            fmt::format("{} at byte {}: {}", path.string(), offset, problem));
        break;
      }
      log().warn("file channel: {} at byte {} of {}: cutting off a torn "
                 "write of the last run",
                 problem, offset, path.string());
      ++torn_records_;
      if (::ftruncate(fd, offset) != 0 || ::fdatasync(fd) != 0)
        result = io_error(path, "cannot cut off the torn record");
      size = offset;
      break;
    }
    auto length = static_cast<uint32_t>(sizeof(h) + h.payload);
    if (h.magic == progress_magic) {
      offset += length;
      continue;
    }
    if (h.seq > st_.committed_through) {
      st_.queue.push_back({number, offset, length, h.seq, h.events});
      st_.queued_events += h.events;
      st_.held_events += h.events;
      st_.held_bytes += h.payload;
      recovered_events_ += h.events;
    }
    info.max_seq = std::max(info.max_seq, h.seq);
    st_.next_seq = std::max(st_.next_seq, h.seq + 1);
    offset += length;
  }
  // The previous run's last writes may still be only in the page cache; a
  // new segment is about to follow this one, after which a torn tail here
  // would read as damage in the middle of the log.
  if (last && result == caf::error{} && ::fdatasync(fd) != 0)
    result = io_error(path, "cannot sync");
  ::close(fd);
  info.size = size;
  st_.segments[number] = info;
  st_.disk_bytes += size;
  return result;
}

caf::error file_store::open_segment(uint64_t number) {
  auto path = segment_path(number);
  int fd =
      ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0)
    return io_error(path, "cannot create");
  if (::fsync(dir_fd_) != 0) {
    auto err = io_error(cfg_.directory, "cannot sync the directory");
    ::close(fd);
    return err;
  }
  fd_ = fd;
  synced_size_ = 0;
  st_.active = number;
  st_.segments[number] = segment_info{};
  return {};
}

caf::error file_store::open() {
  if (opened_)
    return {};
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
                        "directory " + cfg_.directory.string() +
                            " is in use by another file channel (its lock "
                            "file is held); give each channel its own "
                            "directory");
    return io_error(lock_path, "cannot lock");
  }
  if (auto err = read_pointer())
    return err;
  std::vector<uint64_t> numbers;
  for (auto& e : fs::directory_iterator{cfg_.directory, ec}) {
    auto name = e.path().filename().string();
    if (name.size() == 24 && name.ends_with(".seg"))
      numbers.push_back(std::stoull(name.substr(0, 20)));
  }
  std::sort(numbers.begin(), numbers.end());
  for (size_t i = 0; i < numbers.size(); ++i)
    if (auto err = scan_segment(numbers[i], i + 1 == numbers.size()))
      return err;
  st_.next_seq = std::max(st_.next_seq, st_.committed_through + 1);
  st_.synced_seq = st_.next_seq - 1; // the scan synced the last segment
  if (auto err = open_segment(numbers.empty() ? 1 : numbers.back() + 1))
    return err;
  if (recovered_events_ > 0 || torn_records_ > 0)
    log().info("file channel {}: recovered {} uncommitted event(s){}",
               cfg_.directory.string(), recovered_events_,
               torn_records_ > 0
                   ? fmt::format(", cut off {} torn record(s)", torn_records_)
                   : std::string{});
  delete_committed_segments();
  opened_ = true;
  return {};
}

caf::error file_store::roll() {
  if (st_.dirty && cfg_.sync_data(fd_) != 0)
    return sync_failed(segment_path(st_.active));
  st_.dirty = false;
  ::close(fd_);
  fd_ = -1;
  return open_segment(st_.active + 1);
}

caf::error file_store::write_records(const iovec* parts, int n) {
  // A roll whose new segment could not be created is tried again here.
  if (fd_ < 0)
    if (auto err = open_segment(st_.active + 1))
      return err;
  size_t length = 0;
  for (int i = 0; i < n; ++i)
    length += parts[i].iov_len;
  auto& seg = st_.segments[st_.active];
  auto written = ::writev(fd_, parts, n);
  if (written != static_cast<ssize_t>(length)) {
    auto err = written < 0 ? io_error(segment_path(st_.active), "cannot append")
                           : make_error(channel_errc::disk_full,
                                        segment_path(st_.active).string() +
                                            ": short write (disk full?)");
    // Cut a partial record off so the log stays valid.
    if (written > 0 && ::ftruncate(fd_, seg.size) != 0)
      log().error("file channel: cannot cut off a partial record of {}",
                  segment_path(st_.active).string());
    return err;
  }
  seg.size += static_cast<int64_t>(length);
  st_.disk_bytes += static_cast<int64_t>(length);
  st_.dirty = true;
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
  if (broken_)
    return broken_error();
  if (fd_ >= 0 && st_.segments[st_.active].size >= segment_size_)
    if (auto err = roll())
      return err;
  buf_.clear();
  batch.encode(buf_);
  record_header h{record_magic, static_cast<uint32_t>(buf_.size()),
                  st_.next_seq, static_cast<uint32_t>(batch.size()), 0};
  h.crc = header_crc(h);
  // The source's token follows its batch in the same write: a crash keeps
  // it only with the batch (recovery cuts the log at the first damage).
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

caf::error file_store::sync_failed(const fs::path& path) {
  auto err = io_error(path, "cannot sync");
  // The kernel may have dropped the pages whose write-back failed while a
  // read still shows them; cut what was not known durable, so a restart
  // does not trust it (its sources read it again).
  if (fd_ >= 0 && ::ftruncate(fd_, synced_size_) != 0)
    log().error("file channel: cannot cut {} back to its last synced size "
                "{}: {}",
                path.string(), synced_size_, err_text());
  broken_ = true;
  return err;
}

caf::error file_store::broken_error() const {
  return make_error(channel_errc::io_error,
                    "file channel " + cfg_.directory.string() +
                        ": an fdatasync failed; nothing more is accepted "
                        "until a restart recovers from what the log holds");
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
  if (broken_)
    return broken_error();
  if (st_.dirty && fd_ >= 0) {
    if (cfg_.sync_data(fd_) != 0)
      return sync_failed(segment_path(st_.active));
    st_.dirty = false;
  }
  if (fd_ >= 0)
    synced_size_ = st_.segments[st_.active].size;
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
  if (broken_)
    return broken_error();
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
    st_.committed_above.insert(ref.seq);
  }
  st_.leases.erase(i);
  auto& above = st_.committed_above;
  while (!above.empty() && *above.begin() <= st_.committed_through + 1) {
    st_.committed_through = std::max(st_.committed_through, *above.begin());
    above.erase(above.begin());
  }
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
  if (carry && fd_ >= 0)
    write_progress();
  for (auto number : doomed) {
    auto path = segment_path(number);
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
      log().warn("file channel: cannot delete {}: {}", path.string(),
                 err_text());
      continue;
    }
    st_.disk_bytes -= st_.segments[number].size;
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
  // A guess of the next batch's size, never more than a segment may hold.
  auto need = std::min(static_cast<int64_t>(bytes), segment_size_);
  if (st_.disk_bytes + need > cfg_.max_disk_bytes) {
    why = fmt::format("directory {}: max_disk_bytes {} reached ({} in use)",
                      cfg_.directory.string(), cfg_.max_disk_bytes,
                      st_.disk_bytes);
    return false;
  }
  struct statvfs sv;
  if (::statvfs(cfg_.directory.c_str(), &sv) == 0) {
    auto free_bytes =
        static_cast<int64_t>(sv.f_bavail) * static_cast<int64_t>(sv.f_frsize);
    if (free_bytes - need < cfg_.min_free_space) {
      why = fmt::format("directory {}: {} MiB free, below min_free_space {} "
                        "MiB",
                        cfg_.directory.string(), free_bytes >> 20,
                        cfg_.min_free_space >> 20);
      return false;
    }
  }
  return true;
}

void file_store::make_room() {
  // An active segment without batches (progress records only) frees
  // nothing when retired.
  if (fd_ < 0 || st_.segments[st_.active].max_seq == 0)
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
  for (int* fd : {&fd_, &pointer_fd_, &dir_fd_, &lock_fd_}) {
    if (*fd >= 0)
      ::close(*fd);
    *fd = -1;
  }
  opened_ = false;
}

} // namespace sluice
