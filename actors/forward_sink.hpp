#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "runtime/metrics.hpp"

namespace sluice {

/// What a forward sink needs to run.
struct forward_sink_config {
  std::string name;
  caf::actor feed; ///< its channel, or the sink group that feeds it
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  size_t batch_size = 1000; ///< most events per lease
  /// How long the peer may take to commit a lease before it fails.
  int64_t timeout_ms = 10'000;
  /// How long it keeps trying to reach a peer that is not up; 0: for ever.
  int64_t connect_timeout_ms = 0;
  /// How long a health probe waits for the peer's answer.
  int64_t probe_timeout_ms = 1'000;
  /// Leases sent and not yet answered, at most.
  size_t max_in_flight = 2;
  /// Names the channel it drains for the peer's duplicate check
  /// ("node/channel"); with the lease's epoch it makes the producer id.
  std::string origin;
  std::shared_ptr<component_metrics> metrics;
};

/// The forward sink: the sending end of a forward link. It drains a feed
/// like a sink and sends each lease to a forward source on another node.
///
/// Lifecycle: connects to `host:port` through the middleman without
/// blocking; while the peer is not up (connection refused) it tries again
/// with a back-off from 100 ms to 2 s, for ever or until
/// `connect_timeout_ms`, and takes nothing meanwhile. Connected, it
/// monitors the peer and takes up to `max_in_flight` leases, each sent as
/// one `(forward_atom, forward_request)` request with `timeout_ms`.
/// Delivery: a lease commits only when the peer answered that its channel
/// committed every batch (at-least-once); the peer's answer counts the
/// events it dropped as duplicates (`duplicates_dropped`). A batch keeps its
/// name (producer, seq) when it is sent again.
/// Failure: an error answer, a timeout (a hung peer; the middleman's
/// connection timeout closes its connection) or the peer's down message
/// rolls back every lease in flight and ends the actor with the error: its
/// supervisor or sink group restarts it, and it connects again.
/// Health: `(probe_atom)` -> `true` when the peer answers a ping within
/// `probe_timeout_ms`; writes nothing.
/// Stop: `stop_atom` takes no more leases, waits (bounded by `timeout_ms`)
/// for the answers of those in flight, and quits normally. Idempotent.
caf::actor spawn_forward_sink(caf::actor_system& sys, forward_sink_config cfg);

} // namespace sluice
