// Fault injection with real `sluice` processes: the files a file channel
// and a taildir source keep are damaged between runs (bytes flipped, cut
// short, removed, garbage appended), the disk limit is hit, and each case
// checks what the next run delivers, what it reports and how it exits.
#include <algorithm>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <regex>
#include <set>
#include <thread>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "tests/support/process.hpp"

using namespace sluice::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

constexpr int64_t source_batch = 100;

/// The pipeline every case runs: taildir over logs/a.log into a file
/// channel with small segments, drained by a console sink (stdout is a file
/// when delivering, /dev/full when the sink must keep failing).
std::string topology(const std::string& dir, const std::string& extra = "") {
  return fmt::format(R"([supervision]
max_restarts = 1000
initial_backoff = "20ms"
max_backoff = "200ms"

[sources.tail]
type = "taildir"
channel = "disk"
batch_size = {batch}
filegroups = {{ app = "{dir}/logs/*.log" }}
position_file = "{dir}/state/tail.positions.json"

[channels.disk]
type = "file"
directory = "{dir}/state/channel"
segment_size = "64KiB"
min_free_space = "1MiB"
transaction_capacity = 500
{extra}

[sinks.out]
type = "console"
channel = "disk"
batch_size = 500
)",
                     fmt::arg("dir", dir), fmt::arg("batch", source_batch),
                     fmt::arg("extra", extra));
}

std::string line_of(int64_t i) {
  return fmt::format("a {} {}", i, std::string(24, 'p'));
}

void append_lines(const std::string& path, int64_t from, int64_t to) {
  std::ofstream out{path, std::ios::app};
  for (int64_t i = from; i < to; ++i)
    out << line_of(i) << '\n';
}

/// The numbers of the lines a run printed, in order.
std::vector<int64_t> delivered(const std::string& out_path) {
  std::vector<int64_t> result;
  std::ifstream in{out_path};
  std::string line;
  while (std::getline(in, line))
    if (line.size() > 2 && line[0] == 'a' && line[1] == ' ')
      result.push_back(std::atoll(line.c_str() + 2));
  return result;
}

template <class Predicate>
bool wait_until(Predicate pred, std::chrono::seconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred())
      return true;
    std::this_thread::sleep_for(50ms);
  }
  return pred();
}

