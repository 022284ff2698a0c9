#include "connectors/archive_sink.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <poll.h>
#include <random>
#include <set>
#include <string>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <zstd.h>

#include "runtime/errors.hpp"
#include "tests/connectors/connector_test_helpers.hpp"
#include "tests/support/process.hpp"

using namespace sluice;
using namespace std::chrono_literals;

namespace fs = std::filesystem;

namespace {

/// Milliseconds since the epoch of a UTC time.
int64_t utc_ms(int year, int month, int day, int hour, int minute) {
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  return static_cast<int64_t>(timegm(&tm)) * 1000;
}

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

sink_connector_ptr
make_archive(const std::string& directory, options o = {},
             const std::string& name = "orders",
             std::shared_ptr<component_metrics>* metrics = nullptr) {
  o.set("directory", directory);
  auto ctx = test::make_context(name, "sink");
  if (metrics)
    *metrics = ctx.metrics;
  auto c = test::make_sink(archive_sink_type(), ctx, std::move(o));
  REQUIRE(c);
  REQUIRE(*c);
  return std::move(*c);
}

archive_sink& as_archive(sink_connector_ptr& p) {
  return dynamic_cast<archive_sink&>(*p);
}

/// One event with a `timestamp` header.
void add_event(event_batch& b, std::string_view body, int64_t ts) {
  b.append(body);
  b.add_header("timestamp", std::to_string(ts));
}

/// The line the archive must write for an ASCII body with only a
/// timestamp header (written out here, not with the sink's own code).
std::string expected_line(std::string_view body, int64_t ts) {
  return fmt::format(
             R"({{"ts":{},"body":"{}","headers":{{"timestamp":"{}"}}}})", ts,
             body, ts) +
         "\n";
}

/// What libzstd makes of a file.
struct decoded {
  std::string text;
  size_t frames = 0;
  bool complete = false; ///< every frame whole and its checksum right
};

decoded decompress_file(const fs::path& p) {
  decoded result;
  auto data = test::read_file(p.string());
  std::unique_ptr<ZSTD_DCtx, size_t (*)(ZSTD_DCtx*)> dctx{ZSTD_createDCtx(),
                                                          ZSTD_freeDCtx};
  // Frame by frame, as a reader that splits the file would see it.
  size_t pos = 0;
  while (pos < data.size()) {
    auto n = ZSTD_findFrameCompressedSize(data.data() + pos, data.size() - pos);
    if (ZSTD_isError(n))
      return result;
    ++result.frames;
    pos += n;
  }
  // And as one stream, as `zstd -d` reads it.
  ZSTD_inBuffer in{data.data(), data.size(), 0};
  std::vector<char> buf(ZSTD_DStreamOutSize());
  size_t rc = 0;
  while (in.pos < in.size) {
    ZSTD_outBuffer out{buf.data(), buf.size(), 0};
    rc = ZSTD_decompressStream(dctx.get(), &out, &in);
    if (ZSTD_isError(rc))
      return result;
    result.text.append(buf.data(), out.pos);
  }
  while (rc != 0) {
    ZSTD_outBuffer out{buf.data(), buf.size(), 0};
    rc = ZSTD_decompressStream(dctx.get(), &out, &in);
    if (ZSTD_isError(rc) || out.pos == 0)
      return result;
    result.text.append(buf.data(), out.pos);
  }
  result.complete = !data.empty();
  return result;
}

/// Files under `root` (relative paths), final and in progress, sorted.
struct archive_listing {
  std::vector<fs::path> finals;
  std::vector<fs::path> in_progress;
};

archive_listing list_archive(const fs::path& root) {
  archive_listing result;
  std::error_code ec;
  for (auto i = fs::recursive_directory_iterator{root, ec};
       !ec && i != fs::recursive_directory_iterator{}; i.increment(ec)) {
    if (!i->is_regular_file())
      continue;
    auto rel = fs::relative(i->path(), root);
    auto name = i->path().filename().string();
    if (name.front() == '.')
      result.in_progress.push_back(rel);
    else
      result.finals.push_back(rel);
  }
  std::sort(result.finals.begin(), result.finals.end());
  std::sort(result.in_progress.begin(), result.in_progress.end());
  return result;
}

/// The text of every final file under `root`, in name order; fails the
/// test when one does not decompress completely.
std::string archive_text(const fs::path& root) {
  std::string result;
  for (auto& f : list_archive(root).finals) {
    auto d = decompress_file(root / f);
    INFO(f.string());
    REQUIRE(d.complete);
    result += d.text;
  }
  return result;
}

/// The bodies of the JSON lines of `text`.
std::vector<std::string> bodies_of(const std::string& text) {
  std::vector<std::string> result;
  size_t pos = 0;
  while (pos < text.size()) {
    auto nl = text.find('\n', pos);
    REQUIRE(nl != std::string::npos);
    auto j = nlohmann::json::parse(text.substr(pos, nl - pos));
    result.push_back(j.at("body").get<std::string>());
    pos = nl + 1;
  }
  return result;
}

/// Bytes zstd cannot shrink.
std::string noise(std::mt19937_64& rng, size_t n) {
  static constexpr char alphabet[] =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  std::string s(n, ' ');
  for (auto& c : s)
    c = alphabet[rng() % (sizeof(alphabet) - 1)];
  return s;
}

} // namespace

