#include <catch2/catch.hpp>

#include <atomic>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "runtime/crc32c.hpp"
#include "runtime/errors.hpp"
#include "runtime/shard_log.hpp"
#include "runtime/shard_log_format.hpp"
#include "tests/support/process.hpp"

using namespace sluice;
namespace fs = std::filesystem;

namespace {

std::atomic<bool> fail_sync{false};
std::atomic<bool> fail_write{false};
std::atomic<bool> fail_open{false};

int injected_sync(int fd) {
  if (fail_sync.load()) {
    errno = EIO;
    return -1;
  }
  return ::fdatasync(fd);
}

ssize_t injected_write(int fd, const iovec* parts, int n) {
  if (fail_write.load()) {
    errno = ENOSPC;
    return -1;
  }
  return ::writev(fd, parts, n);
}

int injected_open(const char* path) {
  if (fail_open.load()) {
    errno = ENOSPC; // no inodes left
    return -1;
  }
  return open_for_append(path);
}

shard_log_config config(const std::string& dir) {
  shard_log_config cfg;
  cfg.directory = dir;
  cfg.segment_bytes = 4096;
  cfg.index_interval_bytes = 512;
  cfg.min_free_space = 0;
  cfg.sync_data = injected_sync;
  cfg.write = injected_write;
  cfg.open_segment = injected_open;
  return cfg;
}

/// Batch `i`: `n` records "b<i>-<k>" padded to about 100 bytes.
event_batch make_batch(int i, int n = 3) {
  event_batch b;
  for (int k = 0; k < n; ++k) {
    auto body = "b" + std::to_string(i) + "-" + std::to_string(k);
    body.resize(100, '.');
    b.append(body);
  }
  return b;
}

std::unique_ptr<shard_log> open_log(const shard_log_config& cfg) {
  auto log = shard_log::open(cfg);
  if (!log)
    FAIL("open: " << describe(log.error()));
  return std::move(*log);
}

/// Every batch from `from` on.
std::vector<read_batch> read_all(const shard_log& log, uint64_t from = 0) {
  std::vector<read_batch> out;
  auto offset = from;
  for (int guard = 0; guard < 100000; ++guard) {
    auto batches = log.read(offset, 8192);
    REQUIRE(batches);
    if (batches->empty())
      break;
    for (auto& b : *batches) {
      offset = b.base_offset + b.batch.size();
      out.push_back(std::move(b));
    }
  }
  return out;
}

/// Checks that `got` holds batches 0..n-1 of `make_batch`, dense offsets.
void check_batches(const std::vector<read_batch>& got, int n) {
  REQUIRE(got.size() == static_cast<size_t>(n));
  uint64_t offset = 0;
  for (int i = 0; i < n; ++i) {
    CHECK(got[i].base_offset == offset);
    CHECK(got[i].batch == make_batch(i));
    offset += got[i].batch.size();
  }
}

void append_batches(shard_log& log, int from, int to,
                    const std::string& producer = "p") {
  for (int i = from; i < to; ++i) {
    auto r = log.append(make_batch(i), producer, static_cast<uint64_t>(i + 1),
                        1000 + i);
    REQUIRE(r);
    CHECK(!r->duplicate);
    CHECK(r->base_offset == static_cast<uint64_t>(3 * i));
  }
}

int64_t size_of(const fs::path& p) {
  return static_cast<int64_t>(fs::file_size(p));
}

fs::path last_segment(const std::string& dir) {
  fs::path last;
  for (auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ".log" && e.path() > last)
      last = e.path();
  return last;
}

} // namespace

TEST_CASE("shard log: append and read across segment rolls", "[shard_log]") {
  test::temp_dir dir;
  auto log = open_log(config(dir.path()));
  CHECK(log->end_offset() == 0);
  append_batches(*log, 0, 100);
  CHECK(log->end_offset() == 300);
  CHECK(log->segments() > 3);
  // Readers see only what a sync made durable (a roll syncs too).
  CHECK(log->durable_end() < 300);
  REQUIRE(!log->sync());
  CHECK(log->durable_end() == 300);
  check_batches(read_all(*log), 100);
  // An offset inside a batch returns that batch.
  auto r = log->read(3 * 57 + 2, 1);
  REQUIRE(r);
  REQUIRE(r->size() == 1);
  CHECK((*r)[0].base_offset == 3 * 57);
  CHECK((*r)[0].batch == make_batch(57));
  CHECK((*r)[0].timestamp_ms == 1057);
  // Past the end: nothing.
  r = log->read(300, 1 << 20);
  REQUIRE(r);
  CHECK(r->empty());
  // Index files exist for sealed segments.
  size_t indexes = 0;
  for (auto& e : fs::directory_iterator(dir.path()))
    indexes += e.path().extension() == ".index";
  CHECK(indexes == log->segments() - 1);
}

TEST_CASE("shard log: offsets stay dense across restarts", "[shard_log]") {
  test::temp_dir dir;
  auto cfg = config(dir.path());
  {
    auto log = open_log(cfg);
    append_batches(*log, 0, 30);
    log->close();
    log->close(); // idempotent
  }
  {
    auto log = open_log(cfg);
    CHECK(log->recovered_clean());
    CHECK(log->end_offset() == 90);
    CHECK(log->durable_end() == 90);
    append_batches(*log, 30, 60);
    REQUIRE(!log->sync());
    // Dropped without close: a crash after a sync.
  }
  {
    auto log = open_log(cfg);
    CHECK(!log->recovered_clean());
    CHECK(log->end_offset() == 180);
    CHECK(log->torn_bytes_cut() == 0);
    append_batches(*log, 60, 70);
    REQUIRE(!log->sync());
    check_batches(read_all(*log), 70);
  }
}

