#pragma once

#include <cstdint>
#include <string>

#include "connectors/registry.hpp"

namespace sluice {

/// What `sluice status` asks and how it answers.
struct status_options {
  /// A topology file: every node it declares is asked, with its [cluster]
  /// settings (TLS included). May be empty when `node` is given.
  std::string topology;
  /// HOST:PORT of one node's control port: only that node is asked.
  std::string node;
  bool json = false;         ///< one JSON object instead of tables
  int64_t timeout_ms = 3000; ///< per node: to connect, then to answer
};

/// `sluice status`: prints each asked node's components, sink groups and
/// links. Returns 0 when every node answered, 1 when one did not (it is
/// shown as unreachable), 2 for a usage or topology error.
int status_command(const status_options& opts,
                   const connector_registry& registry);

} // namespace sluice
