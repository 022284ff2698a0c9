#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "connectors/source_connector.hpp"

namespace sluice {

/// Settings of the generator source.
struct generator_config {
  int64_t count = 0; ///< events to produce; 0 = unlimited
  int64_t rate = 0;  ///< events per second; 0 = as fast as possible
  int64_t line_size = 100;
  int64_t start = 0; ///< first sequence number
};

/// Produces fixed-size lines: a 12-digit sequence number, a space, filler.
/// For tests and benchmarks; allocates nothing per line. Behind a file
/// channel it resumes after the last line the channel holds.
class generator_source : public source_connector {
 public:
  explicit generator_source(generator_config cfg);

  caf::error resume(const std::string& token) override;
  std::string progress() const override;
  caf::error open() override;
  caf::expected<poll_status> poll(batch_builder& out,
                                  size_t max_events) override;

 private:
  /// The generator's whole state.
  struct state {
    int64_t next = 0;     ///< next sequence number
    int64_t produced = 0; ///< events produced so far
    double tokens = 0;    ///< rate limiter bucket
    std::chrono::steady_clock::time_point refilled;
  };

  generator_config cfg_;
  state st_;
  std::optional<std::pair<int64_t, int64_t>> resume_; ///< next, produced
  std::string line_;
};

} // namespace sluice
