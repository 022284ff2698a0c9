#pragma once

#include <cstdint>
#include <string>

#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "runtime/atoms.hpp"
#include "runtime/event_batch.hpp"
#include "runtime/lease.hpp"
#include "runtime/topic_types.hpp"

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

// Topics (issue 6). The message types (append_result, read_batch,
// fetch_result, shard_offsets, topic_metadata) and the two handles are
// defined in runtime/topic_types.hpp, so that runtime/type_ids.cpp can
// register them; they are declared again here, identically (the compiler
// refuses any difference), next to their rules. Topic sinks and sources on
// other nodes speak these protocols through the middleman, so every request
// to a shard or topic carries a timeout.

/// One shard of a topic: owns one shard log (see actors/shard.hpp).
///
/// - `(append_atom, std::string producer, uint64_t seq, event_batch)` ->
///   `append_result`: appends the batch as one record batch and answers
///   once it is durable under the topic's fsync policy (`fsync = "batch"`:
///   after the sync that follows the run of appends in the mailbox; a
///   duration: after the timer's group commit). A batch whose
///   (producer, seq) the shard already appended is not appended again: the
///   answer says `duplicate = true`, with the first copy's base offset and
///   count when the shard still knows them (else the shard's end offset
///   when the duplicate arrived, and count 0), once that copy is durable
///   (when the shard no longer knows where it is: once everything appended
///   before the duplicate arrived is durable).
///   Preconditions: `producer` is not empty, `seq > 0`, the batch is not
///   empty and well formed (`event_batch::well_formed`), and its origin
///   producer, if any, is at most 65535 bytes; a violation is answered
///   `topic_errc::bad_request`, logged and counted in `protocol_errors`. A full
///   disk (the shard's `max_disk_bytes` or the file system's `min_free_space`)
///   is answered `topic_errc::disk_full` with the reason, nothing written: the
///   writer backs off and retries (backpressure). So that a producer's
///   batches keep their order, its later batches (a higher seq) are refused
///   `topic_errc::disk_full` too while the refused one has not been
///   appended, even when they would fit (for at most
///   `shard_config::held_order_ms`). A shard whose log broke (a
///   failed sync) answers `topic_errc::io_error` and ends with it; its topic
///   restarts it.
/// - `(fetch_atom, uint64_t offset, uint64_t max_bytes, int64_t wait_ms)` ->
///   `fetch_result`: whole durable record batches from the one holding
///   `offset` on, at most `max_bytes` (clamped to 64 MiB; at least one batch
///   when any is available). An offset below the shard's start reads from the
///   start (the answer's `start_offset` shows what retention removed). Without
///   durable data at `offset` the answer is held (long poll) until some is
///   durable or `wait_ms` passed (then empty batches); `wait_ms` is capped
///   at 60 s, so the requester's timeout must be longer than its `wait_ms`.
///   Preconditions: `offset` is at most the shard's end offset; a fetch
///   past it is answered `topic_errc::bad_request`. A shard holds at most
///   1024 fetches at once; one more is answered `topic_errc::busy` at once.
/// - `(offsets_atom)` -> `shard_offsets`: start, end and durable end.
/// - `(offset_for_time_atom, int64_t ts_ms)` -> `uint64_t`: the first offset
///   appended at or after `ts_ms`, at most the durable end (the durable end
///   when none).
/// - `(commit_atom, std::string group, uint64_t offset)` -> `bool` (`true`):
///   records consumer group `group`'s position (the next offset it reads)
///   and answers once it is on disk. The shard groups the writes: at most
///   one every 100 ms, and one at stop. A failed write is answered with
///   its error. Preconditions: `group` is 1 to 65535 bytes and `offset` is
///   at most the durable end; a violation is answered
///   `topic_errc::bad_request`.
/// - `(committed_atom, std::string group)` -> `uint64_t`: the group's
///   committed position; `topic_errc::no_committed_offset` when it has none.
/// - `(groups_atom)` -> `group_offsets`: every group with a committed
///   position in the shard, and that position (`sluice topic describe`).
/// - `(stop_atom)`: syncs, answers the appends it made durable and the held
///   fetches with what is durable, writes the groups' positions (answering
///   the commits waiting for it), closes the log and quits normally.
///   Requests that arrive after it find the shard gone: the requester gets
///   `caf::sec::request_receiver_down`. Idempotent.
using shard_actor = caf::typed_actor<
    caf::replies_to<append_atom, std::string, uint64_t,
                    event_batch>::with<append_result>,
    caf::replies_to<fetch_atom, uint64_t, uint64_t,
                    int64_t>::with<fetch_result>,
    caf::replies_to<offsets_atom>::with<shard_offsets>,
    caf::replies_to<offset_for_time_atom, int64_t>::with<uint64_t>,
    caf::replies_to<commit_atom, std::string, uint64_t>::with<bool>,
    caf::replies_to<committed_atom, std::string>::with<uint64_t>,
    caf::replies_to<groups_atom>::with<group_offsets>,
    caf::reacts_to<stop_atom>>; // the same type as runtime/topic_types.hpp's

/// A topic: N shards in one directory, on one node (see actors/topic.hpp).
///
/// - `(metadata_atom)` -> `topic_metadata`: its name, its shard count and
///   the handles of its running shards (shard i at index i). It supervises
///   the shards: a failed shard is restarted and reopens its log, so a
///   handle may go stale. Topic sinks and sources monitor the shards they
///   use; when one ends, or a request to it fails with
///   `caf::sec::request_receiver_down` or `topic_errc::stopped`, they ask
///   for the metadata again with a back-off (100 ms doubling to 2 s, at
///   most 12 times in a row) and retry what was in flight (a sink rolls its
///   leases back and writes them again: the shards drop what they already
///   hold as duplicates). Asked while a shard restarts, the answer waits
///   until every shard runs (at most a few seconds; then the topic answers
///   `topic_errc::stopped`).
/// - `(stop_atom)`: stops every shard (each syncs and closes its log) and
///   quits normally once all ended. Idempotent.
/// A node reaches a topic on another node through that node's control
/// port: the node actor answers `(topic_atom, std::string name)` with the
/// `topic_actor` (engine/node.hpp).
using topic_actor =
    caf::typed_actor<caf::replies_to<metadata_atom>::with<topic_metadata>,
                     caf::reacts_to<stop_atom>>; // as in
                                                 // runtime/topic_types.hpp

} // namespace sluice
