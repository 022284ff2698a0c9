#include <catch2/catch.hpp>

#include <atomic>
#include <cerrno>
#include <filesystem>
#include <string>
#include <vector>

#include "runtime/errors.hpp"
#include "runtime/segment_files.hpp"
#include "tests/support/process.hpp"

using namespace sluice;
namespace fs = std::filesystem;

namespace {

std::atomic<bool> fail_sync{false};
std::atomic<int> fail_write{0}; // 0: none, 1: ENOSPC, 2: short write
std::atomic<bool> fail_truncate{false};
std::atomic<bool> fail_open{false};

int injected_sync(int fd) {
  if (fail_sync.load()) {
    errno = EIO;
    return -1;
  }
  return ::fdatasync(fd);
}

ssize_t injected_write(int fd, const iovec* parts, int n) {
  switch (fail_write.load()) {
  case 1:
    errno = ENOSPC;
    return -1;
  case 2: { // half of the first part reaches the disk
    auto r = ::write(fd, parts[0].iov_base, parts[0].iov_len / 2);
    return r;
  }
  default:
    return ::writev(fd, parts, n);
  }
}

int injected_truncate(int fd, off_t size) {
  if (fail_truncate.load()) {
    errno = EIO;
    return -1;
  }
  return ::ftruncate(fd, size);
}

int injected_open(const char* path) {
  if (fail_open.load()) {
    errno = ENOSPC; // no inodes left
    return -1;
  }
  return open_for_append(path);
}

segment_files_config config(const std::string& dir) {
  segment_files_config cfg;
  cfg.directory = dir;
  cfg.owner = "test log";
  cfg.min_free_space = 0;
  cfg.sync_data = injected_sync;
  cfg.write = injected_write;
  cfg.truncate = injected_truncate;
  cfg.open_segment = injected_open;
  return cfg;
}

caf::error put(segment_files& s, const std::string& text) {
  iovec part{const_cast<char*>(text.data()), text.size()};
  return s.append(&part, 1);
}

} // namespace

TEST_CASE("segment files append, roll, remove and count bytes",
          "[segment_files]") {
  test::temp_dir dir;
  segment_files s{config(dir.path())};
  REQUIRE(!s.lock());
  REQUIRE(!s.activate("a.log"));
  REQUIRE(!put(s, "hello "));
  REQUIRE(!put(s, "world"));
  CHECK(s.active_size() == 11);
  CHECK(s.synced_size() == 0);
  REQUIRE(!s.sync());
  CHECK(s.synced_size() == 11);
  REQUIRE(!s.roll("b.log"));
  CHECK(s.active() == "b.log");
  REQUIRE(!put(s, "xyz"));
  CHECK(s.disk_bytes() == 14);
  CHECK(test::read_file(dir / "a.log") == "hello world");
  CHECK(s.remove("b.log")); // the active one stays
  REQUIRE(!s.remove("a.log"));
  CHECK(!fs::exists(dir / "a.log"));
  CHECK(s.disk_bytes() == 3);
  REQUIRE(!s.cut("b.log", 1));
  CHECK(test::read_file(dir / "b.log") == "x");
  CHECK(s.disk_bytes() == 1);
  CHECK(s.active_size() == 1);
  REQUIRE(!s.write_atomically("meta", "abc", 3));
  CHECK(test::read_file(dir / "meta") == "abc");
  CHECK(!fs::exists(dir / "meta.tmp"));
}

TEST_CASE("segment files refuse a second owner", "[segment_files]") {
  test::temp_dir dir;
  segment_files a{config(dir.path())};
  REQUIRE(!a.lock());
  segment_files b{config(dir.path())};
  auto err = b.lock();
  REQUIRE(err);
  CHECK(describe(err).find("in use by another test log") != std::string::npos);
  a.close();
  CHECK(!b.lock());
}

TEST_CASE("segment files: a failed write leaves the segment as it was",
          "[segment_files]") {
  test::temp_dir dir;
  segment_files s{config(dir.path())};
  REQUIRE(!s.lock());
  REQUIRE(!s.activate("a.log"));
  REQUIRE(!put(s, "good"));
  fail_write = 1;
  auto err = put(s, "never");
  CHECK(err == make_error(channel_errc::disk_full));
  fail_write = 2;
  err = put(s, "partial record");
  CHECK(err == make_error(channel_errc::disk_full));
  fail_write = 0;
  CHECK(test::read_file(dir / "a.log") == "good");
  CHECK(s.active_size() == 4);
  REQUIRE(!put(s, "!"));
  CHECK(test::read_file(dir / "a.log") == "good!");
}