TEST_CASE("shard log: a crash's torn tail is cut and every synced batch "
          "stays, once and in order",
          "[shard_log]") {
  std::mt19937_64 rng(7);
  for (int round = 0; round < 12; ++round) {
    test::temp_dir dir;
    auto cfg = config(dir.path());
    int synced = 20 + static_cast<int>(rng() % 40);
    int total = synced + 1 + static_cast<int>(rng() % 5);
    int64_t synced_size = 0;
    fs::path last;
    {
      auto log = open_log(cfg);
      append_batches(*log, 0, synced);
      REQUIRE(!log->sync());
      last = last_segment(dir.path());
      synced_size = size_of(last);
      append_batches(*log, synced, total);
      // Dropped: nothing more is synced or closed.
    }
    // The unsynced part of the last segment is cut anywhere and followed by
    // garbage, or not.
    if (last == last_segment(dir.path())) {
      auto size = size_of(last);
      auto at = synced_size +
                static_cast<int64_t>(
                    rng() % static_cast<uint64_t>(size - synced_size + 1));
      fs::resize_file(last, static_cast<uintmax_t>(at));
      if (round % 2 == 0) {
        std::ofstream out{last, std::ios::app | std::ios::binary};
        auto n = 1 + rng() % 300;
        for (uint64_t i = 0; i < n; ++i)
          out.put(static_cast<char>(rng()));
      }
    } else {
      // The batches after the sync went into a new segment: tear it.
      auto p = last_segment(dir.path());
      fs::resize_file(p, static_cast<uintmax_t>(size_of(p) / 2));
    }
    auto log = open_log(cfg);
    if (round % 2 == 0)
      CHECK(log->torn_bytes_cut() > 0); // the garbage at least
    auto got = read_all(*log);
    REQUIRE(got.size() >= static_cast<size_t>(synced));
    REQUIRE(got.size() <= static_cast<size_t>(total));
    check_batches(got, static_cast<int>(got.size()));
    CHECK(log->end_offset() == 3 * got.size());
    // The log takes appends again and keeps them.
    auto n = static_cast<int>(got.size());
    append_batches(*log, n, n + 5);
    REQUIRE(!log->sync());
    log.reset();
    auto again = open_log(cfg);
    CHECK(again->torn_bytes_cut() == 0);
    check_batches(read_all(*again), n + 5);
  }
}

TEST_CASE("shard log: damage in a sealed segment stops open, naming it",
          "[shard_log]") {
  test::temp_dir dir;
  auto cfg = config(dir.path());
  {
    auto log = open_log(cfg);
    append_batches(*log, 0, 60);
    log->close();
  }
  auto first = dir / "00000000000000000000.log";
  {
    std::fstream f{first, std::ios::in | std::ios::out | std::ios::binary};
    f.seekp(300);
    f.put('X');
  }
  // Read through the trusted index: the batch is refused, not returned.
  {
    auto log = open_log(cfg);
    auto r = log->read(0, 1 << 20);
    REQUIRE(!r);
    CHECK(r.error() == make_error(channel_errc::corrupt_log));
  }
  // Without its index the segment is scanned, and the damage found.
  fs::remove(dir / "00000000000000000000.index");
  auto log = shard_log::open(cfg);
  REQUIRE(!log);
  CHECK(log.error() == make_error(channel_errc::corrupt_log));
  auto text = describe(log.error());
  CHECK(text.find("00000000000000000000.log") != std::string::npos);
  CHECK(text.find("at byte") != std::string::npos);
}

TEST_CASE("shard log: duplicates are dropped, also after a restart",
          "[shard_log]") {
  test::temp_dir dir;
  auto cfg = config(dir.path());
  auto dup = [](shard_log& log, int i) {
    auto r = log.append(make_batch(i), "p", static_cast<uint64_t>(i + 1), 0);
    REQUIRE(r);
    CHECK(r->duplicate);
    CHECK(r->base_offset == static_cast<uint64_t>(3 * i));
    CHECK(r->count == 3);
  };
  {
    auto log = open_log(cfg);
    append_batches(*log, 0, 10);
    dup(*log, 4);
    CHECK(log->duplicates() == 1);
    CHECK(log->end_offset() == 30);
    // Another producer's seq 5 is its own.
    auto r = log->append(make_batch(10), "q", 5, 0);
    REQUIRE(r);
    CHECK(!r->duplicate);
    log->close();
  }
  SECTION("through the snapshot") {
    auto log = open_log(cfg);
    CHECK(log->recovered_clean());
    dup(*log, 9);
    dup(*log, 0);
    auto r = log->append(make_batch(11), "q", 5, 0);
    REQUIRE(r);
    CHECK(r->duplicate);
    CHECK(log->duplicates() == 3);
    CHECK(log->end_offset() == 33);
  }
  SECTION("through the scan after a crash, past a roll's snapshot") {
    {
      auto log = open_log(cfg);
      // Enough to roll (a snapshot) and then some, never closed.
      for (int i = 10; i < 50; ++i)
        REQUIRE(
            log->append(make_batch(i), "p", static_cast<uint64_t>(i + 1), 0));
      REQUIRE(!log->sync());
      CHECK(log->segments() > 1);
    }
    auto log = open_log(cfg);
    CHECK(!log->recovered_clean());
    dup(*log, 3);
    auto r = log->append(make_batch(49), "p", 50, 0); // batch 49 was seq 50
    REQUIRE(r);
    CHECK(r->duplicate);
    CHECK(r->base_offset == 3 + 3 * 49); // "q" put 3 records first
    CHECK(log->duplicates() == 2);
  }
  SECTION("without any snapshot") {
    fs::remove(dir / "producers.snapshot");
    fs::remove(dir / "clean_shutdown");
    auto log = open_log(cfg);
    CHECK(!log->recovered_clean());
    dup(*log, 7);
  }
}

