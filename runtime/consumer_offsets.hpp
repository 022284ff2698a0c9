#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

namespace sluice {

/// The committed positions of a shard's consumer groups, kept in one small
/// file (`shard-NNNN/consumer-offsets`) that is rewritten whole and
/// atomically: written to a temporary file, fsynced, renamed over the old
/// one, and the directory fsynced. A crash leaves the old file or the new
/// one, never a mix.
///
/// File format (little-endian, fixed): magic u32 "SLCO", version u16 (=1),
/// reserved u16 (0), crc32c u32 of every byte after it, entry count u32,
/// then per entry: group length u16, group bytes, offset u64.
class consumer_offsets {
 public:
  /// The longest group name (its length is stored in 16 bits).
  static constexpr size_t max_group_bytes = 65535;

  consumer_offsets() = default;

  /// Loads `file`; a missing file is an empty set. A damaged or unknown
  /// file is an error (`topic_errc::bad_metadata`) naming it.
  static caf::expected<consumer_offsets> load(std::filesystem::path file);

  /// The group's committed offset, if any.
  std::optional<uint64_t> get(const std::string& group) const;

  /// Records the group's offset (in memory until `save`).
  void set(const std::string& group, uint64_t offset);

  /// True when `set` changed something since the last `save` or `load`.
  bool dirty() const noexcept { return dirty_; }

  /// Rewrites the file atomically when dirty (see the class comment).
  caf::error save();

  const std::map<std::string, uint64_t>& entries() const noexcept {
    return entries_;
  }

  const std::filesystem::path& file() const noexcept { return file_; }

  /// The file's bytes for `entries`.
  static std::vector<char> encode(const std::map<std::string, uint64_t>& xs);

  /// Reads bytes written by `encode`; checks magic, version, CRC and sizes.
  static caf::expected<std::map<std::string, uint64_t>>
  decode(std::span<const char> in);

 private:
  std::filesystem::path file_;
  std::map<std::string, uint64_t> entries_;
  bool dirty_ = false;
};

} // namespace sluice
