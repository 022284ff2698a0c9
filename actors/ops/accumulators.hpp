#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <caf/expected.hpp>
#include <tsl/robin_set.h>

#include "runtime/columnar/row_batch.hpp"
#include "runtime/columnar/schema.hpp"
#include "runtime/job/job_spec.hpp"

namespace sluice::ops {

/// Where an aggregate keeps its values: by the physical type of its
/// argument (BOOLEAN, INT, BIGINT, TIMESTAMP and INTERVAL as int64).
enum class agg_storage : uint8_t { none, i64, f64, dec, str };

/// The state of one aggregate call for every group, column by column.
/// Which vectors are in use depends on the call: `count` for COUNT and for
/// the non-NULL inputs of SUM and AVG; the value vector of `storage` for
/// SUM, AVG, MIN, MAX, FIRST_VALUE and LAST_VALUE, with `has` marking the
/// groups that saw a value (MIN, MAX, FIRST_VALUE, LAST_VALUE);
/// `distinct` for COUNT(DISTINCT x).
struct agg_state {
  agg_call call;
  columnar::data_type arg; ///< the argument's type (COUNT(*): null_type)
  agg_storage storage = agg_storage::none;
  std::vector<int64_t> count;
  std::vector<int64_t> i64;
  std::vector<double> f64;
  std::vector<columnar::int128> dec;
  std::vector<std::string> str;
  std::vector<uint8_t> has;
  std::vector<tsl::robin_set<std::string>> distinct;
};

/// The aggregates of a GROUP BY, indexed by group id: COUNT(*), COUNT(x),
/// COUNT(DISTINCT x), SUM, AVG, MIN, MAX, FIRST_VALUE, LAST_VALUE with
/// Flink's semantics: every aggregate but COUNT(*) skips NULL inputs; SUM,
/// AVG, MIN, MAX, FIRST_VALUE and LAST_VALUE of a group without a non-NULL
/// input are NULL; AVG of an integer type is that integer type (the
/// quotient truncated toward zero, as Java), of a DECIMAL the `out` scale
/// (HALF_UP). Results are written as each call's `out` type.
/// FIRST_VALUE / LAST_VALUE follow arrival order (and, when merging, the
/// order of merges: merge earlier state first).
///
/// Each update runs one loop per call and column type over the batch: no
/// per-row dispatch.
class accumulators {
 public:
  accumulators() = default;

  /// Checks `calls` against the input schema `in` (argument columns exist,
  /// types the function takes, DISTINCT only in COUNT); sql_errc::bad_plan
  /// otherwise.
  static caf::expected<accumulators> make(std::vector<agg_call> calls,
                                          const columnar::schema& in);

  /// Number of groups held.
  size_t size() const noexcept { return groups_; }

  /// Number of calls.
  size_t num_calls() const noexcept { return states_.size(); }

  const std::vector<agg_state>& states() const noexcept { return states_; }

  /// Grows (new groups empty) or shrinks to `groups` groups.
  void resize(size_t groups);

  /// Adds the active rows of `in`: the k-th active row to group `gids[k]`
  /// (every id < size()).
  void update(const columnar::row_batch& in, std::span<const uint32_t> gids);

  /// Adds physical rows `rows` of `in`: `rows[k]` to group `gids[k]`.
  void update(const columnar::row_batch& in, std::span<const uint32_t> rows,
              std::span<const uint32_t> gids);

  /// Adds `other`'s group `g` to this one's `their_to_mine[g]` for every g
  /// (same calls; every target id < size()).
  void merge(const accumulators& other,
             std::span<const uint32_t> their_to_mine);

  /// Adds group `from` to group `to` of this state (merging sessions);
  /// `from` keeps its values.
  void merge_group(uint32_t from, uint32_t to);

  /// Appends the result of each call for `groups`, call i into column
  /// `first_col + i` of `out`.
  void emit(std::span<const uint32_t> groups, columnar::row_batch& out,
            size_t first_col) const;

  /// Empties group `g` (as if it saw no row).
  void clear_group(uint32_t g);

  /// Keeps only groups `keep` (old ids, in the new order).
  void keep(std::span<const uint32_t> keep);

  /// Bytes held by all states.
  size_t byte_size() const noexcept;

 private:
  template <class Theirs, class Mine>
  void merge_impl(const accumulators& other, size_t n, Theirs their, Mine mine);

  std::vector<agg_state> states_;
  size_t groups_ = 0;
  std::vector<uint32_t> scratch_;
};

/// The result fields of `calls` named "agg0", "agg1", ... (the stage's post
/// projection names them).
std::vector<columnar::field> agg_fields(const std::vector<agg_call>& calls);

} // namespace sluice::ops
