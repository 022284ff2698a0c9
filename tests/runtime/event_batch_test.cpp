#include "runtime/event_batch.hpp"

#include <algorithm>

#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>
#include <catch2/catch.hpp>

using namespace sluice;

SCENARIO("an event batch keeps bodies and headers together") {
  GIVEN("a batch with three events, one with headers") {
    event_batch b;
    b.append("alpha");
    b.append("beta");
    b.add_header("host", "h1");
    b.add_header("timestamp", "123");
    b.append("gamma");
    THEN("each event reads back with its own headers") {
      REQUIRE(b.size() == 3);
      CHECK(b.body(0) == "alpha");
      CHECK(b.body(1) == "beta");
      CHECK(b.body(2) == "gamma");
      CHECK(b.headers(0).empty());
      CHECK(b.header(1, "host") == "h1");
      CHECK(b.header(1, "timestamp") == "123");
      CHECK(b.headers(2).empty());
    }
    WHEN("a header is set again") {
      b.pop_back();
      b.add_header("host", "h2");
      THEN("the value is replaced, not duplicated") {
        CHECK(b.headers(1).size() == 2);
        CHECK(b.header(1, "host") == "h2");
      }
    }
    WHEN("the last event is popped") {
      b.pop_back();
      THEN("its bytes go too") {
        CHECK(b.size() == 2);
        CHECK(b.byte_size() == 5 + 4 + 4 + 2 + 9 + 3);
      }
    }
    WHEN("it is encoded and decoded") {
      std::vector<char> buf;
      b.encode(buf);
      CHECK(buf.size() == b.encoded_size());
      auto back = event_batch::decode(buf);
      THEN("the copy equals the original") {
        REQUIRE(back);
        CHECK(*back == b);
      }
      AND_WHEN("a byte is flipped") {
        buf[buf.size() / 2] ^= 0x40;
        THEN("decoding reports corruption") {
          CHECK_FALSE(event_batch::decode(buf));
        }
      }
      AND_WHEN("the record is cut short") {
        buf.resize(buf.size() - 3);
        THEN("decoding reports it") {
          CHECK_FALSE(event_batch::decode(buf));
        }
      }
    }
  }
}

TEST_CASE("a batch whose index points outside it is not well formed",
          "[batch]") {
  event_batch batch;
  batch.append("abc");
  batch.add_header("k", "v");
  REQUIRE(batch.well_formed());
  std::vector<char> buf;
  caf::binary_serializer sink{nullptr, buf};
  REQUIRE(!sink(batch));
  // The event's index entry as it crosses: body at 0, 3 bytes, headers from
  // 0, one header (little-endian 32-bit fields).
  const char entry[16] = {0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0};
  auto at = std::search(buf.begin(), buf.end(), entry, entry + 16);
  REQUIRE(at != buf.end());
  at[4] = static_cast<char>(0xff); // body size 255 in a 5-byte buffer
  event_batch copy;
  caf::binary_deserializer source{nullptr, buf};
  REQUIRE(!source(copy));
  CHECK_FALSE(copy.well_formed());
  // Encoding for disk refuses the same damage when it reads it back.
  std::vector<char> disk;
  copy.encode(disk);
  CHECK_FALSE(event_batch::decode(disk));
}
