// End-to-end test of the archive sink: the real `sluice` binary killed with
// SIGKILL while it archives, restarted, and the files read with libzstd.
#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <zstd.h>

#include "tests/support/process.hpp"

using namespace sluice::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

constexpr int64_t total = 400'000;
constexpr size_t sink_batch = 1000;

std::string topology(const temp_dir& dir) {
  return fmt::format(R"([sources.gen]
type = "generator"
channel = "disk"
count = {total}
rate = 20000
line_size = 40
batch_size = 500

[[sources.gen.interceptors]]
type = "timestamp"

[channels.disk]
type = "file"
directory = "{dir}/state/channel"
min_free_space = "1MiB"
transaction_capacity = {sink}

[sinks.archive]
type = "archive"
channel = "disk"
batch_size = {sink}
directory = "{dir}/archive"
topic = "gen"
roll_size = "32KiB"
)",
                     fmt::arg("dir", dir.path()), fmt::arg("total", total),
                     fmt::arg("sink", sink_batch));
}

/// The text of the complete frames of a file, and whether the file is
/// complete (a final file must be).
struct frames_text {
  std::string text;
  bool complete = false;
};

frames_text read_frames(const fs::path& p) {
  frames_text result;
  auto data = read_file(p.string());
  std::unique_ptr<ZSTD_DCtx, size_t (*)(ZSTD_DCtx*)> dctx{ZSTD_createDCtx(),
                                                          ZSTD_freeDCtx};
  std::vector<char> buf(ZSTD_DStreamOutSize());
  size_t pos = 0;
  while (pos < data.size()) {
    auto n = ZSTD_findFrameCompressedSize(data.data() + pos, data.size() - pos);
    if (ZSTD_isError(n))
      return result;
    ZSTD_DCtx_reset(dctx.get(), ZSTD_reset_session_only);
    ZSTD_inBuffer in{data.data() + pos, n, 0};
    std::string frame;
    size_t rc = 1;
    while (rc != 0) {
      ZSTD_outBuffer out{buf.data(), buf.size(), 0};
      rc = ZSTD_decompressStream(dctx.get(), &out, &in);
      if (ZSTD_isError(rc) || (out.pos == 0 && in.pos == in.size && rc != 0))
        return result;
      frame.append(buf.data(), out.pos);
    }
    result.text += frame;
    pos += n;
  }
  result.complete = !data.empty();
  return result;
}

/// What the archive holds.
struct archive_state {
  std::vector<fs::path> finals;
  std::vector<fs::path> in_progress;
  std::vector<fs::path> incomplete_finals;
  std::map<int64_t, int> seen; ///< generator number -> times
  size_t misplaced = 0;        ///< lines whose ts is not their partition's
};

archive_state read_archive(const fs::path& root) {
  archive_state st;
  std::error_code ec;
  for (auto i = fs::recursive_directory_iterator{root, ec};
       !ec && i != fs::recursive_directory_iterator{}; i.increment(ec)) {
    if (!i->is_regular_file())
      continue;
    auto p = i->path();
    bool final = p.filename().string().front() != '.';
    (final ? st.finals : st.in_progress).push_back(p);
    auto f = read_frames(p);
    if (final && !f.complete)
      st.incomplete_finals.push_back(p);
    auto partition = fs::relative(p.parent_path(), root).string();
    size_t pos = 0;
    while (pos < f.text.size()) {
      auto nl = f.text.find('\n', pos);
      if (nl == std::string::npos)
        break;
      auto j = nlohmann::json::parse(f.text.substr(pos, nl - pos));
      pos = nl + 1;
      auto body = j.at("body").get<std::string>();
      ++st.seen[std::atoll(body.c_str())];
      auto ts = j.at("ts").get<int64_t>();
      auto t = static_cast<std::time_t>(ts / 1000);
      std::tm tm{};
      gmtime_r(&t, &tm);
      char want[40];
      std::strftime(want, sizeof(want), "dt=%Y-%m-%d/hour=%H", &tm);
      if (partition != want)
        ++st.misplaced;
    }
  }
  return st;
}

/// Final files under `root`, without reading them.
size_t count_finals(const fs::path& root) {
  size_t n = 0;
  std::error_code ec;
  for (auto i = fs::recursive_directory_iterator{root, ec};
       !ec && i != fs::recursive_directory_iterator{}; i.increment(ec))
    if (i->is_regular_file() && i->path().filename().string().front() != '.')
      ++n;
  return n;
}

} // namespace

SCENARIO("kill -9 while the archive writes leaves complete files and loses "
         "no event",
         "[e2e][archive]") {
  temp_dir dir;
  auto topo = dir / "topology.toml";
  std::ofstream{topo} << topology(dir);
  auto log = dir / "sluice.log";
  auto root = fs::path{dir / "archive"} / "gen";
  std::vector<std::string> argv{SLUICE_BINARY, "run", topo};
  int kills = 0;
  size_t left_in_progress = 0;
  for (int round = 0; round < 3; ++round) {
    process p;
    auto before = count_finals(root);
    REQUIRE(process::start(p, argv, log));
    // Kill once this process finished files of its own, mid-stream.
    auto deadline = std::chrono::steady_clock::now() + 60s;
    bool flowed = false;
    while (!flowed && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(50ms);
      flowed = count_finals(root) >= before + 2;
    }
    p.signal(SIGKILL);
    INFO("round " << round);
    INFO(read_file(log));
    REQUIRE(flowed);
    REQUIRE(p.wait(60s) == 128 + SIGKILL);
    ++kills;
    auto st = read_archive(root);
    CHECK(st.incomplete_finals.empty());
    CHECK(st.seen.size() < static_cast<size_t>(total)); // it was mid-stream
    left_in_progress += st.in_progress.size();
  }
  // The generator ends after `total` events; the node then drains and stops
  // by itself, closing the sink.
  process last;
  REQUIRE(process::start(last, argv, log));
  auto code = last.wait(180s);
  INFO(read_file(log));
  REQUIRE(code);
  THEN("the clean stop leaves only complete final files holding every event, "
       "duplicates only from the leases in flight at the kills") {
    CHECK(*code == 0);
    // A kill found a file open at least once: recovery ran.
    CHECK(left_in_progress > 0);
    auto st = read_archive(root);
    CHECK(st.in_progress.empty());
    CHECK(st.incomplete_finals.empty());
    CHECK(st.misplaced == 0);
    REQUIRE(st.seen.size() == static_cast<size_t>(total));
    CHECK(st.seen.begin()->first == 0);
    CHECK(st.seen.rbegin()->first == total - 1);
    size_t dups = 0;
    for (auto& [n, times] : st.seen)
      dups += static_cast<size_t>(times - 1);
    INFO("duplicates: " << dups);
    CHECK(dups <= static_cast<size_t>(kills) * sink_batch);
  }
}
