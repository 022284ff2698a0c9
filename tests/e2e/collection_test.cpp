// End-to-end tests of the collection pipeline: the real `sluice` binary,
// real files, real signals.
#include <algorithm>
#include <atomic>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>
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

constexpr size_t source_batch = 100;
constexpr size_t sink_batch = 500;

std::string topology(const temp_dir& dir) {
  return fmt::format(R"([supervision]
max_restarts = 5

[sources.tail]
type = "taildir"
channel = "disk"
batch_size = {batch}
filegroups = {{ app = "{dir}/logs/*.log" }}
position_file = "{dir}/state/tail.positions.json"

[channels.disk]
type = "file"
directory = "{dir}/state/channel"
segment_size = "1MiB"
min_free_space = "1MiB"
transaction_capacity = {sink}

[sinks.out]
type = "file"
channel = "disk"
batch_size = {sink}
directory = "{dir}/out"
roll_size = "256KiB"
)",
                     fmt::arg("dir", dir.path()),
                     fmt::arg("batch", source_batch),
                     fmt::arg("sink", sink_batch));
}

/// What landed in the output, per source file: the sequence of numbers.
struct landing {
  std::map<std::string, std::vector<int64_t>> by_file;
  size_t lines = 0;
};

landing read_landing(const std::string& out_dir) {
  landing result;
  for (auto& line : read_lines_in(out_dir)) {
    ++result.lines;
    auto space = line.find(' ');
    if (space == std::string::npos)
      continue;
    result.by_file[line.substr(0, space)].push_back(
        std::atoll(line.c_str() + space + 1));
  }
  return result;
}

/// Checks one file's numbers: each of 0..n-1 present, first occurrences in
/// increasing order; returns the number of duplicates.
size_t check_sequence(const std::vector<int64_t>& got, int64_t n) {
  std::set<int64_t> seen;
  int64_t next_new = 0;
  size_t dups = 0;
  for (auto x : got) {
    if (!seen.insert(x).second) {
      ++dups;
      continue;
    }
    REQUIRE(x == next_new);
    ++next_new;
  }
  REQUIRE(next_new == n);
  return dups;
}

/// Appends numbered lines to the files of the test, with a rotation by
/// rename of the first file after line `lines / 2`.
class app_writer {
 public:
  app_writer(const temp_dir& dir, int64_t lines, bool rotate = true)
      : dir_(dir.path()), lines_(lines), rotate_(rotate) {
    fs::create_directories(dir_ + "/logs");
  }

  /// Makes `run` write on past `lines` until `finish` (at most `max_lines`).
  void keep_writing(int64_t max_lines) { max_lines_ = max_lines; }

  void finish() { finish_ = true; }

  /// Lines written to each file, once `done`.
  int64_t written() const { return written_; }

  void run() {
    std::ofstream a{dir_ + "/logs/a.log", std::ios::app};
    std::ofstream b{dir_ + "/logs/b.log", std::ios::app};
    std::string pad(80, 'p');
    int64_t i = 0;
    for (; i < lines_ || (i < max_lines_ && !finish_); ++i) {
      a << "a " << i << ' ' << pad << '\n';
      b << "b " << i << ' ' << pad << '\n';
      if (rotate_ && i == lines_ / 2) {
        a.close();
        fs::rename(dir_ + "/logs/a.log", dir_ + "/logs/a.log.1");
        a.open(dir_ + "/logs/a.log", std::ios::app);
      }
      if (i % 100 == 0) {
        a.flush();
        b.flush();
        std::this_thread::sleep_for(10ms);
      }
    }
    a.flush();
    b.flush();
    written_ = i;
    done_ = true;
  }

  bool done() const { return done_; }

 private:
  std::string dir_;
  int64_t lines_;
  bool rotate_;
  int64_t max_lines_ = 0;
  std::atomic<bool> finish_{false};
  std::atomic<int64_t> written_{0};
  std::atomic<bool> done_{false};
};

/// Distinct lines in the output.
size_t distinct_lines(const std::string& out_dir) {
  size_t complete = 0;
  for (auto& [file, xs] : read_landing(out_dir).by_file)
    complete += std::set<int64_t>(xs.begin(), xs.end()).size();
  return complete;
}

bool wait_for_lines(const std::string& out_dir, size_t n,
                    std::chrono::seconds timeout,
                    std::chrono::milliseconds poll = 200ms) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (distinct_lines(out_dir) >= n)
      return true;
    std::this_thread::sleep_for(poll);
  }
  return false;
}

} // namespace

