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
#include <map>
#include <memory>
#include <netinet/in.h>
#include <set>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include <fmt/format.h>
#include <zstd.h>

#include "cli/demo_sql.hpp"
#include "cli/topic_offline.hpp"
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
// (priority 5); each relay is a `sluice node` child process that appends what
// it receives to the topic `lines` on the node `store`, another child process,
// which archives the topic into compressed files as consumer group
// `archive`.
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

[nodes.store]
port = {ps}

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

[sinks.intoTopicA]
node = "agentA"
type = "topic"
channel = "relayA"
topic = "lines"
timeout = "2s"

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

[sinks.intoTopicB]
node = "agentB"
type = "topic"
channel = "relayB"
topic = "lines"
timeout = "2s"

[topics.lines]
node = "store"
directory = "{dir}/state/store/topics/lines"
shards = 2
fsync = "10ms"
segment_size = "64KiB"
min_free_space = "16MiB"

[sources.fromTopic]
node = "store"
type = "topic"
channel = "toArchive"
topic = "lines"
group = "archive"

[channels.toArchive]
node = "store"
type = "file"
directory = "{dir}/state/store/channel"
min_free_space = "16MiB"

[sinks.archive]
node = "store"
type = "archive"
channel = "toArchive"
directory = "{dir}/archive"
topic = "lines"
roll_size = "4KiB"
roll_interval = "1s"
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

/// A node of the demo (a relay or the store): this program run as
/// `sluice node TOPOLOGY --node NAME`, its
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

/// The order id of a line holding `id=N` (0 without one).
int64_t order_id(std::string_view line) {
  auto pos = line.find("id=");
  if (pos == std::string_view::npos)
    return 0;
  return std::atoll(std::string{line.substr(pos + 3, 12)}.c_str());
}

/// What the topic holds, read from its directory once its node stopped.
struct topic_report {
  int64_t records = 0;
  int64_t missing = 0;
  int64_t duplicates = 0;
  /// Sums of a hash of each record and of each line written: equal when
  /// the topic holds exactly the lines written, whatever their order.
  uint64_t checksum = 0;
  uint64_t expected_checksum = 0;
  std::string error; ///< the topic could not be read
};

uint64_t line_hash(std::string_view line) {
  return std::hash<std::string_view>{}(line);
}

topic_report check_topic(const fs::path& dir, int64_t lines) {
  topic_report r;
  for (int64_t i = 1; i <= lines; ++i)
    r.expected_checksum += line_hash(order_line(i));
  auto topic = open_offline_topic(dir, "lines");
  if (!topic) {
    r.error = describe(topic.error());
    return r;
  }
  auto view = (*topic)->describe({});
  if (!view) {
    r.error = describe(view.error());
    return r;
  }
  std::map<int64_t, int> seen;
  for (auto& shard : view->shard_views) {
    auto next = shard.start;
    while (next < shard.end) {
      auto got = (*topic)->fetch(shard.index, next, 1 << 20, 0);
      if (!got || got->batches.empty()) {
        r.error = got ? "shard " + std::to_string(shard.index) +
                            " returned nothing at offset " +
                            std::to_string(next)
                      : describe(got.error());
        return r;
      }
      for (auto& rb : got->batches) {
        for (size_t i = 0; i < rb.batch.size(); ++i) {
          if (rb.base_offset + i < next)
            continue;
          auto body = rb.batch.body(i);
          ++r.records;
          r.checksum += line_hash(body);
          ++seen[order_id(body)];
        }
        next = rb.base_offset + rb.batch.size();
      }
    }
  }
  for (int64_t i = 1; i <= lines; ++i) {
    auto it = seen.find(i);
    if (it == seen.end())
      ++r.missing;
    else
      r.duplicates += it->second - 1;
  }
  return r;
}

