#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/expected.hpp>
#include <caf/fwd.hpp>

#include "connectors/interceptor.hpp"
#include "connectors/source_connector.hpp"
#include "runtime/metrics.hpp"

namespace sluice {

/// What a source actor needs to run.
struct source_config {
  std::string name;
  caf::actor channel;
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

/// The source actor: drives a source connector and feeds one channel.
///
/// Lifecycle: opens its connector (which restores its committed position),
/// attaches to the channel asking for a credit window of four batches, then
/// polls the connector whenever it holds credit and sends batches of up to
/// `batch_size` events as `(put_atom, seq, event_batch)`.
/// Backpressure: it never sends more events than the credit the channel
/// granted, so a full channel stops it reading.
/// Positions: after each batch it seals the connector's position under the
/// batch's sequence number; the channel's `(ack_atom, seq, credit)` commits
/// it, so a crash re-reads at most the batches not yet acknowledged.
/// Failure: a connector error ends the actor with that error; its
/// supervisor restarts it and the new connector resumes from the committed
/// position. A finished connector ends the actor normally once every batch
/// is acknowledged.
/// Stop: `stop_atom` sends the partial batch, waits for outstanding acks
/// (bounded by `stop_timeout_ms`), commits and closes the connector, then
/// quits normally. Idempotent.
caf::actor spawn_source(caf::actor_system& sys, source_config cfg,
                        bool detached);

} // namespace sluice