TEST_CASE("shard log: retention removes whole old segments only",
          "[shard_log]") {
  test::temp_dir dir;
  auto cfg = config(dir.path());
  SECTION("by age") {
    cfg.retention_ms = 1000;
    auto log = open_log(cfg);
    // Timestamps 1000..1099, one per batch.
    append_batches(*log, 0, 100);
    REQUIRE(!log->sync());
    auto segments = log->segments();
    REQUIRE(segments > 3);
    CHECK(log->apply_retention(1500) == 0); // nothing older than 500
    auto start_before = log->start_offset();
    CHECK(start_before == 0);
    // Everything older than 2050 - 1000 = 1050: batches 0..49.
    auto removed = log->apply_retention(2050);
    CHECK(removed > 0);
    CHECK(log->segments() == segments - removed);
    auto start = log->start_offset();
    CHECK(start > 0);
    CHECK(start <= 3 * 50);
    CHECK(!fs::exists(dir / "00000000000000000000.log"));
    CHECK(!fs::exists(dir / "00000000000000000000.index"));
    // What is left starts at a segment's base and is intact.
    auto got = read_all(*log);
    REQUIRE(!got.empty());
    CHECK(got.front().base_offset == start);
    CHECK(got.back().batch == make_batch(99));
    // Far in the future: all but the active segment.
    log->apply_retention(1'000'000);
    CHECK(log->segments() == 1);
    CHECK(log->end_offset() == 300);
    // After a restart the earliest offset is the same.
    start = log->start_offset();
    log->close();
    auto again = open_log(cfg);
    CHECK(again->start_offset() == start);
    CHECK(again->end_offset() == 300);
  }
  SECTION("by size") {
    cfg.retention_bytes = 3 * 4096;
    auto log = open_log(cfg);
    append_batches(*log, 0, 100);
    REQUIRE(!log->sync());
    auto before = log->disk_bytes();
    REQUIRE(before > 3 * 4096);
    auto removed = log->apply_retention(0);
    CHECK(removed > 0);
    CHECK(log->disk_bytes() <= 3 * 4096);
    CHECK(log->disk_bytes() < before);
    CHECK(log->start_offset() > 0);
    CHECK(read_all(*log).front().base_offset == log->start_offset());
  }
}

TEST_CASE("shard log: offset_for_time", "[shard_log]") {
  test::temp_dir dir;
  auto log = open_log(config(dir.path()));
  append_batches(*log, 0, 50); // batch i at 1000 + i
  REQUIRE(!log->sync());
  CHECK(log->offset_for_time(0) == 0);
  CHECK(log->offset_for_time(1000) == 0);
  CHECK(log->offset_for_time(1001) == 3);
  CHECK(log->offset_for_time(1040) == 120);
  CHECK(log->offset_for_time(1049) == 147);
  CHECK(log->offset_for_time(1050) == 150); // the end
  log->close();
  {
    auto again = open_log(config(dir.path()));
    CHECK(again->recovered_clean());
    CHECK(again->offset_for_time(1040) == 120);
    append_batches(*again, 50, 60);
    REQUIRE(!again->sync());
    // Dropped: the active segment's indexes are rebuilt by the scan.
  }
  auto again = open_log(config(dir.path()));
  CHECK(!again->recovered_clean());
  for (int i = 0; i < 60; ++i) {
    CHECK(again->offset_for_time(1000 + i) == static_cast<uint64_t>(3 * i));
    auto r = again->read(static_cast<uint64_t>(3 * i + 1), 1);
    REQUIRE(r);
    REQUIRE(!r->empty());
    CHECK((*r)[0].base_offset == static_cast<uint64_t>(3 * i));
  }
  CHECK(again->offset_for_time(5000) == 180);
}

