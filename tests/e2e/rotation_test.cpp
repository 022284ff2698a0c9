// End-to-end: a running `sluice` follows a log rotated both ways.
#include <csignal>
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "tests/support/process.hpp"

using namespace sluice::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

bool wait_for(const std::string& out_dir, size_t n) {
  auto deadline = std::chrono::steady_clock::now() + 60s;
  while (std::chrono::steady_clock::now() < deadline) {
    if (read_lines_in(out_dir).size() >= n)
      return true;
    std::this_thread::sleep_for(50ms);
  }
  return false;
}

void write_lines(std::ofstream& out, int from, int to) {
  for (int i = from; i < to; ++i) {
    out << "line " << i << '\n';
    if (i % 200 == 0) {
      out.flush();
      std::this_thread::sleep_for(2ms);
    }
  }
  out.flush();
}

} // namespace

SCENARIO("a running pipeline follows a log through copy-truncate and rename "
         "rotations",
         "[e2e][rotation]") {
  temp_dir dir;
  fs::create_directories(dir / "logs");
  auto topo = dir / "topology.toml";
  std::ofstream{topo} << fmt::format(R"([sources.tail]
type = "taildir"
channel = "mem"
batch_size = 100
filegroups = {{ app = "{0}/logs/*.log" }}
position_file = "{0}/state/positions.json"
scan_interval = "100ms"

[channels.mem]
type = "memory"
capacity = 5000
transaction_capacity = 500

[sinks.out]
type = "file"
channel = "mem"
batch_size = 500
directory = "{0}/out"
roll_size = "64KiB"
)",
                                     dir.path());
  auto log = dir / "logs/app.log";
  auto out_dir = dir / "out";
  process p;
  REQUIRE(process::start(p, {SLUICE_BINARY, "run", topo}, dir / "sluice.log"));
  std::ofstream out{log, std::ios::app};
  write_lines(out, 0, 3000);
  REQUIRE(wait_for(out_dir, 3000));
  // copy-truncate, as logrotate's copytruncate does once the tailer caught up
  fs::copy_file(log, dir / "logs/app.log.1");
  fs::resize_file(log, 0);
  // The tailer must see the file shorter than its position before it grows
  // past it again (as logrotate's copytruncate assumes of every tailer).
  auto seen = std::chrono::steady_clock::now() + 60s;
  while (read_file(dir / "sluice.log").find("was truncated") ==
             std::string::npos &&
         std::chrono::steady_clock::now() < seen)
    std::this_thread::sleep_for(20ms);
  write_lines(out, 3000, 6000);
  // rename while writing: the old inode keeps growing for a moment
  fs::rename(log, dir / "logs/app.log.2");
  {
    std::string tail;
    for (int i = 6000; i < 6500; ++i)
      tail += "line " + std::to_string(i) + '\n';
    out << tail << std::flush;
  }
  out.close();
  std::ofstream fresh{log, std::ios::app};
  write_lines(fresh, 6500, 9000);
  bool complete = wait_for(out_dir, 9000);
  p.signal(SIGTERM);
  auto code = p.wait(30s);
  INFO(read_file(dir / "sluice.log"));
  REQUIRE(complete);
  CHECK(code == 0);
  auto lines = read_lines_in(out_dir);
  THEN("every line arrived exactly once, in order per file") {
    // Lines 0..6499 went to the first inode (truncated once, then renamed
    // away), 6500..8999 to the file created after the rename. The tailer
    // reads both at once, so only the order within each is defined.
    REQUIRE(lines.size() == 9000);
    std::vector<int> first, second;
    for (auto& line : lines) {
      REQUIRE(line.rfind("line ", 0) == 0);
      int n = std::stoi(line.substr(5));
      (n < 6500 ? first : second).push_back(n);
    }
    REQUIRE(first.size() == 6500);
    REQUIRE(second.size() == 2500);
    for (int i = 0; i < 6500; ++i)
      REQUIRE(first[static_cast<size_t>(i)] == i);
    for (int i = 0; i < 2500; ++i)
      REQUIRE(second[static_cast<size_t>(i)] == 6500 + i);
  }
}
