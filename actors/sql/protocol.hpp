#pragma once

#include <cstdint>

#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "actors/protocols.hpp"
#include "runtime/atoms.hpp"
#include "runtime/columnar/chunk.hpp"

namespace sluice {

// The protocols of a running SQL job (engine/jobs.hpp starts them). A job
// actor spawns one operator actor per stage instance and wires the graph
// when it spawns them: every producer knows its targets, every consumer
// how many producers each of its ports has. The graph is local by
// construction (one process), so no attach handshake is needed: a producer
// starts with the credit its consumer grants every producer (4 batches of
// rows) and sends within it.

/// A stage instance (scan, window, group, join or sink operator), as its
/// producers and its job see it.
///
/// - `(rows_atom, uint64_t seq, stream_chunk)`: rows, then the producer's
///   watermark after them (runtime/columnar/chunk.hpp).
///   Preconditions, each enforced (a violation is logged, counted in the
///   receiver's `protocol_errors` and dropped; nothing it held is
///   processed): `chunk.port` is a port the stage has and `chunk.producer`
///   a producer of it; `seq` is one more than that producer's previous
///   chunk (the first is 1); nothing arrives after the producer's
///   `chunk_end`. Rows over the producer's credit are accepted (they exist
///   already) and counted as protocol errors too. A watermark lower than
///   the producer's last is ignored (the watermark never goes down).
///   Every chunk with rows is answered `(ack_atom, seq, credit)` on
///   `source_feedback_actor` once processed, `credit` being its row count:
///   an operator whose own output waits for credit holds these answers, so
///   a slow sink slows the operators before it, and they the scans, which
///   stop reading. Chunks without rows need no credit and get no answer.
/// - `(stop_atom)`: the job is stopping. A scan stops reading and ends its
///   output without advancing its watermark; another operator, once all its
///   inputs ended, discards its open windows (logging how many) instead of
///   firing them. Sinks write what reaches them and close. Idempotent.
/// Once every producer of every port sent `chunk_end`, an operator fires
/// what the end of time allows (unless stopping), sends `chunk_end` to its
/// targets and quits normally.
using operator_actor = source_feedback_actor::extend<
    caf::reacts_to<rows_atom, uint64_t, stream_chunk>,
    caf::reacts_to<stop_atom>>;

/// A running SQL job (actors/sql/job.hpp).
///
/// - `(stop_atom)`: stops the job as `operator_actor`'s stop says, scans
///   last, so every operator learns of the stop before its inputs end.
///   The job quits normally once every instance ended. Idempotent.
/// An instance that fails ends the job with its error (all for one): the
/// other instances are killed and the job quits with that error, unless
/// the job's restart strategy (`job_options::restart`) allows a restart:
/// then, once every instance is gone, the job waits the strategy's delay
/// and spawns every instance again, reading its sources from the
/// beginning. A stop during that wait ends the job normally.
/// - `(restart_atom)`: internal, the job sends it to itself when the delay
///   is over; ignored at any other time.
using job_actor =
    caf::typed_actor<caf::reacts_to<stop_atom>, caf::reacts_to<restart_atom>>;

} // namespace sluice