TEST_CASE("shard log: a full disk is a clear error and damages nothing",
          "[shard_log]") {
  test::temp_dir dir;
  auto cfg = config(dir.path());
  SECTION("ENOSPC from the write") {
    auto log = open_log(cfg);
    append_batches(*log, 0, 5);
    REQUIRE(!log->sync());
    auto size = size_of(last_segment(dir.path()));
    fail_write = true;
    auto r = log->append(make_batch(5), "p", 6, 0);
    fail_write = false;
    REQUIRE(!r);
    CHECK(r.error() == make_error(channel_errc::disk_full));
    CHECK(size_of(last_segment(dir.path())) == size);
    CHECK(log->end_offset() == 15);
    // Room again: the same batch goes in.
    append_batches(*log, 5, 8);
    REQUIRE(!log->sync());
    log.reset();
    auto again = open_log(cfg);
    CHECK(again->torn_bytes_cut() == 0);
    check_batches(read_all(*again), 8);
  }
  SECTION("max_disk_bytes") {
    cfg.max_disk_bytes = 3000;
    auto log = open_log(cfg);
    caf::error err;
    int i = 0;
    for (; i < 100; ++i) {
      auto r = log->append(make_batch(i), "p", static_cast<uint64_t>(i + 1), 0);
      if (!r) {
        err = r.error();
        break;
      }
    }
    REQUIRE(err);
    CHECK(err == make_error(channel_errc::disk_full));
    CHECK(describe(err).find("max_disk_bytes") != std::string::npos);
    CHECK(log->disk_bytes() <= 3000);
    // The refused batch does not fit (its record: header, producer "p",
    // payload).
    std::string why;
    auto refused = shard_format::batch_header_size + 1 +
                   make_batch(i).encoded_size({.with_crc = false});
    CHECK(!log->has_room(refused, why));
    REQUIRE(!log->sync());
    log->close();
    cfg.max_disk_bytes = 0;
    auto again = open_log(cfg);
    append_batches(*again, i, i + 2);
    REQUIRE(!again->sync());
    check_batches(read_all(*again), i + 2);
  }
}

TEST_CASE("shard log: a failed fdatasync breaks it until reopened",
          "[shard_log]") {
  test::temp_dir dir;
  auto cfg = config(dir.path());
  auto log = open_log(cfg);
  append_batches(*log, 0, 5);
  REQUIRE(!log->sync());
  append_batches(*log, 5, 7);
  fail_sync = true;
  auto err = log->sync();
  fail_sync = false;
  REQUIRE(err);
  CHECK(log->broken());
  CHECK(log->durable_end() == 15);
  CHECK(!log->append(make_batch(7), "p", 8, 0));
  CHECK(log->read(0, 1 << 20)->size() == 5);
  log->close();
  auto again = open_log(cfg);
  CHECK(!again->broken());
  CHECK(again->end_offset() == 15);
  append_batches(*again, 5, 6);
}

TEST_CASE("shard log: one owner per directory", "[shard_log]") {
  test::temp_dir dir;
  auto log = open_log(config(dir.path()));
  auto other = shard_log::open(config(dir.path()));
  REQUIRE(!other);
  CHECK(describe(other.error()).find("in use") != std::string::npos);
}

TEST_CASE("shard log: a duplicate whose offsets are forgotten waits for "
          "everything appended before it",
          "[shard_log]") {
  test::temp_dir dir;
  auto cfg = config(dir.path());
  cfg.segment_bytes = 1 << 20; // no roll, so no sync but the test's
  auto log = open_log(cfg);
  append_batches(*log, 0, 100); // seqs 1..100, not synced
  REQUIRE(log->durable_end() == 0);
  // Seq 5 is older than the last batches' offsets the shard keeps.
  auto r = log->append(make_batch(4), "p", 5, 0);
  REQUIRE(r);
  CHECK(r->duplicate);
  CHECK(r->count == 0);
  CHECK(r->base_offset == 300);
  // Its first copy is durable only once everything appended so far is.
  CHECK(r->base_offset + r->count > log->durable_end());
  // A recent one answers its own offsets.
  auto recent = log->append(make_batch(89), "p", 90, 0);
  REQUIRE(recent);
  CHECK(recent->duplicate);
  CHECK(recent->base_offset == 3 * 89);
  CHECK(recent->count == 3);
  CHECK(recent->base_offset + recent->count > log->durable_end());
  REQUIRE(!log->sync());
  CHECK(r->base_offset + r->count <= log->durable_end());
  CHECK(recent->base_offset + recent->count <= log->durable_end());
  CHECK(log->end_offset() == 300);
}

TEST_CASE("shard log: a producer's seqs that never merge keep their dedup "
          "over a wide window, and a forgotten one is appended, not lost",
          "[shard_log]") {
  test::temp_dir dir;
  auto cfg = config(dir.path());
  // As one of three shards sees a producer's batches: seqs 1, 4, 7, ...
  auto seq = [](int k) {
    return static_cast<uint64_t>(1 + 3 * k);
  };
  auto is_dup = [&](shard_log& log, uint64_t s) {
    auto r = log.append(make_batch(7), "p", s, 0);
    REQUIRE(r);
    return r->duplicate;
  };
  constexpr int n = 4200; // past the 4096 intervals kept per producer
  {
    auto log = open_log(cfg);
    for (int k = 0; k < n; ++k) {
      auto r = log->append(make_batch(k % 50), "p", seq(k), 1000 + k);
      REQUIRE(r);
      REQUIRE(!r->duplicate);
    }
    CHECK(is_dup(*log, seq(n - 4096)));
    CHECK(is_dup(*log, seq(n / 2)));
    CHECK(is_dup(*log, seq(n - 1)));
    CHECK(log->duplicates() == 3);
    REQUIRE(!log->sync());
    SECTION("after a clean close") {
      log->close();
    }
    SECTION("after a crash (the snapshot of a roll and a scan)") {
      CHECK(log->segments() > 1);
    }
    SECTION("without any snapshot (a scan of the whole log)") {
      log.reset();
      fs::remove(dir / "producers.snapshot");
    }
  }
  auto log = open_log(cfg);
  auto end = log->end_offset();
  CHECK(is_dup(*log, seq(n - 4096)));
  CHECK(is_dup(*log, seq(n - 1)));
  CHECK(log->end_offset() == end);
  // A seq in a gap of the window, and a new one, are appended.
  CHECK(!is_dup(*log, seq(n - 10) + 1));
  CHECK(!is_dup(*log, seq(n)));
  // The oldest, forgotten, is appended again: a duplicate downstream,
  // never a batch dropped that this shard did not hold.
  CHECK(!is_dup(*log, seq(0)));
  CHECK(log->end_offset() == end + 9);
}

