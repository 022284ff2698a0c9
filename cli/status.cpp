#include "cli/status.hpp"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "config/topology.hpp"
#include "engine/cluster.hpp"
#include "engine/jobs.hpp"
#include "engine/topology_jobs.hpp"
#include "runtime/atoms.hpp"
#include "runtime/cluster_link.hpp"
#include "runtime/errors.hpp"
#include "runtime/metrics.hpp"
#include "runtime/scheduler_config.hpp"
#include "runtime/type_ids.hpp"

namespace sluice {

namespace {

constexpr int exit_ok = 0;
constexpr int exit_unreachable = 1;
constexpr int exit_usage = 2;

/// A node to ask: its name in the topology ("" when asked by address).
struct target {
  std::string name;
  std::string host;
  uint16_t port = 0;
};

/// A node's answer, or why there is none.
struct answer {
  target where;
  std::optional<node_status> status;
  std::string error;
};

/// Parses HOST:PORT (the port after the last colon).
std::optional<target> parse_address(const std::string& text) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size())
    return std::nullopt;
  auto port_text = text.substr(colon + 1);
  if (port_text.size() > 5 ||
      port_text.find_first_not_of("0123456789") != std::string::npos)
    return std::nullopt;
  auto port = std::stoul(port_text);
  if (port == 0 || port > 65535)
    return std::nullopt;
  auto host = text.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  return target{"", host, static_cast<uint16_t>(port)};
}

/// Connects to a node's control port and asks for its status, each step
/// within `timeout_ms`; answers the node's status or the error. (It takes
/// its timeout at spawn: CAF 0.17 spawns a function actor without arguments
/// through a null pointer, which the undefined-behaviour sanitizer stops.)
caf::behavior status_query(caf::event_based_actor* self, int64_t timeout_ms) {
  return {
      [self, timeout_ms](status_atom, const std::string& host,
                         uint16_t port) -> caf::result<node_status> {
        auto rp = self->make_response_promise<node_status>();
        auto timeout = std::chrono::milliseconds{timeout_ms};
        connect_actor(
            self, host, port, timeout,
            [self, rp, timeout](caf::expected<caf::actor> node) mutable {
              if (!node) {
                rp.deliver(std::move(node.error()));
                return;
              }
              self->request(*node, timeout, status_atom::value)
                  .then(
                      [rp](node_status& st) mutable {
                        rp.deliver(std::move(st));
                      },
                      [rp](caf::error& err) mutable {
                        rp.deliver(std::move(err));
                      });
            });
        return rp;
      },
  };
}

std::string describe_error(caf::actor_system& sys, const caf::error& err) {
  if (err.category() == caf::atom("system")) {
    switch (static_cast<caf::sec>(err.code())) {
    case caf::sec::request_timeout:
      return "no answer in time";
    case caf::sec::cannot_connect_to_node:
      return "cannot connect";
    default:
      break;
    }
  }
  auto text = describe(err);
  return text.empty() ? sys.render(err) : text;
}

std::vector<answer> ask(caf::actor_system& sys,
                        const std::vector<target>& targets,
                        int64_t timeout_ms) {
  std::vector<answer> result;
  auto query = sys.spawn(status_query, timeout_ms);
  caf::scoped_actor self{sys};
  // Connect and answer may each take the whole timeout.
  auto bound = std::chrono::milliseconds{2 * timeout_ms + 1000};
  for (auto& t : targets) {
    answer a{t, std::nullopt, ""};
    self->request(query, bound, status_atom::value, t.host, t.port)
        .receive([&](node_status& st) { a.status = std::move(st); },
                 [&](caf::error& err) { a.error = describe_error(sys, err); });
    result.push_back(std::move(a));
  }
  self->send_exit(query, caf::exit_reason::user_shutdown);
  return result;
}

std::string address(const target& t) {
  return t.host.find(':') != std::string::npos
             ? fmt::format("[{}]:{}", t.host, t.port)
             : fmt::format("{}:{}", t.host, t.port);
}

/// What the table shows as a component's state.
std::string state_of(const metrics_snapshot& m) {
  if (!m.group_state.empty())
    return m.group_state;
  if (!m.state.empty())
    return m.state;
  return "-";
}

std::string uptime(int64_t ms) {
  auto s = ms / 1000;
  if (s < 60)
    return fmt::format("{}.{}s", s, (ms % 1000) / 100);
  if (s < 3600)
    return fmt::format("{}m{:02}s", s / 60, s % 60);
  return fmt::format("{}h{:02}m{:02}s", s / 3600, (s / 60) % 60, s % 60);
}