TEST_CASE("segment files: a failed fdatasync cuts back and breaks",
          "[segment_files]") {
  test::temp_dir dir;
  segment_files s{config(dir.path())};
  REQUIRE(!s.lock());
  REQUIRE(!s.activate("a.log"));
  REQUIRE(!put(s, "durable"));
  REQUIRE(!s.sync());
  REQUIRE(!put(s, "lost"));
  fail_sync = true;
  auto err = s.sync();
  fail_sync = false;
  REQUIRE(err);
  CHECK(s.broken());
  CHECK(test::read_file(dir / "a.log") == "durable");
  CHECK(put(s, "more"));
  CHECK(describe(s.sync()).find("an fdatasync failed") != std::string::npos);
}

TEST_CASE("segment files: has_room names the limit", "[segment_files]") {
  test::temp_dir dir;
  auto cfg = config(dir.path());
  cfg.max_disk_bytes = 10;
  segment_files s{cfg};
  REQUIRE(!s.lock());
  REQUIRE(!s.activate("a.log"));
  std::string why;
  CHECK(s.has_room(10, why));
  REQUIRE(!put(s, "12345678"));
  CHECK(!s.has_room(3, why));
  CHECK(why.find("max_disk_bytes") != std::string::npos);
  CHECK(s.has_room(2, why));
  auto cfg2 = config(dir / "other");
  cfg2.min_free_space = int64_t{1} << 62; // more than any disk has
  segment_files t{cfg2};
  REQUIRE(!t.lock());
  CHECK(!t.has_room(1, why));
  CHECK(why.find("min_free_space") != std::string::npos);
}

TEST_CASE("segment files: a partial record that cannot be cut off breaks it",
          "[segment_files]") {
  test::temp_dir dir;
  segment_files s{config(dir.path())};
  REQUIRE(!s.lock());
  REQUIRE(!s.activate("a.log"));
  REQUIRE(!put(s, "good"));
  REQUIRE(!s.sync());
  // A short write (a full disk), and then the cut fails too.
  fail_write = 2;
  fail_truncate = true;
  auto err = put(s, "partial record");
  fail_write = 0;
  fail_truncate = false;
  CHECK(err == make_error(channel_errc::disk_full));
  // The partial record is still there, so nothing may follow it.
  CHECK(test::read_file(dir / "a.log") == "goodpartial");
  CHECK(s.broken());
  err = put(s, "more");
  REQUIRE(err);
  CHECK(describe(err).find("could not be cut off") != std::string::npos);
  CHECK(test::read_file(dir / "a.log") == "goodpartial");
  CHECK(s.sync());
}

