// `sluice demo`: the scenario's collection tier with a relay killed midway.
#include <map>
#include <regex>

#include <catch2/catch.hpp>

#include "tests/support/process.hpp"

using namespace sluice::test;
using namespace std::chrono_literals;

TEST_CASE("sluice demo fails over from a killed relay and loses no line; "
          "the topic holds every line once, the archive every line and "
          "MariaDB the SQL job's exact totals",
          "[e2e][demo][failover]") {
  temp_dir dir;
  auto [code, out] = run_command({SLUICE_BINARY, "demo", "--dir", dir / "demo",
                                  "--lines", "400", "--interval-ms", "3"},
                                 120s);
  INFO(out);
  CHECK(code == 0);
  // The kill and the restart really happened, and the group followed them.
  std::smatch killed;
  REQUIRE(std::regex_search(
      out, killed,
      std::regex{"agentA killed with SIGKILL after line \\d+ \\((\\d+) line"}));
  // Lines flowed through agentA before the kill.
  CHECK(std::stoi(killed[1].str()) > 0);
  CHECK(out.find("agentA restarted") != std::string::npos);
  std::smatch m;
  REQUIRE(std::regex_search(
      out, m,
      std::regex{"wrote (\\d+) lines; (\\d+) landed .*: (\\d+) missing.*"
                 "switched (\\d+) time"}));
  CHECK(m[1].str() == "400");
  CHECK(m[2].str() == "400");
  CHECK(m[3].str() == "0");
  CHECK(std::stoi(m[4].str()) >= 2);
  // Every line exactly once in the topic, by count and checksum.
  CHECK(out.find("landed in the topic lines on the store: 0 missing, 0 "
                 "duplicate(s), checksum matches") != std::string::npos);
  // The archive, read from the topic, holds every line in final files.
  std::smatch a;
  REQUIRE(std::regex_search(
      out, a,
      std::regex{"the archive .* holds (\\d+) file\\(s\\) \\((\\d+) in "
                 "progress\\): (\\d+) missing"}));
  CHECK(std::stoi(a[1].str()) >= 1);
  CHECK(a[2].str() == "0");
  CHECK(a[3].str() == "0");
  // The SQL job's per-region totals of the 400 orders, computed here from
  // the demo application's lines (region by id % 3, amount (id * 37) % 500
  // + (id % 100) / 100).
  std::map<std::string, std::pair<int64_t, int64_t>> want; // orders, cents
  for (int64_t i = 1; i <= 400; ++i) {
    auto& w = want[i % 3 == 0 ? "north" : i % 3 == 1 ? "south" : "west"];
    ++w.first;
    w.second += (i * 37) % 500 * 100 + i % 100;
  }
  for (auto& [region, w] : want) {
    // The totals, upserted into the demo's MariaDB table by the SQL job on
    // the node compute and read back from the server.
    // The name was looked up in the demo's MariaDB table regions.
    auto name = region;
    name[0] = static_cast<char>(name[0] - 'a' + 'A');
    std::smatch d;
    REQUIRE(
        std::regex_search(out, d,
                          std::regex{"demo.per_region: " + region + " " + name +
                                     " (\\d+) "
                                     "(\\d+)\\.(\\d\\d) \\(matches"}));
    CHECK(std::stoll(d[1].str()) == w.first);
    CHECK(std::stoll(d[2].str()) * 100 + std::stoll(d[3].str()) == w.second);
  }
}
