#include "runtime/cluster_link.hpp"

#include <set>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/io/middleman.hpp>
#include <caf/io/middleman_actor.hpp>
#include <caf/sec.hpp>

#include "runtime/errors.hpp"

namespace sluice {

void configure_cluster(caf::actor_system_config& cfg,
                       const cluster_link_settings& settings) {
  cfg.load<caf::io::middleman>();
  if (settings.heartbeat_interval_ms > 0)
    cfg.set("middleman.heartbeat-interval",
            caf::timespan{
                std::chrono::milliseconds{settings.heartbeat_interval_ms}});
  if (settings.peer_timeout_ms > 0)
    cfg.set("middleman.connection-timeout",
            caf::timespan{std::chrono::milliseconds{settings.peer_timeout_ms}});
}

caf::expected<uint16_t> publish_actor(caf::actor_system& sys,
                                      const caf::actor& whom, uint16_t port,
                                      const std::string& bind) {
  auto res = sys.middleman().publish(whom, port, bind.c_str(), true);
  if (!res)
    return make_error(config_errc::invalid, "cannot listen on " + bind + ":" +
                                                std::to_string(port) + ": " +
                                                sys.render(res.error()));
  return *res;
}

void publish_self(caf::event_based_actor* self, uint16_t port,
                  const std::string& bind,
                  std::function<void(caf::expected<uint16_t>)> done) {
  auto mm = self->system().middleman().actor_handle();
  auto me = caf::actor_cast<caf::strong_actor_ptr>(self);
  self->request(mm, caf::infinite, caf::publish_atom::value, port,
                std::move(me), std::set<std::string>{}, bind, true)
      .then([done](uint16_t actual) { done(actual); },
            [done, bind, port, self](caf::error& err) {
              done(make_error(config_errc::invalid,
                              "cannot listen on " + bind + ":" +
                                  std::to_string(port) + ": " +
                                  self->system().render(err)));
            });
}

void unpublish_actor(caf::actor_system& sys, const caf::actor& whom,
                     uint16_t port) {
  static_cast<void>(sys.middleman().unpublish(whom, port));
}

void connect_actor(caf::event_based_actor* self, const std::string& host,
                   uint16_t port, std::chrono::milliseconds timeout,
                   std::function<void(caf::expected<caf::actor>)> done) {
  auto mm = self->system().middleman().actor_handle();
  self->request(mm, timeout, caf::connect_atom::value, host, port)
      .then(
          [done](const caf::node_id&, caf::strong_actor_ptr& ptr,
                 const std::set<std::string>&) {
            if (!ptr) {
              done(caf::make_error(caf::sec::no_actor_published_at_port));
              return;
            }
            done(caf::actor_cast<caf::actor>(std::move(ptr)));
          },
          [done](caf::error& err) { done(std::move(err)); });
}

caf::expected<caf::actor> connect_actor_blocking(caf::actor_system& sys,
                                                 const std::string& host,
                                                 uint16_t port) {
  return sys.middleman().remote_actor(host, port);
}

bool is_transient_link_error(const caf::error& err) {
  if (err.category() != caf::atom("system"))
    return false;
  switch (static_cast<caf::sec>(err.code())) {
  case caf::sec::cannot_connect_to_node:
  case caf::sec::no_actor_published_at_port:
  case caf::sec::request_timeout:
  case caf::sec::request_receiver_down:
  case caf::sec::remote_linking_failed:
  case caf::sec::network_syscall_failed:
  case caf::sec::disconnect_during_handshake:
    return true;
  default:
    return false;
  }
}

} // namespace sluice
