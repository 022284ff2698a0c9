#include "runtime/file_store_scan.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <unistd.h>

#include <fmt/format.h>

#include "runtime/errors.hpp"
#include "runtime/event_batch.hpp"
#include "runtime/file_store_format.hpp"

namespace sluice::file_format {

namespace fs = std::filesystem;

namespace {

constexpr const char* acks_file = "acknowledged_gaps";

/// The smallest record: a header and an empty payload. Bounds how many
/// batches a damaged span can hide.
constexpr int64_t min_record = sizeof(record_header);

std::vector<std::pair<uint64_t, uint64_t>> read_acks(const fs::path& dir) {
  std::vector<std::pair<uint64_t, uint64_t>> result;
  std::ifstream in{dir / acks_file};
  uint64_t first = 0;
  uint64_t last = 0;
  while (in >> first >> last)
    result.emplace_back(first, last);
  return result;
}

void read_pointer(const fs::path& dir, log_scan& out) {
  auto path = dir / "commit.ptr";
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    out.pointer = pointer_state::missing;
    return;
  }
  auto size = ::lseek(fd, 0, SEEK_END);
  bool found = false;
  for (int i = 0; i < 2; ++i) {
    pointer_slot s{};
    if (!pread_fully(fd, reinterpret_cast<char*>(&s), sizeof(s),
                     i * static_cast<int64_t>(sizeof(s))))
      continue;
    if (s.magic != pointer_magic || s.crc != slot_crc(s))
      continue;
    if (!found || s.generation >= out.pointer_generation) {
      out.pointer_generation = s.generation;
      out.committed_through = s.pointer;
    }
    found = true;
  }
  ::close(fd);
  out.pointer = found       ? pointer_state::ok
                : size == 0 ? pointer_state::empty
                            : pointer_state::damaged;
  // An empty pointer is trusted as "nothing committed yet" until the log
  // shows otherwise (its first batch is not the first ever written).
  out.pointer_trusted = out.pointer != pointer_state::missing &&
                        out.pointer != pointer_state::damaged;
}

class scanner {
 public:
  scanner(log_scan& out, bool verify_all,
          std::vector<std::pair<uint64_t, uint64_t>> acks)
      : out_(out), verify_all_(verify_all), acks_(std::move(acks)) {}

  caf::error scan(const fs::path& path, uint64_t number, bool last) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
      return io_error(path, "cannot open");
    auto size = static_cast<int64_t>(::lseek(fd, 0, SEEK_END));
    auto& seg = out_.segments[number];
    seg.size = size;
    window_size_ = 0; // the window holds bytes of another file
    // Segment numbers that skip one: a segment is gone, and no damage can
    // explain the batches it held.
    if (scanned_any_ && number != last_number_ + 1)
      hole_ = true;
    int64_t offset = 0;
    int64_t damage = -1;
    std::string reason;
    while (offset < size) {
      record_header h{};
      auto problem = check(fd, size, offset, last, damage, h);
      if (problem.empty()) {
        auto length = static_cast<int64_t>(sizeof(h) + h.payload);
        // In the last segment, progress records after damage count only once
        // a valid batch follows: an unsynced batch can be lost while the page
        // with its progress record survives, and adopting that token would
        // make the source skip the lost batch.
        if (last && h.magic == progress_magic &&
            (damage >= 0 || !deferred_.empty())) {
          deferred_.push_back({damage, offset, std::move(reason),
                               std::move(progress_source_),
                               std::move(progress_token_)});
          reason.clear();
          damage = -1;
          offset += length;
          continue;
        }
        for (auto& d : deferred_) {
          if (d.damage >= 0)
            close_span(number, d.damage, d.offset, d.reason);
          out_.progress[d.source] = {std::move(d.token), number};
        }
        deferred_.clear();
        if (damage >= 0) {
          close_span(number, damage, offset, reason);
          damage = -1;
        }
        accept(h, number, offset);
        offset += length;
        continue;
      }
      if (damage < 0) {
        damage = offset;
        reason = std::move(problem);
      }
      offset = next_magic(fd, offset + 1, size);
    }
    ::close(fd);
    if (!deferred_.empty()) {
      // Damage, then only progress records: a torn tail, cut with them.
      out_.torn_at = deferred_.front().damage;
      out_.torn_reason = std::move(deferred_.front().reason);
      deferred_.clear();
    } else if (damage >= 0) {
      if (last) {
        out_.torn_at = damage;
        out_.torn_reason = std::move(reason);
      } else
        close_span(number, damage, size, reason);
    }
    base_ += size;
    last_number_ = number;
    scanned_any_ = true;
    return {};
  }

