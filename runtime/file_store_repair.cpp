#include "runtime/file_store_repair.hpp"

#include <algorithm>
#include <cerrno>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <fmt/format.h>

#include "runtime/errors.hpp"
#include "runtime/file_store_format.hpp"

namespace sluice {

namespace fs = std::filesystem;
using namespace file_format;

namespace {

/// Holds a channel directory's lock, as a running channel does.
class dir_lock {
 public:
  ~dir_lock() {
    if (fd_ >= 0)
      ::close(fd_);
  }

  caf::error acquire(const fs::path& dir) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec))
      return make_error(channel_errc::io_error,
                        dir.string() + " is not a directory");
    auto path = dir / "lock";
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0)
      return io_error(path, "cannot open");
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      if (errno == EWOULDBLOCK)
        return make_error(channel_errc::io_error,
                          "channel " + dir.string() +
                              " is in use by a running sluice (its lock file "
                              "is held); stop it first");
      return io_error(path, "cannot lock");
    }
    return {};
  }

 private:
  int fd_ = -1;
};

std::string printable(const std::string& token) {
  bool plain = std::all_of(token.begin(), token.end(),
                           [](char c) { return c >= 0x20 && c < 0x7f; });
  if (plain && token.size() <= 120)
    return "'" + token + "'";
  return fmt::format("<{} bytes>", token.size());
}

std::string lost_of(const damaged_span& s) {
  if (s.loss_unknown)
    return "unknown whether uncommitted batches were lost";
  if (s.lost_first == 0)
    return "no uncommitted batch lost";
  return fmt::format("uncommitted batches {}..{} lost", s.lost_first,
                     s.lost_last);
}

std::string pointer_text(const log_scan& scan) {
  switch (scan.pointer) {
  case pointer_state::ok:
    return scan.committed_through == 0
               ? std::string{"nothing committed yet"}
               : fmt::format("committed through batch {}",
                             scan.committed_through);
  case pointer_state::missing:
    return "missing";
  case pointer_state::empty:
    return scan.pointer_trusted ? "empty (nothing committed yet)"
                                : "empty, but the log's first batches are "
                                  "gone";
  case pointer_state::damaged:
    return "both slots damaged";
  }
  return {};
}

caf::error sync_dir(const fs::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return io_error(dir, "cannot open");
  auto err = ::fsync(fd) == 0 ? caf::error{} : io_error(dir, "cannot sync");
  ::close(fd);
  return err;
}

/// Rewrites segment `path` without the byte ranges in `cut`.
caf::error drop_spans(const fs::path& path,
                      const std::vector<std::pair<int64_t, int64_t>>& cut) {
  int in = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0)
    return io_error(path, "cannot open");
  auto size = static_cast<int64_t>(::lseek(in, 0, SEEK_END));
  std::vector<char> data(static_cast<size_t>(size));
  bool ok = size == 0 || pread_fully(in, data.data(), data.size(), 0);
  ::close(in);
  if (!ok)
    return io_error(path, "cannot read");
  std::vector<char> kept;
  int64_t at = 0;
  for (auto [begin, end] : cut) {
    kept.insert(kept.end(), data.begin() + at, data.begin() + begin);
    at = end;
  }
  kept.insert(kept.end(), data.begin() + at, data.end());
  auto tmp = path;
  tmp += ".repair";
  int out = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (out < 0)
    return io_error(tmp, "cannot create");
  ok = ::write(out, kept.data(), kept.size()) ==
           static_cast<ssize_t>(kept.size()) &&
       ::fdatasync(out) == 0;
  auto err = ok ? caf::error{} : io_error(tmp, "cannot write");
  ::close(out);
  if (err)
    return err;
  if (::rename(tmp.c_str(), path.c_str()) != 0)
    return io_error(path, "cannot replace");
  return {};
}

