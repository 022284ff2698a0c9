#pragma once

#include <memory>

#include <caf/fwd.hpp>

#include "actors/sql/protocol.hpp"
#include "connectors/table_registry.hpp"
#include "runtime/expr/functions.hpp"
#include "runtime/job/job_spec.hpp"
#include "runtime/metrics.hpp"

namespace sluice {

/// What a job actor runs.
struct job_config {
  job_spec job; ///< sound: `validate(job)` is empty
  std::shared_ptr<const table_registry> tables;
  std::shared_ptr<const expr::function_registry> fns;
  metrics_registry* metrics = nullptr; ///< outlives the job
  /// How `topic` tables without an `address` find their topic (a job of a
  /// topology file); empty elsewhere.
  topic_finder find_topic;
};

/// Spawns the job actor: it spawns one operator per stage instance, from
/// the sinks back to the scans (each producer is spawned knowing its
/// targets), linked to itself. It quits normally once every instance
/// ended normally, and with the first failure otherwise (the other
/// instances are killed with it). See `job_actor` for its messages.
job_actor spawn_job(caf::actor_system& sys, job_config cfg);

} // namespace sluice
