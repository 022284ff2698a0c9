#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include <caf/actor.hpp>
#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <caf/fwd.hpp>

namespace caf {
class actor_system_config;
} // namespace caf

namespace sluice {

// How nodes reach one another: every publish and connect between nodes goes
// through these functions, so that a transport (TLS) is chosen in one place.

/// Settings of the links between nodes.
struct cluster_link_settings {
  /// How often a connection sends a heartbeat; 0 = never.
  int64_t heartbeat_interval_ms = 100;
  /// A connection silent this long is closed (its proxies report down).
  int64_t peer_timeout_ms = 500;
  /// PEM files of this node's certificate, its private key and the CA that
  /// signs every node; a certificate turns on mutual TLS for every link.
  /// The caller checks the files before the actor system starts: CAF aborts
  /// the process on an SSL endpoint it cannot set up.
  std::string certificate;
  std::string key;
  std::string ca_file;

  bool tls() const noexcept { return !certificate.empty(); }
};

/// Loads the middleman into `cfg` with heartbeats and a connection timeout,
/// so a hung peer (SIGSTOP) is detected, not only a dead one; with a
/// certificate, also the OpenSSL module, through which every function below
/// then publishes and connects (peers must present a certificate the CA
/// signed; plain-text peers are refused).
void configure_cluster(caf::actor_system_config& cfg,
                       const cluster_link_settings& settings);

/// Publishes `whom` on `port` of address `bind` (0: any free port); returns
/// the port it listens on.
caf::expected<uint16_t> publish_actor(caf::actor_system& sys,
                                      const caf::actor& whom, uint16_t port,
                                      const std::string& bind);

/// Publishes `self` on `port` of `bind` without blocking it: calls `done`
/// with the port it listens on or the error.
void publish_self(caf::event_based_actor* self, uint16_t port,
                  const std::string& bind,
                  std::function<void(caf::expected<uint16_t>)> done);

/// Stops publishing `self` on `port` without blocking it, through the same
/// actor as `publish_self` (the OpenSSL module's under TLS).
void unpublish_self(caf::event_based_actor* self, uint16_t port);

/// Stops publishing `whom` on `port`.
void unpublish_actor(caf::actor_system& sys, const caf::actor& whom,
                     uint16_t port);

/// Connects to the actor published at `host:port` without blocking `self`:
/// calls `done` with the actor or the error (after at most `timeout`).
void connect_actor(caf::event_based_actor* self, const std::string& host,
                   uint16_t port, std::chrono::milliseconds timeout,
                   std::function<void(caf::expected<caf::actor>)> done);

/// Connects to the actor published at `host:port`, blocking the caller for
/// at most `timeout` (a helper actor runs `connect_actor`, which needs an
/// event-based actor).
caf::expected<caf::actor>
connect_actor_within(caf::actor_system& sys, const std::string& host,
                     uint16_t port, std::chrono::milliseconds timeout);

/// Connects to the actor published at `host:port`, blocking the caller.
caf::expected<caf::actor> connect_actor_blocking(caf::actor_system& sys,
                                                 const std::string& host,
                                                 uint16_t port);

/// True when the links of `sys` run over TLS.
bool uses_tls(const caf::actor_system& sys);

/// True for errors a peer that is not up yet (or restarting) causes:
/// connection refused, unreachable, a closed connection. Retry later.
bool is_transient_link_error(const caf::error& err);

} // namespace sluice
