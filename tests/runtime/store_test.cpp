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

using namespace sluice;
namespace fs = std::filesystem;

namespace {

event_batch numbered(int from, int n) {
  event_batch b;
  for (int i = from; i < from + n; ++i)
    b.append("event-" + std::to_string(i));
  return b;
}

std::vector<std::string> bodies(const lease& l) {
  std::vector<std::string> result;
  for (auto& b : *l.batches.ptr)
    for (size_t i = 0; i < b.size(); ++i)
      result.emplace_back(b.body(i));
  return result;
}

std::vector<std::string> expected(int from, int n) {
  std::vector<std::string> result;
  for (int i = from; i < from + n; ++i)
    result.push_back("event-" + std::to_string(i));
  return result;
}

file_store_config small_config(const test::temp_dir& dir) {
  file_store_config cfg;
  cfg.directory = dir / "channel";
  cfg.segment_size = 4096;
  cfg.min_free_space = 0;
  return cfg;
}

std::unique_ptr<file_store> open_store(const file_store_config& cfg) {
  auto store = file_store::make(cfg);
  REQUIRE(store);
  REQUIRE(!(*store)->open());
  return std::move(*store);
}

/// The segment files of a store's directory, oldest first.
std::vector<fs::path> segments(const fs::path& dir) {
  std::vector<fs::path> result;
  for (auto& e : fs::directory_iterator{dir})
    if (e.path().extension() == ".seg")
      result.push_back(e.path());
  std::sort(result.begin(), result.end());
  return result;
}

size_t segment_count(const fs::path& dir) {
  return segments(dir).size();
}

/// The newest segment holding records.
fs::path last_written_segment(const fs::path& dir) {
  auto all = segments(dir);
  for (auto i = all.rbegin(); i != all.rend(); ++i)
    if (fs::file_size(*i) > 0)
      return *i;
  return {};
}

template <class Store>
void check_lease_order(Store& store) {
  REQUIRE(!store.append(numbered(0, 10)));
  REQUIRE(!store.append(numbered(10, 10)));
  REQUIRE(!store.append(numbered(20, 10)));
  REQUIRE(!store.sync());
  CHECK(store.events() == 30);
  auto first = store.take(10);
  REQUIRE(first);
  CHECK(bodies(*first) == expected(0, 10));
  auto second = store.take(15);
  REQUIRE(second);
  THEN("a lease holds whole batches up to its size") {
    CHECK(bodies(*second) == expected(10, 10));
  }
  WHEN("the first lease rolls back") {
    REQUIRE(!store.rollback(first->id));
    THEN("its batches come back before anything newer") {
      auto again = store.take(100);
      REQUIRE(again);
      CHECK(bodies(*again) == [] {
        auto xs = expected(0, 10);
        auto ys = expected(20, 10);
        xs.insert(xs.end(), ys.begin(), ys.end());
        return xs;
      }());
    }
  }
  WHEN("both roll back, the older first") {
    REQUIRE(!store.rollback(first->id));
    REQUIRE(!store.rollback(second->id));
    THEN("every batch is back in its place") {
      auto again = store.take(100);
      REQUIRE(again);
      CHECK(bodies(*again) == expected(0, 30));
    }
  }
  WHEN("both commit") {
    REQUIRE(!store.commit(first->id));
    REQUIRE(!store.commit(second->id));
    THEN("only the last batch is held") {
      CHECK(store.events() == 10);
      CHECK(store.queued_events() == 10);
    }
  }
  THEN("an unknown lease is an error") {
    CHECK(store.commit(999));
  }
}

} // namespace

SCENARIO("a memory store leases batches in order", "[memory_store]") {
  memory_store store;
  REQUIRE(!store.open());
  check_lease_order(store);
}

SCENARIO("a file store leases batches in order", "[file_store]") {
  test::temp_dir dir;
  auto store = open_store(small_config(dir));
  check_lease_order(*store);
}