SCENARIO("kill -9 mid-stream loses no line with a file channel",
         "[e2e][durability]") {
  temp_dir dir;
  auto topo = dir / "topology.toml";
  std::ofstream{topo} << topology(dir);
  // At least this many lines per file; the writer goes on until the kills
  // are done, so each kill lands while lines are still being written.
  constexpr int64_t min_lines = 30'000;
  app_writer writer{dir, min_lines};
  writer.keep_writing(20 * min_lines);
  std::thread writer_thread{[&] {
    writer.run();
  }};
  // A failed REQUIRE leaves the scope early: stop and join the writer then.
  std::shared_ptr<void> join_writer{nullptr, [&](void*) {
                                      writer.finish();
                                      if (writer_thread.joinable())
                                        writer_thread.join();
                                    }};
  auto log = dir / "sluice.log";
  auto out = dir / "out";
  std::vector<std::string> argv{SLUICE_BINARY, "run", topo};
  int kills = 0;
  for (int round = 0; round < 3; ++round) {
    process p;
    auto before = distinct_lines(out);
    REQUIRE(process::start(p, argv, log));
    // Kill once lines have flowed through this process: new lines in the
    // output, which only its sink writes.
    bool flowed = wait_for_lines(out, before + source_batch, 60s, 20ms);
    bool writing = !writer.done();
    p.signal(SIGKILL);
    INFO("round " << round << ": " << before << " line(s) before the start");
    REQUIRE(flowed);
    REQUIRE(writing);
    REQUIRE(p.wait(60s) == 128 + SIGKILL);
    ++kills;
  }
  process last;
  REQUIRE(process::start(last, argv, log));
  writer.finish();
  writer_thread.join();
  const int64_t lines = writer.written();
  INFO("lines per file: " << lines);
  bool complete = wait_for_lines(out, 2 * lines, 90s);
  last.signal(SIGTERM);
  auto code = last.wait(30s);
  INFO(read_file(log));
  REQUIRE(complete);
  THEN("the clean stop exits 0; every line of every file arrived, in order "
       "per file, duplicates only from the sink's uncommitted lease at each "
       "kill, counted by the channel as recovered") {
    CHECK(code == 0);
    auto got = read_landing(dir / "out");
    REQUIRE(got.by_file.size() == 2);
    // a.log was renamed away after line min_lines/2: the tailer reads the
    // old and the new file at once, so order holds within each.
    constexpr int64_t cut = min_lines / 2;
    std::vector<int64_t> a_old, a_new;
    for (auto x : got.by_file["a"])
      (x <= cut ? a_old : a_new).push_back(x - (x <= cut ? 0 : cut + 1));
    size_t dups = check_sequence(a_old, cut + 1) +
                  check_sequence(a_new, lines - cut - 1) +
                  check_sequence(got.by_file["b"], lines);
    INFO("duplicates: " << dups);
    // The source resumes from the positions the channel stored with its
    // newest batch, so it reads nothing twice; only a lease the sink wrote
    // but had not committed comes again.
    CHECK(dups <= static_cast<size_t>(kills) * sink_batch);
    uint64_t recovered = 0;
    std::regex found{R"(recovered (\d+) uncommitted event)"};
    auto text = read_file(log);
    for (std::sregex_iterator i{text.begin(), text.end(), found}, end; i != end;
         ++i)
      recovered += std::stoull((*i)[1]);
    CHECK(dups <= recovered);
  }
}

SCENARIO("a clean stop and restart neither loses nor repeats a line", "[e2e]") {
  temp_dir dir;
  auto topo = dir / "topology.toml";
  std::ofstream{topo} << topology(dir);
  constexpr int64_t lines = 5'000;
  auto log = dir / "sluice.log";
  std::vector<std::string> argv{SLUICE_BINARY, "run", topo};
  app_writer first{dir, lines, false};
  first.run();
  {
    process p;
    REQUIRE(process::start(p, argv, log));
    REQUIRE(wait_for_lines(dir / "out", 2 * lines, 60s));
    p.signal(SIGINT);
    REQUIRE(p.wait(30s) == 0);
  }
  // More lines while sluice is down, then a restart.
  {
    std::ofstream b{dir / "logs/b.log", std::ios::app};
    for (int64_t i = lines; i < 2 * lines; ++i)
      b << "b " << i << " after-restart\n";
  }
  process p;
  REQUIRE(process::start(p, argv, log));
  bool complete = wait_for_lines(dir / "out", 3 * lines, 60s);
  p.signal(SIGTERM);
  auto code = p.wait(30s);
  INFO(read_file(log));
  REQUIRE(complete);
  CHECK(code == 0);
  auto got = read_landing(dir / "out");
  CHECK(check_sequence(got.by_file["a"], lines) == 0);
  CHECK(check_sequence(got.by_file["b"], 2 * lines) == 0);
}

