#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <caf/fwd.hpp>

#include "runtime/metrics.hpp"

namespace sluice {

/// Lines a stats printer adds after the per-component ones (per-stage
/// summaries of SQL jobs).
using stats_lines = std::function<std::vector<std::string>(
    const std::vector<metrics_snapshot>&)>;

/// Spawns an actor that logs `stats <snapshot>` for every component of
/// `registry` (which outlives it) every `interval_ms`, then the lines of
/// `extra` if set, until it receives `stop_atom`.
caf::actor spawn_stats_printer(caf::actor_system& sys,
                               metrics_registry* registry, int64_t interval_ms,
                               stats_lines extra = {});

} // namespace sluice
