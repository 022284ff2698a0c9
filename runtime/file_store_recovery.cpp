// Recovery of the file channel's store: `open` applies what a scan of the
// directory found (file_store_scan.cpp). The writing half is file_store.cpp.
#include "runtime/file_store.hpp"

#include <algorithm>
#include <cerrno>
#include <fcntl.h>
#include <sys/file.h>
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

std::string pointer_problem(pointer_state s) {
  switch (s) {
  case pointer_state::missing:
    return "commit.ptr is missing";
  case pointer_state::empty:
    return "commit.ptr is empty";
  case pointer_state::damaged:
    return "both slots of commit.ptr are damaged";
  case pointer_state::ok:
    break;
  }
  return "commit.ptr does not match the log";
}

std::string lost_text(const damaged_span& s) {
  if (s.loss_unknown)
    return "whether uncommitted batches were lost in it is unknown";
  if (s.lost_first == 0)
    return "no uncommitted batch was lost in it";
  return fmt::format("uncommitted batches {}..{} were in it and are lost",
                     s.lost_first, s.lost_last);
}

} // namespace

caf::error file_store::cut_torn_tail(uint64_t number, int64_t at,
                                     const std::string& reason) {
  log().warn("file channel: {} at byte {} of {}: cutting off a torn write of "
             "the last run (nothing valid follows it)",
             reason, at, segment_path(number).string());
  ++torn_records_;
  return files_.cut(segment_name(number), at);
}

caf::error file_store::open() {
  if (opened_)
    return {};
  if (auto err = files_.lock())
    return err;
  auto scan = scan_log(cfg_.directory, false);
  if (!scan)
    return scan.error();
  auto dir = cfg_.directory.string();
  if (auto gaps = scan->open_gaps(); !gaps.empty()) {
    std::string what;
    for (auto& g : gaps)
      what += (what.empty() ? "" : "; ") + describe_gap(g);
    // Only an operator can settle a gap: restarting cannot.
    return make_permanent(
        make_error(channel_errc::corrupt_log,
                   fmt::format("file channel {}: {}; their events cannot "
                               "be delivered. `sluice channel check {}` "
                               "shows what the log holds; `sluice channel "
                               "repair {}` acknowledges the gap and lets "
                               "the channel go on without them",
                               dir, what, dir, dir)));
  }
  for (auto& g : scan->gaps)
    log().warn("file channel {}: {} (acknowledged by a repair)", dir,
               describe_gap(g));
  auto& segs = scan->segments;
  if (scan->torn_at >= 0) {
    auto last = segs.rbegin()->first;
    if (auto err = cut_torn_tail(last, scan->torn_at, scan->torn_reason))
      return err;
    segs[last].size = scan->torn_at;
  }
  if (!segs.empty()) {
    // The previous run's last writes may still be only in the page cache;
    // a new segment is about to follow this one, after which a torn tail
    // here would read as damage in the middle of the log.
    auto path = segment_path(segs.rbegin()->first);
    int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    bool ok = fd >= 0 && ::fdatasync(fd) == 0;
    auto err = ok ? caf::error{} : io_error(path, "cannot sync");
    if (fd >= 0)
      ::close(fd);
    if (err)
      return err;
  }
  for (auto& s : scan->damaged) {
    log().error("file channel {}: damaged span in {}: bytes {}..{} ({} "
                "byte(s), {}); skipped, the valid records after it are "
                "kept; {}",
                dir, segment_name(s.segment), s.begin, s.end, s.end - s.begin,
                s.reason, lost_text(s));
    ++damaged_spans_;
    damaged_bytes_ += static_cast<uint64_t>(s.end - s.begin);
  }
  if (scan->out_of_order > 0)
    log().warn("file channel {}: {} record(s) whose batch sequence number did "
               "not follow the one before were rejected as damage",
               dir, scan->out_of_order);
  auto ptr_path = cfg_.directory / "commit.ptr";
  pointer_fd_ = ::open(ptr_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (pointer_fd_ < 0)
    return io_error(ptr_path, "cannot open");
  st_.pointer_generation = scan->pointer_generation;
  st_.committed_through = scan->committed_through;
  st_.persisted_pointer = st_.committed_through;
  for (auto& [number, s] : segs) {
    st_.segments[number] = {s.size, s.max_seq};
    files_.adopt(segment_name(number), s.size);
  }
  // A segment with a damaged span stays until the batches lost in it are
  // below the pointer: deleting it earlier would turn the span into a gap
  // that stops the next start.
  // A span whose loss is unknown keeps its segment until the pointer passes
  // the first batch after it (or, with none, the next batch written), so an
  // operator can still inspect it.
  auto next_seq = std::max(scan->last_seq, scan->committed_through) + 1;
  for (auto& s : scan->damaged)
    st_.segments[s.segment].max_seq =
        std::max(st_.segments[s.segment].max_seq,
                 s.loss_unknown ? (s.seq_after > 0 ? s.seq_after : next_seq)
                                : s.lost_last);
  for (auto& r : scan->pending) {
    st_.queue.push_back({r.segment, r.offset, r.length, r.seq, r.events});
    st_.held_bytes += r.length - sizeof(record_header);
  }
  st_.queued_events = st_.held_events = recovered_events_ =
      scan->pending_events;
  for (auto& [source, p] : scan->progress)
    st_.progress[source] = {p.token, p.segment, false};
  st_.next_seq = std::max(scan->last_seq, st_.committed_through) + 1;
  st_.synced_seq = st_.next_seq - 1; // the last segment was synced above
  bool rebuild = !scan->pointer_trusted;
  if (rebuild) {
    if (!st_.queue.empty()) {
      log().warn("file channel {}: {}: which events were already delivered "
                 "is unknown, so the {} event(s) still in the log are "
                 "delivered again (at-least-once); the pointer is written "
                 "anew",
                 dir, pointer_problem(scan->pointer), recovered_events_);
      pointer_rebuilt_ = true;
    }
    if (::ftruncate(pointer_fd_, 0) != 0)
      return io_error(ptr_path, "cannot rewrite");
    st_.pointer_generation = 0;
  }
  advance_pointer();
  if (auto err = write_pointer(rebuild))
    return err;
  if (auto err = open_segment(segs.empty() ? 1 : segs.rbegin()->first + 1))
    return err;
  if (recovered_events_ > 0 || torn_records_ > 0 || damaged_spans_ > 0)
    log().info("file channel {}: recovered {} uncommitted event(s){}{}", dir,
               recovered_events_,
               torn_records_ > 0
                   ? fmt::format(", cut off {} torn record(s)", torn_records_)
                   : std::string{},
               damaged_spans_ > 0
                   ? fmt::format(", skipped {} damaged span(s) of {} byte(s)",
                                 damaged_spans_, damaged_bytes_)
                   : std::string{});
  delete_committed_segments();
  opened_ = true;
  return {};
}

} // namespace sluice
