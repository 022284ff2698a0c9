#include "connectors/table_registry.hpp"
#include "connectors/table_sinks.hpp"

namespace sluice {

caf::error blackhole_sink::write(const columnar::row_batch& rows) {
  rows_ += rows.active_rows();
  return {};
}

table_sink_type blackhole_table_sink_type() {
  table_sink_type t;
  t.name = "blackhole";
  t.help = "drops every row (for measuring a query without its output)";
  t.blocking = false;
  t.accepts_updates = true;
  t.make = [](const table_context&,
              const options&) -> caf::expected<table_sink_ptr> {
    return table_sink_ptr{std::make_unique<blackhole_sink>()};
  };
  return t;
}

} // namespace sluice
