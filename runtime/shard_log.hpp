#pragma once

// STAND-IN: the agreed shard log API (declarations only, no definitions),
// so the topic protocols compile before the real runtime/shard_log.hpp
// lands; that one replaces this file when its branch is merged.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <unistd.h>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "runtime/event_batch.hpp"

namespace sluice {

struct shard_log_config {
  std::filesystem::path directory;
  int64_t segment_bytes = int64_t{256} << 20;
  int64_t index_interval_bytes = 4096;
  int64_t retention_ms = 0;
  int64_t retention_bytes = 0;
  int64_t max_disk_bytes = 0;
  int64_t min_free_space = int64_t{256} << 20;
  size_t max_producers = 1024;
  int (*sync_data)(int fd) = ::fdatasync;
};

struct append_result {
  uint64_t base_offset = 0;
  uint32_t count = 0;
  bool duplicate = false;
};

struct read_batch {
  uint64_t base_offset = 0;
  int64_t timestamp_ms = 0;
  event_batch batch;
};

class shard_log {
 public:
  static caf::expected<std::unique_ptr<shard_log>> open(shard_log_config cfg);
  caf::expected<append_result> append(const event_batch& b,
                                      std::string_view producer, uint64_t seq,
                                      int64_t now_ms);
  caf::error sync();
  uint64_t durable_end() const noexcept;
  uint64_t start_offset() const noexcept;
  uint64_t end_offset() const noexcept;
  caf::expected<std::vector<read_batch>> read(uint64_t offset,
                                              size_t max_bytes) const;
  uint64_t offset_for_time(int64_t ts_ms) const;
  size_t apply_retention(int64_t now_ms);
  bool has_room(size_t bytes, std::string& why) const;
  int64_t disk_bytes() const noexcept;
  size_t segments() const noexcept;
  uint64_t duplicates() const noexcept;
  uint64_t torn_bytes_cut() const noexcept;
  bool broken() const noexcept;
  void close();
};

} // namespace sluice
