#include "engine/topology_jobs.hpp"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <optional>
#include <variant>

#include <caf/actor_system.hpp>
#include <caf/scoped_actor.hpp>
#include <fmt/format.h>

#include "actors/sql/job.hpp"
#include "connectors/table_topic.hpp"
#include "engine/jobs.hpp"
#include "engine/topics.hpp"
#include "runtime/atoms.hpp"
#include "runtime/errors.hpp"
#include "runtime/log.hpp"
#include "runtime/text_file.hpp"
#include "sql/diagnostics.hpp"
#include "sql/script.hpp"

namespace sluice {

namespace {

std::optional<std::string> env_value(std::string_view name) {
  if (auto* v = std::getenv(std::string{name}.c_str()))
    return std::string{v};
  return std::nullopt;
}

std::string at_key(const sql_job_spec& decl) {
  auto& w = decl.script_where.line > 0 ? decl.script_where : decl.where;
  return fmt::format("{}:{}:{}", w.file, w.line, w.column);
}

/// The `topic` tables without `address` of `j` that name a topic
/// `topics` does not declare, as "table 'T' names topic 'X'".
std::vector<std::string>
undeclared_topics(const job_spec& j, const std::vector<topic_spec>& topics) {
  std::vector<std::string> result;
  auto check = [&](const table_spec& t) {
    auto topic = t.options.find("topic");
    if (t.connector != "topic" || topic == t.options.end() ||
        t.options.count("address") > 0)
      return;
    if (std::none_of(topics.begin(), topics.end(),
                     [&](auto& x) { return x.name == topic->second; }))
      result.push_back(
          fmt::format("table '{}' names topic '{}'", t.name, topic->second));
  };
  for (auto& s : j.stages) {
    if (auto* x = std::get_if<scan_stage>(&s.core))
      check(x->table);
    else if (auto* x = std::get_if<sink_stage>(&s.core))
      check(x->table);
  }
  return result;
}

/// Compiles one declaration; every problem is appended to `text`.
std::optional<topology_job> compile_one(const sql_job_spec& decl,
                                        const std::vector<topic_spec>& topics,
                                        const table_registry& tables,
                                        const expr::function_registry& fns,
                                        std::string& text) {
  auto problem = [&](const std::string& line) {
    text += (text.empty() ? "" : "\n") + line;
  };
  auto source = read_text_file(decl.script, max_script_bytes,
                               {"SQL script", "a regular text file"});
  if (!source) {
    problem(fmt::format("{}: error: job '{}': script '{}': {}", at_key(decl),
                        decl.name, decl.script, message_of(source.error())));
    return std::nullopt;
  }
  sql::compile_options co;
  co.parallelism = decl.parallelism;
  co.settings = decl.settings;
  co.getenv = env_value;
  std::vector<sql::sql_diagnostic> diags;
  auto script =
      sql::compile_script(*source, decl.script, fns, tables.infos(), co, diags);
  if (!diags.empty()) {
    auto rendered = sql::render(diags, *source);
    while (!rendered.empty() && rendered.back() == '\n')
      rendered.pop_back();
    problem(rendered);
    return std::nullopt;
  }
  if (!script) {
    problem(fmt::format("{}: error: job '{}': {}", decl.script, decl.name,
                        message_of(script.error())));
    return std::nullopt;
  }
  if (script->jobs.empty()) {
    problem(fmt::format("{}: error: job '{}': the script '{}' has no INSERT "
                        "INTO, so nothing to run",
                        at_key(decl), decl.name, decl.script));
    return std::nullopt;
  }
  for (auto& note : script->notes)
    log().info("{}: {}", decl.script, note);
  topology_job result;
  result.name = decl.name;
  result.jobs = std::move(script->jobs);
  bool several = result.jobs.size() > 1;
  bool ok = true;
  for (auto& j : result.jobs) {
    j.name = several ? decl.name + "." + j.name : decl.name;
    for (auto& p : job_problems(j, tables)) {
      problem(fmt::format("{}: error: job '{}': {}", decl.script, j.name, p));
      ok = false;
    }
    for (auto& t : undeclared_topics(j, topics)) {
      std::string names;
      for (auto& x : topics)
        names += (names.empty() ? "" : ", ") + x.name;
      problem(fmt::format("{}: error: job '{}': {} without 'address', and the "
                          "topology declares no such topic ({}); declare it "
                          "as [topics.NAME] or give the table 'address'",
                          at_key(decl), j.name, t,
                          names.empty() ? "it declares none"
                                        : "its topics: " + names));
      ok = false;
    }
  }
  if (!ok)
    return std::nullopt;
  return result;
}

} // namespace

caf::expected<std::vector<topology_job>>
compile_topology_jobs(const topology_spec& spec, const table_registry& tables,
                      const expr::function_registry& fns) {
  std::vector<topology_job> result;
  std::string text;
  for (auto& decl : spec.jobs)
    if (auto job = compile_one(decl, spec.topics, tables, fns, text))
      result.push_back(std::move(*job));
  if (!text.empty())
    return make_error(config_errc::invalid, std::move(text));
  return result;
}

std::string job_child_name(const std::string& name) {
  return "jobs." + name;
}

bool belongs_to_job(const std::string& name, const std::string& decl) {
  auto child = job_child_name(decl);
  if (name == child || name.starts_with(child + "."))
    return true;
  auto slash = name.find('/');
  if (slash == std::string::npos)
    return false;
  auto job = std::string_view{name}.substr(0, slash);
  return job == decl || (job.starts_with(decl) && job.size() > decl.size() &&
                         job[decl.size()] == '.');
}

child_spec job_child(const job_spec& job, const job_child_context& ctx) {
  child_spec child;
  child.name = job_child_name(job.name);
  // With the sources: a job reads what they collected, and a stop ends
  // it before the topics it reads and writes.
  child.stop_phase = 0;
  child.metrics = ctx.metrics->get(child.name, "job");
  child.start = [job, ctx](caf::actor_system& sys,
                           const child_handles&) -> caf::actor {
    job_config cfg{job, ctx.tables, ctx.fns, ctx.metrics, ctx.find_topic};
    return caf::actor_cast<caf::actor>(spawn_job(sys, std::move(cfg)));
  };
  return child;
}

topic_finder make_topic_finder(caf::actor_system& sys,
                               std::vector<topic_spec> topics,
                               cluster_spec cluster, std::string node,
                               std::function<caf::actor()> supervisor) {
  return [&sys, topics = std::move(topics), cluster = std::move(cluster),
          node = std::move(node), supervisor = std::move(supervisor)](
             const std::string& name,
             int64_t timeout_ms) -> caf::expected<caf::actor> {
    auto t = std::find_if(topics.begin(), topics.end(),
                          [&](auto& x) { return x.name == name; });
    if (t == topics.end()) {
      std::string names;
      for (auto& x : topics)
        names += (names.empty() ? "" : ", ") + x.name;
      return make_permanent(make_error(
          topic_errc::unknown_topic,
          fmt::format("the topology declares no topic {} ({}); a topic "
                      "elsewhere needs 'address'",
                      name,
                      names.empty() ? "it declares none"
                                    : "its topics: " + names)));
    }
    if (t->node.empty() || t->node == node || node.empty()) {
      auto sup = supervisor();
      if (!sup)
        return make_error(topic_errc::stopped, "the node is stopping");
      caf::scoped_actor self{sys};
      caf::expected<caf::actor> result = caf::actor{};
      self->request(sup, std::chrono::milliseconds{timeout_ms}, get_atom::value,
                    topic_child_name(name))
          .receive([&](caf::actor& a) { result = std::move(a); },
                   [&](caf::error&) {
                     result = make_error(
                         topic_errc::stopped,
                         fmt::format("topic {} is not running on this node "
                                     "(starting or restarting)",
                                     name));
                   });
      return result;
    }
    auto n = std::find_if(cluster.nodes.begin(), cluster.nodes.end(),
                          [&](auto& x) { return x.name == t->node; });
    if (n == cluster.nodes.end())
      return make_permanent(
          make_error(topic_errc::unknown_topic,
                     fmt::format("topic {} is on node {}, which the "
                                 "topology does not declare",
                                 name, t->node)));
    auto found = topic_at_node(sys, {n->host, n->port}, name, timeout_ms);
    if (!found)
      return found.error();
    return caf::actor_cast<caf::actor>(*found);
  };
}

} // namespace sluice
