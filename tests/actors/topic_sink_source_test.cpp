// A topic sink and a topic source over a running topic whose shard is
// killed mid-stream: both find the restarted shard and go on, losing
// nothing and writing nothing twice.
#include <chrono>
#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <thread>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/after.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <catch2/catch.hpp>

#include "actors/channel.hpp"
#include "actors/topic.hpp"
#include "actors/topic_sink.hpp"
#include "actors/topic_source.hpp"
#include "runtime/atoms.hpp"
#include "runtime/errors.hpp"
#include "runtime/memory_store.hpp"
#include "runtime/metrics.hpp"
#include "runtime/type_ids.hpp"
#include "tests/support/process.hpp"
#include "tests/support/test_actors.hpp"

using namespace sluice;
using namespace std::chrono_literals;

namespace {

namespace fs = std::filesystem;

struct pipeline_bench {
  pipeline_bench() : sys(init(cfg)) {}

  static caf::actor_system_config& init(caf::actor_system_config& c) {
    register_types(c);
    c.set("logger.verbosity", caf::atom("quiet"));
    c.set("scheduler.max-threads", 2);
    return c;
  }

  channel_actor channel(const std::string& name) {
    channel_config cc;
    cc.name = name;
    cc.metrics = std::make_shared<component_metrics>(name, "channel");
    cc.make_store = []() -> caf::expected<channel_store_ptr> {
      return channel_store_ptr{std::make_unique<memory_store>()};
    };
    return spawn_channel(sys, cc, false);
  }

  test::temp_dir dir;
  caf::actor_system_config cfg;
  caf::actor_system sys;
  caf::scoped_actor self{sys};
};

} // namespace

TEST_CASE("a topic sink and a topic source go on when a shard restarts",
          "[topic_sink][topic_source]") {
  pipeline_bench bench;
  auto& self = bench.self;
  auto topic_metrics = std::make_shared<component_metrics>("orders", "topic");
  topic_config tc;
  tc.name = "orders";
  tc.directory = fs::path{bench.dir.path()} / "orders";
  tc.shards = 2;
  tc.log.min_free_space = 0;
  tc.metrics = topic_metrics;
  tc.restart_backoff_ms = 50;
  auto topic = spawn_topic(bench.sys, tc);
  constexpr uint64_t n = 3000;
  auto in = bench.channel("in");
  auto out = bench.channel("out");
  auto gen = test::spawn_numbered_source(bench.sys, in, n, 10);
  auto sink_metrics = std::make_shared<component_metrics>("to_topic", "sink");
  topic_sink_config sc;
  sc.name = "to_topic";
  sc.feed = caf::actor_cast<caf::actor>(in);
  sc.topic_name = "orders";
  sc.topic = topic;
  sc.partition = topic_partition::hash;
  sc.batch_size = 20;
  sc.max_in_flight = 1;
  sc.origin = "n/in";
  sc.metrics = sink_metrics;
  auto sink = spawn_topic_sink(bench.sys, sc);
  auto source_metrics =
      std::make_shared<component_metrics>("from_topic", "source");
  topic_source_config rc;
  rc.name = "from_topic";
  rc.channel = out;
  rc.topic_name = "orders";
  rc.topic = topic;
  rc.group = "g";
  rc.start.from = topic_start::kind::earliest;
  rc.wait_ms = 100;
  rc.metrics = source_metrics;
  auto source = spawn_topic_source(bench.sys, rc);
  self->monitor(sink);
  self->monitor(source);
  // Drains `out`, counting each body.
  std::multiset<std::string> seen;
  std::set<std::string> distinct;
  // A take waits for data, and one given up would keep its lease: it is
  // asked only while records are still due, and a long wait ends the test.
  bool stalled = false;
  auto drain = [&] {
    lease l;
    self->request(out, 30s, take_atom::value, uint64_t{500})
        .receive([&](lease& x) { l = std::move(x); },
                 [&](caf::error& err) {
                   UNSCOPED_INFO("take: " << describe(err));
                   stalled = true;
                 });
    if (l.id == 0)
      return;
    if (l.batches.ptr)
      for (auto& b : *l.batches.ptr)
        for (size_t i = 0; i < b.size(); ++i) {
          seen.emplace(b.body(i));
          distinct.emplace(b.body(i));
        }
    self->send(out, commit_atom::value, l.id);
  };
  auto deadline = std::chrono::steady_clock::now() + 60s;
  while (distinct.size() < n / 4 && !stalled &&
         std::chrono::steady_clock::now() < deadline)
    drain();
  auto at_kill = distinct.size();
  REQUIRE(at_kill >= n / 4);
  REQUIRE(at_kill < n); // the kill lands mid-stream
  topic_metadata before;
  self->request(topic, 10s, metadata_atom::value)
      .receive([&](topic_metadata& m) { before = std::move(m); },
               [&](caf::error& err) { FAIL(describe(err)); });
  REQUIRE(before.shard_actors.size() == 2);
  self->send_exit(before.shard_actors[0], caf::exit_reason::kill);
  while (distinct.size() < n && !stalled &&
         std::chrono::steady_clock::now() < deadline)
    drain();
  CHECK(topic_metrics->restarts.load() == 1);
  CHECK(distinct.size() == n);
  CHECK(seen.size() == n); // the source put nothing twice
  // The topic holds each record once: the sink's retries were duplicates.
  topic_metadata after;
  self->request(topic, 10s, metadata_atom::value)
      .receive([&](topic_metadata& m) { after = std::move(m); },
               [&](caf::error& err) { FAIL(describe(err)); });
  REQUIRE(after.shard_actors.size() == 2);
  CHECK(after.shard_actors[0] != before.shard_actors[0]);
  uint64_t stored = 0;
  for (auto& s : after.shard_actors)
    self->request(s, 10s, offsets_atom::value)
        .receive([&](shard_offsets& o) { stored += o.end - o.start; },
                 [&](caf::error& err) { FAIL(describe(err)); });
  CHECK(stored == n);
  // Neither the sink nor the source ended.
  bool ended = false;
  self->receive([&](caf::down_msg&) { ended = true; },
                caf::after(0ms) >> [] {});
  CHECK_FALSE(ended);
  CHECK(sink_metrics->errors.load() == 0);
  CHECK(source_metrics->errors.load() == 0);
  bool probe = false;
  self->request(sink, 10s, probe_atom::value)
      .receive([&](bool x) { probe = x; },
               [&](caf::error& err) { FAIL(describe(err)); });
  CHECK(probe);
  for (auto a :
       {caf::actor_cast<caf::actor>(source), caf::actor_cast<caf::actor>(sink)})
    self->send_exit(a, caf::exit_reason::kill);
  caf::anon_send_exit(gen, caf::exit_reason::kill);
  self->send(topic, stop_atom::value);
  for (auto a :
       {caf::actor_cast<caf::actor>(in), caf::actor_cast<caf::actor>(out)})
    self->send_exit(a, caf::exit_reason::kill);
}
