#include "cli/demo.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <netinet/in.h>
#include <set>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include <fmt/format.h>

#include "config/topology.hpp"
#include "connectors/registry.hpp"
#include "engine/engine.hpp"
#include "runtime/errors.hpp"
#include "runtime/log.hpp"

namespace sluice {

namespace {

namespace fs = std::filesystem;

// agent1 (this process) tails the application's log into a durable channel
// and sends it to agentA (priority 10) or, when agentA is down, agentB
// (priority 5); each relay is a `sluice node` child process that lands what it
// receives in its own directory.
constexpr std::string_view topology_template = R"([supervision]
max_restarts = 50
restart_window = "60s"

[cluster]
heartbeat_interval = "100ms"
peer_timeout = "500ms"

[nodes.agent1]
port = {p1}

[nodes.agentA]
port = {pa}

[nodes.agentB]
port = {pb}

[sources.app]
node = "agent1"
type = "taildir"
channel = "durable"
batch_size = 100
filegroups = {{ app = "{dir}/app/*.log" }}
position_file = "{dir}/state/agent1/app.positions.json"
file_header = true
[[sources.app.interceptors]]
type = "timestamp"
[[sources.app.interceptors]]
type = "host"

[channels.durable]
node = "agent1"
type = "file"
directory = "{dir}/state/agent1/channel"
min_free_space = "16MiB"

[sinks.toA]
node = "agent1"
type = "forward"
channel = "durable"
batch_size = 1000
port = {da}
timeout = "2s"

[sinks.toB]
node = "agent1"
type = "forward"
channel = "durable"
batch_size = 1000
port = {db}
timeout = "2s"

[sink_groups.relays]
type = "failover"
sinks = ["toA", "toB"]
priority = {{ toA = 10, toB = 5 }}
penalty = "500ms"
maxpenalty = "5s"

[sources.fromAgent1A]
node = "agentA"
type = "forward"
channel = "relayA"
port = {da}

[channels.relayA]
node = "agentA"
type = "file"
directory = "{dir}/state/agentA/channel"
min_free_space = "16MiB"

[sinks.landingA]
node = "agentA"
type = "file"
channel = "relayA"
directory = "{dir}/out/agentA"
prefix = "app"
roll_size = "16KiB"

[sources.fromAgent1B]
node = "agentB"
type = "forward"
channel = "relayB"
port = {db}

[channels.relayB]
node = "agentB"
type = "file"
directory = "{dir}/state/agentB/channel"
min_free_space = "16MiB"

[sinks.landingB]
node = "agentB"
type = "file"
channel = "relayB"
directory = "{dir}/out/agentB"
prefix = "app"
roll_size = "16KiB"
)";

/// A TCP port on 127.0.0.1 that was free a moment ago.
uint16_t free_port() {
  auto fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  uint16_t port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    socklen_t len = sizeof(addr);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

/// A relay: this program run as `sluice node TOPOLOGY --node NAME`, its
/// output in DIR/NAME.log.
class relay {
 public:
  relay(std::string name, fs::path topology, fs::path dir)
      : name_(std::move(name)), topology_(std::move(topology)),
        dir_(std::move(dir)) {}
  ~relay() { kill(); }

  bool start() {
    kill(); // at most one process per relay
    auto self = fs::read_symlink("/proc/self/exe").string();
    auto log_path = (dir_ / (name_ + ".log")).string();
    auto top = topology_.string();
    pid_ = ::fork();
    if (pid_ < 0)
      return false;
    if (pid_ == 0) {
      auto fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      ::dup2(fd, STDOUT_FILENO);
      ::dup2(fd, STDERR_FILENO);
      sigset_t none;
      sigemptyset(&none);
      sigprocmask(SIG_SETMASK, &none, nullptr);
      ::execl(self.c_str(), self.c_str(), "node", top.c_str(), "--node",
              name_.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    return true;
  }

  /// SIGKILL and reap: what a crash looks like.
  void kill() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
      pid_ = -1;
    }
  }

  /// SIGTERM and wait for the clean exit.
  int stop() {
    if (pid_ <= 0)
      return -1;
    ::kill(pid_, SIGTERM);
    // A relay that does not end within its drain time is killed.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{45};
    int status = 0;
    while (::waitpid(pid_, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() >= deadline) {
        log().error("demo: relay {} did not stop; killing it", name_);
        kill();
        return 128 + SIGKILL;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds{20});
    }
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

 private:
  std::string name_;
  fs::path topology_;
  fs::path dir_;
  pid_t pid_ = -1;
};

std::string order_line(int64_t i) {
  return fmt::format("order id={:06d} amount={}.{:02d} region={}", i,
                     (i * 37) % 500, i % 100,
                     i % 3 == 0   ? "north"
                     : i % 3 == 1 ? "south"
                                  : "west");
}

/// The application: writes lines, rotating its log twice along the way.
/// Writes up to `lines` lines; returns how many it wrote.
int64_t write_app_log(const fs::path& dir, int64_t lines, int64_t interval_ms,
                      const std::atomic<bool>* interrupted,
                      const std::function<void(int64_t)>& after_line) {
  auto log_path = dir / "app" / "test.log";
  std::ofstream out{log_path, std::ios::app};
  for (int64_t i = 1; i <= lines; ++i) {
    if (interrupted && *interrupted) {
      log().info("demo: interrupted after {} line(s)", i - 1);
      return i - 1;
    }
    out << order_line(i) << '\n' << std::flush;
    after_line(i);
    if (i == lines / 3) {
      out.close();
      fs::rename(log_path, dir / "app" / "test.log.1");
      log().info("demo: the application rotated its log by rename");
      out.open(log_path, std::ios::app);
    } else if (i == 2 * lines / 3) {
      fs::copy_file(log_path, dir / "app" / "test.log.2",
                    fs::copy_options::overwrite_existing);
      // The window between copy and truncate loses data in every tailer;
      // the demo lets the tailer catch up first, as logrotate's delay does.
      std::this_thread::sleep_for(std::chrono::milliseconds{500});
      fs::resize_file(log_path, 0);
      log().info("demo: the application rotated its log by copy-truncate");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds{interval_ms});
  }
  return lines;
}

struct landing_report {
  int64_t lines = 0;
  int64_t missing = 0;
  int64_t duplicates = 0;
  bool ordered = true; ///< first landings, within each relay's output
};

/// The order lines that landed in `dirs`, by id.
std::set<int64_t> landed_ids(const std::vector<fs::path>& dirs,
                             landing_report* report = nullptr) {
  std::set<int64_t> seen;
  for (auto& dir : dirs) {
    std::vector<fs::path> files;
    std::error_code ec;
    for (auto& e : fs::directory_iterator{dir, ec})
      files.push_back(e.path());
    std::sort(files.begin(), files.end());
    int64_t last = 0;
    for (auto& f : files) {
      std::ifstream in{f};
      for (std::string line; std::getline(in, line);) {
        auto pos = line.find("id=");
        auto id =
            pos == std::string::npos ? 0 : std::atoll(line.c_str() + pos + 3);
        bool first = seen.insert(id).second;
        if (report) {
          ++report->lines;
          // A line seen before is a duplicate, not disorder: a relay killed
          // after its sink wrote a batch but before its channel's take was
          // durable writes that batch again after its restart.
          if (!first)
            ++report->duplicates;
          else if (id < last)
            report->ordered = false;
        }
        if (first)
          last = std::max<int64_t>(last, id);
      }
    }
  }
  return seen;
}

landing_report check_landing(const std::vector<fs::path>& dirs, int64_t lines) {
  landing_report r;
  auto seen = landed_ids(dirs, &r);
  for (int64_t i = 1; i <= lines; ++i)
    if (seen.count(i) == 0)
      ++r.missing;
  return r;
}

} // namespace

int run_demo(const demo_options& opts, const connector_registry& registry) {
  fs::path dir = opts.directory;
  if (dir.empty()) {
    std::string tmpl = (fs::temp_directory_path() / "sluice-demo-XXXXXX");
    if (mkdtemp(tmpl.data()) == nullptr) {
      log().error("demo: cannot create a temporary directory");
      return 1;
    }
    dir = tmpl;
  }
  dir = fs::absolute(dir);
  fs::create_directories(dir / "app");
  auto text =
      fmt::format(fmt::runtime(topology_template),
                  fmt::arg("dir", dir.string()), fmt::arg("p1", free_port()),
                  fmt::arg("pa", free_port()), fmt::arg("pb", free_port()),
                  fmt::arg("da", free_port()), fmt::arg("db", free_port()));
  auto topo_path = dir / "demo.toml";
  std::ofstream{topo_path} << text;
  std::cout << "sluice demo in " << dir.string() << "\nTopology ("
            << topo_path.string() << "):\n\n"
            << text << '\n';
  std::vector<diagnostic> problems;
  auto spec = parse_topology(text, topo_path.string(), registry, problems);
  for (auto& p : problems)
    std::cerr << to_string(p) << '\n';
  if (!spec)
    return 2;
  // The relays run as processes of their own, so that one can be killed.
  relay agent_a{"agentA", topo_path, dir};
  relay agent_b{"agentB", topo_path, dir};
  if (!agent_a.start() || !agent_b.start()) {
    log().error("demo: cannot start the relays");
    return 1;
  }
  std::cout << "demo: relays agentA and agentB started (logs in "
            << dir.string() << "/agentA.log and agentB.log)\n";
  auto eng = engine::make(std::move(*spec), registry, {0, 1000, "agent1"});
  if (!eng) {
    log().error("demo: {}", describe(eng.error()));
    return 2;
  }
  if (auto err = (*eng)->start()) {
    log().error("demo: {}", describe(err));
    return 2;
  }
  // Midway agentA crashes (SIGKILL); agent1 fails over to agentB at once.
  // Later agentA comes back and, after its penalty, gets the lines again.
  std::vector<fs::path> outs = {dir / "out" / "agentA", dir / "out" / "agentB"};
  auto kill_at = opts.lines * 2 / 5;
  auto restart_at = opts.lines * 3 / 5;
  auto written = write_app_log(
      dir, opts.lines, opts.interval_ms, opts.interrupted, [&](int64_t i) {
        if (i == kill_at && kill_at < restart_at) {
          // Kill it mid-stream: once lines are flowing through it (a slow
          // machine may still be connecting), bounded.
          auto until =
              std::chrono::steady_clock::now() + std::chrono::seconds{20};
          while (landed_ids({outs[0]}).empty() &&
                 std::chrono::steady_clock::now() < until &&
                 !(opts.interrupted && *opts.interrupted))
            std::this_thread::sleep_for(std::chrono::milliseconds{20});
          agent_a.kill();
          log().info("demo: agentA killed with SIGKILL after line {} ({} "
                     "line(s) had landed through it)",
                     i, landed_ids({outs[0]}).size());
        } else if (i == restart_at) {
          agent_a.start();
          log().info("demo: agentA restarted after line {}", i);
        }
      });
  // Wait until every line has landed, or give up after a while.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{30};
  while (std::chrono::steady_clock::now() < deadline &&
         !(opts.interrupted && *opts.interrupted)) {
    auto seen = landed_ids(outs);
    if (written == 0 || (seen.size() >= static_cast<size_t>(written) &&
                         seen.count(1) > 0 && seen.count(written) > 0))
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds{100});
  }
  // agentA came back: wait (bounded) for the group to fail back to it after
  // its penalty, which a slow machine may not have reached yet.
  if (kill_at < restart_at && written >= restart_at) {
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds{20};
    while ((*eng)->metrics().snapshot("relays").switches < 2 &&
           std::chrono::steady_clock::now() < until &&
           !(opts.interrupted && *opts.interrupted))
      std::this_thread::sleep_for(std::chrono::milliseconds{50});
  }
  auto group = (*eng)->metrics().snapshot("relays");
  (*eng)->stop();
  auto result = (*eng)->wait();
  auto code_a = agent_a.stop();
  auto code_b = agent_b.stop();
  if (result) {
    log().error("demo: agent1 failed: {}", describe(result));
    return 1;
  }
  if (code_a > 0 || code_b > 0)
    log().error("demo: a relay did not stop cleanly (agentA {}, agentB {})",
                code_a, code_b);
  auto r = check_landing(outs, written);
  std::cout << fmt::format(
      "\ndemo: the application wrote {} lines; {} landed in {}/out/agentA "
      "and agentB: {} missing, {} duplicate(s) (at-least-once: events "
      "rerouted after the kill: {}, and what agentA wrote again after its "
      "restart), {}; the group switched {} time(s)\n",
      written, r.lines, dir.string(), r.missing, r.duplicates,
      group.redelivered, r.ordered ? "in order per relay" : "OUT OF ORDER",
      group.switches);
  return r.missing == 0 && r.ordered && code_a == 0 && code_b == 0 ? 0 : 1;
}

} // namespace sluice
