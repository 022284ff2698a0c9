#pragma once

#include <cstddef>

#include <caf/fwd.hpp>

namespace sluice {

/// How many polls an idle scheduler thread makes, each after a short sleep
/// (CAF's `moderate-sleep-duration`, 50 µs asked, about 200 µs taken), before
/// it waits on its condition variable for work. CAF's default is 500: every
/// idle thread then wakes about 5,000 times a second for the first 100 ms
/// after each job, and on a small machine those wake-ups preempt the
/// threads that work (a shard's appends, its syncs, the kernel's
/// write-back). With 20 an idle thread waits on its condition variable
/// after about 4 ms, and a job queued for it wakes it at once (see
/// BENCHMARKS.md, "Scheduler threads that rest sooner").
inline constexpr size_t scheduler_moderate_polls = 20;

/// The scheduler threads of an actor system asked for `requested` (0: one
/// per core, at least 2).
size_t scheduler_threads(size_t requested) noexcept;

/// Sets the scheduler of every actor system sluice starts: `threads` as
/// `scheduler_threads` counts them and `scheduler_moderate_polls`.
void configure_scheduler(caf::actor_system_config& cfg, size_t threads);

} // namespace sluice
