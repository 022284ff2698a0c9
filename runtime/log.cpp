#include "runtime/log.hpp"

#include <spdlog/sinks/stdout_sinks.h>

namespace sluice {

spdlog::logger& log() {
  static auto instance = [] {
    auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
    auto result = std::make_shared<spdlog::logger>("sluice", sink);
    result->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
    result->set_level(spdlog::level::info);
    result->flush_on(spdlog::level::info);
    return result;
  }();
  return *instance;
}

bool set_log_level(std::string_view level) {
  auto lvl = spdlog::level::from_str(std::string{level});
  if (lvl == spdlog::level::off && level != "off")
    return false;
  log().set_level(lvl);
  return true;
}

} // namespace sluice
