#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "cli/channel_cmd.hpp"
#include "cli/demo.hpp"
#include "cli/signals.hpp"
#include "cli/sql_cmd.hpp"
#include "cli/status.hpp"
#include "cli/topic_cmd.hpp"
#include "config/flume_properties.hpp"
#include "config/topology.hpp"
#include "connectors/registry.hpp"
#include "engine/engine.hpp"
#include "engine/topology_jobs.hpp"
#include "runtime/errors.hpp"
#include "runtime/log.hpp"
#include "runtime/malloc_tuning.hpp"
#include "runtime/options.hpp"

namespace {

using namespace sluice;

constexpr int exit_ok = 0;
constexpr int exit_failed = 1;
constexpr int exit_config = 2;

/// Loads a TOML topology, or one agent of a Flume configuration when
/// `agent` is given or the file ends in .properties or .conf.
caf::expected<topology_spec> load(const std::string& path,
                                  const std::string& agent,
                                  const connector_registry& registry,
                                  std::vector<diagnostic>& problems) {
  if (agent.empty() && !is_flume_file(path))
    return load_topology(path, registry, problems);
  if (agent.empty()) {
    problems.push_back({{path, 0, 0},
                        "a Flume configuration needs --agent NAME: the "
                        "agent of the file to run"});
    return make_error(config_errc::invalid, to_string(problems.back()));
  }
  std::vector<diagnostic> notes;
  auto spec = load_flume(path, agent, registry, problems, notes);
  for (auto& n : notes)
    std::cerr << note_to_string(n) << '\n';
  // Names only: some of these properties are credentials.
  if (spec)
    if (auto line = unused_properties_line(agent, *spec); !line.empty())
      std::cerr << line << '\n';
  return spec;
}

int check(const std::string& path, const std::string& agent,
          const connector_registry& registry) {
  std::vector<diagnostic> problems;
  auto spec = load(path, agent, registry, problems);
  for (auto& p : problems)
    std::cerr << to_string(p) << '\n';
  if (!spec) {
    std::cerr << path << ": " << problems.size() << " error(s)\n";
    return exit_config;
  }
  // The jobs' scripts are compiled too, as the node that runs them will.
  size_t jobs = 0;
  if (!spec->jobs.empty()) {
    auto compiled = compile_topology_jobs(*spec, table_registry::builtin(),
                                          expr::function_registry::builtin());
    if (!compiled) {
      std::cerr << message_of(compiled.error()) << '\n';
      std::cerr << path << ": the SQL of its jobs has errors\n";
      return exit_config;
    }
    for (auto& j : *compiled)
      jobs += j.jobs.size();
  }
  std::cout << path << ": ok (" << spec->sources.size() << " source(s), "
            << spec->channels.size() << " channel(s), " << spec->sinks.size()
            << " sink(s)";
  if (!spec->topics.empty())
    std::cout << ", " << spec->topics.size() << " topic(s)";
  if (jobs > 0)
    std::cout << ", " << jobs << " job(s)";
  if (!spec->cluster.nodes.empty())
    std::cout << ", " << spec->cluster.nodes.size() << " node(s)";
  std::cout << ")\n";
  return exit_ok;
}

int run(const std::string& path, const std::string& agent,
        const connector_registry& registry, engine_options opts) {
  auto signals = block_stop_signals();
  std::vector<diagnostic> problems;
  auto spec = load(path, agent, registry, problems);
  for (auto& p : problems)
    std::cerr << to_string(p) << '\n';
  if (!spec)
    return exit_config;
  auto eng = engine::make(std::move(*spec), registry, opts);
  if (!eng) {
    log().error("{}", describe(eng.error()));
    return exit_config;
  }
  if (auto err = (*eng)->start()) {
    log().error("{}", describe(err));
    return exit_config;
  }
  if (opts.node.empty())
    log().info("sluice {} running {}", SLUICE_VERSION, path);
  else
    log().info("sluice {} running node {} of {}", SLUICE_VERSION, opts.node,
               path);
  // The first signal drains and stops; a second one, 1 s or more later,
  // exits at once.
  std::optional<signal_waiter> waiter;
  waiter.emplace(
      signals,
      [e = eng->get()](int sig) {
        log().info("received {}; draining and stopping (a second signal 1 s or "
                   "more after this one forces the exit)",
                   signal_name(sig));
        e->stop();
      },
      true);
  auto err = (*eng)->wait();
  for (auto& s : (*eng)->metrics().snapshot())
    log().info("final {}", to_string(s));
  waiter.reset();
  if (err) {
    log().critical("stopped on failure: {}", describe(err));
    return exit_failed;
  }
  log().info("stopped cleanly");
  return exit_ok;
}

caf::expected<int64_t> duration_option(const std::string& text) {
  return parse_duration(text);
}

} // namespace