/// The text of the complete zstd frames of a file.
std::string decompress_frames(const fs::path& path) {
  std::ifstream in{path, std::ios::binary};
  std::string data{std::istreambuf_iterator<char>{in}, {}};
  std::unique_ptr<ZSTD_DCtx, size_t (*)(ZSTD_DCtx*)> dctx{ZSTD_createDCtx(),
                                                          ZSTD_freeDCtx};
  std::string text;
  std::vector<char> buf(ZSTD_DStreamOutSize());
  size_t pos = 0;
  while (pos < data.size()) {
    auto n = ZSTD_findFrameCompressedSize(data.data() + pos, data.size() - pos);
    if (ZSTD_isError(n))
      break; // an in-progress file's frame being written
    ZSTD_DCtx_reset(dctx.get(), ZSTD_reset_session_only);
    ZSTD_inBuffer zin{data.data() + pos, n, 0};
    size_t rc = 1;
    while (rc != 0) {
      ZSTD_outBuffer out{buf.data(), buf.size(), 0};
      rc = ZSTD_decompressStream(dctx.get(), &out, &zin);
      if (ZSTD_isError(rc) || (out.pos == 0 && zin.pos == zin.size && rc != 0))
        return text;
      text.append(buf.data(), out.pos);
    }
    pos += n;
  }
  return text;
}

/// What the archive holds: each order id and how often.
struct archive_report {
  std::map<int64_t, int> seen;
  int64_t files = 0;       ///< under their final names
  int64_t in_progress = 0; ///< still being written
};

archive_report read_archive(const fs::path& root) {
  archive_report r;
  std::error_code ec;
  for (auto i = fs::recursive_directory_iterator{root, ec};
       !ec && i != fs::recursive_directory_iterator{}; i.increment(ec)) {
    if (!i->is_regular_file(ec))
      continue;
    ++(i->path().filename().string().front() == '.' ? r.in_progress : r.files);
    auto text = decompress_frames(i->path());
    size_t pos = 0;
    while (pos < text.size()) {
      auto nl = text.find('\n', pos);
      if (nl == std::string::npos)
        break;
      ++r.seen[order_id(std::string_view{text}.substr(pos, nl - pos))];
      pos = nl + 1;
    }
  }
  return r;
}

