#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <caf/fwd.hpp>

#include "actors/sql/protocol.hpp"
#include "connectors/table_registry.hpp"
#include "runtime/columnar/schema.hpp"
#include "runtime/expr/functions.hpp"
#include "runtime/job/job_spec.hpp"
#include "runtime/metrics.hpp"

namespace sluice {

/// Where an operator instance sends its rows: the instances of one
/// consuming stage.
struct operator_output {
  std::vector<operator_actor> targets; ///< the consumer's instances
  partitioning part = partitioning::forward;
  std::vector<uint32_t> keys; ///< hash: key columns of what is sent
  uint8_t port = 0;           ///< the consumer's input these rows feed
  uint32_t producer = 0;      ///< this instance's index on that port
};

/// Everything one operator instance needs; the job actor fills it.
struct operator_config {
  std::string job;
  stage_spec stage;
  uint32_t index = 0; ///< this instance among the stage's
  job_options opts;
  /// Producers of each input port (0 for a scan).
  std::array<uint32_t, 2> producers{0, 0};
  /// The schema of each input port (the producers' output).
  std::array<columnar::schema_ptr, 2> inputs;
  std::optional<operator_output> out;  ///< none for a sink
  std::optional<operator_output> late; ///< the late-rows sink, if any
  /// The rows a consumer lets each producer have in flight (and what each
  /// exchange starts with).
  uint64_t credit = 0;
  std::shared_ptr<const table_registry> tables;
  std::shared_ptr<const expr::function_registry> fns;
  std::shared_ptr<component_metrics> metrics;
  std::shared_ptr<restart_memo> memo; ///< the job's, across its restarts
  topic_finder find_topic;            ///< the job's (job_config)
};

/// The schema of the rows a window or join stage sends to the late-rows
/// table (`SET 'sluice.late-rows.table'`): stage, event_time, watermark,
/// row_text.
columnar::schema_ptr late_rows_schema();

/// Whether the stage's connector blocks (filesystem, print): its instances
/// then run on threads of their own.
bool blocking_stage(const stage_spec& s, const table_registry& tables);

/// Spawns one instance, linked to `parent` (the job actor), detached when
/// `detached`.
operator_actor spawn_operator(caf::local_actor* parent, operator_config cfg,
                              bool detached);

} // namespace sluice