namespace {

/// Appends batches of "p" from `from` on until the log has rolled to a new
/// segment and put `in_new` batches there; answers the next batch number.
int append_past_roll(shard_log& log, int from, int in_new) {
  auto segments = log.segments();
  int i = from;
  for (; log.segments() == segments; ++i)
    REQUIRE(log.append(make_batch(i), "p", static_cast<uint64_t>(i + 1), 0));
  for (int k = 1; k < in_new; ++k, ++i)
    REQUIRE(log.append(make_batch(i), "p", static_cast<uint64_t>(i + 1), 0));
  return i;
}

/// Overwrites `n` bytes of `path` at `at` with zeros.
void zero(const fs::path& path, int64_t at, int64_t n) {
  std::fstream f{path, std::ios::in | std::ios::out | std::ios::binary};
  f.seekp(at);
  for (int64_t k = 0; k < n; ++k)
    f.put('\0');
}

} // namespace

TEST_CASE("shard log: a torn header of the last segment is a torn tail",
          "[shard_log]") {
  test::temp_dir dir;
  auto cfg = config(dir.path());
  int next = 0;
  {
    auto log = open_log(cfg);
    // The roll syncs every batch before the new segment; the batches in it
    // are never synced (dropped: a crash).
    next = append_past_roll(*log, 0, 2);
  }
  auto last = last_segment(dir.path());
  auto last_base = static_cast<uint64_t>(std::stoull(last.stem().string()));
  int synced = static_cast<int>(last_base / 3);
  REQUIRE(next == synced + 2);
  auto size = size_of(last);
  SECTION("a file system showed the file as zeros") {
    zero(last, 0, size);
  }
  SECTION("the header and the first batch are torn") {
    zero(last, 0, 100);
  }
  auto log = open_log(cfg);
  CHECK(log->torn_bytes_cut() == static_cast<uint64_t>(size));
  CHECK(size_of(last) == 0);
  CHECK(log->end_offset() == last_base);
  check_batches(read_all(*log), synced);
  // The next append writes the header again.
  append_batches(*log, synced, synced + 3);
  REQUIRE(!log->sync());
  log.reset();
  auto again = open_log(cfg);
  CHECK(again->torn_bytes_cut() == 0);
  check_batches(read_all(*again), synced + 3);
}

TEST_CASE("shard log: a damaged segment header is corrupt when batches "
          "follow it or the segment was sealed",
          "[shard_log]") {
  test::temp_dir dir;
  auto cfg = config(dir.path());
  {
    auto log = open_log(cfg);
    append_past_roll(*log, 0, 2);
    REQUIRE(!log->sync());
  }
  auto first = dir / "00000000000000000000.log";
  auto last = last_segment(dir.path());
  SECTION("the last segment's header, with valid batches after it") {
    zero(last, 0, 16);
  }
  SECTION("a sealed segment's header") {
    zero(first, 0, 16);
    // Without its indexes the segment is scanned.
    fs::remove(dir / "00000000000000000000.index");
  }
  auto log = shard_log::open(cfg);
  REQUIRE(!log);
  CHECK(log.error() == make_error(channel_errc::corrupt_log));
  CHECK(describe(log.error()).find("at byte 0") != std::string::npos);
}

TEST_CASE("shard log: a roll that cannot create the next segment fails the "
          "append, and the log goes on",
          "[shard_log]") {
  test::temp_dir dir;
  auto cfg = config(dir.path());
  auto log = open_log(cfg);
  auto segments = log->segments();
  fail_open = true;
  int i = 0;
  caf::error err;
  for (; i < 100; ++i) {
    auto r = log->append(make_batch(i), "p", static_cast<uint64_t>(i + 1), 0);
    if (!r) {
      err = r.error();
      break;
    }
  }
  REQUIRE(err);
  CHECK(err == make_error(channel_errc::disk_full));
  CHECK(!log->broken());
  CHECK(log->segments() == segments);
  // It stays so while the next segment cannot be created.
  CHECK(!log->append(make_batch(i), "p", static_cast<uint64_t>(i + 1), 0));
  CHECK(log->end_offset() == static_cast<uint64_t>(3 * i));
  fail_open = false;
  append_batches(*log, i, i + 20);
  CHECK(log->segments() > segments);
  REQUIRE(!log->sync());
  check_batches(read_all(*log), i + 20);
  log.reset();
  auto again = open_log(cfg);
  check_batches(read_all(*again), i + 20);
}