SCENARIO("a file store keeps what was synced and not committed across a "
         "crash",
         "[file_store]") {
  test::temp_dir dir;
  auto cfg = small_config(dir);
  {
    auto store = open_store(cfg);
    for (int i = 0; i < 50; ++i)
      REQUIRE(!store->append(numbered(i * 10, 10)));
    REQUIRE(!store->sync());
    auto l = store->take(100);
    REQUIRE(l);
    REQUIRE(!store->commit(l->id));
    auto in_flight = store->take(30);
    REQUIRE(in_flight);
    REQUIRE(!store->sync());
    // Destroyed without close: like kill -9.
  }
  auto store = open_store(cfg);
  THEN("exactly the uncommitted batches come back, in order") {
    CHECK(store->recovered_events() == 400);
    auto l = store->take(1000);
    REQUIRE(l);
    CHECK(bodies(*l) == expected(100, 400));
  }
  THEN("committed segments were deleted") {
    CHECK(store->disk_bytes() < 50 * 300);
  }
}

SCENARIO("a torn write at the end of the log is cut off", "[file_store]") {
  test::temp_dir dir;
  auto cfg = small_config(dir);
  cfg.segment_size = 1 << 20;
  fs::path last;
  {
    auto store = open_store(cfg);
    for (int i = 0; i < 5; ++i)
      REQUIRE(!store->append(numbered(i * 10, 10)));
    REQUIRE(!store->sync());
    last = last_written_segment(cfg.directory);
  }
  REQUIRE(!last.empty());
  // Cut the last record in half, as a crash during write would.
  fs::resize_file(last, fs::file_size(last) - 40);
  auto store = open_store(cfg);
  THEN("the complete records survive and the torn one is counted") {
    CHECK(store->torn_records() == 1);
    auto l = store->take(1000);
    REQUIRE(l);
    CHECK(bodies(*l) == expected(0, 40));
  }
  AND_THEN("new appends follow") {
    REQUIRE(!store->append(numbered(100, 1)));
    REQUIRE(!store->sync());
    CHECK(store->queued_events() == 41);
  }
}

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

SCENARIO("commits out of order advance the pointer only past a closed gap",
         "[file_store]") {
  test::temp_dir dir;
  auto cfg = small_config(dir);
  {
    auto store = open_store(cfg);
    for (int i = 0; i < 3; ++i)
      REQUIRE(!store->append(numbered(i * 10, 10)));
    REQUIRE(!store->sync());
    auto a = store->take(10);
    auto b = store->take(10);
    REQUIRE((a && b));
    REQUIRE(!store->commit(b->id));
    REQUIRE(!store->sync());
  }
  auto store = open_store(cfg);
  THEN("the uncommitted first lease comes back; the committed later one is "
       "delivered again too (at-least-once)") {
    auto l = store->take(100);
    REQUIRE(l);
    CHECK(bodies(*l) == expected(0, 30));
  }
}

