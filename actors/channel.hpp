#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <caf/actor.hpp>
#include <caf/expected.hpp>
#include <caf/fwd.hpp>

#include "runtime/channel_store.hpp"
#include "runtime/metrics.hpp"

namespace sluice {

/// What a channel actor needs to run.
struct channel_config {
  std::string name;
  size_t capacity = 10'000;            ///< events held, queued or leased
  size_t transaction_capacity = 1'000; ///< largest lease, in events
  size_t byte_capacity = 256 << 20;    ///< bytes held, queued or leased
  bool drain_on_stop = true;           ///< memory: drain; file: persist
  int64_t drain_timeout_ms = 30'000;
  /// Sources the topology connects; each source's credit window is at most
  /// capacity / max(this, sources attached), so one that sends nothing
  /// cannot hold the credit the others need.
  size_t expected_sources = 1;
  /// Builds the store inside the actor (so a restart builds a fresh one).
  std::function<caf::expected<channel_store_ptr>()> make_store;
  std::shared_ptr<component_metrics> metrics;
};

/// The channel actor: holds events between sources and sinks.
///
/// Protocol, sources:
/// - `(progress_atom, std::string name)` -> `std::string`: the resume token
///   stored with the newest batch of source `name` (empty if none); a
///   source asks before it opens its connector.
/// - `(attach_atom, uint64_t window, std::string name)` -> `uint64_t
///   credit`: registers the sender as source `name` that wants up to
///   `window` events of credit; the reply is its first credit (maybe 0).
///   The channel monitors the source. `(attach_atom, uint64_t window)`
///   attaches a source without a name (its progress is not kept).
/// - `(put_atom, uint64_t seq, event_batch, std::string progress)`: a batch
///   within credit and where its source resumes after it (empty: nowhere);
///   the store writes both together. `(put_atom, uint64_t seq,
///   event_batch)` is a put without progress. The channel answers
///   `(ack_atom, uint64_t seq, uint64_t credit)` once the batch is durable
///   (memory: at once; file: after the group commit that covers it), in put
///   order, with new credit.
/// - `(credit_atom, uint64_t n)` goes to a source when space frees up.
/// Protocol, sinks:
/// - `(take_atom, uint64_t max_events)` -> `lease`: whole batches from the
///   head. Without data the answer waits until data arrives; during a stop
///   it is an empty lease (id 0). The channel monitors the sink.
/// - `(commit_atom, uint64_t lease_id)` forgets the leased events;
///   `(rollback_atom, uint64_t lease_id)` returns them to the head in order.
///   A sink that dies with leases has them rolled back.
///
/// Backpressure: each source's window is capped at its share of the
/// capacity (see `expected_sources`); credit never exceeds free capacity, so
/// the events held plus the credit outstanding stay within `capacity`; a full
/// channel stops granting and its sources stop reading.
///
/// Stop: `stop_atom` refuses new attaches and credit; a draining channel
/// (memory, or any channel sent `(stop_atom, drain_atom)` because every
/// source finished) waits until every event is committed (or
/// `drain_timeout_ms`); a persisting one (file) hands out no more leases and
/// waits only for open ones; then it syncs, closes its store and quits:
/// normally, or with `channel_errc::events_lost` (saying how many) when a
/// memory channel still held undelivered events. Idempotent.
///
/// A restart keeps what the store keeps: nothing for memory, every appended
/// and synced batch for file.
caf::actor spawn_channel(caf::actor_system& sys, channel_config cfg,
                         bool detached);

} // namespace sluice
