#pragma once

#include <cstdint>
#include <memory>
#include <type_traits>
#include <vector>

#include <caf/meta/type_name.hpp>

#include "runtime/event_batch.hpp"

namespace sluice {

/// Batches shared, read-only, between a channel and the sink that leased
/// them: the channel keeps its reference until the lease commits, so a
/// rollback needs no copy from the sink.
struct shared_batches {
  std::shared_ptr<const std::vector<event_batch>> ptr;

  size_t events() const noexcept {
    size_t n = 0;
    if (ptr)
      for (auto& b : *ptr)
        n += b.size();
    return n;
  }

  size_t bytes() const noexcept {
    size_t n = 0;
    if (ptr)
      for (auto& b : *ptr)
        n += b.byte_size();
    return n;
  }

  bool empty() const noexcept { return !ptr || ptr->empty(); }
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, shared_batches& x) {
  if constexpr (Inspector::reads_state) {
    auto copy = x.ptr ? *x.ptr : std::vector<event_batch>{};
    return f(caf::meta::type_name("shared_batches"), copy);
  } else {
    std::vector<event_batch> tmp;
    auto publish = [&] {
      x.ptr = std::make_shared<const std::vector<event_batch>>(std::move(tmp));
    };
    if constexpr (std::is_void_v<typename Inspector::result_type>) {
      f(caf::meta::type_name("shared_batches"), tmp);
      publish();
    } else {
      auto result = f(caf::meta::type_name("shared_batches"), tmp);
      publish();
      return result;
    }
  }
}

/// Batches a sink holds from its channel until it commits or rolls back.
struct lease {
  uint64_t id = 0; ///< 0 for an empty lease
  shared_batches batches;
  /// The store's epoch (`channel_store::epoch`): with `seqs`, names each
  /// batch the same way every time it is handed out.
  uint64_t epoch = 0;
  /// The channel's sequence number of each batch, in batch order; a batch
  /// keeps it across rollbacks and (file channels) restarts.
  std::vector<uint64_t> seqs;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, lease& x) {
  return f(caf::meta::type_name("lease"), x.id, x.batches, x.epoch, x.seqs);
}

} // namespace sluice
