#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "runtime/options.hpp"

namespace sluice {

/// What the SQL analyzer may know of a table connector without depending on
/// connectors/: its name, whether it reads and writes, whether its sink
/// takes an update stream, and its WITH options. connectors/'s
/// table_registry produces these (table_registry::infos()).
struct connector_info {
  std::string name;
  bool source = false;
  bool sink = false;
  bool accepts_updates = false; ///< the sink takes +U/-U/-D rows
  std::vector<option_spec> options;
  /// The sink takes updates only into a table that declares a PRIMARY KEY.
  bool updates_need_key = false;
  /// The table can be read by key in a lookup join (`JOIN t FOR
  /// SYSTEM_TIME AS OF ...`).
  bool lookup = false;
};

/// Connector infos by name ("filesystem", "nexmark", ...).
using connector_infos = std::map<std::string, connector_info, std::less<>>;

} // namespace sluice
