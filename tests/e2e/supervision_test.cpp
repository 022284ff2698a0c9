// End-to-end tests of supervision: the real `sluice` binary, a sink that
// fails while its channel drains, and errors that no restart can cure.
#include <cerrno>
#include <chrono>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "tests/support/process.hpp"

using namespace sluice::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

template <class Predicate>
bool eventually(Predicate pred, std::chrono::milliseconds timeout = 30s) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred())
      return true;
    std::this_thread::sleep_for(10ms);
  }
  return pred();
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream out{path};
  out << text;
}

/// A generator with a count into a memory channel that holds all of it (so
/// the generator finishes at once and the channel drains), then the
/// console sink.
std::string drain_topology(int64_t count, const std::string& drain_timeout) {
  return fmt::format(R"([supervision]
max_restarts = 1000
initial_backoff = "20ms"
max_backoff = "100ms"

[engine]
drain_timeout = "{timeout}"

[sources.gen]
type = "generator"
channel = "mem"
count = {count}
line_size = 16
batch_size = 500

[channels.mem]
type = "memory"
capacity = {count}
transaction_capacity = 500

[sinks.out]
type = "console"
channel = "mem"
batch_size = 500
)",
                     fmt::arg("count", count),
                     fmt::arg("timeout", drain_timeout));
}

/// Position of the first match of `pattern` in `text` at or after `from`,
/// or npos.
size_t find_after(const std::string& text, const std::string& pattern,
                  size_t from = 0) {
  return text.find(pattern, from);
}

} // namespace

