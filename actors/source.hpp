#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <caf/expected.hpp>
#include <caf/fwd.hpp>

#include "actors/protocols.hpp"
#include "connectors/interceptor.hpp"
#include "connectors/source_connector.hpp"
#include "runtime/metrics.hpp"

namespace sluice {

/// What a source actor needs to run.
struct source_config {
  std::string name;
  channel_actor channel;
  size_t batch_size = 1000;
  /// Longest pause between polls of an idle connector.
  int64_t max_idle_ms = 50;
  /// How long a stop waits for the channel's acks of batches in flight.
  int64_t stop_timeout_ms = 10'000;
  /// Builds the connector inside the actor (a restart builds a fresh one).
  std::function<caf::expected<source_connector_ptr>()> make_connector;
  /// Builds the interceptor chain inside the actor.
  std::function<caf::expected<std::vector<interceptor_ptr>>()>
      make_interceptors;
  std::shared_ptr<component_metrics> metrics;
};

/// A source actor as its channel and its supervisor see it: the channel's
/// feedback (actors/protocols.hpp) and `(stop_atom)`.
using source_actor = source_feedback_actor::extend<caf::reacts_to<stop_atom>>;

/// The source actor: drives a source connector and feeds one channel,
/// keeping `channel_actor`'s call rules (actors/protocols.hpp).
///
/// Lifecycle: asks the channel where it resumes (`progress_atom`), opens
/// its connector, attaches asking for a credit window of four batches, and
/// only after the attach reply polls the connector while it holds credit,
/// sending batches of up to `batch_size` events with increasing `seq`.
/// Backpressure: it never puts more events than the credit it holds, so a
/// full channel stops it reading.
/// Positions: after each batch it seals the connector's position under the
/// batch's seq; acks are recorded one by one and the connector commits the
/// newest seq before which every batch is acknowledged (never past one
/// that is not, whatever order acks come in), so a crash re-reads at most
/// the batches not yet acknowledged.
/// Failure: a connector error, or an error from its channel (a refused put),
/// ends the actor with that error; its supervisor restarts it and the new
/// connector resumes from the committed position. A finished connector
/// ends the actor normally once every batch is acknowledged.
/// Stop: `stop_atom` sends the partial batch, waits for outstanding acks
/// (bounded by `stop_timeout_ms`), commits and closes the connector, then
/// quits normally. Idempotent.
source_actor spawn_source(caf::actor_system& sys, source_config cfg,
                          bool detached);

} // namespace sluice
