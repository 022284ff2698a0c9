// Recovery of a file store from a damaged log: damaged spans, torn tails,
// lost commit pointers and gaps.
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include <sys/stat.h>
#include <sys/statvfs.h>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "runtime/errors.hpp"
#include "runtime/file_store.hpp"
#include "runtime/file_store_format.hpp"
#include "runtime/file_store_scan.hpp"
#include "runtime/memory_store.hpp"
#include "tests/support/process.hpp"
#include "tests/support/store_helpers.hpp"

using namespace sluice;
using namespace sluice::test;
namespace fs = std::filesystem;

namespace {

/// Overwrites `n` bytes of `path` at `offset` with their complement.
void flip_bytes(const fs::path& path, int64_t offset, int n) {
  auto bytes = test::read_file(path);
  REQUIRE(offset + n <= static_cast<int64_t>(bytes.size()));
  std::fstream f{path, std::ios::in | std::ios::out | std::ios::binary};
  f.seekp(offset);
  for (int i = 0; i < n; ++i)
    f.put(static_cast<char>(~bytes[static_cast<size_t>(offset + i)]));
}

/// One record of a segment as written.
struct record_at {
  int64_t offset = 0;
  bool progress = false;
  uint64_t seq = 0; ///< 0 for a progress record
};

/// Every record of an undamaged segment, in order.
std::vector<record_at> records_of(const fs::path& path) {
  auto bytes = test::read_file(path);
  std::vector<record_at> result;
  size_t at = 0;
  while (at < bytes.size()) {
    file_format::record_header h{};
    REQUIRE(at + sizeof(h) <= bytes.size());
    std::memcpy(&h, bytes.data() + at, sizeof(h));
    REQUIRE((h.magic == file_format::record_magic ||
             h.magic == file_format::progress_magic));
    result.push_back({static_cast<int64_t>(at),
                      h.magic == file_format::progress_magic, h.seq});
    at += sizeof(h) + h.payload;
  }
  REQUIRE(at == bytes.size());
  return result;
}

/// Bytes this process has read with read(2) and pread(2) so far.
int64_t bytes_read() {
  std::ifstream in{"/proc/self/io"};
  std::string key;
  int64_t value = 0;
  while (in >> key >> value)
    if (key == "rchar:")
      return value;
  FAIL("cannot read /proc/self/io");
  return 0;
}

/// The numbers of `bodies` ("event-N"), in order.
std::vector<int> numbers_of(const std::vector<std::string>& bodies) {
  std::vector<int> result;
  for (auto& b : bodies)
    result.push_back(std::stoi(b.substr(6)));
  return result;
}

/// Checks that `got` is 0..n-1 with one contiguous run of at most
/// `max_lost` numbers missing; returns how many are missing.
int missing_run(const std::vector<int>& got, int n, int max_lost) {
  int next = 0;
  int missing = 0;
  for (auto x : got) {
    if (x != next) {
      REQUIRE(missing == 0); // one run only
      REQUIRE(x > next);
      missing = x - next;
    }
    next = x + 1;
  }
  missing += n - next;
  CHECK(missing <= max_lost);
  return missing;
}

} // namespace

