#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "runtime/atoms.hpp"
#include "runtime/forward_request.hpp"
#include "runtime/metrics.hpp"

namespace sluice {

/// A forward source as a forward sink on another node sees it (the
/// messages are described with `spawn_forward_source`): the sender's side
/// is checked by the compiler against this interface.
using forward_link_actor = caf::typed_actor<
    caf::replies_to<forward_atom, forward_request>::with<uint64_t>,
    caf::replies_to<ping_atom>::with<std::string>>;

/// What a forward source needs to run.
struct forward_source_config {
  std::string name;
  caf::actor channel;
  uint16_t port = 0; ///< 0: any free port (see `on_listening`)
  std::string bind = "127.0.0.1";
  /// Credit window asked of the channel, in events.
  uint64_t window = 4000;
  /// How long a stop waits for the channel's acks of batches in flight.
  int64_t stop_timeout_ms = 10'000;
  /// Bounds of the duplicate memory (see runtime/forward_dedup.hpp).
  size_t max_producers = 64;
  size_t max_intervals = 128;
  /// Called once with the port it listens on (tests bind port 0).
  std::function<void(uint16_t)> on_listening;
  std::shared_ptr<component_metrics> metrics;
};

/// The forward source: the receiving end of a forward link. It feeds its
/// channel like any source, with batches that a `forward` sink on another
/// node sends.
///
/// Lifecycle: asks its channel for its progress token (the duplicate
/// memory, see below), attaches with a credit window of `window` events,
/// then publishes itself on `bind:port` through the middleman.
/// Protocol between nodes (`forward_link_actor`; every type is registered
/// in runtime/type_ids.cpp):
/// - `(forward_atom, forward_request)` -> `uint64_t`: puts the request's
///   batches into the channel and answers only once the channel acked all
///   of them (durable), with the number of events it dropped as
///   duplicates. Without credit the request waits (its promise is kept):
///   backpressure crosses the link. Requests are served in arrival order.
/// - `(ping_atom)` -> `std::string`: its name; a cheap health check.
/// Origin: each batch put into the channel carries the origin (producer,
/// seq) of the request that brought it, unless it already has one (over
/// several hops the first relay's name stays).
/// Duplicates: a batch is named by (producer, seq). One already put into
/// the channel is not put again: it is answered as delivered (once the
/// first copy is acked) and counted in `duplicates_dropped` (events). The
/// names put so far travel as the progress token of every put, so a file
/// channel keeps them across a restart of this node; a memory channel
/// keeps them while it lives.
/// Failure: the channel's death ends it with an error; requests in hand
/// are then answered with an error by CAF (broken promise), so the sender
/// rolls back. Stop: `stop_atom` unpublishes, refuses new requests, waits
/// (bounded by `stop_timeout_ms`) for the acks of what it put, answers what
/// it could not put with an error and quits normally. Idempotent.
caf::actor spawn_forward_source(caf::actor_system& sys,
                                forward_source_config cfg);

} // namespace sluice
