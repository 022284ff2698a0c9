#include "tests/support/relay_cluster.hpp"

#include <arpa/inet.h>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <netinet/in.h>
#include <regex>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>

namespace sluice::test {

namespace fs = std::filesystem;

delivery_check check_delivery(const std::vector<int64_t>& got, int64_t n) {
  delivery_check result;
  std::vector<uint32_t> seen(static_cast<size_t>(n), 0);
  for (auto x : got) {
    if (x < 0 || x >= n)
      continue;
    if (seen[static_cast<size_t>(x)]++ > 0)
      ++result.duplicates;
  }
  for (int64_t i = 0; i < n; ++i)
    if (seen[static_cast<size_t>(i)] == 0)
      result.missing.push_back(i);
  return result;
}

namespace {

/// The fourth node: the topic the relays append to, and a topic source
/// that copies it to files (what `delivered` reads while the store runs).
std::string store_text(const std::string& dir,
                       const std::map<std::string, uint16_t>& ports,
                       size_t shards) {
  return fmt::format(R"(
[nodes.store]
port = {ps}

[topics.lines]
node = "store"
directory = "{dir}/store/topic"
shards = {shards}
fsync = "10ms"
segment_size = "1MiB"

[sources.from_topic]
node = "store"
type = "topic"
topic = "lines"
group = "check"
start = "earliest"
channel = "cT"

[channels.cT]
node = "store"
type = "memory"
capacity = 100000

[sinks.outT]
node = "store"
type = "file"
channel = "cT"
directory = "{dir}/outT"
)",
                     fmt::arg("ps", ports.at("store")), fmt::arg("dir", dir),
                     fmt::arg("shards", shards));
}

std::string topology_text(const std::string& dir,
                          const std::map<std::string, uint16_t>& ports,
                          const relay_cluster::settings& s) {
  auto relay = [&](const std::string& node, const std::string& tag) {
    return fmt::format(
        R"(
[sources.from_agent1_{tag}]
node = "{node}"
type = "forward"
channel = "c{tag}"
port = {port}

[channels.c{tag}]
node = "{node}"
type = "file"
directory = "{dir}/{node}/channel"
segment_size = "4MiB"
min_free_space = "1MiB"

[sinks.out{tag}]
node = "{node}"
channel = "c{tag}"
{sink}
)",
        fmt::arg("tag", tag), fmt::arg("node", node),
        fmt::arg("sink", s.topic ? std::string{"type = \"topic\"\n"
                                               "topic = \"lines\"\n"
                                               "partition = \"hash\""}
                                 : fmt::format("type = \"file\"\n"
                                               "directory = "
                                               "\"{}/out{}\"",
                                               dir, tag)),
        fmt::arg("dir", dir), fmt::arg("port", ports.at(node + ".data")));
  };
  return fmt::format(
      R"([supervision]
max_restarts = 1000
initial_backoff = "50ms"
max_backoff = "200ms"

[cluster]
heartbeat_interval = "100ms"
peer_timeout = "500ms"

[nodes.agent1]
port = {p1}

[nodes.agentA]
port = {pa}

[nodes.agentB]
port = {pb}

[sources.tail]
node = "agent1"
type = "taildir"
channel = "c1"
batch_size = 200
filegroups = {{ app = "{dir}/logs/*.log" }}
position_file = "{dir}/agent1/tail.positions.json"

[channels.c1]
node = "agent1"
type = "file"
directory = "{dir}/agent1/channel"
segment_size = "4MiB"
min_free_space = "1MiB"

[sinks.toA]
node = "agent1"
type = "forward"
channel = "c1"
batch_size = 1000
host = "127.0.0.1"
port = {da}
timeout = "{timeout}ms"

[sinks.toB]
node = "agent1"
type = "forward"
channel = "c1"
batch_size = 1000
host = "127.0.0.1"
port = {db}
timeout = "{timeout}ms"

[sink_groups.relays]
type = "failover"
sinks = ["toA", "toB"]
priority = {{ toA = 10, toB = 5 }}
penalty = "{penalty}ms"
maxpenalty = "{maxpenalty}ms"
{relayA}{relayB}{store})",
      fmt::arg("dir", dir), fmt::arg("p1", ports.at("agent1")),
      fmt::arg("pa", ports.at("agentA")), fmt::arg("pb", ports.at("agentB")),
      fmt::arg("da", ports.at("agentA.data")),
      fmt::arg("db", ports.at("agentB.data")),
      fmt::arg("timeout", s.forward_timeout_ms),
      fmt::arg("penalty", s.penalty_ms),
      fmt::arg("maxpenalty", s.maxpenalty_ms),
      fmt::arg("relayA", relay("agentA", "A")),
      fmt::arg("relayB", relay("agentB", "B")),
      fmt::arg("store", s.topic ? store_text(dir, ports, s.topic_shards)
                                : std::string{}));
}

} // namespace

