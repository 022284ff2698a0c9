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