SCENARIO("damage in the middle of the last segment loses only the damaged "
         "record; every valid record after it is recovered",
         "[file_store][damage]") {
  test::temp_dir dir;
  auto cfg = small_config(dir);
  cfg.segment_size = 4 << 20; // one segment holds everything
  {
    auto store = open_store(cfg);
    for (int i = 0; i < 500; ++i)
      REQUIRE(!store->append(numbered(i * 10, 10), "tail",
                             "at " + std::to_string(i * 10 + 10)));
    REQUIRE(!store->sync());
    // Stopped without a commit: everything is still to deliver.
  }
  auto segs = segments(cfg.directory);
  REQUIRE(segs.size() == 1);
  // In the middle of the segment: inside the payload of batch 250 of 500.
  auto size = static_cast<int64_t>(fs::file_size(segs.front()));
  auto middle =
      static_cast<int64_t>(test::read_file(segs.front()).find("event-2500"));
  REQUIRE(middle > size / 3);
  REQUIRE(middle < 2 * size / 3);
  flip_bytes(segs.front(), middle, 4);
  auto store = open_store(cfg);
  THEN("the damage is reported as a span holding the flipped bytes, not cut "
       "off as a torn write") {
    CHECK(store->torn_records() == 0);
    CHECK(store->damaged_spans() == 1);
    CHECK(store->damaged_bytes() > 0);
    CHECK(store->damaged_bytes() < 1000);
    auto scan = file_format::scan_log(cfg.directory, true);
    REQUIRE(scan);
    REQUIRE(scan->damaged.size() == 1);
    CHECK(scan->damaged[0].begin <= middle);
    CHECK(scan->damaged[0].end >= middle + 4);
    CHECK(scan->damaged[0].lost_first == 251);
    CHECK(scan->damaged[0].lost_last == 251);
  }
  THEN("every event but those of the damaged batch comes back, in order") {
    auto l = store->take(100'000);
    REQUIRE(l);
    auto got = numbers_of(bodies(*l));
    CHECK(got.size() == 4990);
    CHECK(missing_run(got, 5000, 10) == 10);
    CHECK(std::find(got.begin(), got.end(), 2500) == got.end());
    CHECK(store->recovered_events() == 4990);
  }
  THEN("the progress token written after the damage counts") {
    CHECK(store->recovered_progress()["tail"] == "at 5000");
  }
  THEN("the log stays usable, and the damaged segment goes once its "
       "batches are committed") {
    REQUIRE(!store->append(numbered(5000, 10)));
    REQUIRE(!store->sync());
    auto l = store->take(100'000);
    REQUIRE(l);
    REQUIRE(!store->commit(l->id));
    REQUIRE(!store->sync());
    CHECK(!fs::exists(segs.front()));
  }
}

SCENARIO("damage in a segment before the last is skipped and reported, not "
         "fatal",
         "[file_store][damage]") {
  test::temp_dir dir;
  auto cfg = small_config(dir); // 4 KiB segments
  {
    auto store = open_store(cfg);
    for (int i = 0; i < 60; ++i)
      REQUIRE(!store->append(numbered(i * 10, 10)));
    REQUIRE(!store->sync());
  }
  auto segs = segments(cfg.directory);
  REQUIRE(segs.size() >= 3);
  flip_bytes(segs.front(), 100, 1);
  auto store = open_store(cfg);
  THEN("the store opens with every other batch, and reports the span") {
    CHECK(store->damaged_spans() == 1);
    CHECK(store->torn_records() == 0);
    auto l = store->take(100'000);
    REQUIRE(l);
    auto got = numbers_of(bodies(*l));
    auto lost = missing_run(got, 600, 10);
    CHECK(lost == 10);
  }
}

SCENARIO("damage at the end of a segment before the last is a damaged span "
         "too, and the next segment's records follow",
         "[file_store][damage]") {
  test::temp_dir dir;
  auto cfg = small_config(dir);
  {
    auto store = open_store(cfg);
    for (int i = 0; i < 60; ++i)
      REQUIRE(!store->append(numbered(i * 10, 10)));
    REQUIRE(!store->sync());
  }
  auto segs = segments(cfg.directory);
  REQUIRE(segs.size() >= 3);
  auto size = static_cast<int64_t>(fs::file_size(segs.front()));
  flip_bytes(segs.front(), size - 5, 4);
  auto store = open_store(cfg);
  CHECK(store->damaged_spans() == 1);
  CHECK(store->torn_records() == 0);
  auto l = store->take(100'000);
  REQUIRE(l);
  CHECK(missing_run(numbers_of(bodies(*l)), 600, 10) == 10);
}

SCENARIO("a segment that is all damage is kept until the batches after it "
         "are committed",
         "[file_store][damage]") {
  test::temp_dir dir;
  auto cfg = small_config(dir);
  {
    auto store = open_store(cfg);
    for (int i = 0; i < 60; ++i)
      REQUIRE(!store->append(numbered(i * 10, 10)));
    REQUIRE(!store->sync());
  }
  auto segs = segments(cfg.directory);
  REQUIRE(segs.size() >= 3);
  {
    std::ofstream out{segs[1], std::ios::binary | std::ios::trunc};
    out << std::string(4000, '\x55');
  }
  size_t first = 0;
  {
    auto store = open_store(cfg);
    CHECK(store->damaged_spans() == 1);
    first = store->recovered_events();
    // Stopped before anything was delivered.
  }
  THEN("the next start still explains the lost batches by the damage") {
    REQUIRE(fs::exists(segs[1]));
    auto store = open_store(cfg);
    CHECK(store->damaged_spans() == 1);
    CHECK(store->recovered_events() == first);
    AND_WHEN("everything after it is committed") {
      auto l = store->take(100'000);
      REQUIRE(l);
      REQUIRE(!store->commit(l->id));
      REQUIRE(!store->sync());
      THEN("the damaged segment goes") {
        CHECK_FALSE(fs::exists(segs[1]));
      }
    }
  }
}

SCENARIO("after a damaged stretch that a valid progress record ends, the "
         "batches after a second, small damaged stretch are all recovered",
         "[file_store][damage]") {
  test::temp_dir dir;
  auto cfg = small_config(dir);
  cfg.segment_size = 1 << 20; // one segment holds everything
  {
    auto store = open_store(cfg);
    // Batches 1..41 with a progress record each, then 42..60 without.
    for (int i = 0; i < 41; ++i)
      REQUIRE(!store->append(numbered(i * 10, 10), "tail",
                             "at " + std::to_string(i * 10 + 10)));
    for (int i = 41; i < 60; ++i)
      REQUIRE(!store->append(numbered(i * 10, 10)));
    REQUIRE(!store->sync());
  }
  auto segs = segments(cfg.directory);
  REQUIRE(segs.size() == 1);
  auto recs = records_of(segs.front());
  REQUIRE(recs.size() == 41 * 2 + 19);
  // Index 2(n-1) is batch n (n <= 41), the next its progress record.
  REQUIRE(recs[22].seq == 12);
  REQUIRE(recs[78].seq == 40);
  REQUIRE(recs[79].progress);
  REQUIRE(recs[80].seq == 41);
  REQUIRE(recs[82].seq == 42);
  // A large stretch: batches 12..40 and their progress records, but the
  // progress record of batch 40 stays valid and ends the stretch. Then a
  // small one: batch 41 and its progress record.
  for (size_t k = 22; k <= 81; ++k)
    if (k != 79)
      flip_bytes(segs.front(), recs[k].offset, 1);
  auto store = open_store(cfg);
  THEN("batches 42..60 are all delivered, and 12..41 are reported lost") {
    CHECK(store->torn_records() == 0);
    auto l = store->take(100'000);
    REQUIRE(l);
    auto got = numbers_of(bodies(*l));
    CHECK(got.size() == 300);
    CHECK(missing_run(got, 600, 300) == 300);
    CHECK(std::find(got.begin(), got.end(), 410) != got.end());
    CHECK(std::find(got.begin(), got.end(), 109) != got.end());
    auto scan = file_format::scan_log(cfg.directory, true);
    REQUIRE(scan);
    CHECK(scan->out_of_order == 0);
    REQUIRE(scan->damaged.size() == 2);
    CHECK(scan->damaged[0].lost_first == 12);
    CHECK(scan->damaged[0].lost_last == 41);
    CHECK(scan->gaps.empty());
  }
}

SCENARIO("in the last segment, damage followed only by progress records is "
         "a torn tail: those records are cut off and their tokens not used",
         "[file_store][damage]") {
  test::temp_dir dir;
  auto cfg = small_config(dir);
  cfg.segment_size = 1 << 20;
  {
    auto store = open_store(cfg);
    for (int i = 0; i < 11; ++i)
      REQUIRE(!store->append(numbered(i * 10, 10), "tail",
                             "at " + std::to_string(i * 10 + 10)));
    REQUIRE(!store->sync());
  }
  auto segs = segments(cfg.directory);
  REQUIRE(segs.size() == 1);
  auto recs = records_of(segs.front());
  REQUIRE(recs.size() == 22);
  REQUIRE(recs[20].seq == 11);
  REQUIRE(recs[21].progress);
  // Batch 11 was lost (its write never reached the disk) while the page
  // holding its progress record did.
  flip_bytes(segs.front(), recs[20].offset, 1);
  auto scan = file_format::scan_log(cfg.directory, true);
  REQUIRE(scan);
  CHECK(scan->torn_at == recs[20].offset);
  CHECK(scan->damaged.empty());
  CHECK(scan->progress["tail"].token == "at 100");
  auto store = open_store(cfg);
  THEN("the tail from batch 11 on is cut off and the token of batch 10 "
       "is the one recovered") {
    CHECK(store->torn_records() == 1);
    CHECK(store->damaged_spans() == 0);
    CHECK(store->recovered_progress()["tail"] == "at 100");
    CHECK(store->recovered_events() == 100);
    CHECK(static_cast<int64_t>(fs::file_size(segs.front())) == recs[20].offset);
  }
}

SCENARIO("with an untrusted pointer, a segment that is all damage is kept at "
         "open and goes once the batches after it are committed",
         "[file_store][damage]") {
  test::temp_dir dir;
  auto cfg = small_config(dir);
  {
    auto store = open_store(cfg);
    for (int i = 0; i < 60; ++i)
      REQUIRE(!store->append(numbered(i * 10, 10)));
    REQUIRE(!store->sync());
  }
  auto segs = segments(cfg.directory);
  REQUIRE(segs.size() >= 3);
  {
    std::ofstream out{segs[0], std::ios::binary | std::ios::trunc};
    out << std::string(4000, '\x55');
  }
  fs::remove(cfg.directory / "commit.ptr");
  auto scan = file_format::scan_log(cfg.directory, false);
  REQUIRE(scan);
  REQUIRE(!scan->pointer_trusted);
  REQUIRE(scan->damaged.size() == 1);
  CHECK(scan->damaged[0].loss_unknown);
  auto store = open_store(cfg);
  CHECK(store->damaged_spans() == 1);
  THEN("the damaged segment is still there for an operator to inspect") {
    CHECK(fs::exists(segs[0]));
    AND_WHEN("everything after it is committed") {
      auto l = store->take(100'000);
      REQUIRE(l);
      REQUIRE(!store->commit(l->id));
      REQUIRE(!store->sync());
      THEN("it goes") {
        CHECK_FALSE(fs::exists(segs[0]));
      }
    }
  }
}

SCENARIO("a long damaged stretch full of false record magics is skipped "
         "in one pass",
         "[file_store][damage]") {
  test::temp_dir dir;
  auto cfg = small_config(dir);
  cfg.segment_size = 8 << 20;
  {
    auto store = open_store(cfg);
    for (int i = 0; i < 5; ++i)
      REQUIRE(!store->append(numbered(i * 10, 10)));
    REQUIRE(!store->sync());
  }
  auto seg = segments(cfg.directory).front();
  auto recs = records_of(seg);
  REQUIRE(recs.size() == 5);
  // 2 MiB of "SLR1": a candidate record magic every 4 bytes, none of them
  // with a valid header, between batches 2 and 3.
  std::string garbage;
  for (int i = 0; i < (2 << 20) / 4; ++i) {
    char m[4];
    std::memcpy(m, &file_format::record_magic, 4);
    garbage.append(m, 4);
  }
  auto bytes = test::read_file(seg);
  bytes.insert(static_cast<size_t>(recs[2].offset), garbage);
  {
    std::ofstream out{seg, std::ios::binary | std::ios::trunc};
    out << bytes;
  }
  auto read_before = bytes_read();
  auto scan = file_format::scan_log(cfg.directory, true);
  auto read = bytes_read() - read_before;
  REQUIRE(scan);
  THEN("the stretch is one span, every batch is kept, and the scan does not "
       "read 64 KiB again for each false magic") {
    REQUIRE(scan->damaged.size() == 1);
    CHECK(scan->damaged[0].begin == recs[2].offset);
    CHECK(scan->damaged[0].end - scan->damaged[0].begin ==
          static_cast<int64_t>(garbage.size()));
    CHECK(scan->batches == 5);
    CHECK(scan->gaps.empty());
    // Reading 64 KiB again for each candidate would read 32 GiB here; one
    // pass reads the stretch about once, plus a header per candidate.
    CHECK(read > static_cast<int64_t>(garbage.size()));
    CHECK(read < 64 * static_cast<int64_t>(garbage.size()));
  }
}

SCENARIO("a valid record whose sequence number goes backwards is rejected "
         "as damage",
         "[file_store][damage]") {
  test::temp_dir dir;
  auto cfg = small_config(dir);
  cfg.segment_size = 1 << 20;
  // Batches of equal size, so one record's bytes can stand in for another.
  auto fixed = [](int i) {
    event_batch b;
    b.append(fmt::format("event-{:04d}", i));
    return b;
  };
  {
    auto store = open_store(cfg);
    for (int i = 0; i < 10; ++i)
      REQUIRE(!store->append(fixed(i)));
    REQUIRE(!store->sync());
  }
  auto seg = segments(cfg.directory).front();
  auto bytes = test::read_file(seg);
  auto record = bytes.size() / 10;
  REQUIRE(record * 10 == bytes.size());
  // Record 5 becomes a copy of record 1: every check passes but the order.
  bytes.replace(5 * record, record, bytes.substr(record, record));
  {
    std::ofstream out{seg, std::ios::binary | std::ios::trunc};
    out << bytes;
  }
  auto store = open_store(cfg);
  THEN("the copy is not delivered twice; the records after it are") {
    CHECK(store->damaged_spans() == 1);
    auto l = store->take(100);
    REQUIRE(l);
    auto got = bodies(*l);
    CHECK(got.size() == 9);
    CHECK(std::count(got.begin(), got.end(), "event-0001") == 1);
    CHECK(std::count(got.begin(), got.end(), "event-0009") == 1);
    auto scan = file_format::scan_log(cfg.directory, true);
    REQUIRE(scan);
    CHECK(scan->out_of_order == 1);
  }
}

namespace {

/// A store with `batches` batches of 10 events written, all delivered and
/// committed except what `keep` says to leave uncommitted at the end.
void write_and_commit(const file_store_config& cfg, int batches,
                      int uncommitted = 0) {
  auto store = open_store(cfg);
  for (int i = 0; i < batches; ++i)
    REQUIRE(!store->append(numbered(i * 10, 10)));
  REQUIRE(!store->sync());
  auto l = store->take(static_cast<size_t>((batches - uncommitted) * 10));
  REQUIRE(l);
  REQUIRE(!store->commit(l->id));
  REQUIRE(!store->sync());
  store->close();
}

} // namespace

SCENARIO("a lost commit pointer costs one more delivery, not one on every "
         "start",
         "[file_store][pointer]") {
  test::temp_dir dir;
  auto cfg = small_config(dir); // 4 KiB segments: the last holds a few
  write_and_commit(cfg, 60);
  auto ptr = cfg.directory / "commit.ptr";
  REQUIRE(fs::exists(ptr));
  // A delivered channel whose commit.ptr is deleted, or has both slots
  // damaged.
  auto deleted = GENERATE(true, false);
  if (deleted) {
    fs::remove(ptr);
  } else {
    std::ofstream out{ptr, std::ios::binary | std::ios::trunc};
    out << std::string(64, 'x');
  }
  size_t first_run = 0;
  {
    auto store = open_store(cfg);
    first_run = store->recovered_events();
    CHECK(store->pointer_rebuilt());
    // The batches still in the log are delivered once more and committed.
    while (store->queued_events() > 0) {
      auto l = store->take(1000);
      REQUIRE(l);
      REQUIRE(!store->commit(l->id));
    }
    REQUIRE(!store->sync());
    store->close();
  }
  THEN("the first start delivers what the log still holds again") {
    CHECK(first_run > 0);
    CHECK(first_run < 600);
  }
  THEN("the next start delivers nothing, and old segments were reclaimed") {
    auto store = open_store(cfg);
    CHECK_FALSE(store->pointer_rebuilt());
    CHECK(store->recovered_events() == 0);
    CHECK(segment_count(cfg.directory) <= 2);
  }
}

SCENARIO("a missing segment in the middle of the log stops the store with "
         "an error naming the gap",
         "[file_store][gap]") {
  test::temp_dir dir;
  auto cfg = small_config(dir);
  {
    auto store = open_store(cfg);
    for (int i = 0; i < 60; ++i)
      REQUIRE(!store->append(numbered(i * 10, 10)));
    REQUIRE(!store->sync());
  }
  auto segs = segments(cfg.directory);
  REQUIRE(segs.size() >= 3);
  auto gone = segs[1];
  fs::remove(gone);
  auto store = file_store::make(cfg);
  REQUIRE(store);
  auto err = (*store)->open();
  REQUIRE(err);
  CHECK(err == make_error(channel_errc::corrupt_log));
  CHECK_THAT(describe(err), Catch::Contains(gone.filename().string()) &&
                                Catch::Contains("are missing") &&
                                Catch::Contains("sluice channel repair " +
                                                cfg.directory.string()));
}

SCENARIO("a deleted segment after a segment that ends in damage is a gap, "
         "not damage",
         "[file_store][gap]") {
  test::temp_dir dir;
  auto cfg = small_config(dir);
  {
    auto store = open_store(cfg);
    for (int i = 0; i < 60; ++i)
      REQUIRE(!store->append(numbered(i * 10, 10)));
    REQUIRE(!store->sync());
  }
  auto segs = segments(cfg.directory);
  REQUIRE(segs.size() >= 3);
  auto size = static_cast<int64_t>(fs::file_size(segs[0]));
  flip_bytes(segs[0], size - 5, 4);
  auto gone = segs[1];
  fs::remove(gone);
  auto scan = file_format::scan_log(cfg.directory, false);
  REQUIRE(scan);
  REQUIRE(scan->damaged.size() == 1); // the damage is really there
  CHECK(scan->open_gaps().size() == 1);
  auto store = file_store::make(cfg);
  REQUIRE(store);
  auto err = (*store)->open();
  REQUIRE(err);
  CHECK(err == make_error(channel_errc::corrupt_log));
  CHECK_THAT(describe(err), Catch::Contains(gone.filename().string()) &&
                                Catch::Contains("are missing"));
}
