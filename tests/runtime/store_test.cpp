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
  // More free space than min_free_space, but not enough for 32 MiB more
  // (the margin leaves room for other processes freeing up to 30 MiB on
  // the same disk meanwhile).
  cfg.min_free_space = free_now - (int64_t{2} << 20);
  auto store = open_store(cfg);
  std::string why;
  REQUIRE_FALSE(store->has_room(32 << 20, why));
  THEN("the message states the free space, the reserve and the limit as "
       "they are") {
    CHECK_THAT(why, Catch::Contains("free; writing the next batches (up to "
                                    "32.0 MiB) would leave") &&
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
