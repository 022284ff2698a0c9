#pragma once

#include <cstdint>
#include <string>

#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "runtime/atoms.hpp"
#include "runtime/event_batch.hpp"
#include "runtime/lease.hpp"

namespace sluice {

// The typed interfaces between actors. The compiler checks every message
// against them; the rules a type cannot say are written here and enforced
// by the receiving actor, which answers a violation as written.

/// What a sink drains: a channel, or a sink group that hands its members
/// the leases it takes from its channel.
///
/// - `(take_atom, uint64_t max_events)` -> `lease`: whole batches from the
///   head, at most `max_events` events but at least one batch. Without data
///   the answer waits until data arrives, so the request has no timeout:
///   the feed is always local to its sink. During a stop the answer is an
///   empty lease (id 0). The feed monitors the taker.
/// - `(commit_atom, uint64_t lease_id)` forgets a lease's events;
///   `(rollback_atom, uint64_t lease_id)` returns them to the head in order.
///   Each lease ends with exactly one of the two. A taker may hold several
///   leases at once; an id it does not hold (unknown, already ended, or
///   another taker's) is refused with a logged error and changes nothing.
/// - A taker that dies holding leases has them rolled back.
using sink_feed_actor =
    caf::typed_actor<caf::replies_to<take_atom, uint64_t>::with<lease>,
                     caf::reacts_to<commit_atom, uint64_t>,
                     caf::reacts_to<rollback_atom, uint64_t>>;

/// What a channel tells a source that attached to it.
///
/// - `(ack_atom, uint64_t seq, uint64_t credit)`: batch `seq` is durable in
///   the channel; `credit` more events may be put. Each put is acked once.
///   A channel acks in put order, but a source must not rely on it (a
///   source fed by several readers, or a future channel, may see acks out of
///   order): it records acks one by one and treats as acknowledged only the
///   contiguous run of seqs from its first put.
/// - `(credit_atom, uint64_t n)`: `n` more events may be put.
using source_feedback_actor =
    caf::typed_actor<caf::reacts_to<ack_atom, uint64_t, uint64_t>,
                     caf::reacts_to<credit_atom, uint64_t>>;

/// A channel, as its sources and sinks see it (see actors/channel.hpp for
/// its behaviour).
///
/// Sources:
/// - `(progress_atom, std::string name)` -> `std::string`: the resume token
///   stored with the newest batch of source `name` (empty if none).
/// - `(attach_atom, uint64_t window, std::string name)` -> `uint64_t`:
///   registers the sender as source `name` (empty: a source whose progress
///   is not kept) and answers its first credit. The sender must speak
///   `source_feedback_actor`.
/// - `(put_atom, uint64_t seq, event_batch, std::string progress)`: a batch
///   and where its source resumes after it (empty: nowhere).
///   Preconditions, each enforced: the sender attached and got its attach
///   reply (a put before it is refused with `channel_errc::protocol`, sent
///   back as an error and logged); `seq` is greater than the sender's
///   previous put (otherwise refused the same way); the batch is within the
///   credit the sender holds (a put over credit is accepted, since the
///   events already exist, but counted and logged as a protocol violation:
///   credit bounds the channel only when sources keep it).
/// Sinks: `sink_feed_actor`.
/// Lifecycle: `(stop_atom)` stops as the channel's type says (memory:
/// drain; file: persist); `(stop_atom, drain_atom)` drains.
using channel_actor = sink_feed_actor::extend<
    caf::replies_to<progress_atom, std::string>::with<std::string>,
    caf::replies_to<attach_atom, uint64_t, std::string>::with<uint64_t>,
    caf::reacts_to<put_atom, uint64_t, event_batch, std::string>,
    caf::reacts_to<stop_atom>, caf::reacts_to<stop_atom, drain_atom>>;

/// A sink, as its supervisor or sink group sees it (see actors/sink.hpp).
///
/// - `(probe_atom)` -> `bool`: `true` when the connector's health check
///   passes, else its error. Writes nothing.
/// - `(stop_atom)`: finish the lease in hand, close, quit normally.
using sink_actor = caf::typed_actor<caf::replies_to<probe_atom>::with<bool>,
                                    caf::reacts_to<stop_atom>>;

} // namespace sluice