TEST_CASE("e2e: a sink that cannot write during the drain fails the run with "
          "the loss in the log",
          "[e2e][supervisor][drain]") {
  temp_dir dir;
  write_text(dir / "topology.toml", drain_topology(20'000, "2s"));
  auto log = dir / "sluice.log";
  // Standard output is /dev/full: every write of the console sink fails
  // with ENOSPC, a transient error, so it is restarted with back-off.
  process p;
  REQUIRE(process::start(p,
                         {"/bin/sh", "-c", "exec \"$0\" run \"$1\" >/dev/full",
                          SLUICE_BINARY, dir / "topology.toml"},
                         log));
  auto code = p.wait(60s);
  REQUIRE(code);
  auto text = read_file(log);
  INFO(text);
  CHECK(*code == 1);
  auto drain = find_after(text, "every source has finished; draining");
  REQUIRE(drain != std::string::npos);
  // The sink really failed, and was restarted after the drain began.
  CHECK(find_after(text, "No space left on device") != std::string::npos);
  CHECK(find_after(text, "restarting out", drain) != std::string::npos);
  CHECK(find_after(text, "20000 undelivered event(s) lost in channel mem") !=
        std::string::npos);
  CHECK(find_after(text, "stopped cleanly") == std::string::npos);
}

TEST_CASE("e2e: a sink that fails during the drain and recovers delivers "
          "every event and exits 0",
          "[e2e][supervisor][drain]") {
  constexpr int64_t count = 20'000;
  constexpr size_t line_size = 16;
  temp_dir dir;
  write_text(dir / "topology.toml", drain_topology(count, "30s"));
  auto log = dir / "sluice.log";
  // Standard output is a non-blocking pipe nobody reads yet: once its
  // buffer is full, the console sink's writes fail with EAGAIN.
  int fds[2];
  REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
  REQUIRE(::fcntl(fds[1], F_SETFD, 0) == 0);
  REQUIRE(::fcntl(fds[1], F_SETFL, O_NONBLOCK) == 0);
  process p;
  auto started = process::start(
      p,
      {"/bin/sh", "-c", fmt::format("exec \"$0\" run \"$1\" >&{}", fds[1]),
       SLUICE_BINARY, dir / "topology.toml"},
      log);
  ::close(fds[1]);
  REQUIRE(started);
  // Wait until the drain began and the sink failed after that.
  size_t drain = std::string::npos;
  REQUIRE(eventually([&] {
    auto text = read_file(log);
    drain = find_after(text, "every source has finished; draining");
    return drain != std::string::npos &&
           find_after(text, "restarting out", drain) != std::string::npos;
  }));
  CHECK(find_after(read_file(log), "Resource temporarily unavailable") !=
        std::string::npos);
  // Now read: the sink recovers.
  std::string out;
  std::thread reader{[&] {
    char buf[65536];
    for (;;) {
      auto n = ::read(fds[0], buf, sizeof buf);
      if (n > 0)
        out.append(buf, static_cast<size_t>(n));
      else if (n == 0 || errno != EINTR)
        return;
    }
  }};
  auto code = p.wait(60s);
  reader.join();
  ::close(fds[0]);
  REQUIRE(code);
  auto text = read_file(log);
  INFO(text);
  CHECK(*code == 0);
  CHECK(find_after(text, "undelivered") == std::string::npos);
  // A failed write may leave part of a line before the batch is written
  // again: every line ends with a whole event of fixed size.
  std::set<int64_t> seen;
  size_t begin = 0;
  while (begin < out.size()) {
    auto end = out.find('\n', begin);
    if (end == std::string::npos)
      end = out.size();
    if (end - begin >= line_size)
      seen.insert(std::atoll(out.c_str() + end - line_size));
    begin = end + 1;
  }
  CHECK(seen.size() == static_cast<size_t>(count));
  CHECK(*seen.begin() == 0);
  CHECK(*seen.rbegin() == count - 1);
}

namespace {

/// A generator into a file channel in `channel_dir`, drained by a file sink
/// into `sink_dir`.
std::string file_topology(const std::string& channel_dir,
                          const std::string& sink_dir) {
  return fmt::format(R"([sources.gen]
type = "generator"
channel = "disk"
count = 1000

[channels.disk]
type = "file"
directory = "{channel}"

[sinks.out]
type = "file"
channel = "disk"
directory = "{sink}"
)",
                     fmt::arg("channel", channel_dir),
                     fmt::arg("sink", sink_dir));
}

struct timed_run {
  int code = -1;
  std::string output;
  std::chrono::milliseconds elapsed{0};
};

timed_run run_sluice(const std::vector<std::string>& args) {
  std::vector<std::string> argv{SLUICE_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  auto start = std::chrono::steady_clock::now();
  auto [code, output] = run_command(argv, 120s);
  return {code, output,
          std::chrono::duration_cast<std::chrono::milliseconds>(
              std::chrono::steady_clock::now() - start)};
}

/// A directory that cannot be created even by root: /sys refuses mkdir.
const char* uncreatable_root = "/sys/kernel";

} // namespace

TEST_CASE("e2e: check reports a channel directory that is a file with its "
          "position",
          "[e2e][supervisor][permanent]") {
  temp_dir dir;
  write_text(dir / "blocker", "not a directory\n");
  write_text(dir / "topology.toml",
             file_topology(dir / "blocker", dir / "out"));
  auto r = run_sluice({"check", dir / "topology.toml"});
  INFO(r.output);
  CHECK(r.code == 2);
  // [channels.disk] starts on line 6; directory is its second key.
  CHECK_THAT(r.output, Catch::Contains(dir / "topology.toml:8:") &&
                           Catch::Contains("'" + dir / "blocker" +
                                           "' exists and is not a directory"));
  CHECK(fs::is_regular_file(dir / "blocker"));
  CHECK(!fs::exists(dir / "out")); // check creates nothing

  SECTION("a file sink directory and a position file under a file too") {
    write_text(dir / "topology.toml", fmt::format(R"([sources.tail]
type = "taildir"
channel = "mem"
filegroups = {{ app = "{dir}/*.log" }}
position_file = "{dir}/blocker/positions.json"

[channels.mem]
type = "memory"

[sinks.out]
type = "file"
channel = "mem"
directory = "{dir}/blocker/out"
)",
                                                  fmt::arg("dir", dir.path())));
    auto r2 = run_sluice({"check", dir / "topology.toml"});
    INFO(r2.output);
    CHECK(r2.code == 2);
    CHECK_THAT(r2.output, Catch::Contains(dir / "topology.toml:5:") &&
                              Catch::Contains(dir / "topology.toml:13:"));
  }
  SECTION("an archive sink directory under a file too") {
    write_text(dir / "topology.toml", fmt::format(R"([sources.gen]
type = "generator"
channel = "mem"

[channels.mem]
type = "memory"

[sinks.arch]
type = "archive"
channel = "mem"
directory = "{dir}/blocker/archive"
)",
                                                  fmt::arg("dir", dir.path())));
    auto r2 = run_sluice({"check", dir / "topology.toml"});
    INFO(r2.output);
    CHECK(r2.code == 2);
    CHECK_THAT(r2.output, Catch::Contains(dir / "topology.toml:11:") &&
                              Catch::Contains("exists and is not a directory"));
  }
  SECTION("run refuses it at once too") {
    auto r2 = run_sluice({"run", dir / "topology.toml"});
    INFO(r2.output);
    CHECK(r2.code == 2);
    CHECK(r2.elapsed < 10s);
    CHECK_THAT(r2.output, Catch::Contains("exists and is not a directory"));
  }
}

