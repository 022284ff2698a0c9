#pragma once

#include <vector>

#include "connectors/sink_connector.hpp"

namespace sluice {

/// Writes each event as a line on stdout, one write per batch.
class console_sink : public sink_connector {
 public:
  explicit console_sink(bool headers) : headers_(headers) {}

  caf::error open() override { return {}; }
  caf::error write(const event_batch& batch) override;

 private:
  bool headers_;
  std::vector<char> buf_;
};

} // namespace sluice