relay_cluster::relay_cluster(const temp_dir& dir, settings s)
    : dir_(dir), settings_(s) {
  for (auto name :
       {"agent1", "agentA", "agentB", "agentA.data", "agentB.data", "store"})
    ports_[name] = free_port();
  fs::create_directories(dir_ / "logs");
  for (auto name : {"agent1", "agentA", "agentB", "store"})
    fs::create_directories(dir_ / name);
  if (settings_.flume)
    write_flume_files();
  else
    write_topology();
}

void relay_cluster::write_store_topology() {
  auto topo = dir_ / "store.toml";
  std::ofstream{topo} << store_text(dir_.path(), ports_, 1);
  configs_["store"] = topo;
}

void relay_cluster::write_topology() {
  auto topo = dir_ / "cluster.toml";
  std::ofstream{topo} << topology_text(dir_.path(), ports_, settings_);
  for (auto name : {"agent1", "agentA", "agentB", "store"})
    configs_[name] = topo;
}

/// The project's example Flume files (examples/flume), with their ports and
/// paths moved into this cluster's directory and the penalties shortened.
void relay_cluster::write_flume_files() {
  auto example = [](const std::string& name) {
    return read_file(std::string{SLUICE_SOURCE_DIR} + "/examples/flume/" +
                     name + ".properties");
  };
  auto replace = [](std::string text, const std::string& from,
                    const std::string& to) {
    for (auto i = text.find(from); i != std::string::npos;
         i = text.find(from, i + to.size()))
      text.replace(i, from.size(), to);
    return text;
  };
  auto localize = [&](std::string text) {
    text = replace(text, "= 5555\n",
                   "= " + std::to_string(ports_.at("agentA.data")) + "\n");
    text = replace(text, "= 5556\n",
                   "= " + std::to_string(ports_.at("agentB.data")) + "\n");
    for (auto dir : {"app/", "state/", "out/"})
      text = replace(text, std::string{"= "} + dir,
                     "= " + dir_.path() + "/" + dir);
    return text;
  };
  auto one = localize(example("agent1"));
  one = replace(one, "app/test\\\\.txt", "logs/app\\\\.log");
  one += fmt::format("a1.sinkgroups.g1.processor.maxpenalty = {}\n"
                     "a1.channels.c1.minimumRequiredSpace = 1048576\n"
                     "a1.sinks.k1.request-timeout = {}\n"
                     "a1.sinks.k2.request-timeout = {}\n",
                     settings_.maxpenalty_ms, settings_.forward_timeout_ms,
                     settings_.forward_timeout_ms);
  one = replace(one, "a1.sinkgroups.g1.processor.maxpenalty = 10000\n", "");
  std::ofstream{dir_ / "agent1.properties"} << one;
  configs_["agent1"] = dir_ / "agent1.properties";
  if (settings_.topic)
    write_store_topology();
  for (auto name : {"agentA", "agentB"}) {
    auto text = settings_.topic
                    ? localize(example(std::string{name} + "_datahub"))
                    : localize(example(name));
    if (settings_.topic)
      text =
          replace(text, "sluice://127.0.0.1:7420",
                  "sluice://127.0.0.1:" + std::to_string(ports_.at("store")));
    std::ofstream{dir_ / (std::string{name} + ".properties")} << text;
    configs_[name] = dir_ / (std::string{name} + ".properties");
  }
}

std::string relay_cluster::out_dir(const std::string& relay) const {
  if (settings_.flume)
    return dir_ / ("out/" + relay);
  return dir_ / (relay == "agentA" ? "outA" : "outB");
}

relay_cluster::~relay_cluster() {
  if (writing_)
    stop_writer();
}

std::vector<std::string> relay_cluster::argv_of(const std::string& name) const {
  if (name == "store")
    return {SLUICE_BINARY, "node", configs_.at(name), "--node", "store",
            "--log-level", "info"};
  // agent1's routing and, with a topic, the relays' appends are counted
  // from stats lines.
  auto argv = settings_.flume
                  ? std::vector<std::string>{SLUICE_BINARY, "run", "--agent",
                                             name == "agent1" ? "a1" : name,
                                             configs_.at(name)}
                  : std::vector<std::string>{SLUICE_BINARY, "node",
                                             configs_.at(name), "--node", name};
  argv.insert(argv.end(), {"--log-level", "info", "--stats-interval", "100ms"});
  return argv;
}

