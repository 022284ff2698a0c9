#pragma once

#include <string_view>

#include <spdlog/spdlog.h>

namespace sluice {

/// The project's logger: one line per message on stderr, with a level.
spdlog::logger& log();

/// Sets the level from "trace", "debug", "info", "warn", "error" or "off";
/// returns false for an unknown name.
bool set_log_level(std::string_view level);

} // namespace sluice
