#pragma once

#include <string>

namespace sluice {

/// `sluice channel check DIR`: prints what a file channel's directory holds
/// and what is damaged; 0 when healthy, 1 when damaged, 2 when it cannot be
/// checked (not a directory, in use by a running sluice).
int channel_check_command(const std::string& dir);

/// `sluice channel repair DIR`: makes a damaged channel open again and
/// prints what it did and what was lost; 0 on success (also when nothing
/// needed doing), 1 when it failed or cannot run (in use, not a
/// directory).
int channel_repair_command(const std::string& dir);

} // namespace sluice
