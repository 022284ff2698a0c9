#pragma once

#include <string>
#include <vector>

#include "connectors/interceptor.hpp"
#include "connectors/registry.hpp"

namespace sluice {

/// The built-in interceptors (types in connectors/registry.hpp):
/// timestamp, host, static, regex_filter and regex_extract. Each acts on
/// the last event of a batch as its source appends it.
std::vector<interceptor_type> builtin_interceptor_types();

} // namespace sluice
