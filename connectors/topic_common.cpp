#include "connectors/topic_common.hpp"

#include <algorithm>

#include <caf/sec.hpp>

#include "runtime/errors.hpp"

namespace sluice {

uint64_t topic_hash(std::string_view bytes) noexcept {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

uint32_t topic_shard_for_key(std::string_view key, uint32_t shards) noexcept {
  return shards == 0 ? 0 : static_cast<uint32_t>(topic_hash(key) % shards);
}

uint32_t topic_shard_for_batch(std::string_view producer, uint64_t seq,
                               uint32_t shards) noexcept {
  return shards == 0
             ? 0
             : static_cast<uint32_t>((topic_hash(producer) + seq) % shards);
}

bool is_stale_shard_error(const caf::error& err) {
  return err == caf::sec::request_receiver_down ||
         err == make_error(topic_errc::stopped);
}

int64_t shard_refresh_backoff_ms(int attempt) {
  int64_t ms = 100;
  for (int i = 0; i < attempt && ms < 2000; ++i)
    ms *= 2;
  return std::min<int64_t>(ms, 2000);
}

caf::error check_fetched(const fetch_result& res) {
  for (auto& rb : res.batches)
    if (!rb.batch.well_formed())
      return make_error(topic_errc::bad_request,
                        "the fetched record batch at offset " +
                            std::to_string(rb.base_offset) +
                            " is malformed (its events point outside it)");
  return {};
}

} // namespace sluice
