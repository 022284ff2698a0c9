#include "connectors/null_sink.hpp"

#include "connectors/registry.hpp"

namespace sluice {

sink_type null_sink_type() {
  sink_type t;
  t.name = "null";
  t.help = "counts and discards every event";
  t.blocking = false;
  t.make = [](const connector_context&,
              const options&) -> caf::expected<sink_connector_ptr> {
    return sink_connector_ptr{std::make_unique<null_sink>()};
  };
  return t;
}

} // namespace sluice
