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
namespace {

/// Three streams at once: the crc32 instruction takes three cycles but
/// starts one per cycle, so one stream leaves two thirds of it idle. Each
/// round runs the instruction over three adjacent blocks of `block` bytes,
/// the second and third from a register of 0, and joins them: the CRC
/// register is linear, so the first block's register advanced over the
/// `block` bytes after it, XORed with the second's, is the register of
/// both (and again for the third).
constexpr size_t long_block = 8192;
constexpr size_t short_block = 256;

/// Advances a CRC register over `len` zero bytes: by bytes of the
/// register, four tables of what each byte value becomes.
struct shift_tables {
  std::array<std::array<uint32_t, 256>, 4> t{};

  explicit shift_tables(size_t len) {
    // The operator's columns: each register bit advanced over the zeros.
    std::array<uint32_t, 32> column{};
    for (int bit = 0; bit < 32; ++bit) {
      uint32_t c = uint32_t{1} << bit;
      for (size_t i = 0; i < len; ++i)
        c = (c >> 8) ^ table[0][c & 0xff];
      column[bit] = c;
    }
    for (size_t k = 0; k < 4; ++k)
      for (uint32_t v = 0; v < 256; ++v) {
        uint32_t out = 0;
        for (int bit = 0; bit < 8; ++bit)
          if (v & (1u << bit))
            out ^= column[k * 8 + bit];
        t[k][v] = out;
      }
  }

  uint32_t operator()(uint32_t c) const noexcept {
    return t[0][c & 0xff] ^ t[1][(c >> 8) & 0xff] ^ t[2][(c >> 16) & 0xff] ^
           t[3][c >> 24];
  }
};

/// The tables for `block` zero bytes, made at first use.
template <size_t block>
const shift_tables& shift_over() {
  static const shift_tables s{block};
  return s;
}

__attribute__((target("sse4.2"))) inline uint64_t
word_at(const unsigned char* p) noexcept {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

/// Rounds over three blocks of `block` bytes while `n` holds three;
/// advances `p` and `n` past them.
template <size_t block>
__attribute__((target("sse4.2"))) uint64_t
three_block_rounds(uint64_t c, const unsigned char*& p, size_t& n) noexcept {
  if (n < 3 * block)
    return c;
  auto& shift = shift_over<block>();
  do {
    uint64_t c1 = 0;
    uint64_t c2 = 0;
    for (size_t i = 0; i < block; i += 8) {
      c = _mm_crc32_u64(c, word_at(p + i));
      c1 = _mm_crc32_u64(c1, word_at(p + block + i));
      c2 = _mm_crc32_u64(c2, word_at(p + 2 * block + i));
    }
    c = shift(static_cast<uint32_t>(c)) ^ c1;
    c = shift(static_cast<uint32_t>(c)) ^ c2;
    p += 3 * block;
    n -= 3 * block;
  } while (n >= 3 * block);
  return c;
}

} // namespace

__attribute__((target("sse4.2"))) uint32_t
extend_hardware(uint32_t crc, const void* data, size_t n) noexcept {
  auto p = static_cast<const unsigned char*>(data);
  uint64_t c = ~crc;
  c = three_block_rounds<long_block>(c, p, n);
  c = three_block_rounds<short_block>(c, p, n);
  while (n >= 8) {
    c = _mm_crc32_u64(c, word_at(p));
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
