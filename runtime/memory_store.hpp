#pragma once

#include <deque>
#include <map>
#include <vector>

#include "runtime/channel_store.hpp"

namespace sluice {

/// A channel store in memory: fast, and lost when the process dies.
class memory_store : public channel_store {
 public:
  memory_store();
  caf::error open() override;
  caf::error append(event_batch&& batch) override;
  caf::error sync() override;
  caf::expected<lease> take(size_t max_events) override;
  caf::error commit(uint64_t lease_id) override;
  caf::error rollback(uint64_t lease_id) override;
  size_t events() const noexcept override;
  size_t queued_events() const noexcept override;
  size_t bytes() const noexcept override;
  uint64_t epoch() const noexcept override { return epoch_; }
  void close() override;

 private:
  struct queued {
    uint64_t seq = 0; ///< order of arrival
    event_batch batch;
  };

  struct leased {
    shared_batches batches;
    std::vector<uint64_t> seqs; ///< of each batch, to restore its place
  };

  /// Queued batches, in arrival order, and open leases; everything the
  /// store holds.
  struct state {
    std::deque<queued> queue;
    std::map<uint64_t, leased> leases;
    uint64_t next_seq = 1;
    uint64_t next_lease = 1;
    size_t queued_events = 0;
    size_t leased_events = 0;
    size_t bytes = 0;
  };
  state st_;
  uint64_t epoch_; ///< random: a new store numbers its batches anew
};

} // namespace sluice
