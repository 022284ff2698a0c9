#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <poll.h>
#include <random>
#include <string>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <zstd.h>

#include "connectors/archive_sink.hpp"
#include "runtime/errors.hpp"
#include "tests/connectors/archive_test_helpers.hpp"
#include "tests/support/process.hpp"

using namespace sluice;
using namespace sluice::test;
using namespace std::chrono_literals;

namespace fs = std::filesystem;

SCENARIO("the archive recovers in-progress files of a killed run",
         "[archive]") {
  test::temp_dir tmp;
  auto dir = fs::path{tmp / "archive"};
  auto part = dir / "orders" / "dt=2026-12-04" / "hour=10";
  fs::create_directories(part);
  auto frame = [](const std::string& text) {
    std::string out(ZSTD_compressBound(text.size()), '\0');
    auto n = ZSTD_compress(out.data(), out.size(), text.data(), text.size(), 3);
    REQUIRE(!ZSTD_isError(n));
    out.resize(n);
    return out;
  };
  auto write_file = [](const fs::path& p, const std::string& data) {
    std::ofstream f{p, std::ios::binary};
    f << data;
  };
  auto ts = utc_ms(2026, 12, 4, 10, 0);
  GIVEN("a file of two complete frames and a torn third") {
    auto f1 = frame(expected_line("one", ts));
    auto f2 = frame(expected_line("two", ts));
    auto f3 = frame(expected_line("three", ts));
    write_file(part / ".part-x.jsonl.zst.inprogress",
               f1 + f2 + f3.substr(0, f3.size() - 3));
    AND_GIVEN("a file with no complete frame and a locked one") {
      write_file(part / ".part-y.jsonl.zst.inprogress", f1.substr(0, 5));
      auto locked = part / ".part-z.jsonl.zst.inprogress";
      write_file(locked, f1);
      int lock_fd = ::open(locked.c_str(), O_RDONLY);
      REQUIRE(lock_fd >= 0);
      REQUIRE(::flock(lock_fd, LOCK_EX) == 0);
      WHEN("a sink opens the directory") {
        auto sink = make_archive(dir.string());
        REQUIRE(!sink->open());
        THEN("the first is cut and renamed, the second removed, the locked "
             "one left alone") {
          CHECK(fs::exists(part / "part-x.jsonl.zst"));
          CHECK(fs::file_size(part / "part-x.jsonl.zst") ==
                f1.size() + f2.size());
          CHECK(!fs::exists(part / ".part-x.jsonl.zst.inprogress"));
          CHECK(!fs::exists(part / ".part-y.jsonl.zst.inprogress"));
          CHECK(!fs::exists(part / "part-y.jsonl.zst"));
          CHECK(fs::exists(locked));
          auto d = decompress_file(part / "part-x.jsonl.zst");
          CHECK(d.complete);
          CHECK(d.frames == 2);
          CHECK(d.text == expected_line("one", ts) + expected_line("two", ts));
          auto& r = as_archive(sink).recovered();
          REQUIRE(r.size() == 2);
          CHECK(r[0].kept_bytes == static_cast<int64_t>(f1.size() + f2.size()));
          CHECK(r[0].cut_bytes == static_cast<int64_t>(f3.size() - 3));
          CHECK(r[1].path.empty());
        }
        sink->close();
      }
      ::close(lock_fd);
    }
  }
  GIVEN("a damaged frame whose blocks all look whole (its checksum is wrong)") {
    auto f1 = frame(expected_line("one", ts));
    auto f2 = frame(std::string(200, 'x') + "\n");
    f2[f2.size() - 1] ^= 0x55; // the checksum's last byte
    write_file(part / ".part-w.jsonl.zst.inprogress", f1 + f2);
    auto r = recover_archive_file(part / ".part-w.jsonl.zst.inprogress");
    REQUIRE(r);
    THEN("it is cut before that frame") {
      CHECK(r->kept_bytes == static_cast<int64_t>(f1.size()));
      CHECK(r->path == part / "part-w.jsonl.zst");
      CHECK(decompress_file(r->path).text == expected_line("one", ts));
    }
  }
  GIVEN("a final file already under the recovered name") {
    auto f1 = frame(expected_line("one", ts));
    write_file(part / "part-v.jsonl.zst", frame(expected_line("old", ts)));
    write_file(part / ".part-v.jsonl.zst.inprogress", f1);
    auto r = recover_archive_file(part / ".part-v.jsonl.zst.inprogress");
    REQUIRE(r);
    THEN("both are kept") {
      CHECK(r->path == part / "part-v-r1.jsonl.zst");
      CHECK(decompress_file(part / "part-v.jsonl.zst").text ==
            expected_line("old", ts));
      CHECK(decompress_file(r->path).text == expected_line("one", ts));
    }
  }
}