  /// Damage with no valid batch after it: what it cost is unknown (the
  /// batches it held may or may not have been committed).
  void finish() {
    for (auto i : spans_since_batch_)
      out_.damaged[i].loss_unknown = true;
    spans_since_batch_.clear();
  }

 private:
  /// The next offset at or after `from` where a record magic appears; `size`
  /// when none does. Reads 64 KiB at a time into one buffer and searches on
  /// in it from candidate to candidate, reading again only past its end.
  int64_t next_magic(int fd, int64_t from, int64_t size) {
    if (window_.empty())
      window_.resize(size_t{1} << 16);
    while (from + 4 <= size) {
      if (from < window_at_ || from + 4 > window_at_ + window_size_) {
        auto n = std::min<int64_t>(static_cast<int64_t>(window_.size()),
                                   size - from);
        if (!pread_fully(fd, window_.data(), static_cast<size_t>(n), from)) {
          window_size_ = 0;
          return size;
        }
        window_at_ = from;
        window_size_ = n;
      }
      for (auto i = from - window_at_; i + 4 <= window_size_; ++i) {
        uint32_t m = 0;
        std::memcpy(&m, window_.data() + i, 4);
        if (m == record_magic || m == progress_magic)
          return window_at_ + i;
      }
      if (window_at_ + window_size_ >= size)
        break;
      from = window_at_ + window_size_ - 3;
    }
    return size;
  }

  /// Checks the record at `offset` fully; returns why it is not valid.
  std::string check(int fd, int64_t size, int64_t offset, bool last,
                    int64_t damage, record_header& h) {
    if (!pread_fully(fd, reinterpret_cast<char*>(&h), sizeof(h), offset))
      return "record header cut short";
    if ((h.magic != record_magic && h.magic != progress_magic) ||
        h.crc != header_crc(h))
      return "bad record header";
    if (offset + static_cast<int64_t>(sizeof(h) + h.payload) > size)
      return "record cut short";
    auto at = offset + static_cast<int64_t>(sizeof(h));
    if (h.magic == progress_magic) {
      payload_.resize(h.payload);
      std::string source;
      std::string token;
      if (!pread_fully(fd, payload_.data(), h.payload, at) ||
          !decode_progress(payload_, source, token))
        return "progress record damaged";
      progress_source_ = std::move(source);
      progress_token_ = std::move(token);
      return {};
    }
    if (h.seq <= prev_seq_) {
      ++out_.out_of_order;
      return fmt::format("batch sequence {} does not follow {}", h.seq,
                         prev_seq_);
    }
    // After damage, a record inside a damaged record's payload could pass
    // every check: its sequence number must also fit the bytes skipped.
    // The room is measured from the end of the last accepted batch: a valid
    // progress record ends a damaged stretch but holds no lost batch, so the
    // bytes before it still count.
    if ((damage >= 0 || !spans_since_batch_.empty() || !deferred_.empty()) &&
        prev_seq_ > 0 && !hole_ && h.seq > prev_seq_ + 1 + room(offset)) {
      ++out_.out_of_order;
      return fmt::format("batch sequence {} too far after {}", h.seq,
                         prev_seq_);
    }
    bool pending = !out_.pointer_trusted || h.seq > out_.committed_through;
    if (damage >= 0 || last || verify_all_ || pending) {
      payload_.resize(h.payload);
      if (!pread_fully(fd, payload_.data(), h.payload, at))
        return "record payload unreadable";
      if (!event_batch::decode(payload_))
        return "record payload damaged";
    }
    return {};
  }

