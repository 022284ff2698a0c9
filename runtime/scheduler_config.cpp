#include "runtime/scheduler_config.hpp"

#include <algorithm>
#include <thread>

#include <caf/actor_system_config.hpp>

namespace sluice {

size_t scheduler_threads(size_t requested) noexcept {
  if (requested > 0)
    return requested;
  return std::max<size_t>(2, std::thread::hardware_concurrency());
}

void configure_scheduler(caf::actor_system_config& cfg, size_t threads) {
  cfg.set("scheduler.max-threads", scheduler_threads(threads));
  cfg.set("work-stealing.moderate-poll-attempts", scheduler_moderate_polls);
}

} // namespace sluice
