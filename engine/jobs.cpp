#include "engine/jobs.hpp"
#include "engine/stats_printer.hpp"

#include <algorithm>
#include <chrono>
#include <future>
#include <map>
#include <mutex>
#include <thread>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <fmt/format.h>

#include "actors/sql/job.hpp"
#include "runtime/cluster_link.hpp"
#include "runtime/errors.hpp"
#include "runtime/expr/program.hpp"
#include "runtime/log.hpp"
#include "runtime/scheduler_config.hpp"
#include "runtime/type_ids.hpp"

namespace sluice {

namespace {

int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

} // namespace

std::vector<std::string> job_problems(const job_spec& j,
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
    if (auto* x = std::get_if<lookup_stage>(&s.core);
        x && tables.find_lookup(x->table.connector) == nullptr)
      problems.push_back(fmt::format("stage {}: no table lookup '{}'", s.name,
                                     x->table.connector));
  }
  return problems;
}

std::vector<stage_summary>
summarize_stages(const std::vector<metrics_snapshot>& all, int64_t now_ms) {
  std::vector<stage_summary> result;
  std::map<std::string, size_t> index;
  std::vector<uint64_t> max_in;
  for (auto& m : all) {
    if (m.kind != "operator")
      continue;
    auto hash = m.name.rfind('#');
    auto name = hash == std::string::npos ? m.name : m.name.substr(0, hash);
    auto [i, added] = index.emplace(name, result.size());
    if (added) {
      result.push_back({});
      result.back().name = name;
      max_in.push_back(0);
    }
    auto& s = result[i->second];
    ++s.instances;
    s.rows_in += m.events_in;
    s.rows_out += m.events_out;
    max_in[i->second] = std::max(max_in[i->second], m.events_in);
    if (s.instances == 1 || m.watermark_ms < s.watermark_ms)
      s.watermark_ms = m.watermark_ms;
    s.late_rows += m.late_rows;
    s.state_keys += m.state_keys;
    s.state_bytes += m.state_bytes;
    s.errors += m.errors;
  }
  for (size_t i = 0; i < result.size(); ++i) {
    auto& s = result[i];
    if (s.rows_in > 0)
      s.skew = static_cast<double>(max_in[i]) *
               static_cast<double>(s.instances) /
               static_cast<double>(s.rows_in);
    if (s.watermark_ms != INT64_MIN && s.watermark_ms != INT64_MAX)
      s.watermark_lag_ms = now_ms - s.watermark_ms;
  }
  return result;
}

std::string to_string(const stage_summary& s) {
  auto wm = s.watermark_ms == INT64_MIN   ? std::string{"none"}
            : s.watermark_ms == INT64_MAX ? std::string{"end"}
                                          : std::to_string(s.watermark_ms);
  return fmt::format("stage {}: x{} in={} out={} skew={:.2f} watermark_ms={} "
                     "watermark_lag_ms={} late_rows={} state_keys={} "
                     "state_bytes={} errors={}",
                     s.name, s.instances, s.rows_in, s.rows_out, s.skew, wm,
                     s.watermark_lag_ms, s.late_rows, s.state_keys,
                     s.state_bytes, s.errors);
}

struct job_runner::impl {
  std::vector<job_spec> jobs;
  std::shared_ptr<const table_registry> tables;
  std::shared_ptr<const expr::function_registry> fns;
  job_run_options opts;
  metrics_registry metrics;
  /// The actor system lives on this thread from its birth to its end: CAF
  /// 0.17's system destructor waits until every thread that made or used
  /// it let go of its logger, so it must end on the thread that made it.
  std::thread thread;
  std::mutex mtx;                 ///< guards `running`
  std::vector<job_actor> running; ///< the job actors, until they ended
  caf::error result;              ///< written by `thread` before it ends
  bool started = false;
  bool waited = false;

  /// The body of `thread`: starts the jobs, reports the start through
  /// `started`, waits for every job's end, then ends the system.
  void run(std::promise<caf::error>& started);
};

void job_runner::impl::run(std::promise<caf::error>& started) {
  caf::actor_system_config cfg;
  register_types(cfg);
  // The `topic` table connector reaches the topics of nodes through their
  // control ports (plain links, heartbeats on).
  configure_cluster(cfg, cluster_link_settings{});
  configure_scheduler(cfg, opts.threads);
  // CAF 0.17 lets an actor run as long as its mailbox holds messages; a
  // scan that keeps sending itself polls would starve the job actor, the
  // stats and the stop path on one thread.
  cfg.set("scheduler.max-throughput", 64);
  cfg.set("logger.verbosity", caf::atom("quiet"));
  cfg.set("logger.console", caf::atom("none"));
  caf::actor_system sys{cfg};
  caf::actor stats;
  {
    caf::scoped_actor waiter{sys};
    std::vector<job_actor> mine;
    for (auto& j : jobs) {
      job_config jc{j, tables, fns, &metrics, {}};
      mine.push_back(spawn_job(sys, std::move(jc)));
      waiter->monitor(mine.back());
    }
    {
      std::lock_guard guard{mtx};
      running = mine;
    }
    if (opts.stats_interval_ms > 0)
      stats =
          spawn_stats_printer(sys, &metrics, opts.stats_interval_ms,
                              [](const std::vector<metrics_snapshot>& all) {
                                std::vector<std::string> lines;
                                for (auto& s : summarize_stages(all, wall_ms()))
                                  lines.push_back(to_string(s));
                                return lines;
                              });
    started.set_value(caf::error{});
    for (size_t i = 0; i < mine.size(); ++i)
      waiter->receive([&](caf::down_msg& msg) {
        if (msg.reason && !result)
          result = msg.reason;
      });
    std::lock_guard guard{mtx};
    running.clear();
  }
  if (stats)
    caf::anon_send(stats, stop_atom::value);
  stats = nullptr;
}

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
    for (auto& p : job_problems(j, tables))
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
  d.started = true;
  std::promise<caf::error> started;
  auto ready = started.get_future();
  d.thread = std::thread{[&d, &started] {
    d.run(started);
  }};
  return ready.get();
}

void job_runner::stop() {
  std::lock_guard guard{impl_->mtx};
  for (auto& a : impl_->running)
    caf::anon_send(a, stop_atom::value);
}

caf::error job_runner::wait() {
  auto& d = *impl_;
  if (!d.started || d.waited)
    return d.result;
  d.thread.join();
  d.waited = true;
  return d.result;
}

metrics_registry& job_runner::metrics() noexcept {
  return impl_->metrics;
}

std::vector<stage_summary> job_runner::stages() {
  return summarize_stages(impl_->metrics.snapshot(), wall_ms());
}

} // namespace sluice
