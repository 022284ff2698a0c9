// End-to-end tests of `sluice channel check` and `sluice channel repair`:
// the real binary on a channel directory a store wrote.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>

#include <catch2/catch.hpp>

#include "runtime/file_store.hpp"
#include "tests/support/process.hpp"

using namespace sluice;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

/// A channel directory holding 60 undelivered batches over several
/// segments; returns its segment files, oldest first.
std::vector<fs::path> make_channel(const fs::path& dir) {
  file_store_config cfg;
  cfg.directory = dir;
  cfg.segment_size = 4096;
  cfg.min_free_space = 0;
  auto store = file_store::make(cfg);
  REQUIRE(store);
  REQUIRE(!(*store)->open());
  for (int b = 0; b < 60; ++b) {
    event_batch batch;
    for (int i = 0; i < 10; ++i)
      batch.append("event-" + std::to_string(b * 10 + i));
    REQUIRE(!(*store)->append(std::move(batch), "tail", std::to_string(b)));
  }
  REQUIRE(!(*store)->sync());
  (*store)->close();
  std::vector<fs::path> segs;
  for (auto& e : fs::directory_iterator{dir})
    if (e.path().extension() == ".seg")
      segs.push_back(e.path());
  std::sort(segs.begin(), segs.end());
  return segs;
}

std::pair<int, std::string> channel(const std::string& what,
                                    const fs::path& dir) {
  return test::run_command({SLUICE_BINARY, "channel", what, dir.string()}, 60s);
}

} // namespace

SCENARIO("sluice channel check and repair on a damaged channel",
         "[e2e][channel_command]") {
  test::temp_dir tmp;
  fs::path dir = tmp / "channel";
  auto segs = make_channel(dir);
  REQUIRE(segs.size() >= 3);
  GIVEN("a healthy channel") {
    auto [code, out] = channel("check", dir);
    THEN("check lists it and exits 0") {
      CHECK(code == 0);
      CHECK_THAT(out, Catch::Contains("batches: 60 valid, sequence 1..60") &&
                          Catch::Contains("progress token of source 'tail': "
                                          "'59'") &&
                          Catch::Contains("status: healthy"));
    }
  }
  GIVEN("a segment with flipped bytes and a deleted segment") {
    {
      std::fstream f{segs[0], std::ios::in | std::ios::out | std::ios::binary};
      f.seekp(300);
      f.write("\x01\x02\x03\x04", 4);
    }
    fs::remove(segs[2]);
    auto [code, out] = channel("check", dir);
    THEN("check names the damaged span, the gap and what is lost, and "
         "exits 1") {
      CHECK(code == 1);
      CHECK_THAT(out, Catch::Contains("DAMAGED: segment " +
                                      segs[0].filename().string() + " bytes"));
      CHECK_THAT(out,
                 Catch::Contains("GAP: batches") &&
                     Catch::Contains(segs[2].filename().string() + " is gone"));
      CHECK_THAT(out, Catch::Contains("lost for good"));
    }
    WHEN("repair runs") {
      auto [rcode, rout] = channel("repair", dir);
      THEN("it says what it did and what was lost, and the channel is "
           "healthy again") {
        CHECK(rcode == 0);
        CHECK_THAT(rout,
                   Catch::Contains("repaired: removed") &&
                       Catch::Contains("repaired: acknowledged the gap") &&
                       Catch::Contains("lost: ") &&
                       Catch::Contains("opens cleanly now"));
        auto [again, aout] = channel("check", dir);
        CHECK(again == 0);
        CHECK_THAT(aout, Catch::Contains("GAP (acknowledged)"));
      }
    }
  }
  GIVEN("a channel a running store holds") {
    file_store_config cfg;
    cfg.directory = dir;
    cfg.min_free_space = 0;
    auto store = file_store::make(cfg);
    REQUIRE(store);
    REQUIRE(!(*store)->open());
    THEN("check and repair refuse it") {
      auto [code, out] = channel("check", dir);
      CHECK(code == 2);
      CHECK_THAT(out, Catch::Contains("in use by a running sluice"));
      auto [rcode, rout] = channel("repair", dir);
      CHECK(rcode == 1);
      CHECK_THAT(rout, Catch::Contains("in use by a running sluice"));
    }
  }
}
