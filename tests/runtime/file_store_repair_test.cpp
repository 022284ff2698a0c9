#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>

#include <catch2/catch.hpp>

#include "runtime/errors.hpp"
#include "runtime/file_store.hpp"
#include "runtime/file_store_repair.hpp"
#include "tests/support/process.hpp"
#include "tests/support/store_helpers.hpp"

using namespace sluice;
using namespace sluice::test;
namespace fs = std::filesystem;

namespace {

/// 60 uncommitted batches of 10 events over several 4 KiB segments.
void fill(const file_store_config& cfg) {
  auto store = file_store::make(cfg);
  REQUIRE(store);
  REQUIRE(!(*store)->open());
  for (int i = 0; i < 60; ++i)
    REQUIRE(!(*store)->append(numbered(i * 10, 10), "tail",
                              "at " + std::to_string(i * 10 + 10)));
  REQUIRE(!(*store)->sync());
  (*store)->close();
}

bool mentions(const std::vector<std::string>& lines, const std::string& what) {
  return std::any_of(lines.begin(), lines.end(), [&](auto& l) {
    return l.find(what) != std::string::npos;
  });
}

} // namespace

SCENARIO("a channel check describes a healthy log", "[file_store][repair]") {
  test::temp_dir dir;
  auto cfg = small_config(dir);
  fill(cfg);
  auto report = check_channel(cfg.directory);
  REQUIRE(report);
  CHECK(report->healthy);
  CHECK(report->scan.batches == 60);
  CHECK(report->scan.pending_events == 600);
  CHECK(mentions(report->lines, "batches: 60 valid, sequence 1..60"));
  CHECK(mentions(report->lines, "progress token of source 'tail': 'at 600'"));
  CHECK(mentions(report->lines, "status: healthy"));
}

SCENARIO("a channel repair acknowledges a missing segment so the channel "
         "opens again",
         "[file_store][repair]") {
  test::temp_dir dir;
  auto cfg = small_config(dir);
  fill(cfg);
  auto segs = segments(cfg.directory);
  REQUIRE(segs.size() >= 3);
  fs::remove(segs[1]);
  auto report = check_channel(cfg.directory);
  REQUIRE(report);
  CHECK_FALSE(report->healthy);
  CHECK(mentions(report->lines, segs[1].filename().string() + " is gone"));
  {
    auto store = file_store::make(cfg);
    REQUIRE(store);
    REQUIRE((*store)->open());
  }
  auto repaired = repair_channel(cfg.directory);
  REQUIRE(repaired);
  CHECK(repaired->changed);
  CHECK(mentions(repaired->lost, "are missing"));
  THEN("the channel opens and delivers every batch still there") {
    auto again = check_channel(cfg.directory);
    REQUIRE(again);
    CHECK(again->healthy);
    auto store = file_store::make(cfg);
    REQUIRE(store);
    REQUIRE(!(*store)->open());
    CHECK((*store)->recovered_events() == again->scan.pending_events);
    CHECK((*store)->recovered_events() < 600);
    auto l = (*store)->take(100'000);
    REQUIRE(l);
    REQUIRE(!(*store)->commit(l->id));
    REQUIRE(!(*store)->sync());
    AND_THEN("committing them moves the pointer past the gap") {
      (*store)->close();
      auto third = file_store::make(cfg);
      REQUIRE(third);
      REQUIRE(!(*third)->open());
      CHECK((*third)->recovered_events() == 0);
    }
  }
}

SCENARIO("a channel repair removes damaged spans and cuts a torn tail",
         "[file_store][repair]") {
  test::temp_dir dir;
  auto cfg = small_config(dir);
  fill(cfg);
  auto segs = segments(cfg.directory);
  REQUIRE(segs.size() >= 3);
  {
    std::fstream f{segs[0], std::ios::in | std::ios::out | std::ios::binary};
    f.seekp(200);
    f.write("XXXX", 4);
  }
  fs::resize_file(segs.back(), fs::file_size(segs.back()) - 3);
  auto report = check_channel(cfg.directory);
  REQUIRE(report);
  CHECK_FALSE(report->healthy);
  CHECK(mentions(report->lines,
                 "DAMAGED: segment " + segs[0].filename().string() + " bytes"));
  CHECK(mentions(report->lines, "TORN TAIL"));
  auto repaired = repair_channel(cfg.directory);
  REQUIRE(repaired);
  CHECK(mentions(repaired->done, "removed"));
  CHECK(mentions(repaired->done, "cut the torn tail"));
  auto again = check_channel(cfg.directory);
  REQUIRE(again);
  CHECK(again->healthy);
  CHECK(again->scan.damaged.empty());
  auto store = file_store::make(cfg);
  REQUIRE(store);
  REQUIRE(!(*store)->open());
  CHECK((*store)->damaged_spans() == 0);
  CHECK((*store)->recovered_events() == again->scan.pending_events);
  CHECK((*store)->recovered_events() >= 570);
}

SCENARIO("a channel check says the loss is unknown when no batch follows "
         "the damage",
         "[file_store][repair]") {
  test::temp_dir dir;
  auto cfg = small_config(dir);
  fill(cfg);
  auto last = segments(cfg.directory).back();
  {
    // A start opens a new, empty segment after the last.
    auto store = file_store::make(cfg);
    REQUIRE(store);
    REQUIRE(!(*store)->open());
  }
  REQUIRE(segments(cfg.directory).back() != last);
  REQUIRE(fs::file_size(segments(cfg.directory).back()) == 0);
  // Damage the last batch, 60; the log holds nothing after it.
  std::string bytes;
  {
    std::ifstream in{last, std::ios::binary};
    bytes.assign(std::istreambuf_iterator<char>{in}, {});
  }
  auto at = bytes.find("event-595");
  REQUIRE(at != std::string::npos);
  {
    std::fstream f{last, std::ios::in | std::ios::out | std::ios::binary};
    f.seekp(static_cast<std::streamoff>(at));
    f.put('X');
  }
  auto report = check_channel(cfg.directory);
  REQUIRE(report);
  CHECK_FALSE(report->healthy);
  REQUIRE(report->scan.damaged.size() == 1);
  CHECK(report->scan.damaged[0].loss_unknown);
  CHECK(mentions(report->lines, "lost for good: unknown"));
  CHECK_FALSE(mentions(report->lines, "nothing uncommitted"));
}

SCENARIO("check and repair refuse a channel a running store holds",
         "[file_store][repair]") {
  test::temp_dir dir;
  auto cfg = small_config(dir);
  auto store = file_store::make(cfg);
  REQUIRE(store);
  REQUIRE(!(*store)->open());
  auto report = check_channel(cfg.directory);
  REQUIRE_FALSE(report);
  CHECK_THAT(describe(report.error()), Catch::Contains("in use"));
  auto repaired = repair_channel(cfg.directory);
  REQUIRE_FALSE(repaired);
  CHECK_THAT(describe(repaired.error()), Catch::Contains("in use"));
}
