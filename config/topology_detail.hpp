#pragma once

#include <functional>
#include <string>
#include <vector>

#include "config/topology.hpp"

namespace sluice {

class connector_registry;

} // namespace sluice

// Shared by the topology parser and the validation of specs built in code.
namespace sluice::detail {

/// Finds where a key of a component was written, for messages.
using position_lookup = std::function<source_position(
    const std::string& component, const std::string& key)>;

/// "; did you mean 'x'?" for the closest of `known` within two edits, or "".
std::string suggestion(const std::string& key,
                       const std::vector<std::string>& known);

/// "a, b, c".
std::string join(const std::vector<std::string>& xs);

/// Checks names, references, sizes and (with `check_types`) types.
std::vector<diagnostic> validate_impl(topology_spec& spec,
                                      const connector_registry& registry,
                                      const position_lookup& where,
                                      bool check_types);

} // namespace sluice::detail
