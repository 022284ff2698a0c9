#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "connectors/registry.hpp"

namespace sluice::test {

/// Shared controls and observations of the test connectors; tests hold it,
/// connectors (rebuilt on every restart) reference it.
struct test_bench {
  // Source side.
  std::atomic<int64_t> source_limit{-1}; ///< events to produce; -1 = forever
  std::atomic<bool> source_open{true};   ///< a closed gate makes polls idle
  std::atomic<int> open_delay_ms{0};     ///< sleep in the source's open
  std::atomic<int64_t> produced{0};
  std::atomic<int64_t> committed_seq{0};

  // Sink side.
  std::atomic<int> fail_writes{0};           ///< the next n writes fail
  std::atomic<int> fail_opens{0};            ///< the next n opens fail
  std::atomic<bool> fail_permanently{false}; ///< failed opens are permanent
  std::atomic<int> write_delay_ms{0};        ///< sleep in each write
  std::mutex mtx;
  std::vector<std::string> received; ///< bodies written, in order
  std::vector<std::chrono::steady_clock::time_point> opens;
  std::vector<std::chrono::steady_clock::time_point> write_failures;
  /// A sink that is down fails its writes and its probes (it still opens).
  std::atomic<bool> down{false};
  std::atomic<int> probes{0}; ///< health checks asked
  std::atomic<int> failed_probes{0};
  std::atomic<int> failed_writes{0};
  /// The next n writes throw: the sink actor dies holding its lease,
  /// without a rollback.
  std::atomic<int> crash_writes{0};
  /// Recorder sinks named here record into their own bench (set before the
  /// engine starts).
  std::map<std::string, std::shared_ptr<test_bench>> sink_benches;

  size_t received_count() {
    std::lock_guard guard{mtx};
    return received.size();
  }
};

/// A registry with the built-in types plus "counter" (a source of
/// "event-<n>" bodies driven by `bench`) and "recorder" (a sink recording
/// bodies, failing and slowing down on command).
connector_registry make_test_registry(std::shared_ptr<test_bench> bench);

} // namespace sluice::test
