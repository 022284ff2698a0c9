// End-to-end tests of hostile topology files: the real `sluice` binary
// refuses them with a clear error and exit code 2, never a crash.
#include <fstream>
#include <string>
#include <sys/stat.h>

#include <catch2/catch.hpp>

#include "tests/support/process.hpp"

using namespace sluice::test;
using namespace std::chrono_literals;

namespace {

std::string repeat(const std::string& x, size_t n, const std::string& sep) {
  std::string result;
  for (size_t i = 0; i < n; ++i)
    result += (i > 0 ? sep : "") + x;
  return result;
}

/// Runs `sluice check` and `sluice run` on `path`; both must exit 2 with
/// `expected` in their output.
void both_refuse(const std::string& path, const std::string& expected) {
  for (std::string cmd : {"check", "run"}) {
    auto [code, out] = run_command({SLUICE_BINARY, cmd, path}, 30s);
    INFO("sluice " << cmd << " " << path << ":\n" << out.substr(0, 2000));
    CHECK(code == 2);
    CHECK_THAT(out, Catch::Contains(expected));
  }
}

} // namespace

SCENARIO("hostile topology files get a clear error and exit code 2",
         "[e2e][config][limits]") {
  temp_dir dir;
  GIVEN("a table header of 40,000 dotted parts") {
    auto path = dir / "header.toml";
    std::ofstream{path} << "[" << repeat("a", 40'000, ".") << "]\n";
    both_refuse(path, path + ":1:129: error: nested more than 64 levels deep");
  }
  GIVEN("a dotted key of 40,000 parts under inline tables") {
    auto path = dir / "key.toml";
    std::string text = "x = ";
    for (int i = 0; i < 250; ++i)
      text += "{" + repeat("b", 1000, ".") + " = ";
    std::ofstream{path} << text << "1" << std::string(250, '}') << "\n";
    both_refuse(path, "error: nested more than 64 levels deep");
  }
  GIVEN("arrays of arrays 10,000 deep") {
    auto path = dir / "arrays.toml";
    std::ofstream{path} << "x = " << std::string(10'000, '[')
                        << std::string(10'000, ']') << "\n";
    both_refuse(path, path + ":1:68: error: nested more than 64 levels deep");
  }
  GIVEN("a device that never ends") {
    both_refuse("/dev/zero",
                "/dev/zero: error: a character device, not a topology file");
  }
  GIVEN("a directory") {
    both_refuse(dir.path(), dir.path() + ": error: a directory, not a "
                                         "topology file");
  }
  GIVEN("a FIFO without a writer") {
    auto path = dir / "fifo.toml";
    REQUIRE(::mkfifo(path.c_str(), 0600) == 0);
    both_refuse(path, path + ": error: a FIFO (named pipe), not a topology "
                             "file");
  }
  GIVEN("a file past the size limit") {
    auto path = dir / "big.toml";
    std::ofstream{path} << std::string(5 << 20, '#');
    both_refuse(path, path + ": error: the file is 5242880 bytes, more than "
                             "the 4 MiB a topology file may hold");
  }
}