TEST_CASE("shard log: open answers an error for an unreadable entry, never "
          "throws",
          "[shard_log]") {
  test::temp_dir dir;
  auto cfg = config(dir.path());
  {
    auto log = open_log(cfg);
    append_batches(*log, 0, 3);
    log->close();
  }
  // A segment name whose file is gone (a dangling link): its size cannot
  // be read.
  fs::create_symlink(dir / "gone", dir / "00000000000000000099.log");
  caf::error err;
  bool threw = false;
  try {
    auto log = shard_log::open(cfg);
    if (!log)
      err = log.error();
  } catch (...) {
    threw = true;
  }
  CHECK(!threw);
  REQUIRE(err);
  CHECK(err == make_error(channel_errc::io_error));
  CHECK(describe(err).find("00000000000000000099.log") != std::string::npos);
}

TEST_CASE("shard log: index files without their segment are deleted",
          "[shard_log]") {
  test::temp_dir dir;
  auto cfg = config(dir.path());
  cfg.retention_bytes = 2 * 4096;
  {
    auto log = open_log(cfg);
    append_batches(*log, 0, 60);
    REQUIRE(!log->sync());
    REQUIRE(log->apply_retention(0) > 0);
    CHECK(!fs::exists(dir / "00000000000000000000.log"));
    CHECK(!fs::exists(dir / "00000000000000000000.index"));
    CHECK(!fs::exists(dir / "00000000000000000000.timeindex"));
    log->close();
  }
  // A crash between deleting a segment and its indexes (as retention did
  // before it deleted the indexes first).
  auto first = fs::path{};
  for (auto& e : fs::directory_iterator(dir.path()))
    if (e.path().extension() == ".index" && (first.empty() || e.path() < first))
      first = e.path();
  REQUIRE(!first.empty());
  fs::copy_file(first, dir / "00000000000000000000.index");
  fs::copy_file(fs::path{first}.replace_extension(".timeindex"),
                dir / "00000000000000000000.timeindex");
  auto log = open_log(cfg);
  CHECK(!fs::exists(dir / "00000000000000000000.index"));
  CHECK(!fs::exists(dir / "00000000000000000000.timeindex"));
  CHECK(fs::exists(first));
  CHECK(read_all(*log).back().batch == make_batch(59));
}

TEST_CASE("shard log: offset_for_time never answers past the durable end",
          "[shard_log]") {
  test::temp_dir dir;
  auto cfg = config(dir.path());
  cfg.segment_bytes = 1 << 20; // no roll, so no sync but the test's
  auto log = open_log(cfg);
  append_batches(*log, 0, 10); // batch i at 1000 + i
  REQUIRE(!log->sync());
  append_batches(*log, 10, 15); // not synced
  CHECK(log->durable_end() == 30);
  CHECK(log->end_offset() == 45);
  CHECK(log->offset_for_time(1005) == 15);
  CHECK(log->offset_for_time(1009) == 27);
  CHECK(log->offset_for_time(1012) == 30); // not durable yet
  CHECK(log->offset_for_time(5000) == 30); // none: the durable end
  REQUIRE(!log->sync());
  CHECK(log->offset_for_time(1012) == 36);
  CHECK(log->offset_for_time(5000) == 45);
}

// -- reads check the batch sizes they find on disk ---------------------------

namespace {

/// Overwrites `n` little-endian bytes of `value` at byte `at` of `file`.
void poke(const std::string& file, std::streamoff at, uint64_t value, int n) {
  std::fstream f{file, std::ios::in | std::ios::out | std::ios::binary};
  REQUIRE(f);
  f.seekp(at);
  for (int i = 0; i < n; ++i)
    f.put(static_cast<char>((value >> (8 * i)) & 0xff));
  REQUIRE(f);
}

} // namespace

TEST_CASE("shard log: a damaged batch size in a sealed segment is a clean "
          "read error",
          "[shard_log]") {
  test::temp_dir dir;
  auto cfg = config(dir.path());
  {
    auto log = open_log(cfg);
    append_batches(*log, 0, 60);
    log->close();
  }
  // The first batch of the first (sealed) segment starts after the 16-byte
  // segment header; its length (u32) is at byte 12 of the batch header,
  // its producer length (u16) at byte 28.
  auto first = dir / "00000000000000000000.log";
  const std::streamoff batch = 16;
  std::string why;
  SECTION("a length far past the segment's end") {
    poke(first, batch + 12, 0xfffffff0, 4);
    why = "past the segment's end";
  }
  SECTION("a length one byte past the segment's end") {
    poke(first, batch + 12, static_cast<uint64_t>(size_of(first) - batch + 1),
         4);
    why = "past the segment's end";
  }
  SECTION("a length shorter than the header") {
    poke(first, batch + 12, 20, 4);
    why = "smaller than its header";
  }
  SECTION("a producer length larger than the batch") {
    poke(first, batch + 28, 0xffff, 2);
    why = "smaller than its header and producer";
  }
  // The sealed segment's index is trusted: open does not look at it.
  auto log = open_log(cfg);
  auto r = log->read(0, 1 << 20);
  REQUIRE(!r);
  CHECK(r.error() == make_error(channel_errc::corrupt_log));
  auto text = describe(r.error());
  CHECK(text.find("00000000000000000000.log at byte 16") != std::string::npos);
  CHECK(text.find(why) != std::string::npos);
  // Batches of later segments still read.
  auto tail = log->read(log->end_offset() - 3, 1 << 20);
  REQUIRE(tail);
  REQUIRE(tail->size() == 1);
  CHECK(tail->front().batch == make_batch(59));
}

