// End-to-end: a running `sluice` under a low descriptor limit follows more
// files than it may open at once.
#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>
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
  auto deadline = std::chrono::steady_clock::now() + 90s;
  while (std::chrono::steady_clock::now() < deadline) {
    if (read_lines_in(out_dir).size() >= n)
      return true;
    std::this_thread::sleep_for(100ms);
  }
  return false;
}

} // namespace

SCENARIO("300 files under ulimit -n 64 are each delivered exactly once",
         "[e2e][taildir]") {
  temp_dir dir;
  fs::create_directories(dir / "logs");
  auto topo = dir / "topology.toml";
  std::ofstream{topo} << fmt::format(R"([sources.tail]
type = "taildir"
channel = "mem"
batch_size = 200
filegroups = {{ app = "{0}/logs/*.log" }}
position_file = "{0}/state/positions.json"
scan_interval = "50ms"

[channels.mem]
type = "memory"
capacity = 5000
transaction_capacity = 500

[sinks.out]
type = "file"
channel = "mem"
batch_size = 500
directory = "{0}/out"
)",
                                     dir.path());
  constexpr int files = 300;
  auto name = [&](int i) {
    return dir / fmt::format("logs/f{:03}.log", i);
  };
  auto write_round = [&](int round) {
    for (int i = 0; i < files; ++i) {
      std::ofstream out{name(i), std::ios::app};
      for (int k = 0; k < 5; ++k)
        out << fmt::format("f{:03} {}\n", i, round * 5 + k);
    }
  };
  write_round(0);
  auto log = dir / "sluice.log";
  auto out_dir = dir / "out";
  process p;
  // The limit is lowered in the child only, before sluice starts.
  REQUIRE(process::start(
      p,
      {"/bin/sh", "-c",
       fmt::format("ulimit -n 64 && exec '{}' run '{}'", SLUICE_BINARY, topo)},
      log));
  bool first = wait_for(out_dir, files * 5);
  // Every file grows again while most are closed.
  write_round(1);
  bool second = wait_for(out_dir, files * 10);
  p.signal(SIGTERM);
  auto code = p.wait(30s);
  auto text = read_file(log);
  INFO(text);
  REQUIRE(first);
  REQUIRE(second);
  CHECK(code == 0);
  THEN("the cap was lowered to the limit, and every line arrived exactly "
       "once, in order per file") {
    CHECK_THAT(text, Catch::Contains("keeping at most 32 files open"));
    CHECK_THAT(text, !Catch::Contains("temporary position file"));
    auto lines = read_lines_in(out_dir);
    CHECK(lines.size() == static_cast<size_t>(files * 10));
    std::map<int, std::vector<int>> per_file;
    for (auto& line : lines)
      per_file[std::stoi(line.substr(1, 3))].push_back(
          std::stoi(line.substr(5)));
    REQUIRE(per_file.size() == static_cast<size_t>(files));
    for (auto& [file, xs] : per_file) {
      INFO("file " << file);
      std::vector<int> want;
      for (int k = 0; k < 10; ++k)
        want.push_back(k);
      CHECK(xs == want);
    }
  }
}
