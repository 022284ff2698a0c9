#include <caf/all.hpp>
#include <catch2/catch.hpp>

#include "runtime/atoms.hpp"
#include "runtime/columnar/chunk.hpp"
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

SCENARIO("stream chunks between operators survive serialization",
         "[type_ids][columnar]") {
  caf::actor_system_config cfg;
  register_types(cfg);
  cfg.set("logger.verbosity", caf::atom("quiet"));
  caf::actor_system sys{cfg};
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
  GIVEN("a chunk with rows (a selection, a NULL, a kind) and a marker "
        "without rows") {
    using namespace sluice::columnar;
    row_batch b{make_schema({{"k", int64_type()}, {"s", string_type()}}, -1)};
    for (int64_t i = 0; i < 5; ++i) {
      b.col(0).push(i);
      i == 3 ? b.col(1).push_null()
             : b.col(1).push_str("v" + std::to_string(i));
    }
    b.set_kind(4, row_kind::update_after);
    b.set_selection({1, 3, 4});
    stream_chunk full;
    full.producer = 3;
    full.port = 1;
    full.watermark = 1234;
    full.rows = make_row_batch_ptr(b);
    stream_chunk marker;
    marker.flags = chunk_end;
    marker.watermark = max_timestamp;
    WHEN("they are written and read back with CAF's binary format") {
      auto m1 = round_trip(caf::make_message(full));
      auto m2 = round_trip(caf::make_message(marker));
      auto m3 = round_trip(caf::make_message(full.rows));
      THEN("the copies carry the same rows and fields") {
        REQUIRE(m1.match_elements<stream_chunk>());
        auto& c1 = m1.get_as<stream_chunk>(0);
        CHECK(c1.producer == 3);
        CHECK(c1.port == 1);
        CHECK(c1.flags == 0);
        CHECK(c1.watermark == 1234);
        REQUIRE(c1.rows.ptr);
        CHECK(c1.rows.rows() == 3);
        CHECK(equal_rows(*c1.rows.ptr, b));
        CHECK_FALSE(c1.rows.ptr->col(1).valid(1));
        CHECK(c1.rows.ptr->kind(2) == row_kind::update_after);
        REQUIRE(m2.match_elements<stream_chunk>());
        auto& c2 = m2.get_as<stream_chunk>(0);
        CHECK(c2.flags == chunk_end);
        CHECK(c2.watermark == max_timestamp);
        CHECK_FALSE(c2.rows.ptr);
        REQUIRE(m3.match_elements<row_batch_ptr>());
        CHECK(equal_rows(*m3.get_as<row_batch_ptr>(0).ptr, b));
      }
    }
  }
}
