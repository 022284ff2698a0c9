// configure_scheduler: the thread count and the idle polling every actor
// system of sluice starts with.
#include <algorithm>
#include <thread>

#include <catch2/catch.hpp>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/policy/work_stealing.hpp>
#include <caf/scheduler/coordinator.hpp>

#include "runtime/scheduler_config.hpp"

using namespace sluice;

TEST_CASE("scheduler_threads takes a count or one per core, at least 2",
          "[scheduler_config]") {
  CHECK(scheduler_threads(0) ==
        std::max<size_t>(2, std::thread::hardware_concurrency()));
  CHECK(scheduler_threads(1) == 1);
  CHECK(scheduler_threads(3) == 3);
}

TEST_CASE("configure_scheduler reaches CAF's workers", "[scheduler_config]") {
  caf::actor_system_config cfg;
  configure_scheduler(cfg, 3);
  caf::actor_system sys{cfg};
  using coordinator = caf::scheduler::coordinator<caf::policy::work_stealing>;
  auto* sched = dynamic_cast<coordinator*>(&sys.scheduler());
  REQUIRE(sched != nullptr);
  REQUIRE(sched->num_workers() == 3);
  for (size_t i = 0; i < sched->num_workers(); ++i) {
    // strategies: aggressive polls, moderate polls (short sleeps), relaxed
    // (a wait on the worker's condition variable).
    const auto& moderate = sched->worker_by_id(i)->data().strategies[1];
    CHECK(moderate.attempts == scheduler_moderate_polls);
    CHECK(moderate.sleep_duration.count() > 0);
  }
}
