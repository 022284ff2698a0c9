#include "cli/demo.hpp"

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <thread>

#include <fmt/format.h>

#include "config/topology.hpp"
#include "connectors/registry.hpp"
#include "engine/engine.hpp"
#include "runtime/errors.hpp"
#include "runtime/log.hpp"

namespace sluice {

namespace {

namespace fs = std::filesystem;

constexpr std::string_view topology_template = R"([supervision]
max_restarts = 5
restart_window = "60s"

[sources.app]
type = "taildir"
channel = "durable"
batch_size = 100
filegroups = {{ app = "{dir}/app/*.log" }}
position_file = "{dir}/state/app.positions.json"
file_header = true
[[sources.app.interceptors]]
type = "timestamp"
[[sources.app.interceptors]]
type = "host"

[channels.durable]
type = "file"
directory = "{dir}/state/channel"
min_free_space = "16MiB"

[sinks.landing]
type = "file"
channel = "durable"
batch_size = 1000
directory = "{dir}/out"
prefix = "app"
roll_size = "16KiB"
)";

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
                      const std::atomic<bool>* interrupted) {
  auto log_path = dir / "app" / "test.log";
  std::ofstream out{log_path, std::ios::app};
  for (int64_t i = 1; i <= lines; ++i) {
    if (interrupted && *interrupted) {
      log().info("demo: interrupted after {} line(s)", i - 1);
      return i - 1;
    }
    out << order_line(i) << '\n' << std::flush;
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
  bool ordered = true;
};

landing_report check_landing(const fs::path& out_dir, int64_t lines) {
  std::vector<fs::path> files;
  for (auto& e : fs::directory_iterator{out_dir})
    files.push_back(e.path());
  std::sort(files.begin(), files.end());
  landing_report r;
  std::set<std::string> seen;
  int64_t last = 0;
  for (auto& f : files) {
    std::ifstream in{f};
    for (std::string line; std::getline(in, line);) {
      ++r.lines;
      if (!seen.insert(line).second) {
        ++r.duplicates;
        continue;
      }
      auto pos = line.find("id=");
      auto id =
          pos == std::string::npos ? 0 : std::atoll(line.c_str() + pos + 3);
      if (id < last)
        r.ordered = false;
      last = id;
    }
  }
  for (int64_t i = 1; i <= lines; ++i)
    if (seen.count(order_line(i)) == 0)
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
  auto text = fmt::format(fmt::runtime(topology_template),
                          fmt::arg("dir", dir.string()));
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
  auto eng = engine::make(std::move(*spec), registry, {0, 1000, {}});
  if (!eng) {
    log().error("demo: {}", describe(eng.error()));
    return 2;
  }
  if (auto err = (*eng)->start()) {
    log().error("demo: {}", describe(err));
    return 2;
  }
  auto written =
      write_app_log(dir, opts.lines, opts.interval_ms, opts.interrupted);
  // Wait until the sink has landed every line, or give up after a while.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{30};
  while (std::chrono::steady_clock::now() < deadline &&
         (*eng)->metrics().snapshot("landing").events_out <
             static_cast<uint64_t>(written))
    std::this_thread::sleep_for(std::chrono::milliseconds{50});
  (*eng)->stop();
  if (auto err = (*eng)->wait()) {
    log().error("demo: pipeline failed: {}", describe(err));
    return 1;
  }
  auto r = check_landing(dir / "out", written);
  std::cout << fmt::format("\ndemo: the application wrote {} lines; {} "
                           "landed in {}: {} missing, {} duplicate(s), {}\n",
                           written, r.lines, (dir / "out").string(), r.missing,
                           r.duplicates,
                           r.ordered ? "in order" : "OUT OF ORDER");
  return r.missing == 0 && r.ordered ? 0 : 1;
}

} // namespace sluice