/// A table with left-aligned columns two spaces apart.
class table {
 public:
  explicit table(std::vector<std::string> header) {
    rows_.push_back(std::move(header));
  }
  void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  bool empty() const { return rows_.size() == 1; }
  void print(std::ostream& out, const std::string& indent) const {
    std::vector<size_t> widths;
    for (auto& r : rows_)
      for (size_t i = 0; i < r.size(); ++i) {
        widths.resize(std::max(widths.size(), r.size()));
        widths[i] = std::max(widths[i], r[i].size());
      }
    for (auto& r : rows_) {
      std::string line = indent;
      for (size_t i = 0; i < r.size(); ++i) {
        line += r[i];
        if (i + 1 < r.size())
          line += std::string(widths[i] - r[i].size() + 2, ' ');
      }
      out << line << '\n';
    }
  }

 private:
  std::vector<std::vector<std::string>> rows_;
};

/// A SQL job of a node: its supervisor child's snapshot and its stages.
struct job_view {
  const metrics_snapshot* child = nullptr;
  std::string name;      ///< without "jobs."
  uint64_t restarts = 0; ///< by the supervisor and by the job itself
  std::vector<stage_summary> stages; ///< named without "JOB/"
};

std::vector<job_view> jobs_of(const node_status& st) {
  auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
  auto prefix = job_child_name("");
  std::vector<job_view> result;
  for (auto& m : st.components) {
    if (m.kind != "job" || !m.name.starts_with(prefix))
      continue;
    job_view v;
    v.child = &m;
    v.name = m.name.substr(prefix.size());
    std::vector<metrics_snapshot> ops;
    uint64_t own = 0;
    for (auto& x : st.components)
      if (x.kind == "operator" && x.name.starts_with(v.name + "/")) {
        ops.push_back(x);
        own = std::max(own, x.restarts);
      }
    v.restarts = m.restarts + own;
    v.stages = summarize_stages(ops, now);
    for (auto& s : v.stages)
      s.name = s.name.substr(v.name.size() + 1);
    // In plan order: scans, the stages by their number ("window_agg#1"),
    // sinks.
    auto rank = [](const std::string& name) {
      auto hash = name.find('#');
      auto number =
          hash == std::string::npos ? 0 : std::atoi(name.c_str() + hash + 1);
      int kind = name.starts_with("scan ")   ? 0
                 : name.starts_with("sink ") ? 2
                                             : 1;
      return std::pair{kind, number};
    };
    std::stable_sort(v.stages.begin(), v.stages.end(), [&](auto& x, auto& y) {
      return rank(x.name) < rank(y.name);
    });
    result.push_back(std::move(v));
  }
  return result;
}

