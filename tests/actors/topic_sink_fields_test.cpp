// A topic sink with declared fields (the DataHub import's
// serializer.fieldnames) counts the events whose number of fields differs,
// and still writes every event as it is.
#include <chrono>
#include <filesystem>
#include <memory>
#include <string>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>
#include <catch2/catch.hpp>

#include "actors/channel.hpp"
#include "actors/topic.hpp"
#include "actors/topic_sink.hpp"
#include "runtime/atoms.hpp"
#include "runtime/memory_store.hpp"
#include "runtime/metrics.hpp"
#include "runtime/type_ids.hpp"
#include "tests/support/process.hpp"
#include "tests/support/test_actors.hpp"
#include "tests/support/wait.hpp"

using namespace sluice;
using namespace std::chrono_literals;

namespace {

caf::actor_system_config& init(caf::actor_system_config& c) {
  register_types(c);
  c.set("logger.verbosity", caf::atom("quiet"));
  c.set("scheduler.max-threads", 2);
  return c;
}

} // namespace

TEST_CASE("a topic sink counts events with another number of fields and "
          "writes them all",
          "[topic_sink]") {
  test::temp_dir dir;
  caf::actor_system_config cfg;
  caf::actor_system sys{init(cfg)};
  caf::scoped_actor self{sys};
  topic_config tc;
  tc.name = "lines";
  tc.directory = std::filesystem::path{dir.path()} / "lines";
  tc.shards = 1;
  tc.log.min_free_space = 0;
  tc.metrics = std::make_shared<component_metrics>("lines", "topic");
  auto topic = spawn_topic(sys, tc);
  channel_config cc;
  cc.name = "in";
  cc.metrics = std::make_shared<component_metrics>("in", "channel");
  cc.make_store = []() -> caf::expected<channel_store_ptr> {
    return channel_store_ptr{std::make_unique<memory_store>()};
  };
  auto in = spawn_channel(sys, cc, false);
  // The numbered source writes "0" .. "99". With the digit 1 as the
  // separator and one declared field, the bodies holding a 1 are
  // malformed: 1, 10..19, 21, 31, ..., 91 (19 of them).
  constexpr uint64_t n = 100;
  auto gen = test::spawn_numbered_source(sys, in, n, 10);
  metrics_registry registry;
  auto metrics = registry.get("to_topic", "sink");
  topic_sink_config sc;
  sc.name = "to_topic";
  sc.feed = caf::actor_cast<caf::actor>(in);
  sc.topic_name = "lines";
  sc.topic = topic;
  sc.fields = {"n"};
  sc.delimiter = "1";
  sc.origin = "n/in";
  sc.metrics = metrics;
  auto sink = spawn_topic_sink(sys, sc);
  REQUIRE(test::wait_for([&] { return metrics->events_out.load() >= n; }, 30s));
  CHECK(metrics->events_out.load() == n);
  CHECK(metrics->malformed.load() == 19);
  CHECK(tc.metrics->events_in.load() == n);
  auto snap = registry.snapshot("to_topic");
  CHECK(snap.malformed == 19);
  CHECK(to_string(snap).find("malformed=19") != std::string::npos);
  for (auto& a :
       {caf::actor_cast<caf::actor>(sink), gen, caf::actor_cast<caf::actor>(in),
        caf::actor_cast<caf::actor>(topic)})
    self->send_exit(a, caf::exit_reason::user_shutdown);
}