caf::error write_fresh_pointer(const fs::path& dir, uint64_t pointer) {
  auto path = dir / "commit.ptr";
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    return io_error(path, "cannot create");
  pointer_slot s{};
  s.magic = pointer_magic;
  s.generation = 1;
  s.pointer = pointer;
  s.crc = slot_crc(s);
  bool ok = ::pwrite(fd, &s, sizeof(s), sizeof(s)) ==
                static_cast<ssize_t>(sizeof(s)) &&
            ::fdatasync(fd) == 0;
  auto err = ok ? caf::error{} : io_error(path, "cannot write");
  ::close(fd);
  return err;
}

void describe_scan(const fs::path& dir, channel_check& out) {
  auto& scan = out.scan;
  auto& l = out.lines;
  int64_t bytes = 0;
  for (auto& [_, s] : scan.segments)
    bytes += s.size;
  l.push_back(fmt::format("channel {}: {} segment(s), {} byte(s)", dir.string(),
                          scan.segments.size(), bytes));
  for (auto& [n, s] : scan.segments)
    l.push_back(
        s.batches == 0
            ? fmt::format("  segment {}: {} byte(s), no batch", segment_name(n),
                          s.size)
            : fmt::format("  segment {}: {} byte(s), {} batch(es) {}..{}, {} "
                          "event(s)",
                          segment_name(n), s.size, s.batches, s.first_seq,
                          s.max_seq, s.events));
  l.push_back(scan.batches == 0
                  ? std::string{"batches: none"}
                  : fmt::format("batches: {} valid, sequence {}..{}",
                                scan.batches, scan.first_seq, scan.last_seq));
  l.push_back("commit pointer: " + pointer_text(scan));
  if (!scan.pointer_trusted && scan.batches > 0) {
    out.healthy = false;
    l.push_back(fmt::format(
        "  without a trustworthy pointer every batch in the log ({} event(s)) "
        "is delivered again on the next start (at-least-once)",
        scan.pending_events));
  }
  l.push_back(fmt::format("to deliver: {} batch(es), {} event(s)",
                          scan.pending.size(), scan.pending_events));
  if (scan.progress.empty())
    l.push_back("progress tokens: none");
  for (auto& [source, p] : scan.progress)
    l.push_back(fmt::format("progress token of source '{}': {} (in segment {})",
                            source, printable(p.token),
                            segment_name(p.segment)));
  for (auto& s : scan.damaged) {
    out.healthy = false;
    l.push_back(fmt::format("DAMAGED: segment {} bytes {}..{} ({} byte(s), "
                            "{}): {}",
                            segment_name(s.segment), s.begin, s.end,
                            s.end - s.begin, s.reason, lost_of(s)));
  }
  if (scan.out_of_order > 0)
    l.push_back(fmt::format("  {} record(s) with a sequence number out of "
                            "order are counted in the damaged spans",
                            scan.out_of_order));
  if (scan.torn_at >= 0) {
    out.healthy = false;
    auto last = scan.segments.rbegin();
    l.push_back(fmt::format("TORN TAIL: segment {} from byte {} ({} byte(s), "
                            "{}): an unfinished write, cut off at the next "
                            "start",
                            segment_name(last->first), scan.torn_at,
                            last->second.size - scan.torn_at,
                            scan.torn_reason));
  }
  for (auto& g : scan.gaps) {
    if (!g.acknowledged)
      out.healthy = false;
    l.push_back(fmt::format("{}: {}",
                            g.acknowledged ? "GAP (acknowledged)" : "GAP",
                            describe_gap(g)));
  }
  if (out.healthy) {
    l.push_back("status: healthy");
    return;
  }
  std::vector<std::string> loss;
  bool unknown = false;
  for (auto& s : scan.damaged) {
    unknown = unknown || s.loss_unknown;
    if (s.lost_first > 0)
      loss.push_back(fmt::format("batches {}..{}", s.lost_first, s.lost_last));
  }
  for (auto& g : scan.gaps)
    if (!g.acknowledged)
      loss.push_back(fmt::format("batches {}..{}", g.first, g.last));
  std::string lost;
  for (auto& x : loss)
    lost += (lost.empty() ? "" : ", ") + x;
  // Damage with no batch after it (or before an untrusted pointer) may
  // have held uncommitted batches: say so rather than "nothing".
  if (unknown)
    lost = lost.empty() ? std::string{"unknown"}
                        : lost + ", and an unknown number more";
  l.push_back(fmt::format(
      "status: damaged; lost for good: {}; {}; `sluice channel repair {}` "
      "rewrites the log without the damage",
      lost.empty() ? std::string{"nothing uncommitted"} : lost,
      scan.open_gaps().empty()
          ? "the channel opens as it is and reports the damage at each start"
          : "the channel refuses to open until the gap is acknowledged",
      dir.string()));
}

} // namespace