SCENARIO("a file store keeps an index, not the events, in memory",
         "[file_store]") {
  test::temp_dir dir;
  auto cfg = small_config(dir);
  cfg.segment_size = 1 << 20;
  auto store = open_store(cfg);
  for (int i = 0; i < 2000; ++i)
    REQUIRE(!store->append(numbered(i * 5, 5)));
  REQUIRE(!store->sync());
  CHECK(store->indexed_records() == 2000);
  CHECK(store->events() == 10'000);
  WHEN("everything is leased and committed") {
    while (store->queued_events() > 0) {
      auto l = store->take(500);
      REQUIRE(l);
      REQUIRE(!store->commit(l->id));
    }
    REQUIRE(!store->sync());
    THEN("old segments are deleted and the index is empty") {
      CHECK(store->indexed_records() == 0);
      CHECK(segment_count(cfg.directory) == 1);
    }
  }
}

SCENARIO("a file store refuses room past its limits with a clear reason",
         "[file_store]") {
  test::temp_dir dir;
  auto cfg = small_config(dir);
  cfg.max_disk_bytes = 2000;
  auto store = open_store(cfg);
  std::string why;
  CHECK(store->has_room(100, why));
  for (int i = 0; i < 10; ++i)
    REQUIRE(!store->append(numbered(i * 10, 10)));
  CHECK_FALSE(store->has_room(100, why));
  CHECK_THAT(why, Catch::Contains("max_disk_bytes"));
  WHEN("the file system has less free space than min_free_space") {
    auto big = small_config(dir);
    big.directory = dir / "other";
    big.min_free_space = int64_t{1} << 62;
    auto other = open_store(big);
    std::string reason;
    CHECK_FALSE(other->has_room(1, reason));
    CHECK_THAT(reason, Catch::Contains("min_free_space"));
  }
}

SCENARIO("a file store says why free space is short: the next batches would "
         "leave less than min_free_space",
         "[file_store]") {
  test::temp_dir dir;
  auto cfg = small_config(dir);
  cfg.segment_size = 64 << 20;
  struct statvfs sv;
  REQUIRE(::statvfs(dir.path().c_str(), &sv) == 0);
  auto free_now =
      static_cast<int64_t>(sv.f_bavail) * static_cast<int64_t>(sv.f_frsize);
  REQUIRE(free_now > (int64_t{8} << 20));
  // More free space than min_free_space, but not enough for 4 MiB more.
  cfg.min_free_space = free_now - (int64_t{2} << 20);
  auto store = open_store(cfg);
  std::string why;
  REQUIRE_FALSE(store->has_room(4 << 20, why));
  THEN("the message states the free space, the reserve and the limit as "
       "they are") {
    CHECK_THAT(why, Catch::Contains("free; writing the next batches (up to "
                                    "4.0 MiB) would leave") &&
                        Catch::Contains("below min_free_space"));
    CHECK_THAT(why, !Catch::Contains("free, below"));
  }
}

SCENARIO("a file store retires a full, committed active segment when room "
         "runs out",
         "[file_store]") {
  test::temp_dir dir;
  auto cfg = small_config(dir);
  cfg.segment_size = int64_t{64} << 20; // larger than the disk limit
  cfg.max_disk_bytes = 4000;
  auto store = open_store(cfg);
  for (int i = 0; i < 10; ++i)
    REQUIRE(!store->append(numbered(i * 10, 10)));
  REQUIRE(!store->sync());
  auto all = store->take(1000);
  REQUIRE(all);
  REQUIRE(!store->commit(all->id));
  REQUIRE(!store->sync());
  std::string why;
  CHECK(store->events() == 0);
  WHEN("it makes room") {
    store->make_room();
    THEN("only an empty segment is left and there is room again") {
      CHECK(store->disk_bytes() == 0);
      CHECK(store->has_room(100, why));
      CHECK(segment_count(cfg.directory) == 1);
    }
  }
}

SCENARIO("two file stores cannot share a directory", "[file_store]") {
  test::temp_dir dir;
  auto cfg = small_config(dir);
  auto first = open_store(cfg);
  auto second = file_store::make(cfg);
  REQUIRE(second);
  auto err = (*second)->open();
  REQUIRE(err);
  CHECK_THAT(describe(err), Catch::Contains("in use by another file channel") &&
                                Catch::Contains(cfg.directory.string()));
  WHEN("the first closes") {
    first->close();
    THEN("the directory can be opened again") {
      auto third = file_store::make(cfg);
      REQUIRE(third);
      CHECK(!(*third)->open());
    }
  }
}

SCENARIO("a file store keeps each source's progress token with its batch",
         "[file_store]") {
  test::temp_dir dir;
  auto cfg = small_config(dir);
  {
    auto store = open_store(cfg);
    REQUIRE(!store->append(numbered(0, 10), "tail", "at 10"));
    REQUIRE(!store->sync());
    REQUIRE(!store->append(numbered(10, 10), "other", "x"));
    REQUIRE(!store->sync());
    REQUIRE(!store->append(numbered(20, 10), "tail", "at 30"));
    // No sync, and destroyed without close: the process dies. The batch
    // and its token were written together.
  }
  auto store = open_store(cfg);
  THEN("each source's newest written token comes back with its batch") {
    auto progress = store->recovered_progress();
    CHECK(progress.size() == 2);
    CHECK(progress["tail"] == "at 30");
    CHECK(progress["other"] == "x");
    CHECK(store->recovered_events() == 30);
  }
  THEN("progress records are not delivered as batches") {
    auto l = store->take(1000);
    REQUIRE(l);
    CHECK(bodies(*l) == expected(0, 30));
  }
}

SCENARIO("a file store hands sinks only batches a sync made durable",
         "[file_store]") {
  test::temp_dir dir;
  auto store = open_store(small_config(dir));
  REQUIRE(!store->append(numbered(0, 10)));
  CHECK(store->queued_events() == 10);
  CHECK(store->takeable_events() == 0);
  auto none = store->take(100);
  REQUIRE(none);
  CHECK(none->id == 0);
  REQUIRE(!store->sync());
  CHECK(store->takeable_events() == 10);
  REQUIRE(!store->append(numbered(10, 10)));
  auto l = store->take(100);
  REQUIRE(l);
  THEN("the lease stops before the batch appended after the sync") {
    CHECK(bodies(*l) == expected(0, 10));
    CHECK(store->takeable_events() == 0);
  }
}

SCENARIO("a source's progress token outlives the deletion of its segment",
         "[file_store]") {
  test::temp_dir dir;
  auto cfg = small_config(dir); // 4 KiB segments
  fs::path first_segment;
  {
    auto store = open_store(cfg);
    REQUIRE(!store->append(numbered(0, 10), "tail", "the one token"));
    REQUIRE(!store->sync());
    first_segment = segments(cfg.directory).front();
    // Many more batches from another source fill segment after segment;
    // then everything is committed, so the old segments go.
    for (int i = 1; i < 60; ++i) {
      REQUIRE(!store->append(numbered(i * 10, 10), "gen", std::to_string(i)));
      REQUIRE(!store->sync());
    }
    auto l = store->take(1000);
    REQUIRE(l);
    REQUIRE(!store->commit(l->id));
    REQUIRE(!store->sync());
    REQUIRE(!fs::exists(first_segment));
    // Destroyed without close: like kill -9.
  }
  auto store = open_store(cfg);
  THEN("both tokens are still in the log") {
    auto progress = store->recovered_progress();
    CHECK(progress["tail"] == "the one token");
    CHECK(progress["gen"] == "59");
    CHECK(store->recovered_events() == 0);
    CHECK(segment_count(cfg.directory) <= 2);
  }
}

SCENARIO("a torn progress record is cut off and the one before it kept",
         "[file_store]") {
  test::temp_dir dir;
  auto cfg = small_config(dir);
  cfg.segment_size = 1 << 20;
  fs::path last;
  {
    auto store = open_store(cfg);
    REQUIRE(!store->append(numbered(0, 10), "tail", "first"));
    REQUIRE(!store->append(numbered(10, 10), "tail", "second"));
    REQUIRE(!store->sync());
    last = last_written_segment(cfg.directory);
  }
  // The progress record is the last thing written: cut its last 3 bytes.
  fs::resize_file(last, fs::file_size(last) - 3);
  auto store = open_store(cfg);
  THEN("the batch before it survives and the previous token is used") {
    CHECK(store->torn_records() == 1);
    CHECK(store->recovered_progress()["tail"] == "first");
    CHECK(store->recovered_events() == 20);
  }
}

SCENARIO("a damaged progress record inside the log is skipped, not fatal",
         "[file_store]") {
  test::temp_dir dir;
  auto cfg = small_config(dir); // 4 KiB segments
  fs::path first_segment;
  {
    auto store = open_store(cfg);
    REQUIRE(!store->append(numbered(0, 10), "tail", "old token"));
    REQUIRE(!store->sync());
    first_segment = segments(cfg.directory).front();
    // Enough uncommitted batches to fill more segments after it.
    for (int i = 1; i < 40; ++i)
      REQUIRE(!store->append(numbered(i * 10, 10)));
    REQUIRE(!store->sync());
  }
  REQUIRE(segment_count(cfg.directory) > 1);
  // Flip the last byte of the token "old token" in the first segment.
  auto bytes = test::read_file(first_segment);
  auto at = bytes.find("old token");
  REQUIRE(at != std::string::npos);
  {
    std::fstream f{first_segment,
                   std::ios::in | std::ios::out | std::ios::binary};
    f.seekp(static_cast<std::streamoff>(at + 8));
    f.put('X');
  }
  auto store = open_store(cfg);
  THEN("the store opens with every batch, without that token") {
    CHECK(store->recovered_events() == 400);
    CHECK(store->recovered_progress().count("tail") == 0);
  }
}

namespace {

std::atomic<bool> fail_syncs{false};

int failing_sync(int fd) {
  if (fail_syncs.load()) {
    errno = EIO;
    return -1;
  }
  return ::fdatasync(fd);
}

} // namespace

SCENARIO("a failed fdatasync cuts the log back to what was durable and "
         "stops the store",
         "[file_store]") {
  test::temp_dir dir;
  auto cfg = small_config(dir);
  cfg.segment_size = 1 << 20;
  cfg.sync_data = failing_sync;
  fail_syncs = false;
  {
    auto store = open_store(cfg);
    REQUIRE(!store->append(numbered(0, 10), "tail", "at 10"));
    REQUIRE(!store->sync());
    REQUIRE(!store->append(numbered(10, 10), "tail", "at 20"));
    fail_syncs = true;
    auto err = store->sync();
    fail_syncs = false;
    REQUIRE(err);
    THEN("the store refuses everything until it is opened again") {
      CHECK(store->broken());
      CHECK(store->append(numbered(20, 10)));
      CHECK(store->sync());
      CHECK(!store->take(100));
    }
  }
  auto store = open_store(cfg);
  THEN("a restart finds only what the last good sync covered, with its "
       "token") {
    CHECK(!store->broken());
    CHECK(store->recovered_events() == 10);
    CHECK(store->recovered_progress()["tail"] == "at 10");
    auto l = store->take(100);
    REQUIRE(l);
    CHECK(bodies(*l) == expected(0, 10));
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

namespace {

/// Every segment's size at its newest successful fdatasync, by path.
std::map<std::string, int64_t> synced_sizes;

int recording_sync(int fd) {
  auto link = "/proc/self/fd/" + std::to_string(fd);
  std::error_code ec;
  auto path = fs::read_symlink(link, ec).string();
  struct stat st {};
  if (::fstat(fd, &st) != 0)
    return -1;
  if (::fdatasync(fd) != 0)
    return -1;
  synced_sizes[path] = static_cast<int64_t>(st.st_size);
  return 0;
}

} // namespace

SCENARIO("a file store hands out and acknowledges a batch only after an "
         "fdatasync covered it",
         "[file_store][sync_order]") {
  test::temp_dir dir;
  auto cfg = small_config(dir); // 4 KiB segments: several rolls
  cfg.sync_data = recording_sync;
  synced_sizes.clear();
  auto store = open_store(cfg);
  size_t appended = 0;
  size_t acked = 0;
  for (int i = 0; i < 60; ++i) {
    REQUIRE(!store->append(numbered(i * 10, 10)));
    appended += 10;
    // Nothing appended since the last acknowledged sync is handed out.
    CHECK(store->takeable_events() == acked);
    if (i % 3 != 2)
      continue;
    REQUIRE(!store->sync()); // the acknowledgement of what was appended
    acked = appended;
    CHECK(store->takeable_events() == acked);
    // Every byte of every segment was covered by an fdatasync before sync
    // returned.
    for (auto& seg : segments(cfg.directory)) {
      auto size = static_cast<int64_t>(fs::file_size(seg));
      if (size > 0)
        CHECK(synced_sizes[fs::canonical(seg).string()] == size);
    }
  }
  THEN("the segments rolled, so the case of a roll was covered") {
    CHECK(segment_count(cfg.directory) >= 3);
    CHECK(synced_sizes.size() >= 3);
  }
  THEN("a lease holds no more than the acknowledged events") {
    REQUIRE(!store->append(numbered(600, 10)));
    auto l = store->take(100'000);
    REQUIRE(l);
    CHECK(bodies(*l).size() == acked);
  }
}
