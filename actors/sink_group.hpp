#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/expected.hpp>
#include <caf/fwd.hpp>

#include "actors/protocols.hpp"
#include "actors/sink_group_policy.hpp"
#include "runtime/metrics.hpp"

namespace sluice {

/// A sink group as others see it: its members take, commit and roll back
/// (`sink_feed_actor`); its supervisor stops it. The timers it sends itself
/// are not part of it. `spawn_sink_group` returns a `caf::actor` for the
/// supervisor; `caf::actor_cast<sink_group_actor>` gives this view.
using sink_group_actor = sink_feed_actor::extend<caf::reacts_to<stop_atom>>;

/// One member of a sink group.
struct sink_group_member {
  std::string name;
  int64_t priority = 0; ///< failover: higher wins
  /// Spawns the member (a sink actor) draining `feed`, the group; returns an
  /// invalid handle when it cannot. Called again for every restart.
  std::function<caf::actor(caf::actor_system&, sink_feed_actor feed)> spawn;
  std::shared_ptr<component_metrics> metrics; ///< the member's own; may be null
};

/// What a sink group actor needs to run.
struct sink_group_config {
  std::string name;
  caf::actor channel; ///< the channel every member drains
  std::vector<sink_group_member> members;
  /// Builds the policy inside the actor, from the members' names and
  /// priorities (a restart of the group starts with fresh penalties).
  std::function<caf::expected<std::unique_ptr<sink_group_policy>>(
      std::vector<member_status>)>
      make_policy;
  std::shared_ptr<component_metrics> metrics; ///< the group's; may be null
  /// Longest wait for a member's health check.
  std::chrono::milliseconds probe_timeout{10'000};
};

/// The sink group actor: the supervisor of its member sinks and, to them,
/// their channel (it speaks `sink_feed_actor`).
///
/// Lifecycle: spawns every member (they start live) and monitors them.
/// A member's `(take_atom, n)` waits in the group; when the policy makes a
/// waiting member eligible, the group takes a lease of `n` events from the
/// channel (`caf::infinite`: the channel is local by construction) and
/// hands it over as the reply. The group takes only for eligible waiting
/// members (failover: the active one; load balance: every live one, one
/// lease each), so with every member down it takes nothing and the channel
/// fills, which slows the sources.
/// Commit: a member's `(commit_atom, id)` commits the channel's lease and
/// forgives the member's failures. Failure: a member's `(rollback_atom, id)`,
/// or its death while holding a lease, penalizes it and hands the SAME lease
/// at once to the next eligible waiting member (no round trip to the
/// channel; counted in `rerouted`); with nobody to take it the group holds
/// it until a member comes back. A penalized member is restarted (if it
/// died) when its penalty ends and probed with `(probe_atom)`; only a
/// passing probe makes it live again (failover: failback when its priority
/// is the highest). Ids a member does not hold are refused with a logged
/// error and change nothing.
/// Stop: `(stop_atom)` answers waiting takes with empty leases, stops the
/// members, rolls back the leases it holds and quits normally once every
/// member has ended; so does an empty lease from the channel or the
/// channel's normal exit. Idempotent. The channel's failure ends the group
/// with that error (its supervisor restarts it with the channel); a
/// restart keeps nothing.
/// State: the group's `metrics` carry the active member, switches and
/// rerouted leases; each member's carry its state, failures and penalty.
caf::actor spawn_sink_group(caf::actor_system& sys, sink_group_config cfg);

} // namespace sluice
