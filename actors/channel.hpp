#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <caf/expected.hpp>
#include <caf/fwd.hpp>

#include "actors/protocols.hpp"
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

/// The channel actor: holds events between sources and sinks. It speaks
/// `channel_actor` (actors/protocols.hpp), which states the messages and the
/// call rules it enforces; what follows is how it behaves.
///
/// Durability: a put is stored with its progress token; its ack goes out
/// once the batch is durable (memory: at once; file: after the group commit
/// that covers it). A progress request waits until the source's earlier
/// puts are durable, so a restarted source resumes after all of them.
///
/// Backpressure: each source's window is capped at its share of the
/// capacity (see `expected_sources`); credit never exceeds free capacity, so
/// the events held plus the credit outstanding stay within `capacity`; a full
/// channel stops granting and its sources stop reading.
///
/// Protocol violations (a put before attaching, a seq that does not
/// increase, a put over credit, a commit or rollback of a lease the sender
/// does not hold) are logged and counted in `protocol_errors`; the refused
/// ones answer the sender `channel_errc::protocol`.
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
channel_actor spawn_channel(caf::actor_system& sys, channel_config cfg,
                            bool detached);

} // namespace sluice
