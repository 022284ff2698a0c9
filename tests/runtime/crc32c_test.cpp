#include <catch2/catch.hpp>

#include <random>
#include <string>
#include <vector>

#include "runtime/crc32c.hpp"

using namespace sluice;

namespace {

uint32_t table_crc(const std::string& s) {
  return crc32c::extend_table(0, s.data(), s.size());
}

} // namespace

TEST_CASE("crc32c matches known vectors", "[crc32c]") {
  CHECK(table_crc("") == 0u);
  CHECK(table_crc("123456789") == 0xE3069283u);
  CHECK(table_crc("a") == 0xC1D04330u);
  // RFC 3720 (iSCSI) B.4: 32 bytes of zeros, of 0xff, ascending.
  std::string zeros(32, '\0');
  std::string ones(32, '\xff');
  std::string up(32, '\0');
  for (int i = 0; i < 32; ++i)
    up[i] = static_cast<char>(i);
  CHECK(table_crc(zeros) == 0x8A9136AAu);
  CHECK(table_crc(ones) == 0x62A8AB43u);
  CHECK(table_crc(up) == 0x46DD794Eu);
  CHECK(crc32c::value("123456789", 9) == 0xE3069283u);
  if (crc32c::hardware_available()) {
    CHECK(crc32c::extend_hardware(0, "123456789", 9) == 0xE3069283u);
    CHECK(crc32c::extend_hardware(0, up.data(), up.size()) == 0x46DD794Eu);
  }
}

TEST_CASE("crc32c paths agree on random data and split extents", "[crc32c]") {
  std::mt19937_64 rng(42);
  std::vector<char> data(10000);
  for (auto& c : data)
    c = static_cast<char>(rng());
  for (int round = 0; round < 200; ++round) {
    auto begin = rng() % data.size();
    auto n = rng() % (data.size() - begin);
    auto whole = crc32c::extend_table(0, data.data() + begin, n);
    if (crc32c::hardware_available())
      CHECK(crc32c::extend_hardware(0, data.data() + begin, n) == whole);
    CHECK(crc32c::value(data.data() + begin, n) == whole);
    auto cut = n == 0 ? 0 : rng() % n;
    auto first = crc32c::extend(0, data.data() + begin, cut);
    CHECK(crc32c::extend(first, data.data() + begin + cut, n - cut) == whole);
  }
}

TEST_CASE("crc32c's three-stream blocks agree with the table at every "
          "boundary",
          "[crc32c]") {
  if (!crc32c::hardware_available()) {
    WARN("no SSE4.2 on this CPU: only the table path runs here");
    return;
  }
  std::mt19937_64 rng(7);
  std::vector<char> data(200'000);
  for (auto& c : data)
    c = static_cast<char>(rng());
  // Around the short (3 x 256) and long (3 x 8192) rounds, several rounds,
  // and with a tail of every length below a word.
  std::vector<size_t> lengths;
  for (size_t base : {size_t{768}, size_t{1536}, size_t{24'576}, size_t{49'152},
                      size_t{24'576 + 768}, size_t{65'536},
                      size_t{65'536 + 4'096}, size_t{196'608}})
    for (size_t d = 0; d < 9; ++d) {
      lengths.push_back(base + d);
      lengths.push_back(base - 1 - d);
    }
  for (auto n : lengths)
    for (size_t offset : {size_t{0}, size_t{1}, size_t{3}}) {
      INFO("length " << n << " at offset " << offset);
      REQUIRE(offset + n <= data.size());
      auto* p = data.data() + offset;
      CHECK(crc32c::extend_hardware(0, p, n) == crc32c::extend_table(0, p, n));
      CHECK(crc32c::extend_hardware(0x12345678u, p, n) ==
            crc32c::extend_table(0x12345678u, p, n));
    }
}
