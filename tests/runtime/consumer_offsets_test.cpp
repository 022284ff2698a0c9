#include "runtime/consumer_offsets.hpp"

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "runtime/errors.hpp"
#include "tests/support/process.hpp"

using namespace sluice;

TEST_CASE("consumer offsets are saved atomically and read back",
          "[shard][offsets]") {
  test::temp_dir dir;
  auto file = std::filesystem::path{dir.path()} / "consumer-offsets";
  auto none = consumer_offsets::load(file);
  REQUIRE(none);
  CHECK(none->entries().empty());
  CHECK_FALSE(none->dirty());
  none->set("sql-job", 42);
  none->set("archive", 7);
  CHECK(none->dirty());
  REQUIRE(!none->save());
  CHECK_FALSE(none->dirty());
  CHECK_FALSE(std::filesystem::exists(file.string() + ".tmp"));
  auto back = consumer_offsets::load(file);
  REQUIRE(back);
  CHECK(back->get("sql-job") == uint64_t{42});
  CHECK(back->get("archive") == uint64_t{7});
  CHECK_FALSE(back->get("other"));
  SECTION("setting the same value leaves it clean") {
    back->set("sql-job", 42);
    CHECK_FALSE(back->dirty());
  }
  SECTION("a damaged file is refused with its name") {
    std::string bytes;
    {
      std::ifstream in{file, std::ios::binary};
      bytes.assign(std::istreambuf_iterator<char>{in}, {});
    }
    bytes[bytes.size() - 3] ^= 0x01; // inside an offset
    std::ofstream{file, std::ios::binary | std::ios::trunc} << bytes;
    auto bad = consumer_offsets::load(file);
    REQUIRE_FALSE(bad);
    CHECK(bad.error() == make_error(topic_errc::bad_metadata));
    CHECK(describe(bad.error()).find("consumer-offsets") != std::string::npos);
    CHECK(describe(bad.error()).find("CRC") != std::string::npos);
  }
}

TEST_CASE("the consumer offsets encoding is fixed little-endian",
          "[shard][offsets]") {
  auto bytes = consumer_offsets::encode({{"g", 0x0102030405060708}});
  // magic, version 1, reserved, crc, count 1, length 1, "g", offset.
  REQUIRE(bytes.size() == 16 + 2 + 1 + 8);
  CHECK(std::string(bytes.data(), 4) == "SLCO");
  CHECK(bytes[4] == 1);
  CHECK(bytes[5] == 0);
  CHECK(bytes[12] == 1);
  CHECK(bytes[16] == 1);
  CHECK(bytes[18] == 'g');
  CHECK(bytes[19] == 0x08);
  CHECK(bytes[26] == 0x01);
  auto back = consumer_offsets::decode(bytes);
  REQUIRE(back);
  CHECK(back->at("g") == 0x0102030405060708);
  bytes.pop_back();
  CHECK_FALSE(consumer_offsets::decode(bytes));
}

TEST_CASE("the consumer offsets checksum is CRC32C", "[shard][offsets]") {
  // An empty set: the CRC covers the count field (four zero bytes), whose
  // CRC32C is 0x48674bc7.
  auto bytes = consumer_offsets::encode({});
  REQUIRE(bytes.size() == 16);
  uint32_t crc = 0;
  for (int i = 0; i < 4; ++i)
    crc |= uint32_t{static_cast<unsigned char>(bytes[8 + i])} << (8 * i);
  CHECK(crc == 0x48674bc7);
}
