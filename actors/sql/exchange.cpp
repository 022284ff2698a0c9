#include "actors/sql/exchange.hpp"

#include <algorithm>
#include <numeric>
#include <utility>

#include "runtime/columnar/hash.hpp"

namespace sluice::sql_actors {

exchange::exchange(partitioning part, std::vector<uint32_t> keys,
                   uint32_t targets, uint32_t my_index, uint8_t port,
                   uint32_t producer, size_t batch_rows, uint64_t credit,
                   send_fn send)
    : part_(part), keys_(std::move(keys)), my_index_(my_index), port_(port),
      producer_(producer), batch_rows_(std::max<size_t>(batch_rows, 1)),
      send_(std::move(send)), targets_(std::max<uint32_t>(targets, 1)) {
  for (auto& t : targets_)
    t.credit = static_cast<int64_t>(credit);
}

void exchange::push(const columnar::row_batch& b) {
  if (b.active_rows() == 0)
    return;
  idle_ = false;
  auto n = static_cast<uint32_t>(targets_.size());
  auto add = [&](uint32_t t, std::span<const uint32_t> rows) {
    auto& buf = targets_[t].buf;
    if (!buf.row_schema())
      buf.reset(b.row_schema());
    if (rows.empty())
      buf.append_active(b);
    else
      buf.append_rows(b, rows);
  };
  switch (part_) {
  case partitioning::forward:
    add(my_index_ % n, {});
    break;
  case partitioning::single:
    add(0, {});
    break;
  case partitioning::broadcast:
    for (uint32_t t = 0; t < n; ++t)
      add(t, {});
    break;
  case partitioning::hash:
    if (n == 1) {
      add(0, {});
      break;
    }
    columnar::hash_keys(b, keys_, hashes_);
    columnar::partition(hashes_, b, n, parts_);
    for (uint32_t t = 0; t < n; ++t)
      if (!parts_[t].empty())
        add(t, parts_[t]);
    break;
  }
  for (uint32_t t = 0; t < n; ++t)
    pump(t);
}

void exchange::watermark(int64_t wm) {
  if (wm <= wm_)
    return;
  wm_ = wm;
  idle_ = false;
  for (uint32_t t = 0; t < targets_.size(); ++t)
    pump(t);
}

void exchange::idle() {
  idle_ = true;
  for (uint32_t t = 0; t < targets_.size(); ++t)
    pump(t);
}

void exchange::end() {
  ending_ = true;
  for (uint32_t t = 0; t < targets_.size(); ++t)
    pump(t);
}

void exchange::on_ack(uint32_t t, uint64_t rows) {
  if (t >= targets_.size())
    return;
  targets_[t].credit += static_cast<int64_t>(rows);
  pump(t);
}

bool exchange::blocked() const noexcept {
  return std::any_of(targets_.begin(), targets_.end(),
                     [](const target& x) { return x.buf.num_rows() > 0; });
}

bool exchange::can_send() const noexcept {
  return std::all_of(targets_.begin(), targets_.end(), [](const target& x) {
    return x.credit > 0 && x.buf.num_rows() == 0;
  });
}

bool exchange::done() const noexcept {
  return std::all_of(targets_.begin(), targets_.end(),
                     [](const target& x) { return x.end_sent; });
}

void exchange::pump(uint32_t t) {
  auto& x = targets_[t];
  if (x.end_sent)
    return;
  while (x.buf.num_rows() > 0 && x.credit > 0) {
    auto total = x.buf.num_rows();
    // Never more than the target's credit: rows over it are a protocol
    // error at the receiver.
    auto n = std::min({total, batch_rows_, static_cast<size_t>(x.credit)});
    columnar::row_batch piece;
    if (n == total) {
      piece = std::move(x.buf);
      x.buf = columnar::row_batch{piece.row_schema()};
    } else {
      rest_.resize(n);
      std::iota(rest_.begin(), rest_.end(), uint32_t{0});
      piece.reset(x.buf.row_schema());
      piece.append_rows(x.buf, rest_);
      rest_.resize(total - n);
      std::iota(rest_.begin(), rest_.end(), static_cast<uint32_t>(n));
      x.buf.set_selection(rest_);
      x.buf.compact();
    }
    stream_chunk c;
    c.producer = producer_;
    c.port = port_;
    // The watermark covers every row pushed before it: it goes with the
    // chunk that empties the buffer, earlier chunks repeat the last one.
    c.watermark = x.buf.num_rows() == 0 ? wm_ : x.sent_wm;
    x.sent_wm = c.watermark;
    x.idle_sent = false;
    x.credit -= static_cast<int64_t>(n);
    rows_sent_ += n;
    c.rows = make_row_batch_ptr(std::move(piece));
    send_(t, x.next_seq++, std::move(c));
  }
  if (x.buf.num_rows() > 0)
    return;
  stream_chunk c;
  c.producer = producer_;
  c.port = port_;
  c.watermark = wm_;
  if (ending_) {
    c.flags = chunk_end;
    x.end_sent = true;
  } else if (wm_ > x.sent_wm) {
    x.idle_sent = idle_;
    if (idle_)
      c.flags = chunk_idle;
  } else if (idle_ && !x.idle_sent) {
    c.flags = chunk_idle;
    x.idle_sent = true;
  } else {
    return;
  }
  x.sent_wm = wm_;
  send_(t, x.next_seq++, std::move(c));
}

} // namespace sluice::sql_actors