std::string watermark_lag(const stage_summary& s) {
  if (s.watermark_ms == INT64_MIN)
    return "-";
  if (s.watermark_ms == INT64_MAX)
    return "end";
  if (s.watermark_lag_ms < 10'000)
    return fmt::format("{}ms", s.watermark_lag_ms);
  return uptime(s.watermark_lag_ms);
}

void print_jobs(std::ostream& out, const node_status& st) {
  for (auto& j : jobs_of(st)) {
    out << "  job " << j.name << ": " << state_of(*j.child) << ", restarts "
        << j.restarts << '\n';
    table stages{{"STAGE", "INSTANCES", "IN", "OUT", "WATERMARK LAG", "LATE",
                  "STATE KEYS", "ERRORS"}};
    for (auto& s : j.stages)
      stages.add({s.name, std::to_string(s.instances),
                  std::to_string(s.rows_in), std::to_string(s.rows_out),
                  watermark_lag(s), std::to_string(s.late_rows),
                  std::to_string(s.state_keys), std::to_string(s.errors)});
    if (!stages.empty())
      stages.print(out, "    ");
  }
}

void print_node(std::ostream& out, const answer& a) {
  if (!a.status) {
    out << "node " << (a.where.name.empty() ? "?" : a.where.name) << " ("
        << address(a.where) << "): unreachable: " << a.error << '\n';
    return;
  }
  auto& st = *a.status;
  auto jobs = std::count_if(st.components.begin(), st.components.end(),
                            [](auto& m) { return m.kind == "job"; });
  auto others =
      std::count_if(st.components.begin(), st.components.end(), [](auto& m) {
        return m.kind != "job" && m.kind != "operator";
      });
  out << "node " << st.name << " (" << address(a.where) << "): up "
      << uptime(st.uptime_ms) << ", " << others << " component(s)";
  if (jobs > 0)
    out << ", " << jobs << " SQL job(s)";
  out << '\n';
  table comps{{"COMPONENT", "KIND", "STATE", "IN", "OUT", "FILL", "ERRORS",
               "RESTARTS"}};
  for (auto& m : st.components) {
    if (m.kind == "operator" || m.kind == "job")
      continue; // in the jobs' own tables
    auto fill = m.kind != "channel" ? std::string{"-"}
                : m.capacity > 0
                    ? fmt::format("{}/{}", m.fill_events, m.capacity)
                    : std::to_string(m.fill_events);
    comps.add({m.name, m.kind, state_of(m), std::to_string(m.events_in),
               std::to_string(m.events_out), fill, std::to_string(m.errors),
               std::to_string(m.restarts)});
  }
  if (!comps.empty())
    comps.print(out, "  ");
  print_jobs(out, st);
  for (auto& g : st.components) {
    if (g.kind != "sink_group")
      continue;
    out << "  group " << g.name << ": active "
        << (g.active.empty() ? "none" : g.active) << ", switches " << g.switches
        << ", rerouted " << g.rerouted << '\n';
    table members{{"MEMBER", "STATE", "FAILURES", "PENALTY"}};
    for (auto& m : st.components)
      if (m.group == g.name)
        members.add({m.name, m.group_state.empty() ? "-" : m.group_state,
                     std::to_string(m.failures),
                     fmt::format("{}ms", m.penalty_ms)});
    members.print(out, "    ");
  }
  table links{
      {"SINK", "PEER", "CONNECTED", "IN FLIGHT", "RECONNECTS", "LAST ERROR"}};
  std::vector<std::string> receivers;
  for (auto& m : st.components) {
    if (!m.peer.empty())
      links.add({m.name, m.peer, m.connected > 0 ? "yes" : "no",
                 std::to_string(m.in_flight), std::to_string(m.reconnects),
                 m.last_error.empty() ? "-" : m.last_error});
    else if (m.kind == "source" && m.peers_connected > 0)
      receivers.push_back(
          fmt::format("{} ({} peer(s))", m.name, m.peers_connected));
  }
  if (!links.empty()) {
    out << "  links:\n";
    links.print(out, "    ");
  }
  if (!receivers.empty()) {
    out << "  receiving from:";
    for (auto& r : receivers)
      out << ' ' << r;
    out << '\n';
  }
}

nlohmann::json to_json(const metrics_snapshot& m) {
  return {{"name", m.name},
          {"kind", m.kind},
          {"state", state_of(m)},
          {"events_in", m.events_in},
          {"events_out", m.events_out},
          {"batches_in", m.batches_in},
          {"batches_out", m.batches_out},
          {"bytes_in", m.bytes_in},
          {"bytes_out", m.bytes_out},
          {"events_dropped", m.events_dropped},
          {"errors", m.errors},
          {"rollbacks", m.rollbacks},
          {"redelivered", m.redelivered},
          {"recovered", m.recovered},
          {"damaged_spans", m.damaged_spans},
          {"damaged_bytes", m.damaged_bytes},
          {"restarts", m.restarts},
          {"idle_closed", m.idle_closed},
          {"malformed", m.malformed},
          {"duplicates_dropped", m.duplicates_dropped},
          {"fill_events", m.fill_events},
          {"fill_bytes", m.fill_bytes},
          {"capacity", m.capacity},
          {"sources_attached", m.sources_attached},
          {"protocol_errors", m.protocol_errors},
          {"rerouted", m.rerouted},
          {"switches", m.switches},
          {"active", m.active},
          {"group", m.group},
          {"group_state", m.group_state},
          {"failures", m.failures},
          {"penalty_ms", m.penalty_ms},
          {"peer", m.peer},
          {"connected", m.connected > 0},
          {"in_flight", m.in_flight},
          {"reconnects", m.reconnects},
          {"last_error", m.last_error},
          {"peers_connected", m.peers_connected}};
}

nlohmann::json to_json(const answer& a) {
  nlohmann::json node{{"address", address(a.where)},
                      {"reachable", a.status.has_value()}};
  if (!a.status) {
    node["name"] = a.where.name;
    node["error"] = a.error;
    return node;
  }
  auto& st = *a.status;
  node["name"] = st.name;
  node["uptime_ms"] = st.uptime_ms;
  auto comps = nlohmann::json::array();
  auto groups = nlohmann::json::array();
  auto links = nlohmann::json::array();
  for (auto& m : st.components) {
    comps.push_back(to_json(m));
    if (!m.peer.empty())
      links.push_back({{"sink", m.name},
                       {"peer", m.peer},
                       {"connected", m.connected > 0},
                       {"in_flight", m.in_flight},
                       {"reconnects", m.reconnects},
                       {"last_error", m.last_error}});
    if (m.kind != "sink_group")
      continue;
    auto members = nlohmann::json::array();
    for (auto& x : st.components)
      if (x.group == m.name)
        members.push_back({{"name", x.name},
                           {"state", x.group_state},
                           {"failures", x.failures},
                           {"penalty_ms", x.penalty_ms}});
    groups.push_back({{"name", m.name},
                      {"active", m.active},
                      {"switches", m.switches},
                      {"rerouted", m.rerouted},
                      {"members", members}});
  }
  auto jobs = nlohmann::json::array();
  for (auto& j : jobs_of(st)) {
    auto stages = nlohmann::json::array();
    for (auto& s : j.stages)
      stages.push_back({{"name", s.name},
                        {"instances", s.instances},
                        {"rows_in", s.rows_in},
                        {"rows_out", s.rows_out},
                        {"skew", s.skew},
                        {"watermark_ms", s.watermark_ms == INT64_MIN
                                             ? nlohmann::json(nullptr)
                                             : nlohmann::json(s.watermark_ms)},
                        {"watermark_lag_ms", s.watermark_lag_ms},
                        {"late_rows", s.late_rows},
                        {"state_keys", s.state_keys},
                        {"state_bytes", s.state_bytes},
                        {"errors", s.errors}});
    jobs.push_back({{"name", j.name},
                    {"state", state_of(*j.child)},
                    {"restarts", j.restarts},
                    {"stages", std::move(stages)}});
  }
  node["components"] = std::move(comps);
  node["groups"] = std::move(groups);
  node["links"] = std::move(links);
  node["jobs"] = std::move(jobs);
  return node;
}

} // namespace

