#include "cli/topic_cmd.hpp"

#include <algorithm>
#include <ctime>
#include <iostream>
#include <memory>
#include <variant>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/topic_backend.hpp"
#include "cli/topic_offline.hpp"
#include "cli/topic_read.hpp"
#include "cli/topic_remote.hpp"
#include "config/topology.hpp"
#include "connectors/topic.hpp"
#include "runtime/errors.hpp"

namespace sluice {

caf::expected<std::vector<fetch_result>>
topic_backend::fetch_many(const std::vector<uint32_t>& which,
                          const std::vector<uint64_t>& offsets,
                          uint64_t max_bytes, int64_t wait_ms) {
  std::vector<fetch_result> out;
  for (size_t i = 0; i < which.size(); ++i) {
    auto r = fetch(which[i], offsets[i], max_bytes, wait_ms);
    if (!r)
      return std::move(r.error());
    out.push_back(std::move(*r));
  }
  return out;
}

namespace {

constexpr int exit_ok = 0;
constexpr int exit_failed = 1;
constexpr int exit_usage = 2;

int usage(const std::string& what) {
  std::cerr << "sluice topic: " << what << '\n';
  return exit_usage;
}

int failed(const caf::error& err) {
  std::cerr << "sluice topic: " << describe(err) << '\n';
  return exit_failed;
}

/// Where the command works: a topic directory, or a node.
struct target {
  std::string dir;                ///< offline when not empty
  std::optional<topic_node> node; ///< else through this node
  std::optional<topic_spec> spec; ///< the topology's settings, if known
};

/// Resolves --dir, --node and --topology into a target for topic `name`
/// (none for `list`); a usage error exits 2, others 1.
std::variant<target, int> resolve(const topic_cmd_options& opts,
                                  const connector_registry& registry) {
  target t;
  std::optional<topology_spec> topo;
  if (!opts.topology.empty()) {
    std::vector<diagnostic> problems;
    auto spec = load_topology(opts.topology, registry, problems);
    for (auto& p : problems)
      std::cerr << to_string(p) << '\n';
    if (!spec)
      return exit_usage;
    topo = std::move(*spec);
  }
  int given = (opts.dir.empty() ? 0 : 1) + (opts.node.empty() ? 0 : 1);
  if (given > 1)
    return usage("give either --dir or --node, not both");
  if (given == 0 && !topo)
    return usage("say where the topic is: --dir TOPIC_DIR, --node HOST:PORT "
                 "or --topology FILE");
  if (topo && !opts.name.empty()) {
    auto it = std::find_if(topo->topics.begin(), topo->topics.end(),
                           [&](auto& x) { return x.name == opts.name; });
    if (it != topo->topics.end())
      t.spec = *it;
    else if (given == 0) {
      std::cerr << "sluice topic: " << opts.topology << " declares no topic "
                << opts.name << " ([topics." << opts.name << "])\n";
      return exit_failed;
    }
  }
  if (!opts.dir.empty()) {
    t.dir = opts.dir;
    return t;
  }
  if (!opts.node.empty()) {
    auto n = parse_topic_node(opts.node);
    if (!n)
      return usage(describe(n.error()));
    t.node = std::move(*n);
  } else if (t.spec && !topo->cluster.nodes.empty()) {
    auto& nodes = topo->cluster.nodes;
    auto it = std::find_if(nodes.begin(), nodes.end(),
                           [&](auto& x) { return x.name == t.spec->node; });
    if (it == nodes.end())
      it = nodes.begin(); // validated: a topic without a node has one
    t.node = topic_node{it->host, it->port, {}, 0};
  } else if (t.spec) {
    // A topology without nodes runs in one process with no control port:
    // the topic is read from its directory.
    t.dir = t.spec->directory;
    return t;
  }
  if (t.node) {
    if (topo)
      t.node->cluster = topo->cluster;
    t.node->timeout_ms = opts.timeout_ms;
  }
  return t;
}

caf::expected<std::unique_ptr<topic_backend>> open(const target& t,
                                                   const std::string& name) {
  if (!t.dir.empty())
    return open_offline_topic(t.dir, name);
  return open_remote_topic(*t.node, name);
}

std::string time_text(int64_t ms) {
  if (ms <= 0)
    return "-";
  std::time_t s = ms / 1000;
  std::tm tm{};
  gmtime_r(&s, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  return fmt::format("{}.{:03}Z", buf, ms % 1000);
}

/// Left-aligned columns two spaces apart.
void print_table(std::ostream& out, const std::string& indent,
                 const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths;
  for (auto& r : rows) {
    widths.resize(std::max(widths.size(), r.size()));
    for (size_t i = 0; i < r.size(); ++i)
      widths[i] = std::max(widths[i], r[i].size());
  }
  for (auto& r : rows) {
    std::string line = indent;
    for (size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size())
        line += std::string(widths[i] - r[i].size() + 2, ' ');
    }
    out << line << '\n';
  }
}

template <class T>
std::string opt_text(const std::optional<T>& x) {
  return x ? std::to_string(*x) : std::string{"-"};
}

template <class T>
nlohmann::json opt_json(const std::optional<T>& x) {
  return x ? nlohmann::json(*x) : nlohmann::json(nullptr);
}

/// Records a group has yet to read in a shard (none when it committed
/// nothing).
std::optional<uint64_t> lag(const topic_shard_view& s,
                            const std::optional<uint64_t>& committed) {
  if (!committed)
    return std::nullopt;
  return s.end - std::min(s.end, std::max(*committed, s.start));
}

// -- create -------------------------------------------------------------------

int create(const topic_cmd_options& opts, const target& t) {
  if (opts.shards < 1 || opts.shards > 1024)
    return usage("--shards must be 1 to 1024");
  if (!t.dir.empty()) {
    if (t.spec && t.spec->shards != opts.shards)
      return failed(make_error(
          topic_errc::shard_count_mismatch,
          fmt::format("the topology declares topic {} with {} shard(s), not "
                      "{}",
                      opts.name, t.spec->shards, opts.shards)));
    auto created = create_offline_topic(t.dir, opts.name, opts.shards);
    if (!created)
      return failed(created.error());
    if (*created)
      std::cout << "created topic " << opts.name << " with " << opts.shards
                << " shard(s) in " << t.dir << '\n';
    else
      std::cout << "topic " << opts.name << " already exists in " << t.dir
                << " with " << opts.shards << " shard(s): nothing to do\n";
    return exit_ok;
  }
  // A node runs the topics its topology declares and creates them at
  // start: here the command checks that the node has it with this count.
  auto b = open(t, opts.name);
  if (!b) {
    if (b.error() == make_error(topic_errc::unknown_topic))
      std::cerr << "sluice topic: " << describe(b.error())
                << "; a node creates the topics its topology declares "
                   "([topics."
                << opts.name
                << "]) when it starts; to create one offline use --dir\n";
    else
      std::cerr << "sluice topic: " << describe(b.error()) << '\n';
    return exit_failed;
  }
  if ((*b)->shards() != opts.shards)
    return failed(make_error(
        topic_errc::shard_count_mismatch,
        fmt::format("topic {} on node {} has {} shard(s), not {} (a topic's "
                    "shard count never changes)",
                    opts.name, t.node->address(), (*b)->shards(),
                    opts.shards)));
  std::cout << "topic " << opts.name << " already exists on node "
            << t.node->address() << " with " << opts.shards
            << " shard(s): nothing to do\n";
  return exit_ok;
}

// -- list ---------------------------------------------------------------------

int list(const topic_cmd_options& opts, const connector_registry& registry) {
  std::vector<topic_entry> entries;
  if (!opts.node.empty() || !opts.dir.empty() || !opts.topology.empty()) {
    auto r = resolve(opts, registry);
    if (auto* code = std::get_if<int>(&r))
      return *code;
    auto& t = std::get<target>(r);
    if (opts.node.empty() && opts.dir.empty()) {
      // A topology file: its declared topics, without asking anyone.
      std::vector<diagnostic> problems;
      auto spec = load_topology(opts.topology, registry, problems);
      if (!spec)
        return exit_usage;
      for (auto& x : spec->topics)
        entries.push_back(
            {x.name, x.shards,
             x.node.empty() ? "directory " + x.directory
                            : "node " + x.node + ", directory " + x.directory});
    } else {
      auto r2 = t.dir.empty() ? list_remote_topics(*t.node)
                              : list_offline_topics(t.dir);
      if (!r2)
        return failed(r2.error());
      entries = std::move(*r2);
    }
  } else {
    return usage("say where to list: --dir DIR, --node HOST:PORT or "
                 "--topology FILE");
  }
  if (opts.json) {
    auto arr = nlohmann::json::array();
    for (auto& e : entries)
      arr.push_back({{"name", e.name},
                     {"shards", opt_json(e.shards)},
                     {"where", e.where}});
    std::cout << nlohmann::json{{"topics", arr}}.dump(2) << '\n';
    return exit_ok;
  }
  if (entries.empty()) {
    std::cout << "no topics\n";
    return exit_ok;
  }
  std::vector<std::vector<std::string>> rows{{"TOPIC", "SHARDS", "WHERE"}};
  for (auto& e : entries)
    rows.push_back({e.name, opt_text(e.shards), e.where});
  print_table(std::cout, "", rows);
  return exit_ok;
}

// -- describe -----------------------------------------------------------------

nlohmann::json to_json(const topic_view& v,
                       const std::optional<topic_spec>& s) {
  auto shards = nlohmann::json::array();
  for (auto& x : v.shard_views)
    shards.push_back({{"shard", x.index},
                      {"start", x.start},
                      {"end", x.end},
                      {"records", x.end - x.start},
                      {"segments", opt_json(x.segments)},
                      {"disk_bytes", opt_json(x.disk_bytes)}});
  auto groups = nlohmann::json::array();
  for (auto& [g, committed] : v.groups) {
    auto per = nlohmann::json::array();
    for (size_t i = 0; i < committed.size(); ++i)
      per.push_back({{"shard", i},
                     {"committed", opt_json(committed[i])},
                     {"lag", opt_json(lag(v.shard_views[i], committed[i]))}});
    groups.push_back({{"group", g}, {"shards", per}});
  }
  nlohmann::json j{{"name", v.name},
                   {"shards", v.shards},
                   {"where", v.where},
                   {"partition", v.partition},
                   {"created_ms", v.created_ms},
                   {"shard_offsets", shards},
                   {"groups", groups}};
  if (v.total_segments)
    j["total_segments"] = *v.total_segments;
  if (v.total_disk_bytes)
    j["total_disk_bytes"] = *v.total_disk_bytes;
  if (s)
    j["retention"] = {{"retention_ms", s->retention_time_ms},
                      {"retention_bytes", s->retention_size},
                      {"segment_bytes", s->segment_size},
                      {"max_disk_bytes", s->max_disk_bytes},
                      {"fsync_ms", s->fsync_ms}};
  else
    j["retention"] = nullptr;
  return j;
}

void print(const topic_view& v, const std::optional<topic_spec>& s) {
  std::cout << "topic " << v.name << " (" << v.where << "): " << v.shards
            << " shard(s)";
  if (!v.partition.empty())
    std::cout << ", partition " << v.partition;
  if (v.created_ms > 0)
    std::cout << ", created " << time_text(v.created_ms);
  std::cout << '\n';
  if (s)
    std::cout << "  retention: time "
              << (s->retention_time_ms > 0
                      ? std::to_string(s->retention_time_ms) + " ms"
                      : std::string{"for ever"})
              << ", size "
              << (s->retention_size > 0
                      ? std::to_string(s->retention_size) + " bytes per shard"
                      : std::string{"no limit"})
              << ", segments of " << s->segment_size << " bytes, fsync "
              << (s->fsync_ms > 0 ? std::to_string(s->fsync_ms) + " ms"
                                  : std::string{"per batch"})
              << '\n';
  else
    std::cout << "  retention: not stored with the topic (give --topology "
                 "FILE to show its settings)\n";
  std::vector<std::vector<std::string>> rows{
      {"SHARD", "START", "END", "RECORDS", "SEGMENTS", "DISK BYTES"}};
  for (auto& x : v.shard_views)
    rows.push_back({std::to_string(x.index), std::to_string(x.start),
                    std::to_string(x.end), std::to_string(x.end - x.start),
                    opt_text(x.segments), opt_text(x.disk_bytes)});
  print_table(std::cout, "  ", rows);
  if (v.total_segments || v.total_disk_bytes)
    std::cout << "  total: " << opt_text(v.total_segments) << " segment(s), "
              << opt_text(v.total_disk_bytes) << " bytes\n";
  if (v.groups.empty()) {
    std::cout << "  groups: none\n";
    return;
  }
  std::cout << "  groups:\n";
  std::vector<std::vector<std::string>> groups{
      {"GROUP", "SHARD", "COMMITTED", "LAG"}};
  for (auto& [g, committed] : v.groups)
    for (size_t i = 0; i < committed.size(); ++i)
      groups.push_back({g, std::to_string(i), opt_text(committed[i]),
                        opt_text(lag(v.shard_views[i], committed[i]))});
  print_table(std::cout, "    ", groups);
}

int describe_topic(const topic_cmd_options& opts, const target& t) {
  auto b = open(t, opts.name);
  if (!b)
    return failed(b.error());
  auto v = (*b)->describe(opts.groups);
  if (!v)
    return failed(v.error());
  if (opts.json)
    std::cout << to_json(*v, t.spec).dump(2) << '\n';
  else
    print(*v, t.spec);
  return exit_ok;
}

} // namespace

int topic_command(const topic_cmd_options& opts,
                  const connector_registry& registry) {
  if (opts.timeout_ms <= 0)
    return usage("--timeout must be positive");
  if (opts.action == "list")
    return list(opts, registry);
  if (opts.name.empty())
    return usage("a topic NAME is needed");
  auto r = resolve(opts, registry);
  if (auto* code = std::get_if<int>(&r))
    return *code;
  auto& t = std::get<target>(r);
  if (opts.action == "create")
    return create(opts, t);
  if (opts.action == "describe")
    return describe_topic(opts, t);
  if (opts.action == "tail" || opts.action == "offsets") {
    if (opts.action == "tail") {
      if (opts.follow && !t.dir.empty())
        return usage("--follow needs --node (or a --topology naming the "
                     "topic's node): offline, nothing appends while the "
                     "log is open here");
      if (!parse_topic_start(opts.from))
        return usage("--from: '" + opts.from +
                     "' is not earliest, latest, offset:N, timestamp:MS "
                     "or committed");
    }
    auto b = open(t, opts.name);
    if (!b)
      return failed(b.error());
    return opts.action == "tail" ? topic_tail(opts, **b)
                                 : topic_offsets(opts, **b);
  }
  return usage("unknown action '" + opts.action + "'");
}

} // namespace sluice
