#pragma once

#include "connectors/registry.hpp"

namespace sluice {

/// True for the source and sink types that run as actors of their own
/// (actors/forward_source, actors/forward_sink) rather than through a
/// connector: the engine spawns those actors for them.
bool is_forward_type(const std::string& type);

} // namespace sluice
