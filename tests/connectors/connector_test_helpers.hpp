#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <caf/expected.hpp>

#include "connectors/interceptor.hpp"
#include "connectors/registry.hpp"
#include "connectors/source_connector.hpp"
#include "runtime/event_batch.hpp"
#include "runtime/metrics.hpp"
#include "runtime/options.hpp"

namespace sluice::test {

/// A context for a connector under test, with fresh metrics.
inline connector_context make_context(const std::string& name,
                                      const std::string& kind = "source") {
  return connector_context{name,
                           std::make_shared<component_metrics>(name, kind)};
}

/// Builds a source of type `t` with `o` completed by the type's fallbacks.
inline caf::expected<source_connector_ptr>
make_source(const source_type& t, const connector_context& ctx, options o) {
  o.apply_fallbacks(t.options);
  return t.make(ctx, o);
}

/// Builds a sink of type `t` with `o` completed by the type's fallbacks.
inline caf::expected<sink_connector_ptr>
make_sink(const sink_type& t, const connector_context& ctx, options o) {
  o.apply_fallbacks(t.options);
  return t.make(ctx, o);
}

/// What draining a source found.
struct drain_result {
  std::vector<std::string> lines;
  bool finished = false;
  bool failed = false;
};

/// Polls `src` until it finishes, `stop` holds for the lines so far, or the
/// deadline passes; sleeps a little after idle polls.
template <class Stop>
drain_result
drain(source_connector& src, Stop stop, size_t max_events = 16,
      std::chrono::milliseconds timeout = std::chrono::seconds{10}) {
  drain_result result;
  std::vector<interceptor_ptr> chain;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline && !stop(result.lines)) {
    event_batch b;
    batch_builder builder{b, chain};
    auto st = src.poll(builder, max_events);
    if (!st) {
      result.failed = true;
      break;
    }
    for (size_t i = 0; i < b.size(); ++i)
      result.lines.emplace_back(b.body(i));
    if (*st == poll_status::finished) {
      result.finished = true;
      break;
    }
    if (*st == poll_status::idle)
      std::this_thread::sleep_for(std::chrono::milliseconds{3});
  }
  return result;
}

/// Polls `src` until it finishes (or the deadline passes).
inline drain_result drain_all(source_connector& src) {
  return drain(src, [](const std::vector<std::string>&) { return false; });
}

/// Polls `src` until it produced at least `n` lines.
inline drain_result drain_n(source_connector& src, size_t n) {
  return drain(src, [n](const std::vector<std::string>& lines) {
    return lines.size() >= n;
  });
}

} // namespace sluice::test
