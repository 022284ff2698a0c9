// The node actor's status reply: what `sluice status` receives from
// another process, so it must survive CAF's serializer.
#include <chrono>

#include <caf/all.hpp>
#include <catch2/catch.hpp>

#include "engine/node.hpp"
#include "runtime/atoms.hpp"
#include "runtime/metrics.hpp"
#include "runtime/type_ids.hpp"

using namespace sluice;
using namespace std::chrono_literals;

namespace {

/// A registry as a node with a failover group over two forward sinks has
/// it: one member connected, one penalized with its last error.
void fill(metrics_registry& reg) {
  auto ch = reg.get("outbox", "channel");
  ch->add_in(120, 4800);
  ch->fill_events = 20;
  ch->capacity = 1000;
  ch->set_state("running");
  auto group = reg.get("relays", "sink_group");
  group->set_active("primary");
  group->switches = 2;
  group->rerouted = 1;
  group->set_state("running");
  auto primary = reg.get("primary", "sink");
  primary->add_out(100, 4000);
  primary->set_group_state("relays", "live");
  primary->set_peer("127.0.0.1:7003");
  primary->connected = 1;
  primary->in_flight = 1;
  auto standby = reg.get("standby", "sink");
  standby->set_group_state("relays", "penalized");
  standby->failures = 3;
  standby->penalty_ms = 4000;
  standby->set_peer("127.0.0.1:7004");
  standby->reconnects = 7;
  standby->set_last_error("cannot connect: refused");
  auto other = reg.get("elsewhere", "sink"); // on another node
  other->add_out(1, 1);
}

} // namespace

SCENARIO("the node actor's status reply survives serialization", "[status]") {
  caf::actor_system_config cfg;
  register_types(cfg);
  cfg.set("logger.verbosity", caf::atom("quiet"));
  caf::actor_system sys{cfg};
  metrics_registry reg;
  fill(reg);
  topology_spec spec;
  spec.channels.push_back({});
  spec.channels.back().name = "outbox";
  spec.channels.back().node = "edge";
  for (auto name : {"primary", "standby"}) {
    spec.sinks.push_back({});
    spec.sinks.back().name = name;
    spec.sinks.back().node = "edge";
  }
  spec.sinks.push_back({});
  spec.sinks.back().name = "elsewhere";
  spec.sinks.back().node = "relay";
  spec.sink_groups.push_back({});
  spec.sink_groups.back().name = "relays";
  spec.sink_groups.back().sinks = {"primary", "standby"};
  GIVEN("a node actor reading the components of node edge") {
    auto node =
        spawn_node_actor(sys, "edge", components_of_node(spec, reg, "edge"));
    caf::scoped_actor self{sys};
    WHEN("it is asked for its status") {
      node_status reply;
      self->request(node, 5s, status_atom::value)
          .receive([&](node_status& st) { reply = std::move(st); },
                   [&](caf::error& err) { FAIL(sys.render(err)); });
      THEN("it names itself and holds exactly the node's components") {
        CHECK(reply.name == "edge");
        CHECK(reply.uptime_ms >= 0);
        std::vector<std::string> names;
        for (auto& c : reply.components)
          names.push_back(c.name);
        std::sort(names.begin(), names.end());
        CHECK(names == std::vector<std::string>{"outbox", "primary", "relays",
                                                "standby"});
      }
      AND_WHEN("the reply is written and read back with CAF's binary "
               "format") {
        auto msg = caf::make_message(reply);
        std::vector<char> buf;
        caf::binary_serializer sink{sys, buf};
        REQUIRE(!sink(msg));
        caf::message out;
        caf::binary_deserializer source{sys, buf};
        REQUIRE(!source(out));
        REQUIRE(out.match_elements<node_status>());
        auto& copy = out.get_as<node_status>(0);
        THEN("the copy equals the original, link and group state included") {
          CHECK(copy == reply);
          auto find = [&](const std::string& name) {
            for (auto& c : copy.components)
              if (c.name == name)
                return c;
            FAIL("no component " << name);
            return metrics_snapshot{};
          };
          auto standby = find("standby");
          CHECK(standby.group_state == "penalized");
          CHECK(standby.penalty_ms == 4000);
          CHECK(standby.failures == 3);
          CHECK(standby.peer == "127.0.0.1:7004");
          CHECK(standby.connected == 0);
          CHECK(standby.reconnects == 7);
          CHECK(standby.last_error == "cannot connect: refused");
          auto primary = find("primary");
          CHECK(primary.connected == 1);
          CHECK(primary.in_flight == 1);
          CHECK(primary.events_out == 100);
          auto group = find("relays");
          CHECK(group.active == "primary");
          CHECK(group.switches == 2);
          CHECK(group.state == "running");
          CHECK(find("outbox").fill_events == 20);
        }
      }
    }
    caf::anon_send_exit(node, caf::exit_reason::user_shutdown);
  }
}
