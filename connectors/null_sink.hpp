#pragma once

#include "connectors/sink_connector.hpp"

namespace sluice {

/// Counts and discards (the sink actor counts; this does nothing).
class null_sink : public sink_connector {
 public:
  caf::error open() override { return {}; }
  caf::error write(const event_batch&) override { return {}; }
};

} // namespace sluice