  /// How many batches the bytes from the end of the last accepted batch (or
  /// the start of the log) to `offset` of the segment being scanned can hold.
  uint64_t room(int64_t offset) const {
    return static_cast<uint64_t>(base_ + offset - prev_batch_end_) /
           static_cast<uint64_t>(min_record);
  }

  void close_span(uint64_t number, int64_t begin, int64_t end,
                  std::string& reason) {
    out_.damaged.push_back({number, begin, end, 0, 0, std::move(reason)});
    spans_since_batch_.push_back(out_.damaged.size() - 1);
  }

  bool acknowledged(uint64_t first, uint64_t last) const {
    return std::any_of(acks_.begin(), acks_.end(), [&](auto& a) {
      return a.first <= first && last <= a.second;
    });
  }

  void accept(const record_header& h, uint64_t number, int64_t offset) {
    if (h.magic == progress_magic) {
      out_.progress[progress_source_] = {std::move(progress_token_), number};
      return;
    }
    auto& seg = out_.segments[number];
    if (out_.batches == 0) {
      out_.first_seq = h.seq;
      if (out_.pointer == pointer_state::empty && h.seq > 1)
        out_.pointer_trusted = false;
    }
    for (auto i : spans_since_batch_)
      out_.damaged[i].seq_after = h.seq;
    // Batches missing before this one, above the pointer.
    if (!out_.pointer_trusted && prev_seq_ == 0) {
      // Nothing tells which batches came before: damage here lost an
      // unknown number of them.
      for (auto i : spans_since_batch_)
        out_.damaged[i].loss_unknown = true;
    } else {
      auto lower =
          std::max(prev_seq_,
                   out_.pointer_trusted ? out_.committed_through : uint64_t{0});
      // Damage explains the missing batches only if its bytes could hold
      // them and no segment is gone; otherwise they are a gap.
      if (h.seq > lower + 1) {
        if (!spans_since_batch_.empty() && !hole_ &&
            h.seq - 1 - lower <= room(offset)) {
          auto& span = out_.damaged[spans_since_batch_.front()];
          span.lost_first = lower + 1;
          span.lost_last = h.seq - 1;
        } else {
          for (auto i : spans_since_batch_)
            out_.damaged[i].loss_unknown = true;
          out_.gaps.push_back({lower + 1, h.seq - 1, prev_segment_, number,
                               acknowledged(lower + 1, h.seq - 1)});
        }
      }
    }
    spans_since_batch_.clear();
    if (!out_.pointer_trusted || h.seq > out_.committed_through) {
      out_.pending.push_back({number, offset,
                              static_cast<uint32_t>(sizeof(h) + h.payload),
                              h.seq, h.events});
      out_.pending_events += h.events;
    }
    if (seg.batches == 0)
      seg.first_seq = h.seq;
    seg.max_seq = std::max(seg.max_seq, h.seq);
    ++seg.batches;
    seg.events += h.events;
    ++out_.batches;
    out_.last_seq = h.seq;
    prev_seq_ = h.seq;
    prev_segment_ = number;
    prev_batch_end_ =
        base_ + offset + static_cast<int64_t>(sizeof(h) + h.payload);
    hole_ = false;
  }