/// The committed position of `file` in a position file, if any.
std::optional<int64_t> position_of(const std::string& positions,
                                   const std::string& file) {
  auto text = read_file(positions);
  std::regex entry{R"rx("pos":(\d+),"file":"([^"]*)")rx"};
  for (std::sregex_iterator i{text.begin(), text.end(), entry}, end; i != end;
       ++i)
    if ((*i)[2] == file)
      return std::stoll((*i)[1]);
  return std::nullopt;
}

/// The channel's last stats line in `log` after byte `from`: its fill and
/// its delivered count.
struct channel_stats {
  uint64_t out = 0;
  uint64_t fill = 0;
};

std::optional<channel_stats> last_channel_stats(const std::string& log,
                                                size_t from) {
  auto text = read_file(log);
  text = text.substr(std::min(from, text.size()));
  std::regex stats{R"(stats channel disk: in=\d+ out=(\d+) .* fill=(\d+)/)"};
  std::optional<channel_stats> last;
  for (std::sregex_iterator i{text.begin(), text.end(), stats}, end; i != end;
       ++i)
    last = channel_stats{std::stoull((*i)[1]), std::stoull((*i)[2])};
  return last;
}

/// A test directory with its topology; runs sluice over it.
struct rig {
  std::string dir;
  std::string topo;
  std::string log;

  explicit rig(std::string d, const std::string& extra = "")
      : dir(std::move(d)), topo(dir + "/topology.toml"),
        log(dir + "/sluice.log") {
    fs::create_directories(dir + "/logs");
    std::ofstream{topo} << topology(dir, extra);
  }

  std::string app_log() const { return dir + "/logs/a.log"; }
  std::string positions() const { return dir + "/state/tail.positions.json"; }
  std::string channel_dir() const { return dir + "/state/channel"; }

  std::vector<std::string> argv(const std::string& stdout_path) const {
    return {"/bin/sh", "-c",
            fmt::format("exec '{}' run '{}' --stats-interval 100ms >>'{}'",
                        SLUICE_BINARY, topo, stdout_path)};
  }

  /// Runs with a sink that keeps failing until the source has read all of
  /// a.log into the channel, then stops it with SIGTERM; returns the exit
  /// code.
  std::optional<int> fill() {
    process p;
    REQUIRE(process::start(p, argv("/dev/full"), log));
    auto size = static_cast<int64_t>(fs::file_size(app_log()));
    bool read_all = wait_until(
        [&] { return position_of(positions(), app_log()) == size; }, 60s);
    INFO(read_file(log));
    REQUIRE(read_all);
    // The sink really failed: nothing left the channel.
    REQUIRE_THAT(read_file(log), Catch::Contains("No space left on device"));
    p.signal(SIGTERM);
    return p.wait(60s);
  }

  /// Runs with a working sink until the channel is empty again, then stops
  /// it with SIGTERM; returns the exit code and what this run delivered.
  std::pair<std::optional<int>, std::vector<int64_t>> deliver(int run) {
    auto out = fmt::format("{}/out.{}", dir, run);
    auto log_from = read_file(log).size();
    process p;
    REQUIRE(process::start(p, argv(out), log));
    // First the source opened a.log and read all of it; then a stats line
    // written after that shows the channel empty and the sink's output
    // complete.
    auto size = static_cast<int64_t>(fs::file_size(app_log()));
    bool settled = wait_until(
        [&] {
          return log_since(log_from).find("source tail: following") !=
                     std::string::npos &&
                 position_of(positions(), app_log()) == size;
        },
        60s);
    if (settled) {
      auto mark = read_file(log).size();
      settled = wait_until(
          [&] {
            auto s = last_channel_stats(log, mark);
            return s && s->fill == 0 && s->out == delivered(out).size();
          },
          60s);
    }
    if (!settled) {
      // It may have stopped by itself (a refused start): report that.
      auto code = p.wait(1s);
      if (code)
        return {code, delivered(out)};
    }
    INFO(read_file(log).substr(log_from));
    REQUIRE(settled);
    p.signal(SIGTERM);
    auto code = p.wait(60s);
    return {code, delivered(out)};
  }

  /// Keeps a copy of the state directory (channel and position file) under
  /// `name`; the followed files stay where they are, so their inodes and
  /// paths still match what the state holds.
  void save_state(const std::string& name) const {
    fs::copy(dir + "/state", dir + "/saved." + name,
             fs::copy_options::recursive);
  }

  /// Puts back the state saved under `name`.
  void restore_state(const std::string& name) const {
    fs::remove_all(dir + "/state");
    fs::copy(dir + "/saved." + name, dir + "/state",
             fs::copy_options::recursive);
  }

  /// The log of the runs so far, from byte `from`.
  std::string log_since(size_t from) const {
    auto text = read_file(log);
    return text.substr(std::min(from, text.size()));
  }
};

/// The channel's segment files, in log order.
std::vector<fs::path> segments(const std::string& channel_dir) {
  std::vector<fs::path> result;
  for (auto& e : fs::directory_iterator{channel_dir})
    if (e.path().extension() == ".seg")
      result.push_back(e.path());
  std::sort(result.begin(), result.end());
  return result;
}

/// Offsets of the records in a segment (24-byte header: magic, payload
/// length, seq, events, crc), up to the first one that does not fit.
std::vector<int64_t> record_offsets(const fs::path& segment) {
  auto bytes = read_file(segment.string());
  std::vector<int64_t> result;
  size_t at = 0;
  while (at + 24 <= bytes.size()) {
    uint32_t payload;
    std::memcpy(&payload, bytes.data() + at + 4, 4);
    result.push_back(static_cast<int64_t>(at));
    at += 24 + payload;
  }
  return result;
}

void flip_bytes(const fs::path& file, int64_t offset, int n) {
  std::fstream f{file, std::ios::in | std::ios::out | std::ios::binary};
  REQUIRE(f);
  for (int i = 0; i < n; ++i) {
    f.seekg(offset + i);
    char c = 0;
    f.get(c);
    f.seekp(offset + i);
    f.put(static_cast<char>(~c));
  }
}

/// Checks that `got` is 0..n-1 in order, without repeats, except for one
/// contiguous run of missing numbers no longer than `max_gap`; returns the
/// size of that gap.
int64_t check_with_gap(const std::vector<int64_t>& got, int64_t n,
                       int64_t max_gap) {
  REQUIRE(std::is_sorted(got.begin(), got.end()));
  REQUIRE(std::adjacent_find(got.begin(), got.end()) == got.end());
  int64_t missing = n - static_cast<int64_t>(got.size());
  REQUIRE(missing >= 0);
  REQUIRE(missing <= max_gap);
  if (missing > 0) {
    // The missing numbers are one contiguous run.
    int64_t expected = 0;
    int jumps = 0;
    for (auto x : got) {
      if (x != expected)
        ++jumps;
      expected = x + 1;
    }
    if (expected != n)
      ++jumps;
    CHECK(jumps == 1);
  }
  return missing;
}

std::vector<int64_t> iota(int64_t n) {
  std::vector<int64_t> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    v[static_cast<size_t>(i)] = i;
  return v;
}

} // namespace

SCENARIO("damaged channel segments: every valid record after the damage is "
         "delivered and the damage is reported",
         "[e2e][faults]") {
  temp_dir base;
  constexpr int64_t lines = 20'000;
  // One run fills the channel while its sink fails; each case damages a
  // fresh copy of what it left.
  rig r{base.path()};
  append_lines(r.app_log(), 0, lines);
  REQUIRE(r.fill() == 0);
  auto segs = segments(r.channel_dir());
  INFO(segs.size() << " segments");
  REQUIRE(segs.size() >= 4);
  r.save_state("filled");

  struct damage {
    std::string name;
    std::function<void()> apply;
    int64_t max_lost; ///< lines a case may lose (the damaged records)
  };
  auto middle_record = [](const fs::path& seg) {
    auto offsets = record_offsets(seg);
    REQUIRE(offsets.size() >= 3);
    return offsets[offsets.size() / 2];
  };
  std::vector<damage> cases{
      {"4 bytes flipped in the middle of the last segment's payloads",
       [&] {
         auto seg = segments(r.channel_dir()).back();
         flip_bytes(seg, middle_record(seg) + 24 + 100, 4);
       },
       source_batch},
      {"a record header in the middle of the last segment damaged",
       [&] {
         auto seg = segments(r.channel_dir()).back();
         flip_bytes(seg, middle_record(seg) + 4, 4);
       },
       source_batch},
      {"4 bytes flipped in the middle of the first segment",
       [&] {
         auto seg = segments(r.channel_dir()).front();
         flip_bytes(seg, middle_record(seg) + 24 + 100, 4);
       },
       source_batch},
      {"4 bytes flipped in a segment in the middle of the log",
       [&] {
         auto all = segments(r.channel_dir());
         auto seg = all[all.size() / 2];
         flip_bytes(seg, middle_record(seg) + 24 + 100, 4);
       },
       source_batch},
      {"the last segment cut short in the middle of a record",
       [&] {
         auto seg = segments(r.channel_dir()).back();
         fs::resize_file(seg, static_cast<uintmax_t>(middle_record(seg) + 30));
       },
       // The cut record and every one after it in that segment.
       static_cast<int64_t>(record_offsets(segs.back()).size() -
                            record_offsets(segs.back()).size() / 2) *
           source_batch},
      {"garbage appended to the last segment (a torn write)",
       [&] {
         std::ofstream out{segments(r.channel_dir()).back(),
                           std::ios::app | std::ios::binary};
         out << std::string(37, '\x5a');
       },
       0},
  };

  int run = 0;
  for (auto& c : cases) {
    INFO("case: " << c.name);
    r.restore_state("filled");
    auto log_from = read_file(r.log).size();
    c.apply();
    auto [code, got] = r.deliver(++run);
    auto text = r.log_since(log_from);
    INFO(text);
    CHECK(code == 0);
    auto lost = check_with_gap(got, lines, c.max_lost);
    if (c.max_lost > 0) {
      // The damage is reported with where it is; what it cost is counted.
      CHECK(lost > 0);
      CHECK(std::regex_search(
          text, std::regex{"(damaged|torn|cut).*byte", std::regex::icase}));
    } else {
      CHECK(lost == 0);
    }
    // A second run delivers nothing again.
    auto [code2, again] = r.deliver(++run);
    CHECK(code2 == 0);
    CHECK(again.empty());
  }
}

SCENARIO("a segment missing from the middle of the log stops the run at once "
         "naming the gap; a repair acknowledges it and the rest is delivered",
         "[e2e][faults]") {
  temp_dir base;
  constexpr int64_t lines = 20'000;
  rig r{base.path()};
  append_lines(r.app_log(), 0, lines);
  REQUIRE(r.fill() == 0);
  auto segs = segments(r.channel_dir());
  REQUIRE(segs.size() >= 4);
  auto victim = segs[segs.size() / 2];
  auto victim_lines =
      static_cast<int64_t>(record_offsets(victim).size()) * source_batch;
  fs::remove(victim);

  auto log_from = read_file(r.log).size();
  auto started = std::chrono::steady_clock::now();
  process p;
  REQUIRE(process::start(p, r.argv(r.dir + "/out.refused"), r.log));
  auto code = p.wait(60s);
  auto text = r.log_since(log_from);
  INFO(text);
  // Permanent: no restarts, the cause and the way out in the log.
  CHECK(code == 1);
  CHECK(std::chrono::steady_clock::now() - started < 20s);
  CHECK_THAT(text, Catch::Contains(victim.filename().string()));
  CHECK_THAT(text, Catch::Contains("sluice channel repair"));
  CHECK(delivered(r.dir + "/out.refused").empty());

  auto [check_code, check_out] =
      run_command({SLUICE_BINARY, "channel", "check", r.channel_dir()}, 60s);
  INFO(check_out);
  CHECK(check_code == 1);
  auto [repair_code, repair_out] =
      run_command({SLUICE_BINARY, "channel", "repair", r.channel_dir()}, 60s);
  INFO(repair_out);
  REQUIRE(repair_code == 0);

  auto [run_code, got] = r.deliver(1);
  CHECK(run_code == 0);
  auto lost = check_with_gap(got, lines, victim_lines);
  CHECK(lost > 0);
}

SCENARIO("a lost or damaged commit pointer delivers the log once more, then "
         "the pointer is rebuilt and segments are reclaimed",
         "[e2e][faults]") {
  temp_dir base;
  constexpr int64_t lines = 5'000;
  rig r{base.path()};
  append_lines(r.app_log(), 0, lines);
  auto [code, got] = r.deliver(0);
  REQUIRE(code == 0);
  REQUIRE(got == iota(lines));
  auto pointer = r.channel_dir() + "/commit.ptr";
  REQUIRE(fs::exists(pointer));
  REQUIRE(fs::file_size(pointer) > 0);
  r.save_state("delivered");

  struct damage {
    std::string name;
    std::function<void()> apply;
  };
  std::vector<damage> cases{
      {"commit pointer deleted",
       [&] {
         fs::remove(pointer);
       }},
      {"both slots of the commit pointer damaged",
       [&] {
         auto size = static_cast<int64_t>(fs::file_size(pointer));
         flip_bytes(pointer, 8, 4);
         if (size >= 48)
           flip_bytes(pointer, 40, 4);
       }},
      {"commit pointer cut to 5 bytes",
       [&] {
         fs::resize_file(pointer, 5);
       }},
  };
  int run = 0;
  for (auto& c : cases) {
    INFO("case: " << c.name);
    r.restore_state("delivered");
    auto log_from = read_file(r.log).size();
    c.apply();
    auto [code1, again] = r.deliver(++run);
    auto text = r.log_since(log_from);
    INFO(text);
    CHECK(code1 == 0);
    // At least once: what the log still holds comes again, in order, and
    // the run says why.
    CHECK(std::is_sorted(again.begin(), again.end()));
    CHECK(std::adjacent_find(again.begin(), again.end()) == again.end());
    if (!again.empty()) {
      CHECK(again.back() == lines - 1);
      CHECK_THAT(text, Catch::Contains("commit.ptr"));
    }
    // Then never again: the pointer was rebuilt.
    for (int n = 0; n < 2; ++n) {
      auto [code_n, more] = r.deliver(++run);
      INFO("later run: " << r.log_since(log_from));
      CHECK(code_n == 0);
      CHECK(more.empty());
    }
    // Delivered segments were reclaimed: at most the active one is left.
    CHECK(segments(r.channel_dir()).size() <= 1);
  }
}

SCENARIO("a damaged position file stops its source with the file named; a "
         "removed one starts over",
         "[e2e][faults]") {
  temp_dir base;
  constexpr int64_t lines = 3'000;
  rig r{base.path()};
  append_lines(r.app_log(), 0, lines);
  auto [code, got] = r.deliver(0);
  REQUIRE(code == 0);
  REQUIRE(got == iota(lines));
  r.save_state("delivered");
  append_lines(r.app_log(), lines, lines + 500);

  int run = 0;
  auto damaged = [&](const std::string& name,
                     const std::function<void(const std::string&)>& apply) {
    INFO("case: " << name);
    r.restore_state("delivered");
    auto log_from = read_file(r.log).size();
    apply(r.positions());
    auto out = fmt::format("{}/out.refused.{}", r.dir, ++run);
    auto started = std::chrono::steady_clock::now();
    process p;
    REQUIRE(process::start(p, r.argv(out), r.log));
    auto code1 = p.wait(60s);
    auto text = r.log_since(log_from);
    INFO(text);
    // A damaged position file cannot be trusted for any file: the source
    // refuses at once, naming the file, and nothing is delivered twice.
    CHECK(code1 == 1);
    CHECK(std::chrono::steady_clock::now() - started < 20s);
    CHECK_THAT(text, Catch::Contains(r.positions()));
    CHECK(delivered(out).empty());
  };
  damaged("cut in half", [](const std::string& p) {
    fs::resize_file(p, fs::file_size(p) / 2);
  });
  damaged("braces replaced", [](const std::string& p) {
    auto text = read_file(p);
    std::replace(text.begin(), text.end(), '}', '#');
    std::ofstream{p, std::ios::trunc} << text;
  });

  // A removed position file means: read every file from its start.
  r.restore_state("delivered");
  fs::remove(r.positions());
  auto [code1, out] = r.deliver(++run);
  CHECK(code1 == 0);
  CHECK(out == iota(lines + 500));
}

SCENARIO("a file channel at max_disk_bytes pauses its source and loses "
         "nothing once its sink works again",
         "[e2e][faults]") {
  temp_dir base;
  constexpr int64_t lines = 40'000;
  rig r{base.path(), R"(max_disk_bytes = "1MiB")"};
  append_lines(r.app_log(), 0, lines);
  auto size = static_cast<int64_t>(fs::file_size(r.app_log()));
  {
    process p;
    REQUIRE(process::start(p, r.argv("/dev/full"), r.log));
    bool paused = wait_until(
        [&] {
          return read_file(r.log).find("pausing its sources") !=
                 std::string::npos;
        },
        60s);
    INFO(read_file(r.log));
    REQUIRE(paused);
    // The source really stopped short of the file's end.
    auto pos = position_of(r.positions(), r.app_log());
    CHECK(pos.value_or(0) < size);
    p.signal(SIGTERM);
    REQUIRE(p.wait(60s) == 0);
  }
  auto [code, got] = r.deliver(1);
  INFO(read_file(r.log));
  CHECK(code == 0);
  CHECK(got == iota(lines));
}
