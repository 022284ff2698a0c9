#pragma once

#include <cstddef>
#include <cstdint>

/// CRC32C (Castagnoli), the checksum of the topic log's record batches.
namespace sluice::crc32c {

/// Extends `crc` (the value of the bytes so far, 0 for none) over `n`
/// bytes at `data`: `extend(extend(0, a), b)` equals the CRC of a then b.
/// Uses the SSE4.2 instruction when the CPU has it, the table otherwise.
uint32_t extend(uint32_t crc, const void* data, size_t n) noexcept;

/// The CRC of `n` bytes at `data`.
inline uint32_t value(const void* data, size_t n) noexcept {
  return extend(0, data, n);
}

/// The table-driven path, whatever the CPU (for tests and comparisons).
uint32_t extend_table(uint32_t crc, const void* data, size_t n) noexcept;

/// The SSE4.2 path; only to be called when `hardware_available()`.
uint32_t extend_hardware(uint32_t crc, const void* data, size_t n) noexcept;

/// True when this CPU has SSE4.2's crc32 instruction (checked once).
bool hardware_available() noexcept;

} // namespace sluice::crc32c