  log_scan& out_;
  bool verify_all_;
  std::vector<std::pair<uint64_t, uint64_t>> acks_;
  std::vector<char> payload_;
  std::string progress_source_;
  std::string progress_token_;
  uint64_t prev_seq_ = 0;
  uint64_t prev_segment_ = 0;
  /// Where the last accepted batch ends, counting the bytes of every
  /// segment scanned before as if the log were one file.
  int64_t prev_batch_end_ = 0;
  /// Bytes of the segments scanned before the current one.
  int64_t base_ = 0;
  uint64_t last_number_ = 0;
  bool scanned_any_ = false;
  /// A segment number was skipped since the last accepted batch.
  bool hole_ = false;
  std::vector<size_t> spans_since_batch_;
  /// A progress record in the last segment after damage, with the damage
  /// before it (-1: none), held until a valid batch follows.
  struct deferred_progress {
    int64_t damage;
    int64_t offset;
    std::string reason;
    std::string source;
    std::string token;
  };
  std::vector<deferred_progress> deferred_;
  /// Bytes `window_at_` .. `window_at_ + window_size_` of the segment being
  /// scanned, for `next_magic`.
  std::vector<char> window_;
  int64_t window_at_ = 0;
  int64_t window_size_ = 0;
};

} // namespace

int64_t log_scan::damaged_bytes() const noexcept {
  int64_t n = 0;
  for (auto& s : damaged)
    n += s.end - s.begin;
  return n;
}

std::vector<sequence_gap> log_scan::open_gaps() const {
  std::vector<sequence_gap> result;
  for (auto& g : gaps)
    if (!g.acknowledged)
      result.push_back(g);
  return result;
}

std::string segment_name(uint64_t number) {
  return fmt::format("{:020d}.seg", number);
}

std::string describe_gap(const sequence_gap& gap) {
  auto text = fmt::format("batches {}..{} are missing", gap.first, gap.last);
  if (gap.after_segment == 0)
    return text +
           fmt::format(" before segment {}", segment_name(gap.before_segment));
  text += fmt::format(" between segments {} and {}",
                      segment_name(gap.after_segment),
                      segment_name(gap.before_segment));
  if (gap.before_segment > gap.after_segment + 1)
    text += gap.before_segment == gap.after_segment + 2
                ? fmt::format(" (segment {} is gone)",
                              segment_name(gap.after_segment + 1))
                : fmt::format(" (segments {} to {} are gone)",
                              segment_name(gap.after_segment + 1),
                              segment_name(gap.before_segment - 1));
  return text;
}

caf::expected<log_scan> scan_log(const fs::path& dir, bool verify_all) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    return make_error(channel_errc::io_error,
                      dir.string() + " is not a directory");
  log_scan out;
  read_pointer(dir, out);
  std::vector<uint64_t> numbers;
  for (auto& e : fs::directory_iterator{dir, ec}) {
    auto name = e.path().filename().string();
    uint64_t n = 0;
    if (name.size() != 24 || !name.ends_with(".seg"))
      continue;
    auto [p, err] = std::from_chars(name.data(), name.data() + 20, n);
    if (err == std::errc{} && p == name.data() + 20)
      numbers.push_back(n);
  }
  if (ec)
    return make_error(channel_errc::io_error,
                      dir.string() + ": cannot list: " + ec.message());
  std::sort(numbers.begin(), numbers.end());
  scanner s{out, verify_all, read_acks(dir)};
  for (size_t i = 0; i < numbers.size(); ++i)
    if (auto err = s.scan(dir / segment_name(numbers[i]), numbers[i],
                          i + 1 == numbers.size()))
      return err;
  s.finish();
  if (!out.pointer_trusted)
    out.committed_through = 0;
  return out;
}

caf::error acknowledge_gap(const fs::path& dir, uint64_t first, uint64_t last) {
  auto path = dir / acks_file;
  int fd =
      ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0)
    return io_error(path, "cannot open");
  auto line = fmt::format("{} {}\n", first, last);
  bool ok = ::write(fd, line.data(), line.size()) ==
                static_cast<ssize_t>(line.size()) &&
            ::fdatasync(fd) == 0;
  auto err = ok ? caf::error{} : io_error(path, "cannot write");
  ::close(fd);
  return err;
}

} // namespace sluice::file_format