TEST_CASE("shard log: a pipelined sync covers what was appended before it "
          "began, and the log rolls only once it is back",
          "[shard_log]") {
  test::temp_dir dir;
  auto cfg = config(dir.path());
  auto log = open_log(cfg);
  append_batches(*log, 0, 5); // 5 batches of ~350 bytes: under 4096
  auto first = log->begin_sync();
  REQUIRE(first);
  REQUIRE(*first);
  CHECK((*first)->end_offset == 15);
  CHECK(log->sync_in_flight());
  // Appends go on while the sync runs elsewhere; the segment grows past its
  // size instead of rolling (the roll's sync would race the one in flight).
  append_batches(*log, 5, 15);
  CHECK(log->segments() == 1);
  CHECK(log->end_offset() == 45);
  CHECK(log->durable_end() == 0);
  CHECK(read_all(*log).empty()); // readers see only what is durable
  REQUIRE(::fdatasync((*first)->files.fd) == 0);
  ::close((*first)->files.fd);
  REQUIRE(!log->end_sync(**first, true));
  CHECK(!log->sync_in_flight());
  CHECK(log->durable_end() == 15);
  check_batches(read_all(*log), 5);
  // The next sync covers the rest; the next append then rolls.
  auto second = log->begin_sync();
  REQUIRE(second);
  REQUIRE(*second);
  CHECK((*second)->end_offset == 45);
  ::close((*second)->files.fd);
  REQUIRE(!log->end_sync(**second, true));
  CHECK(log->durable_end() == 45);
  append_batches(*log, 15, 16);
  CHECK(log->segments() == 2);
  // The roll synced the old segment; the batch in the new one waits for
  // the next sync.
  CHECK(log->durable_end() == 45);
  auto third = log->begin_sync();
  REQUIRE(third);
  REQUIRE(*third);
  CHECK((*third)->end_offset == 48);
  ::close((*third)->files.fd);
  REQUIRE(!log->end_sync(**third, true));
  // Nothing new since: no sync to run, and everything durable.
  auto none = log->begin_sync();
  REQUIRE(none);
  CHECK(!*none);
  CHECK(log->durable_end() == 48);
  log->close();
  auto again = open_log(cfg);
  check_batches(read_all(*again), 16);
}

TEST_CASE("shard log: a pipelined sync that fails breaks the log and keeps "
          "only what an earlier sync made durable",
          "[shard_log]") {
  test::temp_dir dir;
  auto cfg = config(dir.path());
  auto log = open_log(cfg);
  append_batches(*log, 0, 3);
  REQUIRE(!log->sync());
  append_batches(*log, 3, 6);
  auto s = log->begin_sync();
  REQUIRE(s);
  REQUIRE(*s);
  append_batches(*log, 6, 8);
  ::close((*s)->files.fd);
  auto err = log->end_sync(**s, false);
  REQUIRE(err);
  CHECK(log->broken());
  CHECK(log->durable_end() == 9);
  CHECK(!log->append(make_batch(8), "p", 9, 0));
  check_batches(read_all(*log), 3);
  log.reset(); // a crash: no clean close
  auto again = open_log(cfg);
  CHECK(!again->broken());
  // What was cut back never comes back, and the offsets go on from there.
  CHECK(again->end_offset() == 9);
  check_batches(read_all(*again), 3);
}

namespace {

/// Record batch `i` of `make_batch` as builds before payload encoding v3
/// wrote it: the payload with its own zlib CRC (v1; v2 when it has an
/// origin), the batch header version 1, its CRC32C over the rest.
std::string old_record(const event_batch& b, uint64_t base, uint64_t seq) {
  using namespace shard_format;
  const std::string producer = "p";
  std::vector<char> payload;
  b.encode(payload); // with its own CRC
  batch_header h;
  h.length = static_cast<uint32_t>(batch_header_size + producer.size() +
                                   payload.size());
  h.base_offset = base;
  h.count = static_cast<uint32_t>(b.size());
  h.producer_length = static_cast<uint16_t>(producer.size());
  h.seq = seq;
  h.timestamp_ms = 1000 + static_cast<int64_t>(seq);
  char header[batch_header_size];
  encode(h, header);
  put_u32(header + 8,
          batch_crc(header, producer, payload.data(), payload.size()));
  return std::string(header, batch_header_size) + producer +
         std::string(payload.data(), payload.size());
}

/// How often `magic` occurs in the file at `path`.
size_t count_of(const fs::path& path, const std::string& magic) {
  auto text = test::read_file(path.string());
  size_t n = 0;
  for (auto at = text.find(magic); at != std::string::npos;
       at = text.find(magic, at + 1))
    ++n;
  return n;
}

} // namespace

