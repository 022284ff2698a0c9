#include "runtime/crc32c.hpp"

#include <array>
#include <cstring>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace sluice::crc32c {

namespace {

constexpr uint32_t poly = 0x82f63b78; // reflected Castagnoli polynomial

/// Slicing-by-8 tables: t[0] is the classic byte table, t[k] advances a
/// byte k more positions.
using tables = std::array<std::array<uint32_t, 256>, 8>;

constexpr tables make_tables() {
  tables t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k)
      c = (c & 1) ? (c >> 1) ^ poly : c >> 1;
    t[0][i] = c;
  }
  for (uint32_t i = 0; i < 256; ++i)
    for (size_t k = 1; k < 8; ++k)
      t[k][i] = (t[k - 1][i] >> 8) ^ t[0][t[k - 1][i] & 0xff];
  return t;
}

constexpr tables table = make_tables();

bool detect() noexcept {
#if defined(__x86_64__)
  return __builtin_cpu_supports("sse4.2");
#else
  return false;
#endif
}

const bool has_hardware = detect();

} // namespace

uint32_t extend_table(uint32_t crc, const void* data, size_t n) noexcept {
  auto p = static_cast<const unsigned char*>(data);
  uint32_t c = ~crc;
  while (n >= 8) {
    uint32_t lo;
    uint32_t hi;
    std::memcpy(&lo, p, 4); // little-endian hosts only (event_batch.hpp)
    std::memcpy(&hi, p + 4, 4);
    lo ^= c;
    c = table[7][lo & 0xff] ^ table[6][(lo >> 8) & 0xff] ^
        table[5][(lo >> 16) & 0xff] ^ table[4][lo >> 24] ^ table[3][hi & 0xff] ^
        table[2][(hi >> 8) & 0xff] ^ table[1][(hi >> 16) & 0xff] ^
        table[0][hi >> 24];
    p += 8;
    n -= 8;
  }
  while (n-- > 0)
    c = (c >> 8) ^ table[0][(c ^ *p++) & 0xff];
  return ~c;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) uint32_t
extend_hardware(uint32_t crc, const void* data, size_t n) noexcept {
  auto p = static_cast<const unsigned char*>(data);
  uint64_t c = ~crc;
  while (n >= 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    c = _mm_crc32_u64(c, v);
    p += 8;
    n -= 8;
  }
  auto c32 = static_cast<uint32_t>(c);
  while (n-- > 0)
    c32 = _mm_crc32_u8(c32, *p++);
  return ~c32;
}
#else
uint32_t extend_hardware(uint32_t crc, const void* data, size_t n) noexcept {
  return extend_table(crc, data, n);
}
#endif

bool hardware_available() noexcept {
  return has_hardware;
}

uint32_t extend(uint32_t crc, const void* data, size_t n) noexcept {
  return has_hardware ? extend_hardware(crc, data, n)
                      : extend_table(crc, data, n);
}

} // namespace sluice::crc32c
