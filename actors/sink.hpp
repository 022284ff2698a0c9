#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <caf/expected.hpp>
#include <caf/fwd.hpp>

#include "actors/protocols.hpp"
#include "connectors/sink_connector.hpp"
#include "runtime/metrics.hpp"

namespace sluice {

/// What a sink actor needs to run.
struct sink_config {
  std::string name;
  /// Its channel, or a sink group that feeds it.
  sink_feed_actor channel;
  size_t batch_size = 1000; ///< most events per lease
  /// Builds the connector inside the actor (a restart builds a fresh one).
  std::function<caf::expected<sink_connector_ptr>()> make_connector;
  std::shared_ptr<component_metrics> metrics;
};

/// The sink actor: drains a `sink_feed_actor` (a channel or a sink group;
/// actors/protocols.hpp) into a sink connector, and speaks `sink_actor`.
///
/// Lifecycle: opens its connector, then takes a lease of up to `batch_size`
/// events; writes every batch of the lease, flushes, and commits it; then
/// takes again. It holds one lease at a time, so demand is the
/// backpressure: a slow sink leaves events in the channel, which then slows
/// the sources.
/// Failure: when a write or flush fails, it rolls the lease back (the
/// batches return to the feed's head in order) and ends with the error; its
/// supervisor restarts it with back-off and the batch is delivered again.
/// If it dies without a rollback, the feed rolls the lease back when it sees
/// the down message.
/// Time: the connector's `tick` runs about once a second (file rolling).
/// Health: a probe runs the connector's `probe` and writes nothing (a sink
/// group asks before it hands a recovering sink real batches).
/// Stop: `stop_atom` lets the lease in hand finish, closes the connector
/// and quits normally; so does an empty lease (the feed is stopping) or
/// the feed's normal exit. Idempotent. A restart keeps nothing but what the
/// connector wrote.
sink_actor spawn_sink(caf::actor_system& sys, sink_config cfg, bool detached);

} // namespace sluice