TEST_CASE("e2e: a channel directory that cannot be created fails the run at "
          "once with the cause",
          "[e2e][supervisor][permanent]") {
  if (!fs::is_directory(uncreatable_root)) {
    WARN("skipped: no " << uncreatable_root << " to provoke EPERM/EACCES");
    return;
  }
  temp_dir dir;
  auto channel_dir = std::string{uncreatable_root} + "/sluice-test-channel";
  REQUIRE(!fs::exists(channel_dir));
  write_text(dir / "topology.toml", file_topology(channel_dir, dir / "out"));
  auto r = run_sluice({"run", dir / "topology.toml"});
  INFO(r.output);
  CHECK(r.code == 1);
  // Retried with back-off, this took about 43 s.
  CHECK(r.elapsed < 10s);
  CHECK_THAT(r.output,
             Catch::Contains("cannot create " + channel_dir) &&
                 Catch::Contains("disk failed with an error no restart can "
                                 "cure"));
  CHECK_THAT(r.output, !Catch::Contains("restarting disk"));
}

TEST_CASE("e2e: a sink directory that cannot be written fails the run at "
          "once with the cause",
          "[e2e][supervisor][permanent]") {
  temp_dir dir;
  std::string sink_dir;
  if (::geteuid() != 0) {
    // Read-only for us (root would ignore the mode).
    fs::create_directories(dir / "ro");
    fs::permissions(dir / "ro", fs::perms::owner_read | fs::perms::owner_exec);
    sink_dir = dir / "ro/out";
  } else if (fs::is_directory(uncreatable_root)) {
    sink_dir = std::string{uncreatable_root} + "/sluice-test-out";
  } else {
    WARN("skipped: running as root without " << uncreatable_root);
    return;
  }
  write_text(dir / "topology.toml", file_topology(dir / "channel", sink_dir));
  auto r = run_sluice({"run", dir / "topology.toml"});
  INFO(r.output);
  CHECK(r.code == 1);
  CHECK(r.elapsed < 10s);
  CHECK_THAT(r.output,
             Catch::Contains("cannot create " + sink_dir) &&
                 Catch::Contains("out failed with an error no restart can "
                                 "cure"));
  // What was accepted stays in the file channel for the next run.
  CHECK_THAT(r.output, !Catch::Contains("undelivered event(s) lost"));
}

TEST_CASE("e2e: an exec command that does not exist fails the run",
          "[e2e][supervisor][permanent]") {
  temp_dir dir;
  write_text(dir / "topology.toml", R"([sources.cmd]
type = "exec"
channel = "mem"
command = "sluice-test-no-such-command --follow"

[channels.mem]
type = "memory"

[sinks.out]
type = "null"
channel = "mem"
)");
  auto r = run_sluice({"run", dir / "topology.toml"});
  INFO(r.output);
  CHECK(r.code == 1);
  CHECK(r.elapsed < 10s);
  CHECK_THAT(r.output, Catch::Contains("command not found") &&
                           Catch::Contains("no restart can cure"));
  CHECK_THAT(r.output, !Catch::Contains("stopped cleanly"));
}
