#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include <caf/expected.hpp>

#include "runtime/columnar/column.hpp"
#include "runtime/columnar/row_batch.hpp"
#include "runtime/columnar/schema.hpp"
#include "runtime/expr/functions.hpp"
#include "runtime/expr/ir.hpp"

namespace sluice::expr {

/// Fills `out` with `n` copies of the literal `v` as out.type() (an
/// int128 is a DECIMAL's scaled value; an integer in a DECIMAL column is
/// scaled here).
void fill_literal(const scalar& v, columnar::column& out, size_t n);

/// Row `i` of `c` as a literal.
scalar read_cell(const columnar::column& c, size_t i);

/// A compiled expression: one step per node, each writing a scratch column
/// a batch at a time (one kernel call per step per batch).
///
/// Evaluation follows the tree with a selection of rows: AND and OR
/// evaluate their right side only on the rows the left did not decide;
/// CASE (and IF) evaluate each branch only on the rows that reach it, so a
/// branch never counts an error for a row it does not own. Implicit casts
/// that the functions' coercions ask for are steps of their own. A program
/// is not thread-safe: each operator instance compiles its own.
class program {
 public:
  /// Compiles `t` over input rows of schema `in`. Fails on an unknown
  /// function, argument types a function refuses, a cast it cannot do, or
  /// a tree that is not well formed.
  static caf::expected<program> compile(const tree& t,
                                        const columnar::schema& in,
                                        const function_registry& fns);

  /// Evaluates over the active rows of `in`; the result column has
  /// `in.num_rows()` rows (only active rows are defined). Reuses scratch
  /// columns: no allocation once grown. The column stays valid until the
  /// next call.
  const columnar::column& eval(const columnar::row_batch& in,
                               eval_context& ctx);

  /// Evaluates over `rows` of `in` (physical indices; evaluated in
  /// ascending order).
  const columnar::column& eval(const columnar::row_batch& in,
                               std::span<const uint32_t> rows,
                               eval_context& ctx);

  /// For a BOOLEAN program: narrows `in`'s selection to rows where it is
  /// TRUE (not NULL).
  void filter(columnar::row_batch& in, eval_context& ctx);

  /// The type of the result.
  const columnar::data_type& type() const noexcept {
    return steps_[root_].type;
  }

  /// False when a function in it is not deterministic (CURRENT_TIMESTAMP).
  bool deterministic() const noexcept { return deterministic_; }

  /// Steps, for tests and --explain.
  size_t num_steps() const noexcept { return steps_.size(); }

  program(program&&) noexcept = default;
  program& operator=(program&&) noexcept = default;

 private:
  program() = default;

  struct step {
    op kind = op::literal;
    columnar::data_type type;
    uint32_t input = 0;          ///< column: input column
    scalar literal;              ///< literal
    std::vector<uint32_t> args;  ///< child steps
    kernel_fn kernel;            ///< call, cast, not_, like; in_list/between: =
    std::vector<kernel_fn> more; ///< between: <=; in_list: one per element
    columnar::column out;        ///< the result (unless a column step)
    std::vector<columnar::column> tmp; ///< in_list/between comparisons
    std::vector<uint32_t> sel_a;       ///< selections narrowed here
    std::vector<uint32_t> sel_b;
    std::vector<uint32_t> sel_c;
    std::vector<int16_t> pick; ///< case: the branch of each row
    std::vector<const columnar::column*> arg_cols;
    size_t literal_rows = SIZE_MAX; ///< rows the literal column holds
  };

  struct compiler;

  const columnar::column* run(uint32_t s, const columnar::row_batch& in,
                              std::span<const uint32_t> rows,
                              eval_context& ctx);
  const columnar::column* run_literal(step& st, eval_context& ctx);
  const columnar::column* run_logic(step& st, bool is_and,
                                    const columnar::row_batch& in,
                                    std::span<const uint32_t> rows,
                                    eval_context& ctx);
  const columnar::column* run_case(step& st, const columnar::row_batch& in,
                                   std::span<const uint32_t> rows,
                                   eval_context& ctx);
  const columnar::column* run_in(step& st, const columnar::row_batch& in,
                                 std::span<const uint32_t> rows,
                                 eval_context& ctx);

  std::vector<step> steps_;
  uint32_t root_ = 0;
  bool deterministic_ = true;
  std::vector<uint32_t> all_rows_;
  std::vector<uint32_t> keep_;
  std::vector<uint32_t> sorted_;
};

} // namespace sluice::expr
