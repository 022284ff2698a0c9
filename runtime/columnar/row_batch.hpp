#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "runtime/columnar/column.hpp"
#include "runtime/columnar/schema.hpp"

namespace sluice::columnar {

namespace detail {
struct codec_access;
} // namespace detail

/// Flink's RowKind: what a row means to a sink that keeps state.
enum class row_kind : uint8_t { insert = 0, update_before, update_after, del };

/// The largest row_kind value (for decoders that check a byte).
inline constexpr uint8_t max_row_kind = static_cast<uint8_t>(row_kind::del);

/// "+I", "-U", "+U", "-D" (Flink's short names).
const char* to_string(row_kind k) noexcept;

/// Rows in columns: the only thing operators exchange.
///
/// One column per schema field. A selection vector narrows the batch
/// without moving data (a filter sets it, `compact` applies it); row kinds
/// say insert, update or delete per physical row. Building appends to the
/// columns directly (`col(i).push(...)`): every column must end with the
/// same number of rows, which `well_formed` checks.
class row_batch {
 public:
  /// The rows a producer puts in one batch.
  static constexpr size_t default_rows = 4096;
  /// The most rows one batch sent between operators may hold.
  static constexpr size_t max_rows = 65536;

  explicit row_batch(schema_ptr s = {});

  /// The schema (not `schema()`: it would hide the type's name).
  const schema_ptr& row_schema() const noexcept { return schema_; }

  /// Physical rows (those of the columns; the row count of a batch
  /// without columns).
  size_t num_rows() const noexcept {
    return cols_.empty() ? rows_ : cols_[0].size();
  }

  /// Rows in the selection.
  size_t active_rows() const noexcept {
    return all_ ? num_rows() : sel_.size();
  }

  /// Sets the row count of a batch without columns (COUNT(*) over an empty
  /// projection); with columns, resizes them all.
  void set_num_rows(size_t n);

  column& col(size_t i) { return cols_[i]; }
  const column& col(size_t i) const { return cols_[i]; }

  size_t num_columns() const noexcept { return cols_.size(); }

  /// True when every physical row is selected (`selection()` is empty).
  bool all_selected() const noexcept { return all_; }

  /// The physical indices of the selected rows; empty when `all_selected`.
  std::span<const uint32_t> selection() const noexcept { return sel_; }

  /// Narrows the batch to `rows` (physical indices, each < num_rows).
  void set_selection(std::vector<uint32_t> rows);

  /// Selects every row again, without compacting.
  void select_all() noexcept;

  /// The selected rows' indices: `selection()`, or 0..num_rows-1 written to
  /// `scratch` when every row is selected.
  std::span<const uint32_t> active(std::vector<uint32_t>& scratch) const;

  /// Row kinds by physical row: empty when every row is an insert; rows
  /// past its end (added after the last `set_kind`) are inserts too, so
  /// read them with `kind(i)` unless `kinds().size() == num_rows()`.
  std::span<const row_kind> kinds() const noexcept { return kinds_; }

  /// The kind of physical row `i`.
  row_kind kind(size_t i) const noexcept {
    return i < kinds_.size() ? kinds_[i] : row_kind::insert;
  }

  /// Sets the kind of physical row `row` (which exists).
  void set_kind(size_t row, row_kind k);

  /// Applies the selection (moves the selected rows to the front, in place
  /// when it is increasing) and selects all.
  void compact();

  /// Appends physical rows `rows` of `src` (same column types), with their
  /// kinds. When this batch has a selection, the new rows join it.
  void append_rows(const row_batch& src, std::span<const uint32_t> rows);

  /// Appends the selected rows of `src`.
  void append_active(const row_batch& src);

  /// Removes every row, the selection and the kinds; keeps the capacity.
  void clear() noexcept;

  /// Clears the batch and gives it `s`'s columns, keeping the capacity of
  /// the columns it had.
  void reset(schema_ptr s);

  /// Bytes held by columns, selection and kinds.
  size_t byte_size() const noexcept;

  /// True when the columns match the schema, each is well formed, all have
  /// the same size, the selection and kinds fit (checked after decode).
  bool well_formed() const noexcept;

 private:
  friend struct detail::codec_access;

  void pad_kinds(size_t rows);

  schema_ptr schema_;
  std::vector<column> cols_;
  size_t rows_ = 0;
  std::vector<uint32_t> sel_;
  bool all_ = true;
  std::vector<row_kind> kinds_;
};

/// True when both batches have equal schemas and equal selected rows:
/// values, NULLs and kinds (for tests and fuzzers).
bool equal_rows(const row_batch& x, const row_batch& y);

} // namespace sluice::columnar
