// Recovery of the file channel's store: the commit pointer, the scan of
// every segment, and `open`. The writing half is file_store.cpp.
#include "runtime/file_store.hpp"

#include <algorithm>
#include <cerrno>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <fmt/format.h>

#include "runtime/errors.hpp"
#include "runtime/event_batch.hpp"
#include "runtime/file_store_format.hpp"
#include "runtime/log.hpp"

namespace sluice {

namespace fs = std::filesystem;
using namespace file_format;

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

} // namespace sluice
