#include <caf/all.hpp>
#include <catch2/catch.hpp>

#include "runtime/atoms.hpp"
#include "runtime/lease.hpp"
#include "runtime/type_ids.hpp"

using namespace sluice;

SCENARIO("messages between actors survive serialization", "[type_ids]") {
  caf::actor_system_config cfg;
  register_types(cfg);
  cfg.set("logger.verbosity", caf::atom("quiet"));
  caf::actor_system sys{cfg};
  GIVEN("a put message (with its source's progress token) and a lease carrying "
        "batches with headers") {
    event_batch b;
    b.append("first");
    b.add_header("host", "h1");
    b.append("second");
    auto put = caf::make_message(put_atom::value, uint64_t{7}, b,
                                 std::string{"0 12 4096 0 0 3:a.b"});
    lease l;
    l.id = 42;
    l.batches.ptr =
        std::make_shared<const std::vector<event_batch>>(std::vector{b, b});
    l.epoch = 99;
    l.seqs = {5, 6};
    auto leased = caf::make_message(l);
    WHEN("they are written and read back with CAF's binary format") {
      auto round_trip = [&](const caf::message& in) {
        std::vector<char> buf;
        caf::binary_serializer sink{sys, buf};
        auto tmp = in;
        REQUIRE(!sink(tmp));
        caf::message out;
        caf::binary_deserializer source{sys, buf};
        REQUIRE(!source(out));
        return out;
      };
      THEN("the copies hold the same batches") {
        auto put2 = round_trip(put);
        REQUIRE(put2.match_elements<put_atom, uint64_t, event_batch,
                                    std::string>());
        CHECK(put2.get_as<uint64_t>(1) == 7);
        CHECK(put2.get_as<event_batch>(2) == b);
        CHECK(put2.get_as<std::string>(3) == "0 12 4096 0 0 3:a.b");
        auto leased2 = round_trip(leased);
        REQUIRE(leased2.match_elements<lease>());
        auto& l2 = leased2.get_as<lease>(0);
        CHECK(l2.id == 42);
        REQUIRE(l2.batches.ptr->size() == 2);
        CHECK((*l2.batches.ptr)[1] == b);
        CHECK(l2.batches.events() == 4);
        CHECK(l2.epoch == 99);
        CHECK(l2.seqs == std::vector<uint64_t>({5, 6}));
      }
    }
  }
}
