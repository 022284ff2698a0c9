#include "runtime/cluster_link.hpp"

#include <mutex>
#include <set>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/io/middleman.hpp>
#include <caf/io/middleman_actor.hpp>
#include <caf/openssl/manager.hpp>
#include <caf/openssl/publish.hpp>
#include <caf/openssl/remote_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/sec.hpp>
#include <caf/send.hpp>

#include "runtime/errors.hpp"
#include "runtime/log.hpp"

namespace sluice {

namespace {

/// The actor that publishes and connects: the OpenSSL module's when TLS is
/// on, else the middleman's.
caf::io::middleman_actor link_manager(caf::actor_system& sys) {
  if (sys.has_openssl_manager())
    return sys.openssl_manager().actor_handle();
  return sys.middleman().actor_handle();
}

/// Says once per peer and process why a handshake fails: in the sender's
/// back-off loop the error alone does not name the likely cause.
void explain_handshake_failure(caf::actor_system& sys, const std::string& host,
                               uint16_t port) {
  static std::mutex mtx;
  static std::set<std::string> told;
  auto peer = host + ":" + std::to_string(port);
  {
    std::lock_guard<std::mutex> guard{mtx};
    if (!told.insert(peer).second)
      return;
  }
  if (uses_tls(sys))
    log().warn("link to {}: the peer closed the connection during the TLS "
               "handshake: it refuses this node's certificate (another CA "
               "signed it) or it does not speak TLS",
               peer);
  else
    log().warn("link to {}: the peer closed the connection during the "
               "handshake: it may require TLS ([cluster.tls])",
               peer);
}

} // namespace

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
  if (settings.tls()) {
    cfg.load<caf::openssl::manager>();
    cfg.openssl_certificate = settings.certificate;
    cfg.openssl_key = settings.key;
    cfg.openssl_cafile = settings.ca_file;
  }
}

bool uses_tls(const caf::actor_system& sys) {
  return sys.has_openssl_manager();
}

caf::expected<uint16_t> publish_actor(caf::actor_system& sys,
                                      const caf::actor& whom, uint16_t port,
                                      const std::string& bind) {
  auto res = uses_tls(sys)
                 ? caf::openssl::publish(whom, port, bind.c_str(), true)
                 : sys.middleman().publish(whom, port, bind.c_str(), true);
  if (!res)
    return make_error(config_errc::invalid, "cannot listen on " + bind + ":" +
                                                std::to_string(port) + ": " +
                                                sys.render(res.error()));
  return *res;
}

void publish_self(caf::event_based_actor* self, uint16_t port,
                  const std::string& bind,
                  std::function<void(caf::expected<uint16_t>)> done) {
  auto mm = link_manager(self->system());
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

void unpublish_self(caf::event_based_actor* self, uint16_t port) {
  caf::anon_send(link_manager(self->system()), caf::unpublish_atom::value,
                 self->address(), port);
}

void unpublish_actor(caf::actor_system& sys, const caf::actor& whom,
                     uint16_t port) {
  // caf/openssl/unpublish.hpp does not compile in 0.17.6 (it leaves the
  // actor out of the request): ask the OpenSSL module's actor directly.
  if (uses_tls(sys))
    caf::anon_send(link_manager(sys), caf::unpublish_atom::value,
                   whom.address(), port);
  else
    static_cast<void>(sys.middleman().unpublish(whom, port));
}

void connect_actor(caf::event_based_actor* self, const std::string& host,
                   uint16_t port, std::chrono::milliseconds timeout,
                   std::function<void(caf::expected<caf::actor>)> done) {
  auto mm = link_manager(self->system());
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
          [done, self, host, port](caf::error& err) {
            if (err == caf::sec::disconnect_during_handshake)
              explain_handshake_failure(self->system(), host, port);
            done(std::move(err));
          });
}

namespace {

using connect_request = caf::atom_constant<caf::atom("connect")>;

/// The actor behind `connect_actor_within`. It takes its timeout as an
/// argument: CAF 0.17 spawns a function actor without arguments through a
/// null tuple, which UBSan reports.
caf::behavior connect_helper(caf::event_based_actor* self, int64_t timeout_ms) {
  return {
      [self, timeout_ms](connect_request, const std::string& host,
                         uint16_t port) -> caf::result<caf::actor> {
        auto rp = self->make_response_promise<caf::actor>();
        connect_actor(self, host, port, std::chrono::milliseconds{timeout_ms},
                      [rp](caf::expected<caf::actor> a) mutable {
                        if (a)
                          rp.deliver(std::move(*a));
                        else
                          rp.deliver(std::move(a.error()));
                      });
        return rp;
      },
  };
}

} // namespace

caf::expected<caf::actor>
connect_actor_within(caf::actor_system& sys, const std::string& host,
                     uint16_t port, std::chrono::milliseconds timeout) {
  auto helper =
      sys.spawn(connect_helper, static_cast<int64_t>(timeout.count()));
  caf::scoped_actor self{sys};
  caf::expected<caf::actor> result{caf::actor{}};
  // The helper answers within `timeout`; the request's own deadline is a
  // second later, so that the helper's error (refused, timed out) arrives.
  self->request(helper, timeout + std::chrono::seconds{1},
                connect_request::value, host, port)
      .receive([&](caf::actor& a) { result = std::move(a); },
               [&](caf::error& e) { result = std::move(e); });
  self->send_exit(helper, caf::exit_reason::user_shutdown);
  return result;
}

caf::expected<caf::actor> connect_actor_blocking(caf::actor_system& sys,
                                                 const std::string& host,
                                                 uint16_t port) {
  auto res = uses_tls(sys) ? caf::openssl::remote_actor(sys, host, port)
                           : sys.middleman().remote_actor(host, port);
  if (!res && res.error() == caf::sec::disconnect_during_handshake)
    explain_handshake_failure(sys, host, port);
  return res;
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
  // A connect or handshake that took too long: a busy peer or machine.
  case caf::sec::connection_timeout:
    return true;
  default:
    return false;
  }
}

} // namespace sluice
