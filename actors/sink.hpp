#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <caf/actor.hpp>
#include <caf/expected.hpp>
#include <caf/fwd.hpp>

#include "connectors/sink_connector.hpp"
#include "runtime/metrics.hpp"

namespace sluice {

/// What a sink actor needs to run.
struct sink_config {
  std::string name;
  caf::actor channel;
  size_t batch_size = 1000; ///< most events per lease
  /// Builds the connector inside the actor (a restart builds a fresh one).
  std::function<caf::expected<sink_connector_ptr>()> make_connector;
  std::shared_ptr<component_metrics> metrics;
};

/// The sink actor: drains one channel into a sink connector.
///
/// Lifecycle: opens its connector, then asks its channel for a lease of up
/// to `batch_size` events with `(take_atom, n)`; writes every batch of the
/// lease, flushes, and sends `(commit_atom, id)`; then asks again. Only one
/// lease is open at a time, so demand is the backpressure: a slow sink
/// leaves events in the channel, which then slows the sources.
/// Failure: when a write or flush fails, it sends `(rollback_atom, id)`
/// (the batches return to the channel's head in order) and ends with the
/// error; its supervisor restarts it with back-off and the batch is
/// delivered again. If it dies without a rollback, the channel rolls its
/// lease back when it sees the down message.
/// Time: the connector's `tick` runs about once a second (file rolling).
/// Health: `(probe_atom)` -> `true` when the connector's `probe` passes,
/// else its error; it writes nothing (a sink group asks before it hands a
/// recovering sink real batches).
/// Stop: `stop_atom` lets the lease in hand finish, closes the connector
/// and quits normally; so does an empty lease (the channel is stopping) or
/// the channel's normal exit. Idempotent. A restart keeps nothing but what the
/// connector wrote.
caf::actor spawn_sink(caf::actor_system& sys, sink_config cfg, bool detached);

} // namespace sluice
