#include "runtime/memory_store.hpp"

#include <algorithm>
#include <random>

#include "runtime/errors.hpp"

namespace sluice {

memory_store::memory_store() {
  std::random_device rd;
  epoch_ = (uint64_t{rd()} << 32) | rd();
  if (epoch_ == 0)
    epoch_ = 1;
}

caf::error memory_store::open() {
  return {};
}

caf::error memory_store::append(event_batch&& batch) {
  st_.queued_events += batch.size();
  st_.bytes += batch.byte_size();
  st_.queue.push_back({st_.next_seq++, std::move(batch)});
  return {};
}

caf::error memory_store::sync() {
  return {};
}

caf::expected<lease> memory_store::take(size_t max_events) {
  if (st_.queue.empty())
    return lease{};
  std::vector<event_batch> out;
  leased record;
  size_t n = 0;
  while (!st_.queue.empty() &&
         (out.empty() || n + st_.queue.front().batch.size() <= max_events)) {
    auto& front = st_.queue.front();
    n += front.batch.size();
    record.seqs.push_back(front.seq);
    out.push_back(std::move(front.batch));
    st_.queue.pop_front();
  }
  st_.queued_events -= n;
  st_.leased_events += n;
  lease l;
  l.id = st_.next_lease++;
  l.batches.ptr =
      std::make_shared<const std::vector<event_batch>>(std::move(out));
  l.epoch = epoch_;
  l.seqs = record.seqs;
  record.batches = l.batches;
  st_.leases.emplace(l.id, std::move(record));
  return l;
}

caf::error memory_store::commit(uint64_t lease_id) {
  auto i = st_.leases.find(lease_id);
  if (i == st_.leases.end())
    return make_error(channel_errc::unknown_lease,
                      "lease " + std::to_string(lease_id));
  st_.leased_events -= i->second.batches.events();
  st_.bytes -= i->second.batches.bytes();
  st_.leases.erase(i);
  return {};
}

caf::error memory_store::rollback(uint64_t lease_id) {
  auto i = st_.leases.find(lease_id);
  if (i == st_.leases.end())
    return make_error(channel_errc::unknown_lease,
                      "lease " + std::to_string(lease_id));
  auto& [batches, seqs] = i->second;
  // Each batch goes back to its place by arrival, so leases rolled back in
  // any order leave the queue in order.
  for (size_t k = 0; k < seqs.size(); ++k) {
    auto at = std::upper_bound(
        st_.queue.begin(), st_.queue.end(), seqs[k],
        [](uint64_t seq, const queued& q) { return seq < q.seq; });
    st_.queue.insert(at, queued{seqs[k], (*batches.ptr)[k]});
  }
  auto n = batches.events();
  st_.leased_events -= n;
  st_.queued_events += n;
  st_.leases.erase(i);
  return {};
}

size_t memory_store::events() const noexcept {
  return st_.queued_events + st_.leased_events;
}

size_t memory_store::queued_events() const noexcept {
  return st_.queued_events;
}

size_t memory_store::bytes() const noexcept {
  return st_.bytes;
}

void memory_store::close() {}

} // namespace sluice