namespace {

/// Child of the kill test: writes batches of `events` numbered events
/// through an archive sink, flushing each and reporting the count of
/// flushed batches through `report`, until killed.
[[noreturn]] void archive_writer(const std::string& dir, int round,
                                 int report) {
  options o;
  o.set("directory", dir);
  o.set("roll_size", int64_t{256} << 10);
  auto ctx = test::make_context("orders", "sink");
  auto c = test::make_sink(archive_sink_type(), ctx, o);
  if (!c || (*c)->open())
    ::_exit(3);
  auto base = utc_ms(2026, 12, 4, 10, 0) + int64_t{round} * 3'600'000;
  std::mt19937_64 rng{static_cast<uint64_t>(round)};
  auto deadline = std::chrono::steady_clock::now() + 60s;
  for (uint64_t k = 0; std::chrono::steady_clock::now() < deadline; ++k) {
    event_batch b;
    for (int j = 0; j < 20; ++j)
      add_event(b, fmt::format("r{}-b{}-e{}-{}", round, k, j, noise(rng, 40)),
                base + static_cast<int64_t>(k) * 20'000);
    if ((*c)->write(b) || (*c)->flush())
      ::_exit(4);
    auto done = k + 1;
    if (::write(report, &done, sizeof(done)) != sizeof(done))
      ::_exit(5);
  }
  ::_exit(6);
}

} // namespace

SCENARIO("a kill -9 while the archive writes leaves only complete files",
         "[archive]") {
  test::temp_dir tmp;
  auto dir = tmp / "archive";
  auto root = fs::path{dir} / "orders";
  // Per round: batches the child reported flushed; the kill lands after at
  // least 30 of them.
  std::vector<uint64_t> flushed;
  size_t recovered_files = 0;
  for (int round = 0; round < 3; ++round) {
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    auto pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      ::close(fds[0]);
      archive_writer(dir, round, fds[1]);
    }
    ::close(fds[1]);
    uint64_t reported = 0;
    auto read_reports = [&](int timeout_ms) {
      pollfd p{fds[0], POLLIN, 0};
      if (::poll(&p, 1, timeout_ms) <= 0)
        return false;
      uint64_t buf[64];
      auto n = ::read(fds[0], buf, sizeof(buf));
      if (n <= 0)
        return false;
      for (size_t i = 0; i < static_cast<size_t>(n) / sizeof(uint64_t); ++i)
        reported = std::max(reported, buf[i]);
      return true;
    };
    // Partial reads of a count never happen: 8-byte pipe writes are atomic.
    auto deadline = std::chrono::steady_clock::now() + 60s;
    while (reported < 30 && std::chrono::steady_clock::now() < deadline)
      if (!read_reports(1000))
        break;
    // Let it run on a little, a random while, so the kill lands anywhere.
    std::this_thread::sleep_for(std::chrono::milliseconds{round * 37 % 50});
    ::kill(pid, SIGKILL);
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    while (read_reports(0)) {
    }
    ::close(fds[0]);
    INFO("round " << round << ", " << reported << " batches flushed");
    REQUIRE(WIFSIGNALED(status));
    REQUIRE(WTERMSIG(status) == SIGKILL);
    REQUIRE(reported >= 30);
    flushed.push_back(reported);
    // Before any recovery: every final file is whole.
    auto before = list_archive(root);
    for (auto& f : before.finals) {
      INFO(f.string());
      CHECK(decompress_file(root / f).complete);
    }
    recovered_files += before.in_progress.size();
    // A new sink recovers what the killed one left.
    auto sink = make_archive(dir);
    REQUIRE(!sink->open());
    CHECK(as_archive(sink).recovered().size() == before.in_progress.size());
    sink->close();
    CHECK(list_archive(root).in_progress.empty());
  }
  THEN("every flushed event is there exactly once, others at most once") {
    // The kill found an open file at least once (the recovery case ran).
    CHECK(recovered_files > 0);
    CHECK(!list_archive(root).finals.empty());
    std::map<std::string, int> seen;
    for (auto& body : bodies_of(archive_text(root))) {
      auto cut = body.find("-e");
      REQUIRE(cut != std::string::npos);
      auto dash = body.find('-', cut + 2);
      ++seen[body.substr(0, dash)];
    }
    for (auto& [key, n] : seen) {
      INFO(key);
      CHECK(n == 1);
    }
    for (int round = 0; round < 3; ++round)
      for (uint64_t k = 0; k < flushed[round]; ++k)
        for (int j = 0; j < 20; ++j) {
          auto key = fmt::format("r{}-b{}-e{}", round, k, j);
          INFO(key);
          CHECK(seen.count(key) == 1);
        }
  }
}

