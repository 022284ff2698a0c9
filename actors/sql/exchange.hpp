#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "runtime/columnar/chunk.hpp"
#include "runtime/columnar/row_batch.hpp"
#include "runtime/job/job_spec.hpp"

namespace sluice::sql_actors {

/// The sending side of a stage instance towards one consuming stage:
/// partitions rows among the consumer's instances (forward, hash, single,
/// broadcast), buffers them per target, sends them in chunks of at most
/// `batch_rows` rows within each target's credit, and sends the watermark
/// after the rows it covers. Plain class: the operator actor owns it and
/// gives it a function that sends.
class exchange {
 public:
  /// Sends chunk `seq` to target `t`.
  using send_fn = std::function<void(uint32_t t, uint64_t seq, stream_chunk)>;

  /// `targets` instances, reached through `part` (`keys` for hash);
  /// `my_index` is this instance's index in its stage (forward), `port`
  /// and `producer` what the chunks say, `credit` each target's first
  /// credit in rows.
  exchange(partitioning part, std::vector<uint32_t> keys, uint32_t targets,
           uint32_t my_index, uint8_t port, uint32_t producer,
           size_t batch_rows, uint64_t credit, send_fn send);

  /// Partitions and buffers the active rows of `b`; sends what credit
  /// allows.
  void push(const columnar::row_batch& b);

  /// The watermark after every row pushed so far: sent with the last
  /// buffered rows of each target, or alone. Never goes down.
  void watermark(int64_t wm);

  /// Marks the output idle (chunk_idle) until the next rows or watermark.
  void idle();

  /// Sends everything buffered, then `chunk_end` to every target, as
  /// credit allows; `done()` says when all went out.
  void end();

  /// Target `t` acknowledged `rows` rows: its credit grows; sends what
  /// waited for it.
  void on_ack(uint32_t t, uint64_t rows);

  /// True when rows wait for credit (the owner stops producing).
  bool blocked() const noexcept;

  /// True when every target has credit and nothing waits.
  bool can_send() const noexcept;

  /// True once `end` sent `chunk_end` to every target.
  bool done() const noexcept;

  uint64_t rows_sent() const noexcept { return rows_sent_; }

 private:
  struct target {
    columnar::row_batch buf;
    int64_t credit = 0;
    uint64_t next_seq = 1;
    int64_t sent_wm = columnar::min_timestamp;
    bool idle_sent = false;
    bool end_sent = false;
  };

  void pump(uint32_t t);

  partitioning part_;
  std::vector<uint32_t> keys_;
  uint32_t my_index_;
  uint8_t port_;
  uint32_t producer_;
  size_t batch_rows_;
  send_fn send_;
  std::vector<target> targets_;
  int64_t wm_ = columnar::min_timestamp;
  bool idle_ = false;
  bool ending_ = false;
  uint64_t rows_sent_ = 0;
  std::vector<uint64_t> hashes_;
  std::vector<std::vector<uint32_t>> parts_;
  std::vector<uint32_t> rest_;
};

} // namespace sluice::sql_actors
