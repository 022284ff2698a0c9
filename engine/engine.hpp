#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <caf/actor.hpp>
#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <caf/fwd.hpp>

#include "actors/protocols.hpp"
#include "config/topology.hpp"
#include "connectors/registry.hpp"
#include "connectors/table_registry.hpp"
#include "runtime/expr/functions.hpp"
#include "runtime/metrics.hpp"

namespace sluice {

/// How an engine runs, beyond its topology.
struct engine_options {
  size_t threads = 0;            ///< scheduler threads; 0 = one per core
  int64_t stats_interval_ms = 0; ///< log every component's metrics; 0 = off
  /// The node whose components this engine runs; empty: every node.
  std::string node;
};

/// The table connectors and functions the topology's SQL jobs
/// (`[jobs.NAME]`) may use.
struct sql_registries {
  table_registry tables = table_registry::builtin();
  expr::function_registry functions = expr::function_registry::builtin();
};

/// Spawns an actor written by an embedding program that speaks to a channel
/// through `channel_actor` (actors/protocols.hpp, which states the call
/// rules): a sink takes and commits leases; a source attaches, then puts
/// batches within its credit, and handles `source_feedback_actor`'s
/// messages. The actor also gets `stop_atom` when the engine stops.
using actor_factory =
    std::function<caf::actor(caf::actor_system&, channel_actor channel)>;

/// Runs one topology: an actor system, a supervisor, and the topic,
/// source, channel and sink actors and SQL jobs under it. The CLI's `run`
/// and embedding programs both use it.
class engine {
 public:
  ~engine();

  engine(const engine&) = delete;
  engine& operator=(const engine&) = delete;

  /// Builds an engine for `spec`. `start` validates it against `registry`
  /// and compiles its jobs' scripts, and returns every problem in the
  /// error's text when one is wrong.
  static caf::expected<std::unique_ptr<engine>>
  make(topology_spec spec,
       connector_registry registry = connector_registry::builtin(),
       engine_options opts = {}, sql_registries sql = {});

  /// Adds an actor of the embedding program that drains `channel` (before
  /// `start`).
  caf::error add_sink_actor(std::string name, std::string channel,
                            actor_factory factory);

  /// Adds an actor of the embedding program that feeds `channel`.
  caf::error add_source_actor(std::string name, std::string channel,
                              actor_factory factory);

  /// Starts every component.
  caf::error start();

  /// Asks every component to stop: sources first, then channels drain or
  /// persist, then sinks. Thread-safe and idempotent; returns at once.
  void stop();

  /// Blocks until the topology has stopped: after `stop`, after every
  /// source finished, or after a failure escalated. Returns that failure.
  caf::error wait();

  /// The actor running component `name` now (it changes when the component
  /// restarts); a topic is `topics.NAME` (a `topic_actor`, to
  /// `caf::actor_cast`). Blocks for a request to the supervisor. Drop the
  /// handle before `wait()`: a live handle keeps a detached actor's thread, and
  /// so the engine, from ending.
  caf::expected<caf::actor> component(const std::string& name);

  /// Metrics of every component, readable from any thread.
  metrics_registry& metrics() noexcept;

  /// The actor system that runs the topology.
  caf::actor_system& system() noexcept;

  const topology_spec& spec() const noexcept;

 private:
  struct impl;
  explicit engine(std::unique_ptr<impl> ptr);
  std::unique_ptr<impl> impl_;
};

} // namespace sluice
