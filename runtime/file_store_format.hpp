#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <caf/error.hpp>

/// The on-disk format of the file channel's log and commit pointer, shared
/// by the store's writing and recovery halves. Internal to `file_store`.
namespace sluice::file_format {

constexpr uint32_t record_magic = 0x31524c53;          // "SLR1"
constexpr uint32_t progress_magic = 0x31504c53;        // "SLP1"
constexpr uint64_t pointer_magic = 0x3150544f50554c53; // "SLUPOTP1"

/// Heads every record: a batch (`record_magic`) or a source's progress
/// token (`progress_magic`, seq and events 0).
struct record_header {
  uint32_t magic;
  uint32_t payload;
  uint64_t seq;
  uint32_t events;
  uint32_t crc; ///< of the fields above
};
static_assert(sizeof(record_header) == 24);

/// One of the commit pointer's two alternating slots.
struct pointer_slot {
  uint64_t magic;
  uint64_t generation;
  uint64_t pointer;
  uint32_t crc; ///< of the fields above
  uint32_t pad;
};
static_assert(sizeof(pointer_slot) == 32);

uint32_t header_crc(const record_header& h);
uint32_t slot_crc(const pointer_slot& s);

/// Encodes a progress record's payload into `out`: CRC (of what follows),
/// name length, name, token.
void encode_progress(const std::string& source, const std::string& token,
                     std::string& out);

/// Decodes a progress record's payload; false when it is damaged.
bool decode_progress(const std::vector<char>& in, std::string& source,
                     std::string& token);

/// `strerror(errno)`.
std::string err_text();

/// An error naming `path` from errno: disk_full for ENOSPC and EDQUOT,
/// io_error otherwise.
caf::error io_error(const std::filesystem::path& path, const std::string& what);

/// Reads exactly `n` bytes at `offset`; false at end of file or on error.
bool pread_fully(int fd, char* out, size_t n, int64_t offset);

} // namespace sluice::file_format
