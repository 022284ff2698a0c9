// A topic in a running engine: started on its node, found through the
// node's control port and through engine::component.
#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "actors/protocols.hpp"
#include "config/topology.hpp"
#include "connectors/registry.hpp"
#include "engine/engine.hpp"
#include "runtime/atoms.hpp"
#include "runtime/cluster_link.hpp"
#include "runtime/errors.hpp"
#include "runtime/type_ids.hpp"
#include "tests/support/ports.hpp"
#include "tests/support/process.hpp"

using namespace sluice;
using namespace std::chrono_literals;

namespace {

template <class Predicate>
bool eventually(Predicate pred, std::chrono::milliseconds timeout = 20s) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred())
      return true;
    std::this_thread::sleep_for(20ms);
  }
  return pred();
}

} // namespace

TEST_CASE("a node runs its topics and hands them out on its control port",
          "[topic][engine]") {
  test::temp_dir dir;
  auto port = test::free_port();
  auto text = fmt::format(R"([nodes.store]
port = {}

[topics.orders]
node = "store"
directory = "{}/orders"
shards = 2
fsync = "batch"
)",
                          port, dir.path());
  std::vector<diagnostic> problems;
  auto spec =
      parse_topology(text, "t.toml", connector_registry::builtin(), problems);
  for (auto& p : problems)
    UNSCOPED_INFO(to_string(p));
  REQUIRE(spec);
  auto eng = engine::make(std::move(*spec), connector_registry::builtin(),
                          engine_options{2, 0, "store"});
  REQUIRE(eng);
  auto err = (*eng)->start();
  INFO(describe(err));
  REQUIRE(!err);
  // Through the engine.
  auto local = (*eng)->component("topics.orders");
  REQUIRE(local);
  REQUIRE(*local);
  local = caf::actor{};
  // Through the control port, as a topic sink on another node does.
  caf::actor_system_config cfg;
  register_types(cfg);
  configure_cluster(cfg, cluster_link_settings{});
  cfg.set("logger.verbosity", caf::atom("quiet"));
  cfg.set("scheduler.max-threads", 2);
  {
    caf::actor_system sys{cfg};
    caf::actor node;
    REQUIRE(eventually([&] {
      auto a = connect_actor_blocking(sys, "127.0.0.1", port);
      if (a)
        node = *a;
      return static_cast<bool>(a);
    }));
    caf::scoped_actor self{sys};
    topic_actor topic;
    self->request(node, 10s, topic_atom::value, std::string{"orders"})
        .receive([&](topic_actor& t) { topic = t; },
                 [&](caf::error& e) { FAIL(describe(e)); });
    REQUIRE(topic);
    topic_metadata meta;
    self->request(topic, 10s, metadata_atom::value)
        .receive([&](topic_metadata& m) { meta = std::move(m); },
                 [&](caf::error& e) { FAIL(describe(e)); });
    CHECK(meta.name == "orders");
    CHECK(meta.shards == 2);
    REQUIRE(meta.shard_actors.size() == 2);
    // An append across the link, answered once durable.
    event_batch b;
    b.append("hello");
    REQUIRE(b.set_origin("agent1/c1#1", 1));
    append_result appended;
    self->request(meta.shard_actors[1], 10s, append_atom::value,
                  std::string{"agent1/c1#1"}, uint64_t{1}, b)
        .receive([&](append_result& r) { appended = r; },
                 [&](caf::error& e) { FAIL(describe(e)); });
    CHECK(appended.count == 1);
    fetch_result fetched;
    self->request(meta.shard_actors[1], 10s, fetch_atom::value, uint64_t{0},
                  uint64_t{1} << 20, int64_t{0})
        .receive([&](fetch_result& r) { fetched = std::move(r); },
                 [&](caf::error& e) { FAIL(describe(e)); });
    REQUIRE(fetched.batches.size() == 1);
    CHECK(fetched.batches[0].batch.body(0) == "hello");
    CHECK(fetched.batches[0].batch.origin_producer() == "agent1/c1#1");
    // A topic the node does not hold.
    caf::error unknown;
    self->request(node, 10s, topic_atom::value, std::string{"nope"})
        .receive([&](topic_actor&) {}, [&](caf::error& e) { unknown = e; });
    CHECK(unknown == make_error(topic_errc::unknown_topic));
  }
  (*eng)->stop();
  CHECK_FALSE((*eng)->wait());
}