SCENARIO("bad topology files are rejected with every error's position",
         "[e2e][config]") {
  temp_dir dir;
  auto topo = dir / "bad.toml";
  std::ofstream{topo} << R"([sources.r1]
type = "generator"
channel = "nowhere"
batch_size = 5000

[channels.c1]
type = "memory"
capcity = 100

[sinks.k1]
type = "null"
channel = "c1"
)";
  auto [code, out] = run_command({SLUICE_BINARY, "check", topo}, 30s);
  INFO(out);
  CHECK(code == 2);
  CHECK_THAT(out, Catch::Contains(topo + ":3:"));
  CHECK_THAT(out, Catch::Contains(topo + ":8:1"));
  CHECK_THAT(out, Catch::Contains("capacity"));
  auto [run_code, run_out] = run_command({SLUICE_BINARY, "run", topo}, 30s);
  CHECK(run_code == 2);
}

SCENARIO("the CLI answers --help and --version", "[e2e][cli]") {
  auto [code, out] = run_command({SLUICE_BINARY, "--version"}, 10s);
  CHECK(code == 0);
  CHECK_THAT(out, Catch::Contains("sluice"));
  auto [hcode, hout] = run_command({SLUICE_BINARY, "--help"}, 10s);
  CHECK(hcode == 0);
  CHECK_THAT(hout, Catch::Contains("run"));
  CHECK_THAT(hout, Catch::Contains("check"));
  AND_THEN("usage errors exit 2") {
    CHECK(run_command({SLUICE_BINARY, "run"}, 10s).first == 2);
    CHECK(run_command({SLUICE_BINARY, "bogus"}, 10s).first == 2);
    CHECK(run_command({SLUICE_BINARY, "run", "x.toml", "--threads", "-1"}, 10s)
              .first == 2);
  }
}

SCENARIO("metrics are logged periodically and at exit", "[e2e][cli]") {
  temp_dir dir;
  auto topo = dir / "gen.toml";
  std::ofstream{topo} << R"([sources.gen]
type = "generator"
channel = "mem"
batch_size = 50
count = 600
rate = 1000

[channels.mem]
type = "memory"
capacity = 1000
transaction_capacity = 100

[sinks.out]
type = "null"
channel = "mem"
batch_size = 100
)";
  auto [code, out] = run_command(
      {SLUICE_BINARY, "run", topo, "--stats-interval", "100ms"}, 30s);
  INFO(out);
  CHECK(code == 0);
  CHECK_THAT(out, Catch::Contains("stats source gen: in=0 out="));
  CHECK_THAT(out, Catch::Contains("stats channel mem:"));
  CHECK_THAT(out, Catch::Contains("final sink out: in=0 out=600 "));
  CHECK_THAT(out, Catch::Contains("every source has finished"));
}

SCENARIO("an exec source's output reaches a console sink", "[e2e][cli]") {
  temp_dir dir;
  auto topo = dir / "exec.toml";
  std::ofstream{topo} << R"([sources.cmd]
type = "exec"
channel = "mem"
command = "printf 'alpha\nbeta\ngamma\n'"

[[sources.cmd.interceptors]]
type = "regex_filter"
regex = "^(alpha|gamma)$"

[channels.mem]
type = "memory"

[sinks.out]
type = "console"
channel = "mem"
)";
  auto [code, out] = run_command({SLUICE_BINARY, "run", topo}, 30s);
  INFO(out);
  CHECK(code == 0);
  CHECK_THAT(out, Catch::Contains("alpha\ngamma\n"));
  CHECK_THAT(out, Catch::Contains("final source cmd: in=0 out=2 "));
  CHECK_THAT(out, Catch::Contains("dropped=1"));
}

SCENARIO("a component that keeps failing stops sluice with exit code 1",
         "[e2e][cli]") {
  temp_dir dir;
  // Standard output is /dev/full: every write of the console sink fails with
  // ENOSPC, an error a retry might cure, so it is restarted until the limit.
  // (A path in the way would be refused at once, without restarts.)
  auto topo = dir / "fail.toml";
  std::ofstream{topo} << R"([supervision]
max_restarts = 2
initial_backoff = "10ms"

[sources.gen]
type = "generator"
channel = "mem"
rate = 100

[channels.mem]
type = "memory"

[sinks.out]
type = "console"
channel = "mem"
)";
  auto [code, out] =
      run_command({"/bin/sh", "-c", "exec \"$0\" run \"$1\" >/dev/full",
                   SLUICE_BINARY, topo},
                  60s);
  INFO(out);
  CHECK(code == 1);
  CHECK_THAT(out, Catch::Contains("giving up: out failed 3 times"));
  CHECK_THAT(out, Catch::Contains("No space left on device"));
  CHECK_THAT(out, Catch::Contains("stopped on failure"));
}
