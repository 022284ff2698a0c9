#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

namespace sluice {

/// The demo's compute step: writes `lines` (the topic's records)
/// to `dir`/compute/orders.log and the SQL script `per_region.sql` beside
/// it, runs the script (orders and their sum per region, an update stream
/// into a print sink writing `per_region.out`), and checks the last row of
/// every region against what the application wrote (`written` orders,
/// numbered from 1). Prints what it found; returns true when all match.
bool run_demo_sql(const std::filesystem::path& dir, const std::string& lines,
                  int64_t written);

} // namespace sluice