int main(int argc, char** argv) {
  // Readers of topics free and allocate a fetch's batches all the time:
  // keep the freed heap instead of faulting it in again (malloc_tuning.hpp).
  sluice::keep_freed_heap();
  CLI::App app{"sluice: collect, buffer, compute and land event streams"};
  app.set_version_flag("--version", std::string{"sluice "} + SLUICE_VERSION);
  app.require_subcommand(1);
  app.fallthrough();
  std::string log_level = "info";
  app.add_option("--log-level", log_level,
                 "trace, debug, info, warn, error or off")
      ->capture_default_str();

  std::string topology;
  std::string stats_interval = "0";
  int64_t threads = 0;
  auto* run_cmd = app.add_subcommand("run", "run a topology until stopped");
  run_cmd
      ->add_option("TOPOLOGY", topology,
                   "topology file (TOML), or a Flume file with --agent")
      ->required();
  std::string agent;
  run_cmd->add_option("--agent", agent,
                      "read TOPOLOGY as a Flume configuration and run this "
                      "agent of it");
  run_cmd->add_option("--stats-interval", stats_interval,
                      "log every component's metrics this often (e.g. 5s; "
                      "0 = off)");
  run_cmd
      ->add_option("--threads", threads, "scheduler threads (0 = one per core)")
      ->check(CLI::Range(int64_t{0}, int64_t{4096}));

  std::string node_name;
  auto* node_cmd = app.add_subcommand(
      "node", "run one node of a topology (its components only) until stopped");
  node_cmd->add_option("TOPOLOGY", topology, "topology file (TOML)")
      ->required();
  node_cmd->add_option("--node", node_name, "the node to run ([nodes.NAME])")
      ->required();
  node_cmd->add_option("--stats-interval", stats_interval,
                       "log every component's metrics this often (e.g. 5s; "
                       "0 = off)");
  node_cmd
      ->add_option("--threads", threads, "scheduler threads (0 = one per core)")
      ->check(CLI::Range(int64_t{0}, int64_t{4096}));

  auto* check_cmd = app.add_subcommand(
      "check", "validate a topology file and list every error");
  check_cmd
      ->add_option("TOPOLOGY", topology,
                   "topology file (TOML), or a SQL script (.sql)")
      ->required();
  check_cmd->add_option("--agent", agent,
                        "read TOPOLOGY as a Flume configuration and check "
                        "this agent of it");

  sql_cli_options sql;
  std::vector<std::string> sql_sets;
  std::string sql_stats = "0";
  int64_t sql_threads = 0;
  auto* sql_cmd = app.add_subcommand(
      "sql", "run a streaming SQL script's jobs until they end or a stop "
             "signal");
  sql_cmd->add_option("SCRIPT", sql.path, "SQL script (.sql)")->required();
  sql_cmd->add_flag("--explain", sql.explain,
                    "print every job's stages, parallelism and edges, run "
                    "nothing");
  sql_cmd
      ->add_option("--parallelism", sql.parallelism,
                   "instances per stage (overrides SET "
                   "'parallelism.default')")
      ->check(CLI::Range(1u, 1024u));
  sql_cmd->add_option("--set", sql_sets,
                      "KEY=VALUE, as a SET statement that wins over the "
                      "script's");
  // One TABLE=FILE per --sample, so that the script may come after it.
  sql_cmd
      ->add_option("--sample", sql.samples,
                   "TABLE=FILE: run on sample files: the table reads FILE "
                   "(.csv, .json/.jsonl), the tables the script writes "
                   "print their rows; every table a job reads needs one")
      ->expected(1)
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  sql_cmd->add_option("--stats-interval", sql_stats,
                      "log every operator's metrics this often (e.g. 5s; 0 = "
                      "off)");
  sql_cmd
      ->add_option("--threads", sql_threads,
                   "scheduler threads (0 = one per core)")
      ->check(CLI::Range(int64_t{0}, int64_t{4096}));

  std::string channel_dir;
  auto* channel_cmd = app.add_subcommand(
      "channel", "inspect or repair a file channel's directory offline");
  channel_cmd->require_subcommand(1);
  auto* channel_check_cmd = channel_cmd->add_subcommand(
      "check", "print what the log holds and what is damaged (exit 1 when "
               "damaged)");
  channel_check_cmd->add_option("DIR", channel_dir, "the channel's directory")
      ->required();
  auto* channel_repair_cmd = channel_cmd->add_subcommand(
      "repair", "make a damaged channel open again; prints what was lost");
  channel_repair_cmd->add_option("DIR", channel_dir, "the channel's directory")
      ->required();

  status_options status;
  std::string status_timeout = "3s";
  auto* status_cmd = app.add_subcommand(
      "status", "show the components, sink groups and links of running nodes "
                "(exit 1 when a node does not answer)");
  status_cmd->add_option("TOPOLOGY", status.topology,
                         "ask every node this topology declares, with its "
                         "[cluster] settings");
  status_cmd->add_option("--node", status.node,
                         "ask only the node at HOST:PORT (its control port)");
  status_cmd->add_flag("--json", status.json, "print one JSON object");
  status_cmd
      ->add_option("--timeout", status_timeout,
                   "how long to wait for each node (e.g. 3s)")
      ->capture_default_str();

  // sluice topic (issue 6).
  topic_cmd_options topic;
  std::string topic_timeout = "3s";
  auto* topic_cmd = app.add_subcommand(
      "topic", "create, list, describe, tail a durable topic or set a "
               "consumer group's offsets, offline on its directory or through "
               "its running node");
  topic_cmd->require_subcommand(1);
  // Where the topic is: every action takes these.
  auto where = [&](CLI::App* c) {
    c->add_option("--dir", topic.dir,
                  "the topic's directory (offline; refused while a node runs "
                  "it: then use --node)");
    c->add_option("--node", topic.node,
                  "the control port HOST:PORT of the node that runs it");
    c->add_option("--topology", topic.topology,
                  "a topology file: finds the topic's node (or, without "
                  "[nodes], its directory) and its settings");
    c->add_option("--timeout", topic_timeout,
                  "how long to wait for the node (e.g. 3s)")
        ->capture_default_str();
  };
  auto* topic_create = topic_cmd->add_subcommand(
      "create", "create a topic's directory with its shard count (a node "
                "creates the topics its topology declares; with --node this "
                "checks the count)");
  topic_create->add_option("NAME", topic.name, "the topic")->required();
  topic_create
      ->add_option("--shards", topic.shards, "the shard count (fixed for ever)")
      ->required()
      ->check(CLI::Range(1, 1024));
  where(topic_create);
  auto* topic_list = topic_cmd->add_subcommand(
      "list", "list the topics of a node, of a topology file, or in a "
              "directory (--dir: topic directories under it)");
  where(topic_list);
  topic_list->add_flag("--json", topic.json, "print one JSON object");
  auto* topic_describe = topic_cmd->add_subcommand(
      "describe", "show a topic's shards (start and end offsets, segments, "
                  "disk bytes), retention and consumer groups with lag");
  topic_describe->add_option("NAME", topic.name, "the topic")->required();
  where(topic_describe);
  topic_describe->add_option(
      "--group", topic.groups,
      "also show this group (a node is only asked for the groups named)");
  topic_describe->add_flag("--json", topic.json, "print one JSON object");
  auto* topic_tail = topic_cmd->add_subcommand(
      "tail", "print a topic's records, one line per event body (shards one "
              "after another, each in offset order)");
  topic_tail->add_option("NAME", topic.name, "the topic")->required();
  where(topic_tail);
  topic_tail->add_option("--shard", topic.shard, "only this shard");
  topic_tail
      ->add_option("--from", topic.from,
                   "earliest, latest, offset:N, timestamp:MS (ms since the "
                   "epoch) or committed (with --group)")
      ->capture_default_str();
  topic_tail->add_option("--group", topic.groups,
                         "the group whose committed offset --from committed "
                         "starts at");
  topic_tail->add_option("--count", topic.count,
                         "stop after this many records (0: no limit)");
  topic_tail->add_flag("--follow", topic.follow,
                       "wait for new records until Ctrl-C or --count (needs "
                       "a node)");
  topic_tail->add_flag("--headers", topic.headers,
                       "print shard, offset, append time (ms) and headers "
                       "(k=v,...) before each body, tab-separated");
  auto* topic_offsets = topic_cmd->add_subcommand(
      "offsets", "show or set a consumer group's committed offsets");
  topic_offsets->add_option("NAME", topic.name, "the topic")->required();
  where(topic_offsets);
  topic_offsets->add_option("--group", topic.groups, "the consumer group")
      ->required()
      ->expected(1);
  topic_offsets->add_option("--commit", topic.commits,
                            "set the group's offset of a shard: SHARD=OFFSET "
                            "(repeatable)");
  topic_offsets->add_option("--reset", topic.reset,
                            "set the group's offsets of every shard (or "
                            "--shard's) to earliest, latest or timestamp:MS");
  topic_offsets->add_option("--shard", topic.shard, "--reset only this shard");
  topic_offsets->add_flag("--json", topic.json, "print one JSON object");
  // End of sluice topic.

  demo_options demo;
  auto* demo_cmd = app.add_subcommand(
      "demo", "run the collection scenario end to end on this machine");
  demo_cmd->add_option("--dir", demo.directory,
                       "working directory (default: a new temporary one)");
  demo_cmd->add_option("--lines", demo.lines, "lines the app writes")
      ->capture_default_str();
  demo_cmd
      ->add_option("--interval-ms", demo.interval_ms,
                   "pause between the app's lines")
      ->capture_default_str();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // Help and version are successes; every usage error exits 2.
    auto code = app.exit(e);
    return code == 0 ? exit_ok : exit_config;
  }
  if (!set_log_level(log_level)) {
    std::cerr << "unknown log level '" << log_level << "'\n";
    return exit_config;
  }
  auto registry = connector_registry::builtin();
  if (*check_cmd && topology.ends_with(".sql")) {
    sql.path = topology;
    return sql_check_command(sql);
  }
  if (*check_cmd)
    return check(topology, agent, registry);
  if (*sql_cmd) {
    for (auto& kv : sql_sets) {
      auto eq = kv.find('=');
      if (eq == std::string::npos || eq == 0) {
        std::cerr << "--set: expected KEY=VALUE, got '" << kv << "'\n";
        return exit_config;
      }
      sql.settings[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
    auto interval = duration_option(sql_stats);
    if (!interval) {
      std::cerr << "--stats-interval: " << describe(interval.error()) << '\n';
      return exit_config;
    }
    sql.stats_interval_ms = *interval;
    sql.threads = static_cast<size_t>(sql_threads);
    auto signals = block_stop_signals();
    return sql_command(sql, signals);
  }
  if (*channel_check_cmd)
    return channel_check_command(channel_dir);
  if (*status_cmd) {
    auto timeout = duration_option(status_timeout);
    if (!timeout) {
      std::cerr << "--timeout: " << describe(timeout.error()) << '\n';
      return exit_config;
    }
    status.timeout_ms = *timeout;
    return status_command(status, registry);
  }
  if (*channel_repair_cmd)
    return channel_repair_command(channel_dir);
  if (*run_cmd || *node_cmd) {
    auto interval = duration_option(stats_interval);
    if (!interval) {
      std::cerr << "--stats-interval: " << describe(interval.error()) << '\n';
      return exit_config;
    }
    return run(topology, agent, registry,
               {static_cast<size_t>(threads), *interval, node_name});
  }
  // sluice topic (issue 6).
  if (*topic_cmd) {
    for (auto* c :
         {topic_create, topic_list, topic_describe, topic_tail, topic_offsets})
      if (*c)
        topic.action = c->get_name();
    auto timeout = duration_option(topic_timeout);
    if (!timeout) {
      std::cerr << "--timeout: " << describe(timeout.error()) << '\n';
      return exit_config;
    }
    topic.timeout_ms = *timeout;
    if (!topic.follow)
      return topic_command(topic, registry);
    // Ctrl-C ends tail --follow after the poll in progress.
    auto signals = block_stop_signals();
    std::atomic<bool> interrupted{false};
    topic.interrupted = &interrupted;
    signal_waiter waiter{signals, [&](int) { interrupted = true; }, false};
    return topic_command(topic, registry);
  }
  // End of sluice topic.
  if (*demo_cmd) {
    auto signals = block_stop_signals();
    std::atomic<bool> interrupted{false};
    demo.interrupted = &interrupted;
    signal_waiter waiter{signals,
                         [&](int sig) {
                           log().info("received {}; ending the demo",
                                      signal_name(sig));
                           interrupted = true;
                         },
                         false};
    return run_demo(demo, registry);
  }
  return exit_config;
}
