#include "connectors/nexmark.hpp"

#include <utility>

#include "runtime/columnar/types.hpp"

namespace sluice::nexmark {

source_cursor::source_cursor(generator gen, event_kind table)
    : gen_(std::move(gen)), table_(table) {
  next_ = gen_.next_owned(0, table_);
}

caf::expected<size_t> source_cursor::poll(columnar::row_batch& out,
                                          size_t max_rows,
                                          clock::time_point now) {
  if (done() || max_rows == 0)
    return size_t{0};
  if (!start_)
    start_ = now;
  auto due = gen_.due_count(now - *start_);
  if (next_ >= due)
    return size_t{0};
  auto res = gen_.fill(out, table_, next_, max_rows, due);
  if (!res)
    return std::move(res.error());
  // Skip ahead to this table's next event, so that next_due and the
  // watermark look at a row this source will really write.
  next_ = res->next == no_event ? no_event : gen_.next_owned(res->next, table_);
  return res->rows;
}

source_cursor::clock::time_point source_cursor::next_due() const noexcept {
  if (!start_ || done())
    return clock::time_point::min();
  return *start_ + gen_.due_at(next_);
}

uint64_t source_cursor::events_covered() const noexcept {
  return gen_.owned_before(next_ == no_event ? gen_.end() : next_);
}

int64_t source_cursor::watermark() const noexcept {
  if (done())
    return columnar::max_timestamp;
  const auto& cfg = gen_.config();
  int64_t max_delay =
      cfg.out_of_order_fraction > 0.0 ? cfg.out_of_order_max_delay_ms : 0;
  return gen_.nominal_time(next_) - max_delay - 1;
}

std::string source_cursor::progress() const {
  return done() ? std::string{"next=end"} : "next=" + std::to_string(next_);
}

} // namespace sluice::nexmark
