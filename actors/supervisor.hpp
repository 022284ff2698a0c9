#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "runtime/metrics.hpp"

namespace sluice {

/// The live handles of a supervisor's children, by name.
using child_handles = std::map<std::string, caf::actor>;

/// One child of a supervisor.
struct child_spec {
  std::string name;
  /// Children stop phase by phase, lowest first (sources, channels, sinks).
  int stop_phase = 0;
  /// Children that must restart whenever one of these restarts, because
  /// they hold its handle (a channel's sources and sinks).
  std::vector<std::string> dependents;
  /// Spawns the child; `peers` holds the handles of children started
  /// before it. Returns an invalid handle when it cannot.
  std::function<caf::actor(caf::actor_system&, const child_handles& peers)>
      start;
  std::shared_ptr<component_metrics> metrics; ///< counts restarts; may be null
  /// Understands `(stop_atom, drain_atom)`: when the supervisor stops
  /// because its finish phase ended, it asks this child to drain.
  bool drains = false;
};

/// When and how often failed children are restarted.
struct restart_policy {
  int64_t max_restarts = 10; ///< within `window_ms`, per child
  int64_t window_ms = 60'000;
  int64_t initial_backoff_ms = 100;
  int64_t max_backoff_ms = 10'000;
};

/// What a supervisor needs to run.
struct supervisor_config {
  std::string name = "supervisor";
  restart_policy policy;
  std::vector<child_spec> children; ///< started in this order
  /// When every child of this phase has ended normally (all sources are
  /// finished), the supervisor stops the rest; negative disables it.
  int finish_phase = 0;
  /// Longest wait for one stop phase before its children are killed.
  int64_t phase_timeout_ms = 60'000;
};

/// The supervisor actor: starts its children and keeps them running.
///
/// Restarts are one-for-one: a child that ends with an error is started
/// again after an exponential back-off (initial, doubled per failure within
/// the window, capped), together with its dependents. A child that fails
/// more than `max_restarts` times within `window_ms` escalates: the
/// supervisor logs why, kills the rest and ends with
/// `supervisor_errc::max_restarts_exceeded`, which its own supervisor (or
/// the engine, which reports it and sets the exit code) sees.
/// A child that fails with a permanent error (`is_permanent`: a path in
/// the way, a command that does not exist) is not restarted: the supervisor
/// escalates at once with `supervisor_errc::permanent_failure` naming the
/// child and the cause. A child that ends normally is not restarted. When every
/// child of `finish_phase` has ended normally, the supervisor stops the rest
/// and asks children that `drains` to deliver everything first.
/// `(get_atom, std::string name)` -> the running child of that name.
/// Stop: `stop_atom` stops the children phase by phase with `stop_atom`,
/// waiting for each phase to end (killing what outlives
/// `phase_timeout_ms`), then quits normally. Idempotent. During a stop,
/// children of phases not yet asked to stop (sinks while their channel
/// drains) are still restarted as above; the others are not, except that
/// dependents restarted with such a child (sources with their channel)
/// whose phase was already asked to stop are asked again at once. A child
/// that ends with `channel_errc::events_lost` while stopping makes the
/// supervisor quit with that error once the stop is done.
caf::actor spawn_supervisor(caf::actor_system& sys, supervisor_config cfg);

} // namespace sluice
