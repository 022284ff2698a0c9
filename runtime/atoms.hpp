#pragma once

#include <caf/atom.hpp>

namespace sluice {

// Source <-> channel.
using attach_atom = caf::atom_constant<caf::atom("attach")>;
using put_atom = caf::atom_constant<caf::atom("put")>;
using ack_atom = caf::atom_constant<caf::atom("ack")>;
using credit_atom = caf::atom_constant<caf::atom("credit")>;

// Sink <-> channel.
using take_atom = caf::atom_constant<caf::atom("take")>;
using commit_atom = caf::atom_constant<caf::atom("commit")>;
using rollback_atom = caf::atom_constant<caf::atom("rollback")>;

// Lifecycle and timers.
using stop_atom = caf::atom_constant<caf::atom("stop")>;
using drain_atom = caf::atom_constant<caf::atom("drain")>;
using poll_atom = caf::atom_constant<caf::atom("poll")>;
using sync_atom = caf::atom_constant<caf::atom("sync")>;
using tick_atom = caf::atom_constant<caf::atom("tick")>;
using restart_atom = caf::atom_constant<caf::atom("restart")>;
using timeout_atom = caf::atom_constant<caf::atom("timeout")>;
using get_atom = caf::atom_constant<caf::atom("get")>;
using progress_atom = caf::atom_constant<caf::atom("progress")>;
using probe_atom = caf::atom_constant<caf::atom("probe")>;

// Between nodes.
using forward_atom = caf::atom_constant<caf::atom("forward")>;
using ping_atom = caf::atom_constant<caf::atom("ping")>;
using reconnect_atom = caf::atom_constant<caf::atom("reconnect")>;
using status_atom = caf::atom_constant<caf::atom("status")>;

// Topics and shards (actors/protocols.hpp: shard_actor, topic_actor).
using append_atom = caf::atom_constant<caf::atom("append")>;
using fetch_atom = caf::atom_constant<caf::atom("fetch")>;
using offsets_atom = caf::atom_constant<caf::atom("offsets")>;
using offset_for_time_atom = caf::atom_constant<caf::atom("offset_ts")>;
using committed_atom = caf::atom_constant<caf::atom("committed")>;
using groups_atom = caf::atom_constant<caf::atom("groups")>;
using metadata_atom = caf::atom_constant<caf::atom("metadata")>;
using topic_atom = caf::atom_constant<caf::atom("topic")>;
using retention_atom = caf::atom_constant<caf::atom("retention")>;
using flush_atom = caf::atom_constant<caf::atom("flush")>;
using wake_atom = caf::atom_constant<caf::atom("wake")>;

// SQL jobs (actors/sql/protocol.hpp: operator_actor, job_actor).
using rows_atom = caf::atom_constant<caf::atom("rows")>;
using job_atom = caf::atom_constant<caf::atom("job")>;

} // namespace sluice
