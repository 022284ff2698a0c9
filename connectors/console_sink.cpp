#include "connectors/console_sink.hpp"

#include <unistd.h>

#include "connectors/fd_io.hpp"
#include "connectors/registry.hpp"

namespace sluice {

caf::error console_sink::write(const event_batch& batch) {
  buf_.clear();
  format_lines(batch, headers_, buf_);
  return write_fully(STDOUT_FILENO, buf_.data(), buf_.size(), "stdout");
}

sink_type console_sink_type() {
  sink_type t;
  t.name = "console";
  t.help = "writes each event as a line on standard output";
  t.options = {
      {"headers", option_type::boolean, "prefix each line with its headers",
       false, option_value{false}},
  };
  t.make = [](const connector_context&,
              const options& opts) -> caf::expected<sink_connector_ptr> {
    return sink_connector_ptr{
        std::make_unique<console_sink>(opts.get_bool("headers"))};
  };
  return t;
}

} // namespace sluice
