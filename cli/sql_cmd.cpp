#include "cli/sql_cmd.hpp"

#include <optional>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

#include <fmt/format.h>

#include "cli/signals.hpp"
#include "cli/sql_sample.hpp"
#include "connectors/table_registry.hpp"
#include "engine/jobs.hpp"
#include "runtime/errors.hpp"
#include "runtime/expr/functions.hpp"
#include "runtime/log.hpp"
#include "sql/diagnostics.hpp"
#include "sql/script.hpp"

namespace sluice {

namespace {

constexpr int exit_ok = 0;
constexpr int exit_failed = 1;
constexpr int exit_config = 2;

/// The script's jobs, or the exit code after printing why not.
struct compiled {
  std::vector<job_spec> jobs;
  int code = exit_ok;
};

compiled compile(const sql_cli_options& opts,
                 const sql::sample_options* sample = nullptr) {
  compiled result;
  std::ifstream in{opts.path, std::ios::binary};
  if (!in) {
    std::cerr << opts.path << ": cannot read the file\n";
    result.code = exit_config;
    return result;
  }
  std::stringstream buf;
  buf << in.rdbuf();
  auto text = buf.str();
  sql::compile_options co;
  co.parallelism = opts.parallelism;
  co.settings = opts.settings;
  co.getenv = [](std::string_view name) -> std::optional<std::string> {
    if (auto* v = std::getenv(std::string{name}.c_str()))
      return std::string{v};
    return std::nullopt;
  };
  if (sample != nullptr)
    co.sample = *sample;
  std::vector<sql::sql_diagnostic> diags;
  auto script =
      sql::compile_script(text, opts.path, expr::function_registry::builtin(),
                          table_registry::builtin().infos(), co, diags);
  if (!diags.empty()) {
    std::cerr << sql::render(diags, text);
    std::cerr << opts.path << ": " << diags.size() << " error(s)\n";
    result.code = exit_config;
    return result;
  }
  if (!script) {
    std::cerr << opts.path << ": " << describe(script.error()) << '\n';
    result.code = exit_config;
    return result;
  }
  for (auto& note : script->notes)
    log().info("{}: {}", opts.path, note);
  result.jobs = std::move(script->jobs);
  return result;
}

} // namespace

int sql_check_command(const sql_cli_options& opts) {
  auto c = compile(opts);
  if (c.code != exit_ok)
    return c.code;
  size_t stages = 0;
  for (auto& j : c.jobs)
    stages += j.stages.size();
  std::cout << opts.path << ": ok (" << c.jobs.size() << " job(s), " << stages
            << " stage(s))\n";
  return exit_ok;
}

int sql_command(const sql_cli_options& opts, const sigset_t& signals) {
  std::unique_ptr<sample_run> sample;
  if (!opts.samples.empty()) {
    auto made = sample_run::make(opts.samples, !opts.explain);
    if (!made) {
      std::cerr << describe(made.error()) << '\n';
      return exit_config;
    }
    sample = std::move(*made);
  }
  auto c = compile(opts, sample ? &sample->options() : nullptr);
  if (c.code != exit_ok)
    return c.code;
  if (opts.explain) {
    for (auto& j : c.jobs)
      std::cout << to_text(j);
    return exit_ok;
  }
  if (c.jobs.empty()) {
    std::cerr << opts.path << ": no INSERT INTO, so no job to run\n";
    return exit_config;
  }
  if (sample)
    sample->watch(c.jobs);
  auto runner = job_runner::make(std::move(c.jobs), table_registry::builtin(),
                                 expr::function_registry::builtin(),
                                 {opts.threads, opts.stats_interval_ms});
  if (!runner) {
    log().error("{}", describe(runner.error()));
    return exit_config;
  }
  if (auto err = (*runner)->start()) {
    log().error("{}", describe(err));
    return exit_failed;
  }
  log().info("sluice {} running {}", SLUICE_VERSION, opts.path);
  std::optional<signal_waiter> waiter;
  waiter.emplace(
      signals,
      [r = runner->get()](int sig) {
        log().info(
            "received {}; stopping the jobs (open windows are discarded; "
            "a second signal 1 s or more later forces the exit)",
            signal_name(sig));
        r->stop();
      },
      true);
  auto err = (*runner)->wait();
  for (auto& s : (*runner)->metrics().snapshot())
    log().info("final {}", to_string(s));
  for (auto& s : (*runner)->stages())
    log().info("final {}", to_string(s));
  waiter.reset();
  if (sample)
    sample->report((*runner)->stages(), std::cerr);
  if (err) {
    log().critical("stopped on failure: {}", describe(err));
    return exit_failed;
  }
  log().info("every job ended");
  return exit_ok;
}

} // namespace sluice
