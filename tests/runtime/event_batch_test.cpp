#include "runtime/event_batch.hpp"

#include <algorithm>
#include <string>

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

TEST_CASE("a batch's origin travels through encode, decode and CAF",
          "[batch][origin]") {
  event_batch b;
  b.append("one");
  b.add_header("k", "v");
  b.append("two");
  CHECK_FALSE(b.has_origin());
  CHECK(b.origin_seq() == 0);

  SECTION("without origin the encoding stays v1, byte for byte") {
    std::vector<char> buf;
    b.encode(buf);
    REQUIRE(buf.size() >= 4);
    CHECK(std::string(buf.data(), 4) == "SLB1");
    // v1 layout: 16-byte header, two events, one header, the bytes, a CRC.
    CHECK(buf.size() == 16 + 2 * sizeof(event_entry) + sizeof(header_entry) +
                            b.byte_size() + 4);
    auto back = event_batch::decode(buf);
    REQUIRE(back);
    CHECK(*back == b);
    CHECK_FALSE(back->has_origin());
  }

  SECTION("with an origin it is v2 and the origin comes back") {
    REQUIRE(b.set_origin("agent1/c1#3", 42));
    REQUIRE(b.has_origin());
    std::vector<char> buf;
    b.encode(buf);
    CHECK(buf.size() == b.encoded_size());
    CHECK(std::string(buf.data(), 4) == "SLB2");
    auto back = event_batch::decode(buf);
    REQUIRE(back);
    CHECK(*back == b);
    CHECK(back->origin_producer() == "agent1/c1#3");
    CHECK(back->origin_seq() == 42);
    CHECK(same_origin(*back, b));
    AND_THEN("damage to the origin is caught by the CRC") {
      buf[buf.size() - 6] ^= 0x20; // inside the producer name
      CHECK_FALSE(event_batch::decode(buf));
    }
    AND_THEN("a length that runs past the record is refused") {
      buf.resize(buf.size() - 5);
      CHECK_FALSE(event_batch::decode(buf));
    }
  }

  SECTION("CAF serialization carries it") {
    REQUIRE(b.set_origin("p", 7));
    std::vector<char> buf;
    caf::binary_serializer sink{nullptr, buf};
    REQUIRE(!sink(b));
    event_batch copy;
    caf::binary_deserializer source{nullptr, buf};
    REQUIRE(!source(copy));
    CHECK(copy == b);
    CHECK(copy.origin_producer() == "p");
    CHECK(copy.origin_seq() == 7);
  }

  SECTION("clear drops it, an empty producer removes it, an overlong one is "
          "refused") {
    REQUIRE(b.set_origin("p", 7));
    CHECK_FALSE(b.set_origin(std::string(70000, 'x'), 8));
    CHECK(b.origin_producer() == "p");
    CHECK(b.set_origin("", 9));
    CHECK_FALSE(b.has_origin());
    CHECK(b.origin_seq() == 0);
    REQUIRE(b.set_origin("p", 7));
    b.clear();
    CHECK_FALSE(b.has_origin());
  }
}

TEST_CASE("decode can leave the CRC to a caller that checked the bytes",
          "[batch]") {
  event_batch b;
  b.append("one");
  b.add_header("k", "v");
  b.append("two");
  std::vector<char> buf;
  b.encode(buf);
  const batch_decode_options trusted{.check_crc = false};
  SECTION("a damaged CRC field is refused unless the CRC is left out") {
    buf.back() ^= 0x01;
    CHECK_FALSE(event_batch::decode(buf));
    auto back = event_batch::decode(buf, trusted);
    REQUIRE(back);
    CHECK(*back == b);
  }
  SECTION("without the CRC, sizes and index ranges are still checked") {
    auto cut = buf;
    cut.resize(cut.size() - 1);
    CHECK_FALSE(event_batch::decode(cut, trusted));
    // The first event's body size (after the 16-byte v1 header and the
    // body offset) now points past the batch's bytes.
    auto bad = buf;
    bad[16 + 4] = static_cast<char>(0x7f);
    CHECK_FALSE(event_batch::decode(bad, trusted));
  }
  SECTION("decode_into reuses a batch and replaces all it held") {
    event_batch into;
    into.append("left over");
    into.add_header("old", "header");
    REQUIRE(into.set_origin("somebody", 9));
    REQUIRE(!event_batch::decode_into(buf, into, trusted));
    CHECK(into == b);
    CHECK_FALSE(into.has_origin());
    CHECK(into.origin_seq() == 0);
    REQUIRE(b.set_origin("agent1/c1#3", 42));
    std::vector<char> v2;
    b.encode(v2);
    REQUIRE(!event_batch::decode_into(v2, into));
    CHECK(into == b);
    CHECK(same_origin(into, b));
    AND_THEN("an error leaves it empty") {
      v2[v2.size() / 2] ^= 0x40;
      CHECK(event_batch::decode_into(v2, into));
      CHECK(into.empty());
      CHECK_FALSE(into.has_origin());
    }
  }
}

TEST_CASE("encoding v3 drops the CRC for a container that checks its own",
          "[batch][origin]") {
  event_batch b;
  b.append("one");
  b.add_header("k", "v");
  b.append("two");
  auto no_crc = batch_encode_options{.with_crc = false};
  auto checked = batch_decode_options{.check_crc = false};

  SECTION("a batch without origin") {
    std::vector<char> buf;
    b.encode(buf, no_crc);
    CHECK(std::string(buf.data(), 4) == "SLB3");
    // The v2 layout without a CRC: 32-byte header, entries, bytes.
    CHECK(buf.size() ==
          32 + 2 * sizeof(event_entry) + sizeof(header_entry) + b.byte_size());
    CHECK(buf.size() == b.encoded_size(no_crc));
    auto back = event_batch::decode(buf, checked);
    REQUIRE(back);
    CHECK(*back == b);
    CHECK_FALSE(back->has_origin());
    AND_THEN("a decoder that would check a CRC refuses it") {
      CHECK_FALSE(event_batch::decode(buf));
    }
    AND_THEN("a cut record is refused") {
      buf.pop_back();
      CHECK_FALSE(event_batch::decode(buf, checked));
    }
  }

  SECTION("a batch with an origin") {
    REQUIRE(b.set_origin("agent1/c1#3", 42));
    std::vector<char> buf;
    b.encode(buf, no_crc);
    CHECK(std::string(buf.data(), 4) == "SLB3");
    CHECK(buf.size() == b.encoded_size(no_crc));
    auto back = event_batch::decode(buf, checked);
    REQUIRE(back);
    CHECK(*back == b);
    CHECK(same_origin(*back, b));
  }

  SECTION("the parts are the contiguous encoding, pointing into the batch") {
    REQUIRE(b.set_origin("o", 7));
    std::vector<char> whole;
    b.encode(whole, no_crc);
    auto parts = b.encode_parts();
    std::vector<char> joined(parts.head, parts.head + parts.head_size);
    for (auto& part : parts.parts)
      joined.insert(joined.end(), part.begin(), part.end());
    CHECK(joined == whole);
    CHECK(parts.size == whole.size());
    CHECK(parts.parts[2].data() == b.body(0).data());
  }
}