int status_command(const status_options& opts,
                   const connector_registry& registry) {
  if (opts.topology.empty() && opts.node.empty()) {
    std::cerr << "sluice status needs a TOPOLOGY file or --node HOST:PORT\n";
    return exit_usage;
  }
  if (opts.timeout_ms <= 0) {
    std::cerr << "--timeout must be positive\n";
    return exit_usage;
  }
  std::vector<target> targets;
  cluster_spec cluster;
  if (!opts.topology.empty()) {
    std::vector<diagnostic> problems;
    auto spec = load_topology(opts.topology, registry, problems);
    for (auto& p : problems)
      std::cerr << to_string(p) << '\n';
    if (!spec)
      return exit_usage;
    cluster = spec->cluster;
    if (opts.node.empty()) {
      if (cluster.nodes.empty()) {
        std::cerr << opts.topology
                  << ": declares no nodes ([nodes.NAME]); nothing to ask\n";
        return exit_usage;
      }
      for (auto& n : cluster.nodes)
        targets.push_back({n.name, n.host, n.port});
    }
  }
  if (!opts.node.empty()) {
    auto t = parse_address(opts.node);
    if (!t) {
      std::cerr << "--node: '" << opts.node
                << "' is not HOST:PORT (a port from 1 to 65535)\n";
      return exit_usage;
    }
    for (auto& n : cluster.nodes)
      if (n.port == t->port && n.host == t->host)
        t->name = n.name;
    targets.push_back(*t);
  }
  caf::actor_system_config cfg;
  register_types(cfg);
  configure_cluster(cfg, cluster);
  cfg.set("logger.verbosity", caf::atom("quiet"));
  cfg.set("logger.console", caf::atom("none"));
  configure_scheduler(cfg, 2);
  caf::actor_system sys{cfg};
  auto answers = ask(sys, targets, opts.timeout_ms);
  size_t unreachable = 0;
  for (auto& a : answers)
    unreachable += a.status ? 0 : 1;
  if (opts.json) {
    auto nodes = nlohmann::json::array();
    for (auto& a : answers)
      nodes.push_back(to_json(a));
    nlohmann::json out{{"nodes", std::move(nodes)},
                       {"unreachable", unreachable}};
    std::cout << out.dump(2) << '\n';
  } else {
    for (size_t i = 0; i < answers.size(); ++i) {
      if (i > 0)
        std::cout << '\n';
      print_node(std::cout, answers[i]);
    }
  }
  std::cout.flush();
  return unreachable > 0 ? exit_unreachable : exit_ok;
}

} // namespace sluice
