#pragma once

// Helpers of the archive sink's tests: build a sink, make events, read the
// files back with libzstd.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <ctime>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <zstd.h>

#include "connectors/archive_sink.hpp"
#include "connectors/registry.hpp"
#include "tests/connectors/connector_test_helpers.hpp"
#include "tests/support/process.hpp"

namespace sluice::test {

namespace fs = std::filesystem;

/// Milliseconds since the epoch of a UTC time.
inline int64_t utc_ms(int year, int month, int day, int hour, int minute) {
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  return static_cast<int64_t>(timegm(&tm)) * 1000;
}

inline int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

inline sink_connector_ptr
make_archive(const std::string& directory, options o = {},
             const std::string& name = "orders",
             std::shared_ptr<component_metrics>* metrics = nullptr) {
  o.set("directory", directory);
  auto ctx = test::make_context(name, "sink");
  if (metrics)
    *metrics = ctx.metrics;
  auto c = test::make_sink(archive_sink_type(), ctx, std::move(o));
  REQUIRE(c);
  REQUIRE(*c);
  return std::move(*c);
}

inline archive_sink& as_archive(sink_connector_ptr& p) {
  return dynamic_cast<archive_sink&>(*p);
}

/// One event with a `timestamp` header.
inline void add_event(event_batch& b, std::string_view body, int64_t ts) {
  b.append(body);
  b.add_header("timestamp", std::to_string(ts));
}

/// The line the archive must write for an ASCII body with only a
/// timestamp header (written out here, not with the sink's own code).
inline std::string expected_line(std::string_view body, int64_t ts) {
  return fmt::format(
             R"({{"ts":{},"body":"{}","headers":{{"timestamp":"{}"}}}})", ts,
             body, ts) +
         "\n";
}

/// What libzstd makes of a file.
struct decoded {
  std::string text;
  size_t frames = 0;
  bool complete = false; ///< every frame whole and its checksum right
};

inline decoded decompress_file(const fs::path& p) {
  decoded result;
  auto data = test::read_file(p.string());
  std::unique_ptr<ZSTD_DCtx, size_t (*)(ZSTD_DCtx*)> dctx{ZSTD_createDCtx(),
                                                          ZSTD_freeDCtx};
  // Frame by frame, as a reader that splits the file would see it.
  size_t pos = 0;
  while (pos < data.size()) {
    auto n = ZSTD_findFrameCompressedSize(data.data() + pos, data.size() - pos);
    if (ZSTD_isError(n))
      return result;
    ++result.frames;
    pos += n;
  }
  // And as one stream, as a streaming reader sees it.
  ZSTD_inBuffer in{data.data(), data.size(), 0};
  std::vector<char> buf(ZSTD_DStreamOutSize());
  size_t rc = 0;
  while (in.pos < in.size) {
    ZSTD_outBuffer out{buf.data(), buf.size(), 0};
    rc = ZSTD_decompressStream(dctx.get(), &out, &in);
    if (ZSTD_isError(rc))
      return result;
    result.text.append(buf.data(), out.pos);
  }
  while (rc != 0) {
    ZSTD_outBuffer out{buf.data(), buf.size(), 0};
    rc = ZSTD_decompressStream(dctx.get(), &out, &in);
    if (ZSTD_isError(rc) || out.pos == 0)
      return result;
    result.text.append(buf.data(), out.pos);
  }
  result.complete = !data.empty();
  return result;
}

/// Files under `root` (relative paths), final and in progress, sorted.
struct archive_listing {
  std::vector<fs::path> finals;
  std::vector<fs::path> in_progress;
};

inline archive_listing list_archive(const fs::path& root) {
  archive_listing result;
  std::error_code ec;
  for (auto i = fs::recursive_directory_iterator{root, ec};
       !ec && i != fs::recursive_directory_iterator{}; i.increment(ec)) {
    if (!i->is_regular_file())
      continue;
    auto rel = fs::relative(i->path(), root);
    auto name = i->path().filename().string();
    if (name.front() == '.')
      result.in_progress.push_back(rel);
    else
      result.finals.push_back(rel);
  }
  std::sort(result.finals.begin(), result.finals.end());
  std::sort(result.in_progress.begin(), result.in_progress.end());
  return result;
}

/// The text of every final file under `root`, in name order; fails the
/// test when one does not decompress completely.
inline std::string archive_text(const fs::path& root) {
  std::string result;
  for (auto& f : list_archive(root).finals) {
    auto d = decompress_file(root / f);
    INFO(f.string());
    REQUIRE(d.complete);
    result += d.text;
  }
  return result;
}

/// The bodies of the JSON lines of `text`.
inline std::vector<std::string> bodies_of(const std::string& text) {
  std::vector<std::string> result;
  size_t pos = 0;
  while (pos < text.size()) {
    auto nl = text.find('\n', pos);
    REQUIRE(nl != std::string::npos);
    auto j = nlohmann::json::parse(text.substr(pos, nl - pos));
    result.push_back(j.at("body").get<std::string>());
    pos = nl + 1;
  }
  return result;
}

/// Bytes zstd cannot shrink.
inline std::string noise(std::mt19937_64& rng, size_t n) {
  static constexpr char alphabet[] =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  std::string s(n, ' ');
  for (auto& c : s)
    c = alphabet[rng() % (sizeof(alphabet) - 1)];
  return s;
}

} // namespace sluice::test