TEST_CASE("segment files: a roll that cannot create the next segment keeps "
          "the old one active",
          "[segment_files]") {
  test::temp_dir dir;
  segment_files s{config(dir.path())};
  REQUIRE(!s.lock());
  REQUIRE(!s.activate("a.log"));
  REQUIRE(!put(s, "one"));
  fail_open = true;
  auto err = s.roll("b.log");
  fail_open = false;
  REQUIRE(err);
  CHECK(err == make_error(channel_errc::disk_full));
  CHECK(!s.broken());
  CHECK(s.has_active());
  CHECK(s.active() == "a.log");
  CHECK(s.synced_size() == 3); // the roll synced it first
  CHECK(!fs::exists(dir / "b.log"));
  // The old segment still takes appends, and the roll works once it can.
  REQUIRE(!put(s, "two"));
  REQUIRE(!s.roll("b.log"));
  REQUIRE(!put(s, "three"));
  REQUIRE(!s.sync());
  CHECK(test::read_file(dir / "a.log") == "onetwo");
  CHECK(test::read_file(dir / "b.log") == "three");
  CHECK(s.disk_bytes() == 11);
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

TEST_CASE("segment files: the free space is looked at once per interval, "
          "and a full disk still stops appends",
          "[segment_files]") {
  test::temp_dir dir;
  auto cfg = config(dir.path());
  cfg.min_free_space = 1 << 20;
  cfg.free_space_check_bytes = 64 << 10;
  cfg.stat_fs = fake_stat_fs;
  fake_free = int64_t{1} << 30;
  segment_files s{cfg};
  REQUIRE(!s.lock());
  REQUIRE(!s.activate("a.log"));
  const std::string rec(1024, 'r');
  std::string why;
  // Appends one record when there is room, taking its bytes off the disk.
  auto try_put = [&] {
    if (!s.has_room(rec.size(), why))
      return false;
    REQUIRE(!put(s, rec));
    fake_free -= static_cast<int64_t>(rec.size());
    return true;
  };
  for (int i = 0; i < 1024; ++i)
    REQUIRE(try_put());
  // 1 MiB appended with a look every 64 KiB: 16 looks (17 with the first),
  // not 1024.
  CHECK(s.free_space_checks() >= 16);
  CHECK(s.free_space_checks() <= 17);

  SECTION("others fill the disk: appends stop within one interval") {
    fake_free = (1 << 20) + 10 * 1024; // 10 KiB above min_free_space
    int more = 0;
    while (more < 1000 && try_put())
      ++more;
    CHECK(more >= 10);
    CHECK(more <= 64);
    CHECK(why.find("min_free_space") != std::string::npos);
    AND_THEN("after a refusal the next call looks again, and its own "
             "appends stop exactly at the room it found") {
      fake_free = (1 << 20) + 5 * 1024;
      auto looks = s.free_space_checks();
      int n = 0;
      while (n < 1000 && try_put())
        ++n;
      CHECK(n == 5);
      CHECK(fake_free.load() == 1 << 20);
      CHECK(s.free_space_checks() == looks + 2); // the room, the refusal
    }
  }

  SECTION("an interval of 0 looks at every call") {
    auto cfg2 = config(dir / "every");
    cfg2.min_free_space = 1 << 20;
    cfg2.stat_fs = fake_stat_fs;
    segment_files t{cfg2};
    REQUIRE(!t.lock());
    for (int i = 0; i < 10; ++i)
      CHECK(t.has_room(rec.size(), why));
    CHECK(t.free_space_checks() == 10);
  }
}

namespace {

struct writeback_call {
  int64_t offset;
  int64_t length;
  bool operator==(const writeback_call&) const = default;
};

std::vector<writeback_call> writeback_calls;
std::atomic<bool> fail_writeback{false};

int watched_writeback(int fd, int64_t offset, int64_t length) {
  writeback_calls.push_back({offset, length});
  if (fail_writeback.load()) {
    errno = EIO;
    return -1;
  }
  return start_writeback(fd, offset, length);
}

} // namespace

TEST_CASE("segment files: write-behind hands each run of appended bytes to "
          "the disk once",
          "[segment_files]") {
  test::temp_dir dir;
  auto cfg = config(dir.path());
  cfg.writeback_bytes = 10;
  cfg.write_behind = watched_writeback;
  writeback_calls.clear();
  segment_files s{cfg};
  REQUIRE(!s.lock());
  REQUIRE(!s.activate("a.log"));
  REQUIRE(!put(s, "abcd"));
  REQUIRE(!put(s, "efgh"));
  CHECK(writeback_calls.empty()); // 8 bytes: below the threshold
  REQUIRE(!put(s, "ijkl"));
  CHECK(writeback_calls == std::vector<writeback_call>{{0, 12}});
  REQUIRE(!put(s, "mnopq"));
  CHECK(writeback_calls.size() == 1);
  // A failing hint changes nothing: the append stands, the next sync writes.
  fail_writeback = true;
  REQUIRE(!put(s, "rstuvw"));
  fail_writeback = false;
  CHECK(writeback_calls.back() == writeback_call{12, 11});
  REQUIRE(!s.sync());
  CHECK(s.synced_size() == 23);
  CHECK(test::read_file(dir / "a.log") == "abcdefghijklmnopqrstuvw");
  // A new segment starts counting from its own beginning.
  REQUIRE(!s.roll("b.log"));
  REQUIRE(!put(s, "0123456789"));
  CHECK(writeback_calls.back() == writeback_call{0, 10});
  CHECK(writeback_calls.size() == 3);

  // Without a threshold the fdatasync writes everything.
  segment_files quiet{config(dir.path() + "/quiet")};
  writeback_calls.clear();
  REQUIRE(!quiet.lock());
  REQUIRE(!quiet.activate("a.log"));
  REQUIRE(!put(quiet, std::string(4096, 'x')));
  CHECK(writeback_calls.empty());
}
