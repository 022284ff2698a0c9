#pragma once

#include <functional>
#include <map>
#include <string>

#include "runtime/job/job_spec.hpp"

namespace sluice::sql {

/// Hears a setting whose value is wrong: its key and why.
using setting_error = std::function<void(const std::string&, std::string)>;

/// Reads Flink's `restart-strategy.*` settings (and the older
/// `restart-strategy` for the type). Every wrong value is reported to `bad`
/// (when set) and keeps its default; keys of another strategy than the
/// chosen one are checked too, so that a typo is not silently ignored.
restart_strategy
restart_strategy_of(const std::map<std::string, std::string>& settings,
                    const setting_error& bad = {});

} // namespace sluice::sql