TEST_CASE("shard log: segments of the payload encoding before v3 still read, "
          "and new batches follow them",
          "[shard_log]") {
  test::temp_dir dir;
  auto cfg = config(dir.path());
  cfg.segment_bytes = 1 << 20; // one segment for old and new batches
  // Batches 0..5 as an older build wrote them; batch 2 with an origin (v2).
  fs::path seg = dir / shard_format::file_name(0, ".log");
  {
    char header[shard_format::segment_header_size];
    shard_format::encode_segment_header(header);
    std::ofstream out{seg, std::ios::binary};
    out.write(header, sizeof(header));
    for (int i = 0; i < 6; ++i) {
      auto b = make_batch(i);
      if (i == 2)
        REQUIRE(b.set_origin("agent/c#1", 9));
      auto rec = old_record(b, 3 * static_cast<uint64_t>(i),
                            static_cast<uint64_t>(i + 1));
      out.write(rec.data(), static_cast<std::streamsize>(rec.size()));
    }
  }
  REQUIRE(count_of(seg, "SLB1") == 5);
  REQUIRE(count_of(seg, "SLB2") == 1);
  REQUIRE(count_of(seg, "SLB3") == 0);
  auto check_origin = [](const std::vector<read_batch>& got) {
    REQUIRE(got.size() > 2);
    CHECK(got[2].batch.origin_producer() == "agent/c#1");
    CHECK(got[2].batch.origin_seq() == 9);
    CHECK_FALSE(got[3].batch.has_origin());
  };
  {
    auto log = open_log(cfg);
    CHECK(log->torn_bytes_cut() == 0);
    CHECK(log->end_offset() == 18);
    auto got = read_all(*log);
    check_batches(got, 6);
    check_origin(got);
    // Their producer's seqs are remembered from the scan.
    auto dup = log->append(make_batch(5), "p", 6, 0);
    REQUIRE(dup);
    CHECK(dup->duplicate);
    append_batches(*log, 6, 10);
    REQUIRE(!log->sync());
    // Dropped without close: the next open scans the segment again.
  }
  CHECK(count_of(seg, "SLB3") == 4);
  CHECK(count_of(seg, "SLB1") == 5);
  auto log = open_log(cfg);
  CHECK(log->torn_bytes_cut() == 0);
  CHECK_FALSE(log->recovered_clean());
  auto got = read_all(*log);
  check_batches(got, 10);
  check_origin(got);
  log->close();
  auto clean = open_log(cfg);
  CHECK(clean->recovered_clean());
  check_batches(read_all(*clean), 10);
}

TEST_CASE("shard log: new batches carry payload encoding v3, without a "
          "second CRC, and damage to them is still caught",
          "[shard_log]") {
  test::temp_dir dir;
  auto cfg = config(dir.path());
  cfg.segment_bytes = 1 << 20;
  fs::path seg = dir / shard_format::file_name(0, ".log");
  {
    auto log = open_log(cfg);
    auto b = make_batch(0);
    REQUIRE(b.set_origin("agent/c#1", 9));
    REQUIRE(log->append(b, "p", 1, 1000));
    append_batches(*log, 1, 3);
    REQUIRE(!log->sync());
    auto got = read_all(*log);
    check_batches(got, 3);
    CHECK(got[0].batch.origin_producer() == "agent/c#1");
    CHECK(got[0].batch.origin_seq() == 9);
    log->close();
  }
  CHECK(count_of(seg, "SLB3") == 3);
  CHECK(count_of(seg, "SLB1") == 0);
  CHECK(count_of(seg, "SLB2") == 0);
  // The payload has no CRC of its own: the batch's CRC32C must catch a
  // flipped byte in a body (here of the last batch, in the active segment,
  // after an unclean stop: cut as a torn tail).
  fs::remove(dir / "clean_shutdown");
  auto text = test::read_file(seg.string());
  auto at = text.rfind("b2-1");
  REQUIRE(at != std::string::npos);
  {
    std::fstream f{seg, std::ios::in | std::ios::out | std::ios::binary};
    f.seekp(static_cast<std::streamoff>(at));
    f.put('X');
  }
  auto log = open_log(cfg);
  CHECK(log->torn_bytes_cut() > 0);
  check_batches(read_all(*log), 2);
}

namespace {

/// The free bytes the injected `stat_fs` reports.
std::atomic<int64_t> fake_free{0};

int fake_stat_fs(const char*, struct statvfs* out) {
  *out = {};
  out->f_bsize = 1;
  out->f_frsize = 1;
  out->f_bavail = static_cast<fsblkcnt_t>(fake_free.load());
  return 0;
}

} // namespace

TEST_CASE("shard log: free space is looked at once per interval, not per "
          "append, and a full disk is still refused",
          "[shard_log]") {
  test::temp_dir dir;
  auto cfg = config(dir.path());
  cfg.segment_bytes = 1 << 20;
  cfg.min_free_space = 1 << 20;
  cfg.free_space_check_bytes = 8 << 10;
  cfg.stat_fs = fake_stat_fs;
  fake_free = int64_t{1} << 30;
  auto log = open_log(cfg);
  append_batches(*log, 0, 200); // about 70 KiB
  CHECK(log->free_space_checks() >= 8);
  CHECK(log->free_space_checks() <= 12);
  // The disk fills: within one interval the appends stop with the reason,
  // and what was appended stays whole.
  fake_free = 1 << 20;
  caf::error err;
  int i = 200;
  for (; i < 300; ++i) {
    auto r = log->append(make_batch(i), "p", static_cast<uint64_t>(i + 1), 0);
    if (!r) {
      err = r.error();
      break;
    }
  }
  REQUIRE(err);
  CHECK(err == make_error(channel_errc::disk_full));
  CHECK(describe(err).find("min_free_space") != std::string::npos);
  CHECK(i - 200 < 30); // at most 8 KiB of about 430-byte batches
  REQUIRE(!log->sync());
  check_batches(read_all(*log), i);
  // Room again: the refused batch goes in.
  fake_free = int64_t{1} << 30;
  append_batches(*log, i, i + 1);
  REQUIRE(!log->sync());
  check_batches(read_all(*log), i + 1);
}
