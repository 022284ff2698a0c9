#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "config/topology.hpp"

namespace sluice {

class connector_registry;

} // namespace sluice

// Shared by the topology parser and the validation of specs built in code.
namespace sluice::detail {

/// The first place where `text` nests deeper than `max_topology_depth`, found
/// by a scan cheap enough to run before the TOML parser, whose recursion
/// such nesting would overflow.
std::optional<diagnostic> check_nesting(std::string_view text,
                                        const std::string& file_name);

/// Reads a topology file in one bounded read: refuses what is not a regular
/// file or is larger than `max_topology_bytes`, with a diagnostic.
caf::expected<std::string>
read_topology_file(const std::string& path, std::vector<diagnostic>& problems);

/// Finds where a key of a component was written, for messages.
using position_lookup = std::function<source_position(
    const std::string& component, const std::string& key)>;

/// The text of `err` without its category ("cannot open x", not "I/O
/// error: cannot open x"), for a diagnostic that names its own kind.
std::string message_of(const caf::error& err);

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
