#include "runtime/memory_store.hpp"

#include "runtime/errors.hpp"

namespace sluice {

caf::error memory_store::open() {
  return {};
}

caf::error memory_store::append(event_batch&& batch) {
  st_.queued_events += batch.size();
  st_.bytes += batch.byte_size();
  st_.queue.push_back(std::move(batch));
  return {};
}

caf::error memory_store::sync() {
  return {};
}

caf::expected<lease> memory_store::take(size_t max_events) {
  if (st_.queue.empty())
    return lease{};
  std::vector<event_batch> out;
  size_t n = 0;
  while (!st_.queue.empty() &&
         (out.empty() || n + st_.queue.front().size() <= max_events)) {
    n += st_.queue.front().size();
    out.push_back(std::move(st_.queue.front()));
    st_.queue.pop_front();
  }
  st_.queued_events -= n;
  st_.leased_events += n;
  lease l;
  l.id = st_.next_lease++;
  l.batches.ptr =
      std::make_shared<const std::vector<event_batch>>(std::move(out));
  st_.leases.emplace(l.id, l.batches);
  return l;
}

caf::error memory_store::commit(uint64_t lease_id) {
  auto i = st_.leases.find(lease_id);
  if (i == st_.leases.end())
    return make_error(channel_errc::unknown_lease,
                      "lease " + std::to_string(lease_id));
  st_.leased_events -= i->second.events();
  st_.bytes -= i->second.bytes();
  st_.leases.erase(i);
  return {};
}

caf::error memory_store::rollback(uint64_t lease_id) {
  auto i = st_.leases.find(lease_id);
  if (i == st_.leases.end())
    return make_error(channel_errc::unknown_lease,
                      "lease " + std::to_string(lease_id));
  auto& batches = *i->second.ptr;
  auto n = i->second.events();
  // Newest first, so the oldest ends up at the head.
  for (auto b = batches.rbegin(); b != batches.rend(); ++b)
    st_.queue.push_front(*b);
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