caf::expected<channel_check> check_channel(const fs::path& dir) {
  dir_lock lock;
  if (auto err = lock.acquire(dir))
    return err;
  auto scan = scan_log(dir, true);
  if (!scan)
    return scan.error();
  channel_check out;
  out.scan = std::move(*scan);
  describe_scan(dir, out);
  return out;
}

caf::expected<channel_repair> repair_channel(const fs::path& dir) {
  dir_lock lock;
  if (auto err = lock.acquire(dir))
    return err;
  auto scan = scan_log(dir, true);
  if (!scan)
    return scan.error();
  channel_repair out;
  if (scan->torn_at >= 0) {
    auto last = scan->segments.rbegin();
    auto path = dir / segment_name(last->first);
    std::error_code ec;
    fs::resize_file(path, static_cast<uintmax_t>(scan->torn_at), ec);
    if (ec)
      return make_error(channel_errc::io_error,
                        path.string() + ": cannot cut: " + ec.message());
    out.done.push_back(fmt::format("cut the torn tail off segment {} at byte "
                                   "{} ({} byte(s))",
                                   segment_name(last->first), scan->torn_at,
                                   last->second.size - scan->torn_at));
    out.lost.push_back(fmt::format("an unfinished write of {} byte(s) at the "
                                   "end of segment {}",
                                   last->second.size - scan->torn_at,
                                   segment_name(last->first)));
  }
  std::map<uint64_t, std::vector<std::pair<int64_t, int64_t>>> cuts;
  for (auto& s : scan->damaged)
    cuts[s.segment].emplace_back(s.begin, s.end);
  for (auto& [number, ranges] : cuts) {
    if (auto err = drop_spans(dir / segment_name(number), ranges))
      return err;
    int64_t n = 0;
    for (auto [b, e] : ranges)
      n += e - b;
    out.done.push_back(fmt::format("removed {} damaged byte(s) in {} span(s) "
                                   "from segment {}",
                                   n, ranges.size(), segment_name(number)));
  }
  for (auto& s : scan->damaged) {
    if (s.loss_unknown)
      out.lost.push_back(fmt::format("unknown: the damaged bytes {}..{} of "
                                     "segment {} may have held uncommitted "
                                     "batches",
                                     s.begin, s.end, segment_name(s.segment)));
    if (s.lost_first == 0)
      continue;
    if (auto err = acknowledge_gap(dir, s.lost_first, s.lost_last))
      return err;
    out.lost.push_back(fmt::format("uncommitted batches {}..{} (damaged in "
                                   "segment {}, bytes {}..{}); their event "
                                   "count is unknown",
                                   s.lost_first, s.lost_last,
                                   segment_name(s.segment), s.begin, s.end));
  }
  for (auto& g : scan->open_gaps()) {
    if (auto err = acknowledge_gap(dir, g.first, g.last))
      return err;
    out.done.push_back(
        fmt::format("acknowledged the gap of batches {}..{}", g.first, g.last));
    out.lost.push_back(describe_gap(g));
  }
  if (!scan->pointer_trusted) {
    auto pointer =
        scan->pending.empty() ? scan->last_seq : scan->pending.front().seq - 1;
    if (auto err = write_fresh_pointer(dir, pointer))
      return err;
    out.done.push_back(fmt::format(
        "wrote commit.ptr anew ({}): the {} event(s) in the log are "
        "delivered again on the next start (at-least-once)",
        pointer_text(*scan), scan->pending_events));
  }
  out.changed = !out.done.empty();
  if (out.changed)
    if (auto err = sync_dir(dir))
      return err;
  return out;
}

} // namespace sluice