/// True when the archive holds every line from 1 to `lines`.
bool archived_all(const archive_report& r, int64_t lines) {
  for (int64_t i = 1; i <= lines; ++i)
    if (r.seen.count(i) == 0)
      return false;
  return true;
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
  std::cout << "sluice demo in " << dir.string() << '\n';
  // The compute tier's database first: the job writes to it from its start.
  auto compute = demo_compute::start(dir);
  if (!compute) {
    log().error("demo: {}", describe(compute.error()));
    return 1;
  }
  auto text =
      fmt::format(fmt::runtime(topology_template),
                  fmt::arg("dir", dir.string()), fmt::arg("p1", free_port()),
                  fmt::arg("pa", free_port()), fmt::arg("pb", free_port()),
                  fmt::arg("ps", free_port()), fmt::arg("da", free_port()),
                  fmt::arg("db", free_port())) +
      (*compute)->topology(free_port());
  auto topo_path = dir / "demo.toml";
  std::ofstream{topo_path} << text;
  std::cout << "\nTopology (" << topo_path.string() << "):\n\n"
            << text << "\nThe job's script ("
            << (dir / "compute" / "per_region.sql").string() << "):\n\n"
            << demo_compute::script() << '\n';
  std::vector<diagnostic> problems;
  auto spec = parse_topology(text, topo_path.string(), registry, problems);
  for (auto& p : problems)
    std::cerr << to_string(p) << '\n';
  if (!spec)
    return 2;
  // The relays and the store run as processes of their own, so that one can
  // be killed.
  relay store{"store", topo_path, dir};
  relay agent_a{"agentA", topo_path, dir};
  relay agent_b{"agentB", topo_path, dir};
  relay compute_node{"compute", topo_path, dir};
  if (!store.start() || !agent_a.start() || !agent_b.start() ||
      !compute_node.start()) {
    log().error("demo: cannot start the relays, the store and compute");
    return 1;
  }
  std::cout << "demo: relays agentA and agentB, the store and compute "
               "started (logs in "
            << dir.string()
            << "/agentA.log, agentB.log, store.log and compute.log)\n";
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
  auto archive_root = dir / "archive" / "lines";
  auto through_a = [&] {
    return (*eng)->metrics().snapshot("toA").events_out;
  };
  auto kill_at = opts.lines * 2 / 5;
  auto restart_at = opts.lines * 3 / 5;
  auto written = write_app_log(
      dir, opts.lines, opts.interval_ms, opts.interrupted, [&](int64_t i) {
        if (i == kill_at && kill_at < restart_at) {
          // Kill it mid-stream: once lines are flowing through it (a slow
          // machine may still be connecting), bounded.
          auto until =
              std::chrono::steady_clock::now() + std::chrono::seconds{20};
          while (through_a() == 0 && std::chrono::steady_clock::now() < until &&
                 !(opts.interrupted && *opts.interrupted))
            std::this_thread::sleep_for(std::chrono::milliseconds{20});
          agent_a.kill();
          log().info("demo: agentA killed with SIGKILL after line {} ({} "
                     "line(s) had gone through it)",
                     i, through_a());
        } else if (i == restart_at) {
          agent_a.start();
          log().info("demo: agentA restarted after line {}", i);
        }
      });
  // Wait until the archive holds every line (it reads the topic the relays
  // append to), or give up after a while.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{30};
  while (std::chrono::steady_clock::now() < deadline &&
         !(opts.interrupted && *opts.interrupted)) {
    if (archived_all(read_archive(archive_root), written))
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
  // The SQL job on compute reads the topic as it fills: wait (bounded) for
  // its totals of every line written to land in MariaDB.
  bool totals = (*compute)->wait_for_totals(written, std::chrono::seconds{60},
                                            opts.interrupted);
  if (!totals)
    log().warn("demo: the per-region totals did not reach every line within "
               "60 s (see compute.log)");
  auto group = (*eng)->metrics().snapshot("relays");
  (*eng)->stop();
  auto result = (*eng)->wait();
  auto code_a = agent_a.stop();
  auto code_b = agent_b.stop();
  auto code_c = compute_node.stop();
  // The store last: its archive finishes its open file when it stops.
  auto code_s = store.stop();
  if (result) {
    log().error("demo: agent1 failed: {}", describe(result));
    return 1;
  }
  if (code_a > 0 || code_b > 0 || code_c > 0 || code_s > 0)
    log().error("demo: a node did not stop cleanly (agentA {}, agentB {}, "
                "compute {}, store {})",
                code_a, code_b, code_c, code_s);
  auto t = check_topic(dir / "state" / "store" / "topics" / "lines", written);
  if (!t.error.empty())
    log().error("demo: cannot read the topic: {}", t.error);
  bool exact = t.error.empty() && t.missing == 0 && t.duplicates == 0 &&
               t.records == written && t.checksum == t.expected_checksum;
  std::cout << fmt::format(
      "\ndemo: the application wrote {} lines; {} landed in the topic lines "
      "on the store: {} missing, {} duplicate(s), checksum {} (the relays' "
      "writes are idempotent: a batch rerouted after the kill, or that "
      "agentA appended again after its restart, is stored once; events "
      "rerouted: {}); the group switched {} time(s)\n",
      written, t.records, t.missing, t.duplicates,
      t.checksum == t.expected_checksum ? "matches" : "DIFFERS",
      group.redelivered, group.switches);
  auto a = read_archive(archive_root);
  int64_t archived_missing = 0, archived_duplicates = 0;
  for (int64_t i = 1; i <= written; ++i) {
    auto it = a.seen.find(i);
    if (it == a.seen.end())
      ++archived_missing;
    else
      archived_duplicates += it->second - 1;
  }
  std::cout << fmt::format(
      "demo: the archive {} holds {} file(s) ({} in progress): {} missing, "
      "{} duplicate(s) (at-least-once: records read again after a "
      "crash)\n",
      archive_root.string(), a.files, a.in_progress, archived_missing,
      archived_duplicates);
  // The compute tier: the SQL job's totals over the topic's records (each
  // once, so its counts and sums are exact).
  std::cout << "\ndemo: compute: job per_region (node compute) read the "
               "topic lines and looked each region up in MariaDB:\n";
  bool sql_ok = (*compute)->report(written);
  return exact && sql_ok && archived_missing == 0 && a.in_progress == 0 &&
                 code_a == 0 && code_b == 0 && code_c == 0 && code_s == 0
             ? 0
             : 1;
}

} // namespace sluice
