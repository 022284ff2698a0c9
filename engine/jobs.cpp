#include "engine/jobs.hpp"

#include <algorithm>
#include <thread>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <fmt/format.h>

#include "actors/sql/job.hpp"
#include "runtime/errors.hpp"
#include "runtime/expr/program.hpp"
#include "runtime/log.hpp"
#include "runtime/type_ids.hpp"

namespace sluice {

namespace {

caf::behavior job_stats_printer(caf::event_based_actor* self,
                                metrics_registry* registry,
                                int64_t interval_ms) {
  auto interval = std::chrono::milliseconds{interval_ms};
  self->delayed_send(self, interval, tick_atom::value);
  return {
      [=](tick_atom) {
        for (auto& s : registry->snapshot())
          log().info("stats {}", to_string(s));
        self->delayed_send(self, interval, tick_atom::value);
      },
      [=](stop_atom) { self->quit(); },
  };
}

/// Every reason the runner would refuse `j`.
std::vector<std::string> check_job(const job_spec& j,
                                   const table_registry& tables) {
  auto problems = validate(j);
  for (auto& s : j.stages) {
    if (auto* x = std::get_if<scan_stage>(&s.core);
        x && tables.find_source(x->table.connector) == nullptr)
      problems.push_back(fmt::format("stage {}: no table source '{}'", s.name,
                                     x->table.connector));
    if (auto* x = std::get_if<sink_stage>(&s.core);
        x && tables.find_sink(x->table.connector) == nullptr)
      problems.push_back(fmt::format("stage {}: no table sink '{}'", s.name,
                                     x->table.connector));
  }
  return problems;
}

} // namespace

struct job_runner::impl {
  std::vector<job_spec> jobs;
  std::shared_ptr<const table_registry> tables;
  std::shared_ptr<const expr::function_registry> fns;
  job_run_options opts;
  metrics_registry metrics;
  std::unique_ptr<caf::actor_system_config> sys_cfg;
  std::unique_ptr<caf::actor_system> sys;
  std::unique_ptr<caf::scoped_actor> waiter;
  std::vector<job_actor> running;
  caf::actor stats;
  caf::error result;
  bool started = false;
  bool waited = false;
};

job_runner::job_runner(std::unique_ptr<impl> ptr) : impl_(std::move(ptr)) {}

job_runner::~job_runner() {
  if (impl_ && impl_->started && !impl_->waited) {
    stop();
    wait();
  }
}

caf::expected<std::unique_ptr<job_runner>>
job_runner::make(std::vector<job_spec> jobs, table_registry tables,
                 expr::function_registry fns, job_run_options opts) {
  std::string text;
  for (auto& j : jobs)
    for (auto& p : check_job(j, tables))
      text += fmt::format("{}job {}: {}", text.empty() ? "" : "\n", j.name, p);
  if (!text.empty())
    return make_error(sql_errc::bad_plan, std::move(text));
  auto d = std::make_unique<impl>();
  d->jobs = std::move(jobs);
  d->tables = std::make_shared<const table_registry>(std::move(tables));
  d->fns = std::make_shared<const expr::function_registry>(std::move(fns));
  d->opts = opts;
  return std::unique_ptr<job_runner>{new job_runner(std::move(d))};
}

caf::error job_runner::start() {
  auto& d = *impl_;
  if (d.started)
    return make_error(config_errc::invalid, "the jobs already started");
  d.sys_cfg = std::make_unique<caf::actor_system_config>();
  register_types(*d.sys_cfg);
  auto threads = d.opts.threads > 0
                     ? d.opts.threads
                     : std::max<size_t>(2, std::thread::hardware_concurrency());
  d.sys_cfg->set("scheduler.max-threads", threads);
  // CAF 0.17 lets an actor run as long as its mailbox holds messages; a
  // scan that keeps sending itself polls would starve the job actor, the
  // stats and the stop path on one thread.
  d.sys_cfg->set("scheduler.max-throughput", 64);
  d.sys_cfg->set("logger.verbosity", caf::atom("quiet"));
  d.sys_cfg->set("logger.console", caf::atom("none"));
  d.sys = std::make_unique<caf::actor_system>(*d.sys_cfg);
  d.waiter = std::make_unique<caf::scoped_actor>(*d.sys);
  d.started = true;
  for (auto& j : d.jobs) {
    job_config cfg{j, d.tables, d.fns, &d.metrics};
    auto a = spawn_job(*d.sys, std::move(cfg));
    (*d.waiter)->monitor(a);
    d.running.push_back(std::move(a));
  }
  if (d.opts.stats_interval_ms > 0)
    d.stats =
        d.sys->spawn(job_stats_printer, &d.metrics, d.opts.stats_interval_ms);
  return {};
}

void job_runner::stop() {
  for (auto& a : impl_->running)
    caf::anon_send(a, stop_atom::value);
}

caf::error job_runner::wait() {
  auto& d = *impl_;
  if (!d.started || d.waited)
    return d.result;
  for (size_t i = 0; i < d.running.size(); ++i)
    (*d.waiter)->receive([&](caf::down_msg& msg) {
      if (msg.reason && !d.result)
        d.result = msg.reason;
    });
  d.waited = true;
  if (d.stats)
    caf::anon_send(d.stats, stop_atom::value);
  d.stats = nullptr;
  d.running.clear();
  d.waiter.reset();
  d.sys.reset();
  return d.result;
}

metrics_registry& job_runner::metrics() noexcept {
  return impl_->metrics;
}

} // namespace sluice