bool relay_cluster::start(const std::string& name) {
  auto& p = procs_[name];
  p = std::make_unique<process>();
  return process::start(*p, argv_of(name), dir_ / (name + ".log")).has_value();
}

void relay_cluster::signal(const std::string& name, int sig) {
  if (auto i = procs_.find(name); i != procs_.end() && i->second)
    i->second->signal(sig);
}

void relay_cluster::kill(const std::string& name) {
  if (auto i = procs_.find(name); i != procs_.end() && i->second) {
    i->second->signal(SIGKILL);
    i->second->wait(std::chrono::seconds{10});
  }
}

std::optional<int> relay_cluster::stop(const std::string& name,
                                       std::chrono::milliseconds timeout) {
  auto i = procs_.find(name);
  if (i == procs_.end() || !i->second)
    return std::nullopt;
  i->second->signal(SIGTERM);
  return i->second->wait(timeout);
}

bool relay_cluster::running(const std::string& name) const {
  auto i = procs_.find(name);
  return i != procs_.end() && i->second && i->second->running();
}

uint64_t relay_cluster::written_bytes(const std::string& relay) const {
  if (settings_.topic) {
    // Counters start again in each run of the relay: add up each run's last.
    auto text = log(relay);
    auto sink = settings_.flume ? std::string{"k1"}
                                : (relay == "agentA" ? "outA" : "outB");
    std::regex line_re{"stats sink " + sink + ": in=[0-9]+ out=([0-9]+)"};
    uint64_t total = 0, last = 0;
    for (auto i = std::sregex_iterator(text.begin(), text.end(), line_re);
         i != std::sregex_iterator(); ++i) {
      auto v = std::stoull((*i)[1].str());
      if (v < last)
        total += last;
      last = v;
    }
    return (total + last) * line_width;
  }
  auto dir = out_dir(relay);
  uint64_t total = 0;
  std::error_code ec;
  for (auto& e : fs::directory_iterator{dir, ec})
    if (e.is_regular_file(ec))
      total += e.file_size(ec);
  return total;
}

uint64_t relay_cluster::routed_events(const std::string& relay) const {
  auto text = log("agent1");
  auto sink = settings_.flume ? std::string{relay == "agentA" ? "k1" : "k2"}
                              : (relay == "agentA" ? "toA" : "toB");
  std::regex line_re{"stats sink " + sink + ": in=[0-9]+ out=([0-9]+)"};
  uint64_t last = 0;
  for (auto i = std::sregex_iterator(text.begin(), text.end(), line_re);
       i != std::sregex_iterator(); ++i)
    last = std::stoull((*i)[1].str());
  return last;
}

std::string relay_cluster::topic_dir() const {
  return dir_ / "store/topic";
}

std::vector<int64_t> relay_cluster::delivered() const {
  std::vector<int64_t> result;
  if (settings_.topic) {
    for (auto& line : read_lines_in(dir_ / "outT"))
      if (!line.empty())
        result.push_back(std::atoll(line.c_str()));
    return result;
  }
  for (auto* relay : {"agentA", "agentB"})
    for (auto& line : read_lines_in(out_dir(relay)))
      if (!line.empty())
        result.push_back(std::atoll(line.c_str()));
  return result;
}

std::string relay_cluster::log(const std::string& name) const {
  return read_file(dir_ / (name + ".log"));
}

void relay_cluster::start_writer(size_t per_tick,
                                 std::chrono::milliseconds tick) {
  writing_ = true;
  writer_ = std::thread{[this, per_tick, tick] {
    auto* f = std::fopen((dir_ / "logs/app.log").c_str(), "a");
    if (f == nullptr)
      return;
    auto next = std::chrono::steady_clock::now();
    while (writing_) {
      for (size_t i = 0; i < per_tick; ++i) {
        auto n = written_++;
        if (settings_.line_of)
          std::fputs(settings_.line_of(n).c_str(), f);
        else
          std::fprintf(f, "%09lld\n", static_cast<long long>(n));
      }
      std::fflush(f);
      next += tick;
      std::this_thread::sleep_until(next);
    }
    std::fclose(f);
  }};
}

int64_t relay_cluster::stop_writer() {
  writing_ = false;
  if (writer_.joinable())
    writer_.join();
  return written_.load();
}

} // namespace sluice::test
