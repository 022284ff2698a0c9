#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "runtime/columnar/types.hpp"
#include "runtime/expr/ir.hpp"
#include "runtime/job/job_spec.hpp"

/// The planner's helpers (inside sql/ only): expression trees and settings.
namespace sluice::sql::planning {

/// The nodes reachable from a tree's root; none for a bad index.
std::optional<std::vector<uint32_t>> reachable(const ::sluice::expr::tree& t);

/// Copies node `n` of `src` into `dst`, replacing references to computed
/// column `physical + k` by a copy of `defs[k]`; none on a malformed tree.
std::optional<uint32_t>
copy_inlined(::sluice::expr::tree& dst, const ::sluice::expr::tree& src,
             uint32_t n, const std::vector<const ::sluice::expr::tree*>& defs,
             uint32_t physical, int depth);

/// Appends to `t` the window_start of a TUMBLE of whole seconds over
/// column `ts` (of type `ts_type`) plus `add_ms`: window_end is start +
/// size, window_time end - 1. Returns the node.
uint32_t tumble_column(::sluice::expr::tree& t, uint32_t ts,
                       const columnar::data_type& ts_type, const window_spec& w,
                       int64_t add_ms);

/// A positive integer setting; none when absent or not a number.
std::optional<int64_t> int_setting(const std::map<std::string, std::string>& s,
                                   const std::string& key);

/// A duration setting in ms; `fallback` when absent or malformed (the
/// analyzer reported it).
int64_t duration_setting(const std::map<std::string, std::string>& s,
                         const std::string& key, int64_t fallback);

/// The job options of `settings` (SET and --set, checked by the analyzer).
job_options options_of(const std::map<std::string, std::string>& settings,
                       uint32_t parallelism);

} // namespace sluice::sql::planning
