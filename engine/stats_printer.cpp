#include "engine/stats_printer.hpp"

#include <chrono>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>

#include "runtime/atoms.hpp"
#include "runtime/log.hpp"

namespace sluice {

namespace {

caf::behavior stats_printer(caf::event_based_actor* self,
                            metrics_registry* registry, int64_t interval_ms,
                            stats_lines extra) {
  auto interval = std::chrono::milliseconds{interval_ms};
  self->delayed_send(self, interval, tick_atom::value);
  return {
      [=](tick_atom) {
        auto all = registry->snapshot();
        for (auto& s : all)
          log().info("stats {}", to_string(s));
        if (extra)
          for (auto& line : extra(all))
            log().info("stats {}", line);
        self->delayed_send(self, interval, tick_atom::value);
      },
      [=](stop_atom) { self->quit(); },
  };
}

} // namespace

caf::actor spawn_stats_printer(caf::actor_system& sys,
                               metrics_registry* registry, int64_t interval_ms,
                               stats_lines extra) {
  return sys.spawn(stats_printer, registry, interval_ms, std::move(extra));
}

} // namespace sluice
