#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include <caf/expected.hpp>

#include "actors/ops/accumulators.hpp"
#include "actors/ops/group_table.hpp"
#include "runtime/columnar/row_batch.hpp"
#include "runtime/job/job_spec.hpp"

namespace sluice::ops {

/// A non-windowed GROUP BY with an upsert output: per input batch, one row
/// per group the batch changed (mini-batch), of kind insert the first time
/// the group is emitted and update_after afterwards. Without a TTL, a group
/// whose aggregates came out as they were (MAX of a smaller value) emits
/// nothing, as Flink's GroupAggFunction; with one it emits anyway (Flink
/// does, so that downstream state is refreshed). Output rows: the key
/// columns, then the aggregates. With a TTL (`ttl_ms` > 0, processing
/// time), `expire` forgets groups idle that long; a later row starts the
/// group from zero and emits an insert again, as Flink's state TTL does.
///
/// Only insert and update_after input rows are aggregated: retractions
/// (update_before, delete) are counted in `retractions_skipped` (an
/// aggregate over an update stream is not supported yet).
struct group_agg_state {
  std::vector<uint32_t> keys;
  std::vector<agg_call> aggs;
  int64_t ttl_ms = 0; ///< 0: groups are kept for ever
  group_table groups;
  accumulators accs;
  std::vector<int64_t> last_access_ms; ///< by group, processing time
  std::vector<uint8_t> emitted;        ///< by group: 1 once a row went out
  columnar::schema_ptr out_schema;
  uint64_t expired_groups = 0;
  uint64_t retractions_skipped = 0;
  uint64_t unchanged_skipped = 0; ///< groups whose row came out as before
  uint64_t rows_out = 0;

  /// Reused buffers of one call (not state).
  struct scratch_buffers {
    std::vector<uint32_t> rows, gids, changed, stamp, seen, kept;
    std::vector<uint64_t> hashes;
    columnar::row_batch before, after;
    uint32_t epoch = 0;
  } scratch;

  /// Checks keys and aggregates against the input schema `in`
  /// (sql_errc::bad_plan).
  static caf::expected<group_agg_state> make(std::vector<uint32_t> keys,
                                             std::vector<agg_call> aggs,
                                             int64_t ttl_ms,
                                             const columnar::schema& in);

  /// Aggregates the active rows of `in` at processing time `now_ms` and
  /// appends one row per changed group to `out` (given the output schema
  /// if it has none), in order of the groups' first row in `in`.
  void apply(const columnar::row_batch& in, int64_t now_ms,
             columnar::row_batch& out);

  /// Forgets the groups not touched for `ttl_ms` (last access + ttl <=
  /// now); returns how many. No-op without a TTL.
  size_t expire(int64_t now_ms);

  /// Groups held (the `state_keys` gauge).
  size_t num_keys() const noexcept { return groups.size(); }

  /// Bytes held (the `state_bytes` gauge).
  size_t byte_size() const noexcept;
};

} // namespace sluice::ops
