// A forward source of a node whose links run over TLS gives its port back
// when it stops, so a restarted source (or another component) can listen
// on it again.
#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <catch2/catch.hpp>

#include "actors/channel.hpp"
#include "actors/forward_source.hpp"
#include "runtime/atoms.hpp"
#include "runtime/cluster_link.hpp"
#include "runtime/errors.hpp"
#include "runtime/memory_store.hpp"
#include "runtime/metrics.hpp"
#include "runtime/type_ids.hpp"
#include "tests/support/tls_certs.hpp"

using namespace sluice;
using namespace std::chrono_literals;

namespace {

caf::actor_system_config& tls_config(caf::actor_system_config& c) {
  auto& files = test::shared_tls_files();
  cluster_link_settings links;
  links.certificate = files.cert;
  links.key = files.key;
  links.ca_file = files.ca;
  register_types(c);
  configure_cluster(c, links);
  c.set("logger.verbosity", caf::atom("quiet"));
  c.set("scheduler.max-threads", 2);
  return c;
}

} // namespace

TEST_CASE("a forward source under TLS frees its port when it stops",
          "[forward][tls]") {
  caf::actor_system_config cfg;
  caf::actor_system sys{tls_config(cfg)};
  REQUIRE(uses_tls(sys));
  channel_config cc;
  cc.name = "inbox";
  cc.metrics = std::make_shared<component_metrics>("inbox", "channel");
  cc.make_store = []() -> caf::expected<channel_store_ptr> {
    return channel_store_ptr{std::make_unique<memory_store>()};
  };
  auto ch = spawn_channel(sys, cc, false);
  std::promise<uint16_t> listening;
  forward_source_config fc;
  fc.name = "link";
  fc.channel = caf::actor_cast<caf::actor>(ch);
  fc.metrics = std::make_shared<component_metrics>("link", "source");
  fc.on_listening = [&listening](uint16_t p) {
    listening.set_value(p);
  };
  auto fs = spawn_forward_source(sys, fc);
  auto port_future = listening.get_future();
  REQUIRE(port_future.wait_for(10s) == std::future_status::ready);
  auto port = port_future.get();
  REQUIRE(port != 0);

  caf::scoped_actor self{sys};
  self->monitor(fs);
  caf::anon_send(fs, stop_atom::value);
  bool ended = false;
  self->receive([&](caf::down_msg&) { ended = true; },
                caf::after(10s) >> [] {});
  REQUIRE(ended);

  // The unpublish is asynchronous: a few tries while it lands. A port the
  // TLS module still held would refuse every one (address in use).
  // (A function actor with one argument: for one without, CAF 0.17 binds
  // a reference to a null pointer, which UBSan reports.)
  auto probe = sys.spawn(
      [](caf::event_based_actor*, int) -> caf::behavior {
        return {[](int) {
        }};
      },
      0);
  caf::expected<uint16_t> again = caf::make_error(caf::sec::runtime_error);
  for (int i = 0; i < 100 && !again; ++i) {
    again = publish_actor(sys, probe, port, "127.0.0.1");
    if (!again)
      std::this_thread::sleep_for(50ms);
  }
  INFO((again ? std::string{} : sys.render(again.error())));
  CHECK(again);
  if (again) {
    CHECK(*again == port);
    unpublish_actor(sys, probe, port);
  }
  caf::anon_send_exit(probe, caf::exit_reason::kill);
  caf::anon_send_exit(ch, caf::exit_reason::kill);
}
