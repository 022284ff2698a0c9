#pragma once

#include <cstddef>
#include <vector>

#include <caf/expected.hpp>

#include "runtime/columnar/row_batch.hpp"
#include "runtime/columnar/schema.hpp"
#include "runtime/expr/functions.hpp"
#include "runtime/expr/program.hpp"
#include "runtime/job/job_spec.hpp"

namespace sluice::sql_actors {

/// The stateless steps fused into a stage (`stage_spec::pre` / `post`),
/// compiled once per operator instance: filters narrow a batch's
/// selection, projections build a new batch of the step's output schema.
/// Row kinds go through unchanged. Not thread-safe (one per instance).
class calc_chain {
 public:
  calc_chain() = default;

  /// Compiles `steps` over input rows of schema `in` (each step over the
  /// output of the one before); sql_errc::bad_plan names the step that
  /// does not compile.
  static caf::expected<calc_chain> make(const std::vector<calc_step>& steps,
                                        const columnar::schema_ptr& in,
                                        const expr::function_registry& fns);

  /// Runs steps [first, last) on `b` in place; `b` ends with the schema of
  /// step `last - 1` (unchanged when the range is empty).
  void apply(columnar::row_batch& b, expr::eval_context& ctx, size_t first,
             size_t last);

  /// Runs every step.
  void apply(columnar::row_batch& b, expr::eval_context& ctx) {
    apply(b, ctx, 0, steps_.size());
  }

  /// The schema after step `n - 1` (the input's when `n` is 0).
  const columnar::schema_ptr& schema_after(size_t n) const {
    return n == 0 ? in_ : steps_[n - 1].out;
  }

  /// The output schema (after every step).
  const columnar::schema_ptr& out_schema() const {
    return schema_after(steps_.size());
  }

  size_t size() const noexcept { return steps_.size(); }

 private:
  struct step {
    bool is_filter = false;
    std::vector<expr::program> progs;
    columnar::schema_ptr out;
  };
  columnar::schema_ptr in_;
  std::vector<step> steps_;
  columnar::row_batch scratch_;
};

} // namespace sluice::sql_actors
