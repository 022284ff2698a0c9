#include "connectors/forward.hpp"

#include "runtime/errors.hpp"

namespace sluice {

namespace {

// The forward link's ends are actors, not connectors: these stand-ins only
// exist so that the registry can describe and check the options; the
// engine never opens them.
class forward_placeholder_source : public source_connector {
 public:
  caf::error open() override { return refuse(); }
  caf::expected<poll_status> poll(batch_builder&, size_t) override {
    return refuse();
  }
  static caf::error refuse() {
    return make_error(connector_errc::unsupported,
                      "a forward source runs as an actor of its own");
  }
};

class forward_placeholder_sink : public sink_connector {
 public:
  caf::error open() override {
    return make_error(connector_errc::unsupported,
                      "a forward sink runs as an actor of its own");
  }
  caf::error write(const event_batch&) override { return open(); }
};

} // namespace

bool is_forward_type(const std::string& type) {
  return type == "forward";
}

source_type forward_source_type() {
  source_type t;
  t.name = "forward";
  t.help = "receives batches that a forward sink on another node sends";
  t.blocking = false;
  t.options = {
      {"port", option_type::integer, "port the link listens on", true,
       std::nullopt, 1, 65535},
      {"bind", option_type::string, "address the link listens on", false,
       option_value{std::string{"127.0.0.1"}}},
  };
  t.make = [](const connector_context&,
              const options&) -> caf::expected<source_connector_ptr> {
    return source_connector_ptr{std::make_unique<forward_placeholder_source>()};
  };
  return t;
}

sink_type forward_sink_type() {
  sink_type t;
  t.name = "forward";
  t.help = "sends batches to a forward source on another node";
  t.blocking = false;
  t.options = {
      {"host", option_type::string, "the peer's address", false,
       option_value{std::string{"127.0.0.1"}}},
      {"port", option_type::integer, "the peer's forward source port", true,
       std::nullopt, 1, 65535},
      {"timeout", option_type::duration,
       "how long the peer may take to commit a lease", false,
       option_value{int64_t{10'000}}, 1},
      {"connect_timeout", option_type::duration,
       "how long to keep trying a peer that is not up (0: for ever)", false,
       option_value{int64_t{0}}, 0},
      {"max_in_flight", option_type::integer,
       "leases sent and not yet answered, at most", false,
       option_value{int64_t{2}}, 1, 64},
  };
  t.make = [](const connector_context&,
              const options&) -> caf::expected<sink_connector_ptr> {
    return sink_connector_ptr{std::make_unique<forward_placeholder_sink>()};
  };
  return t;
}

} // namespace sluice