SCENARIO("a full disk fails the write and damages no file", "[archive]") {
  test::temp_dir tmp;
  auto dir = fs::path{tmp / "archive"};
  auto root = dir / "orders";
  auto ts = utc_ms(2026, 12, 4, 10, 0);
  std::mt19937_64 rng{7};
  GIVEN("a sink whose writes fail with ENOSPC on command") {
    auto budget = std::make_shared<std::atomic<int64_t>>(-1); // -1: no limit
    auto syncs_fail = std::make_shared<std::atomic<bool>>(false);
    archive_sink_config cfg;
    cfg.directory = dir;
    cfg.topic = "orders";
    cfg.write_data = [budget](int fd, const void* p, size_t n) -> ssize_t {
      auto left = budget->load();
      if (left == 0) {
        errno = ENOSPC;
        return -1;
      }
      if (left > 0) {
        n = std::min(n, static_cast<size_t>(left));
        *budget -= static_cast<int64_t>(n);
      }
      return ::write(fd, p, n);
    };
    cfg.sync_data = [syncs_fail](int fd) {
      if (syncs_fail->load()) {
        errno = EIO;
        return -1;
      }
      return ::fdatasync(fd);
    };
    archive_sink sink{cfg};
    REQUIRE(!sink.open());
    event_batch first;
    add_event(first, "committed", ts);
    REQUIRE(!sink.write(first));
    REQUIRE(!sink.flush());
    event_batch big;
    std::vector<std::string> big_bodies;
    for (int i = 0; i < 100; ++i) {
      big_bodies.push_back(fmt::format("big-{}-{}", i, noise(rng, 1000)));
      add_event(big, big_bodies.back(), ts);
    }
    WHEN("the disk fills in the middle of a batch") {
      budget->store(5000);
      auto err = sink.write(big);
      if (!err)
        err = sink.flush();
      THEN("the sink returns the error and only the committed frame is "
           "left, in a finished file") {
        REQUIRE(err);
        CHECK(describe(err).find("No space left on device") !=
              std::string::npos);
        CHECK(budget->load() == 0); // the disk really filled
        auto l = list_archive(root);
        CHECK(l.in_progress.empty());
        CHECK(archive_text(root) == expected_line("committed", ts));
        AND_WHEN("space comes back and the lease is written again") {
          budget->store(-1);
          REQUIRE(!sink.write(big));
          REQUIRE(!sink.flush());
          sink.close();
          THEN("every event is there once") {
            auto bodies = bodies_of(archive_text(root));
            std::vector<std::string> expected{"committed"};
            expected.insert(expected.end(), big_bodies.begin(),
                            big_bodies.end());
            CHECK(bodies == expected);
          }
        }
      }
    }
    WHEN("fdatasync fails") {
      REQUIRE(!sink.write(big));
      syncs_fail->store(true);
      auto err = sink.flush();
      THEN("the error is returned and the file is left for recovery, cut "
           "back to its synced frames") {
        REQUIRE(err);
        CHECK(describe(err).find("cannot sync") != std::string::npos);
        for (auto& f : list_archive(root).finals)
          CHECK(decompress_file(root / f).complete);
        syncs_fail->store(false);
        auto again = make_archive(dir.string());
        REQUIRE(!again->open());
        again->close();
        CHECK(list_archive(root).in_progress.empty());
        CHECK(archive_text(root) == expected_line("committed", ts));
      }
    }
    sink.close();
  }
  GIVEN("a process whose file size limit is 64 KiB (EFBIG, a real error)") {
    auto pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      ::signal(SIGXFSZ, SIG_IGN);
      rlimit lim{64 << 10, 64 << 10};
      if (::setrlimit(RLIMIT_FSIZE, &lim) != 0)
        ::_exit(2);
      auto sink = make_archive(dir.string());
      if (sink->open())
        ::_exit(3);
      for (int i = 0; i < 1000; ++i) {
        event_batch b;
        add_event(b, fmt::format("n{}-{}", i, noise(rng, 2000)), ts);
        auto err = sink->write(b);
        if (!err)
          err = sink->flush();
        if (err) {
          sink->close();
          bool efbig = describe(err).find("too large") != std::string::npos;
          ::_exit(efbig ? 0 : 4);
        }
      }
      ::_exit(5);
    }
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    THEN("the writer got the error and the finished file is complete") {
      REQUIRE(WIFEXITED(status));
      CHECK(WEXITSTATUS(status) == 0);
      auto l = list_archive(root);
      CHECK(l.in_progress.empty());
      REQUIRE(l.finals.size() == 1);
      CHECK(fs::file_size(root / l.finals[0]) <= 64 << 10);
      auto bodies = bodies_of(archive_text(root));
      REQUIRE(!bodies.empty());
      for (size_t i = 0; i < bodies.size(); ++i)
        CHECK(bodies[i].starts_with(fmt::format("n{}-", i)));
    }
  }
}
