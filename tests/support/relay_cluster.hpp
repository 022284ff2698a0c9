#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/ports.hpp"
#include "tests/support/process.hpp"

namespace sluice::test {

/// The seed's collection tier on this machine: agent1 tails a file and sends
/// to agentA (priority 10) and agentB (priority 5) through a failover sink
/// group of two forward sinks; agentA and agentB each write what they
/// receive to their own directory. Each agent is a real `sluice` process:
/// one node of a topology file, or one Flume properties file.
class relay_cluster {
 public:
  struct settings {
    bool flume = false;       ///< three Flume files instead of one topology
    int64_t penalty_ms = 200; ///< the group's first penalty
    int64_t maxpenalty_ms = 2000;
    int64_t forward_timeout_ms = 2000;
    /// The relays append to a topic on a fourth node, "store", instead of
    /// writing files; the store also runs a topic source that copies the
    /// topic to files, which `delivered` reads while it runs.
    bool topic = false;
    size_t topic_shards = 3; ///< TOML only; the Flume files say 1
    /// The writer's line for number n, led by n in 9 digits (what
    /// `delivered` reads back); empty: "%09d\n". `written_bytes` counts
    /// lines of the default width.
    std::function<std::string(int64_t)> line_of;
  };

  /// Prints every agent's log to stderr when it goes out of scope after a
  /// failed assertion (make one once the agents run).
  struct logs_on_failure {
    const relay_cluster& c;
    ~logs_on_failure();
  };

  relay_cluster(const temp_dir& dir, settings s);
  ~relay_cluster();

  /// Starts agent `name` ("agent1", "agentA", "agentB" or, with a topic,
  /// "store"); false when the
  /// process could not start.
  bool start(const std::string& name);

  /// Sends `sig` to agent `name`.
  void signal(const std::string& name, int sig);

  /// SIGKILLs agent `name` and reaps it.
  void kill(const std::string& name);

  /// SIGTERMs agent `name`; its exit code, or nothing after `timeout`.
  std::optional<int> stop(const std::string& name,
                          std::chrono::milliseconds timeout);

  bool running(const std::string& name) const;

  /// Bytes the relay ("agentA" or "agentB") has written so far; lines are
  /// fixed width, so this counts lines without reading them. With a topic:
  /// the events its topic sink appended (over all its runs, from its stats
  /// lines) times the line width.
  uint64_t written_bytes(const std::string& relay) const;

  /// Events agent1's sink towards `relay` ("agentA" or "agentB") has
  /// handed over, from agent1's last stats line (at most 100 ms old).
  /// Unlike `written_bytes` this excludes what the relay still had in its
  /// own channel: it says where the group routes, not what the relay drains.
  uint64_t routed_events(const std::string& relay) const;

  /// Every line the relays wrote, as numbers, in no particular order (with
  /// a topic: every line the store's topic source read back).
  std::vector<int64_t> delivered() const;

  /// The topic's directory (with a topic).
  std::string topic_dir() const;

  /// The control port of agent `name` ("store": where its topics are).
  uint16_t port_of(const std::string& name) const { return ports_.at(name); }

  /// What agent `name` logged.
  std::string log(const std::string& name) const;

  /// Starts a thread that appends numbered fixed-width lines to the tailed
  /// file, `per_tick` lines every `tick`, until `stop_writer`.
  void start_writer(size_t per_tick, std::chrono::milliseconds tick);
  /// Stops the writer; returns how many lines it wrote.
  int64_t stop_writer();
  int64_t lines_written() const { return written_.load(); }

  static constexpr size_t line_width = 10; ///< "%09d\n"

  const std::string& config_of(const std::string& name) const {
    return configs_.at(name);
  }

  /// Names in the agents' stats lines: agent1's sink group and agentA's
  /// channel.
  std::string group_name() const { return settings_.flume ? "g1" : "relays"; }
  std::string relay_channel() const { return settings_.flume ? "c1" : "cA"; }

 private:
  std::vector<std::string> argv_of(const std::string& name) const;
  std::string out_dir(const std::string& relay) const;
  void write_topology();
  void write_flume_files();
  void write_store_topology();

  const temp_dir& dir_;
  settings settings_;
  std::map<std::string, uint16_t> ports_;
  std::map<std::string, std::string> configs_;
  std::map<std::string, std::unique_ptr<process>> procs_;
  std::thread writer_;
  std::atomic<bool> writing_{false};
  std::atomic<int64_t> written_{0};
};

/// Counts what a list of delivered numbers holds against 0..n-1.
struct delivery_check {
  std::vector<int64_t> missing;
  size_t duplicates = 0;
};
delivery_check check_delivery(const std::vector<int64_t>& got, int64_t n);

} // namespace sluice::test