SCENARIO("the archive writes JSON lines into hourly zstd partitions",
         "[archive]") {
  test::temp_dir tmp;
  auto dir = tmp / "archive";
  GIVEN("batches with timestamps across two hours and two days") {
    std::shared_ptr<component_metrics> metrics;
    auto sink = make_archive(dir, {}, "orders", &metrics);
    REQUIRE(!sink->open());
    auto late = utc_ms(2026, 12, 3, 23, 40);
    auto midnight = utc_ms(2026, 12, 4, 0, 5);
    auto one = utc_ms(2026, 12, 4, 1, 59);
    event_batch b1;
    add_event(b1, "a", late);
    add_event(b1, "b", late + 1000);
    add_event(b1, "c", midnight);
    event_batch b2;
    add_event(b2, "d", midnight + 60'000);
    add_event(b2, "e", one);
    REQUIRE(!sink->write(b1));
    REQUIRE(!sink->flush());
    REQUIRE(!sink->write(b2));
    REQUIRE(!sink->flush());
    sink->close();
    THEN("each partition holds one file with exactly its lines") {
      auto root = fs::path{dir} / "orders";
      auto l = list_archive(root);
      CHECK(l.in_progress.empty());
      REQUIRE(l.finals.size() == 3);
      std::map<std::string, std::string> by_partition;
      for (auto& f : l.finals) {
        auto name = f.filename().string();
        CHECK(name.starts_with("part-"));
        CHECK(name.ends_with(".jsonl.zst"));
        auto d = decompress_file(root / f);
        CHECK(d.complete);
        by_partition[f.parent_path().string()] = d.text;
      }
      CHECK(by_partition["dt=2026-12-03/hour=23"] ==
            expected_line("a", late) + expected_line("b", late + 1000));
      CHECK(by_partition["dt=2026-12-04/hour=00"] ==
            expected_line("c", midnight) +
                expected_line("d", midnight + 60'000));
      CHECK(by_partition["dt=2026-12-04/hour=01"] == expected_line("e", one));
      CHECK(as_archive(sink).files_finished() == 3);
      CHECK(metrics->files_finished.load() == 3);
    }
  }
  GIVEN("an event without a timestamp and one with a bad one") {
    auto sink = make_archive(dir, {}, "logs");
    REQUIRE(!sink->open());
    event_batch b;
    b.append("plain");
    b.add_header("host", "h1");
    b.append("bad");
    b.add_header("timestamp", "12x");
    auto before = now_ms();
    REQUIRE(!sink->write(b));
    auto after = now_ms();
    sink->close();
    THEN("they land in the hour the sink received them, with that time") {
      auto root = fs::path{dir} / "logs";
      auto l = list_archive(root);
      REQUIRE(!l.finals.empty());
      auto text = archive_text(root);
      auto nl = text.find('\n');
      REQUIRE(nl != std::string::npos);
      auto j = nlohmann::json::parse(text.substr(0, nl));
      auto ts = j.at("ts").get<int64_t>();
      CHECK(ts >= before);
      CHECK(ts <= after);
      CHECK(j.at("headers") == nlohmann::json{{"host", "h1"}});
      CHECK(l.finals.front().parent_path().string() ==
            archive_partition(ts / 3'600'000));
      CHECK(bodies_of(text) == std::vector<std::string>{"plain", "bad"});
    }
  }
  GIVEN("a pre-1970 timestamp") {
    CHECK(archive_partition(-1) == "dt=1969-12-31/hour=23");
    CHECK(archive_partition(0) == "dt=1970-01-01/hour=00");
  }
}

SCENARIO("the archive rolls files by compressed size and by time",
         "[archive]") {
  test::temp_dir tmp;
  auto dir = tmp / "archive";
  auto root = fs::path{dir} / "orders";
  std::mt19937_64 rng{42};
  auto ts = utc_ms(2026, 12, 4, 10, 0);
  GIVEN("roll_size 4 KiB and batches of about 1 KiB flushed one by one") {
    options o;
    o.set("roll_size", int64_t{4096});
    auto sink = make_archive(dir, o);
    REQUIRE(!sink->open());
    std::vector<std::string> bodies;
    std::string expected;
    for (int i = 0; i < 40; ++i) {
      event_batch b;
      for (int j = 0; j < 4; ++j) {
        bodies.push_back(fmt::format("{}-{}-{}", i, j, noise(rng, 250)));
        add_event(b, bodies.back(), ts);
        expected += expected_line(bodies.back(), ts);
      }
      REQUIRE(!sink->write(b));
      REQUIRE(!sink->flush());
    }
    sink->close();
    THEN("several files, none much past the size, hold every line in order") {
      auto l = list_archive(root);
      CHECK(l.in_progress.empty());
      CHECK(l.finals.size() >= 8);
      for (size_t i = 0; i < l.finals.size(); ++i) {
        auto size = fs::file_size(root / l.finals[i]);
        if (i + 1 < l.finals.size()) // the last one ended at close
          CHECK(size >= 4096);
        CHECK(size < 4096 + 2048); // one more flushed frame at most
      }
      CHECK(archive_text(root) == expected);
      CHECK(as_archive(sink).files_finished() == l.finals.size());
    }
  }
  GIVEN("roll_interval 300 ms") {
    options o;
    o.set("roll_interval", int64_t{300});
    auto sink = make_archive(dir, o);
    REQUIRE(!sink->open());
    event_batch b;
    add_event(b, "first", ts);
    auto written = std::chrono::steady_clock::now();
    REQUIRE(!sink->write(b));
    REQUIRE(!sink->flush());
    REQUIRE(!sink->tick());
    if (std::chrono::steady_clock::now() - written < 300ms)
      CHECK(list_archive(root).finals.empty());
    WHEN("ticks go on past the interval") {
      auto deadline = std::chrono::steady_clock::now() + 10s;
      while (list_archive(root).finals.empty() &&
             std::chrono::steady_clock::now() < deadline) {
        REQUIRE(!sink->tick());
        std::this_thread::sleep_for(20ms);
      }
      THEN("the file is finished no earlier than the interval") {
        CHECK(std::chrono::steady_clock::now() - written >= 300ms);
        auto l = list_archive(root);
        REQUIRE(l.finals.size() == 1);
        CHECK(l.in_progress.empty());
        CHECK(archive_text(root) == expected_line("first", ts));
        AND_WHEN("more is written") {
          event_batch b2;
          add_event(b2, "second", ts);
          REQUIRE(!sink->write(b2));
          sink->close();
          THEN("it goes to a second file") {
            auto l2 = list_archive(root);
            REQUIRE(l2.finals.size() == 2);
            CHECK(archive_text(root) ==
                  expected_line("first", ts) + expected_line("second", ts));
          }
        }
      }
    }
    sink->close();
  }
}

SCENARIO("the archive escapes bodies and headers as JSON", "[archive]") {
  GIVEN("quotes, backslashes, control characters and UTF-8") {
    auto esc = [](std::string_view s) {
      std::string out;
      append_json_string(s, out);
      return out;
    };
    CHECK(esc("plain") == "\"plain\"");
    CHECK(esc("a\"b\\c") == R"("a\"b\\c")");
    CHECK(esc("\n\r\t\b\f") == R"("\n\r\t\b\f")");
    CHECK(esc(std::string_view{"\x00\x01\x1f", 3}) ==
          R"("\u0000\u0001\u001f")");
    CHECK(esc("\x7f") == "\"\x7f\"");
    // Valid UTF-8 stays as it is: 2, 3 and 4 bytes, U+FFFF, U+10FFFF.
    CHECK(esc("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80") ==
          "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"");
    CHECK(esc("\xef\xbf\xbf\xf4\x8f\xbf\xbf") ==
          "\"\xef\xbf\xbf\xf4\x8f\xbf\xbf\"");
    // Invalid: each byte escaped.
    CHECK(esc("\xff") == R"("\u00ff")");
    CHECK(esc("a\x80z") == R"("a\u0080z")");
    CHECK(esc("\xc0\xaf") == R"("\u00c0\u00af")");           // overlong
    CHECK(esc("\xe2\x82") == R"("\u00e2\u0082")");           // truncated
    CHECK(esc("\xe2\x82x") == R"("\u00e2\u0082x")");         // cut short
    CHECK(esc("\xed\xa0\x80") == R"("\u00ed\u00a0\u0080")"); // surrogate
    CHECK(esc("\xf4\x90\x80\x80") ==
          R"("\u00f4\u0090\u0080\u0080")");                  // past U+10FFFF
    CHECK(esc("\xe0\x80\xaf") == R"("\u00e0\u0080\u00af")"); // overlong
  }
  GIVEN("an archive sink and an event full of awkward bytes") {
    test::temp_dir tmp;
    auto dir = tmp / "archive";
    auto sink = make_archive(dir);
    REQUIRE(!sink->open());
    std::string body = "q\"b\\n\nt\tc\x01 \xc3\xa9 bad\xff\xfe end";
    event_batch b;
    b.append(body);
    b.add_header("timestamp", "1764892800000");
    b.add_header("k\"ey", "v\\al\x02");
    REQUIRE(!sink->write(b));
    sink->close();
    THEN("the line is valid JSON and gives the bytes back") {
      auto text = archive_text(fs::path{dir} / "orders");
      REQUIRE(!text.empty());
      CHECK(text.back() == '\n');
      CHECK(std::count(text.begin(), text.end(), '\n') == 1);
      auto j = nlohmann::json::parse(text.substr(0, text.size() - 1));
      CHECK(j.at("ts") == 1764892800000);
      CHECK(j.at("headers").at("k\"ey") == "v\\al\x02");
      CHECK(j.at("headers").at("timestamp") == "1764892800000");
      // Valid UTF-8 is copied; each invalid byte is an escape that reads
      // back as U+00XX.
      CHECK(text.find("\xc3\xa9 bad\\u00ff\\u00fe end") != std::string::npos);
      CHECK(j.at("body") ==
            "q\"b\\n\nt\tc\x01 \xc3\xa9 bad\xc3\xbf\xc3\xbe end");
    }
  }
}

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

SCENARIO("the archive sink type checks its options and probes its directory",
         "[archive]") {
  test::temp_dir tmp;
  GIVEN("the builtin registry") {
    auto r = connector_registry::builtin();
    REQUIRE(r.find_sink("archive") != nullptr);
    auto make = [&](options o, const std::string& name = "events") {
      o.set("directory", tmp / "a");
      return test::make_sink(*r.find_sink("archive"),
                             test::make_context(name, "sink"), o);
    };
    THEN("the topic is the component's name by default") {
      auto c = make({});
      REQUIRE(c);
      CHECK(as_archive(*c).root() == fs::path{tmp / "a"} / "events");
    }
    THEN("a topic or prefix that is not a plain name is refused") {
      options o;
      o.set("topic", std::string{"a/b"});
      CHECK(!make(o));
      options p;
      p.set("prefix", std::string{".hidden"});
      CHECK(!make(p));
    }
  }
  GIVEN("an open sink") {
    auto sink = make_archive(tmp / "b");
    REQUIRE(!sink->open());
    CHECK(!sink->probe());
    WHEN("its directory is replaced by a file") {
      fs::remove_all(fs::path{tmp / "b"} / "orders");
      std::ofstream{fs::path{tmp / "b"} / "orders"} << "x";
      THEN("the probe fails") {
        CHECK(sink->probe());
      }
    }
    sink->close();
  }
}
