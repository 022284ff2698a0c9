#pragma once

#include <chrono>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "connectors/registry.hpp"
#include "connectors/taildir.hpp"
#include "tests/support/process.hpp"

namespace sluice::test {

using namespace std::chrono_literals;

/// Drives a taildir connector the way the source actor does.
struct tail_driver {
  connector_context ctx{"tail",
                        std::make_shared<component_metrics>("tail", "source")};
  std::unique_ptr<source_connector> src;
  std::vector<interceptor_ptr> chain;
  std::vector<std::string> lines;
  std::vector<std::string> files;
  uint64_t seq = 0;

  tail_driver(const test::temp_dir& dir, options extra = {}) {
    auto type = taildir_source_type();
    options opts = std::move(extra);
    if (!opts.contains("filegroups"))
      opts.set("filegroups", string_map{{"logs", dir / "logs/*.log"}});
    opts.set("position_file", dir / "state/positions.json");
    opts.set("scan_interval", int64_t{10});
    opts.set("file_header", true);
    opts.apply_fallbacks(type.options);
    auto made = type.make(ctx, opts);
    REQUIRE(made);
    src = std::move(*made);
  }

  caf::error open() { return src->open(); }

  /// The taildir source's state, for inspection.
  const taildir_state& state() const {
    return static_cast<const taildir_source&>(*src).state();
  }

  /// Polls once into a batch and seals it; returns the batch's seq.
  uint64_t poll_once(size_t max = 1000) {
    event_batch b;
    batch_builder out{b, chain};
    auto st = src->poll(out, max);
    REQUIRE(st);
    for (size_t i = 0; i < b.size(); ++i) {
      lines.emplace_back(b.body(i));
      files.emplace_back(b.header(i, "file"));
    }
    src->seal(++seq);
    return seq;
  }

  /// Polls (committing each batch) until `n` lines arrived or time is up.
  bool poll_until(size_t n, std::chrono::milliseconds timeout = 10s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (lines.size() < n && std::chrono::steady_clock::now() < deadline) {
      auto s = poll_once();
      REQUIRE(!src->commit(s));
      std::this_thread::sleep_for(1ms);
    }
    return lines.size() >= n;
  }
};

inline void append(const std::string& path, const std::string& text) {
  std::ofstream out{path, std::ios::app};
  out << text;
}

inline std::vector<std::string> numbered(const std::string& prefix, int from,
                                         int to) {
  std::vector<std::string> result;
  for (int i = from; i < to; ++i)
    result.push_back(prefix + std::to_string(i));
  return result;
}

} // namespace sluice::test
