#pragma once

// Helpers the store tests share: numbered batches, a small file store
// configuration, and the segment files of a store's directory.
#include <algorithm>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "runtime/file_store.hpp"
#include "runtime/lease.hpp"
#include "tests/support/process.hpp"

namespace sluice::test {

namespace fs = std::filesystem;

inline event_batch numbered(int from, int n) {
  event_batch b;
  for (int i = from; i < from + n; ++i)
    b.append("event-" + std::to_string(i));
  return b;
}

inline std::vector<std::string> bodies(const lease& l) {
  std::vector<std::string> result;
  for (auto& b : *l.batches.ptr)
    for (size_t i = 0; i < b.size(); ++i)
      result.emplace_back(b.body(i));
  return result;
}

inline std::vector<std::string> expected(int from, int n) {
  std::vector<std::string> result;
  for (int i = from; i < from + n; ++i)
    result.push_back("event-" + std::to_string(i));
  return result;
}

inline file_store_config small_config(const test::temp_dir& dir) {
  file_store_config cfg;
  cfg.directory = dir / "channel";
  cfg.segment_size = 4096;
  cfg.min_free_space = 0;
  return cfg;
}

inline std::unique_ptr<file_store> open_store(const file_store_config& cfg) {
  auto store = file_store::make(cfg);
  REQUIRE(store);
  REQUIRE(!(*store)->open());
  return std::move(*store);
}

/// The segment files of a store's directory, oldest first.
inline std::vector<fs::path> segments(const fs::path& dir) {
  std::vector<fs::path> result;
  for (auto& e : fs::directory_iterator{dir})
    if (e.path().extension() == ".seg")
      result.push_back(e.path());
  std::sort(result.begin(), result.end());
  return result;
}

inline size_t segment_count(const fs::path& dir) {
  return segments(dir).size();
}

/// The newest segment holding records.
inline fs::path last_written_segment(const fs::path& dir) {
  auto all = segments(dir);
  for (auto i = all.rbegin(); i != all.rend(); ++i)
    if (fs::file_size(*i) > 0)
      return *i;
  return {};
}

} // namespace sluice::test
