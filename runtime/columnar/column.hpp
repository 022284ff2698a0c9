#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>
#include <type_traits>
#include <vector>

#include "runtime/columnar/types.hpp"

namespace sluice::columnar {

/// One column of a batch: typed values, a validity bitmap and, for strings,
/// offsets into one byte buffer.
///
/// Fixed-width values sit back to back in `data()` in their physical type
/// (`fixed_width(type().id)` bytes each, little-endian); a NULL row holds
/// zero bytes. Strings keep `size() + 1` offsets (the first 0, the last
/// `data().size()`) and their bytes in `data()`; a NULL string is empty.
/// Validity: an empty bitmap means every row is valid; otherwise it holds
/// `(size() + 63) / 64` words, bit `i` set when row `i` is valid and every
/// bit past `size()` clear. A column of `null_type` stores no values, only
/// its size (and the bitmap of its NULLs).
///
/// Building appends; `clear` and `reset` keep the capacity, so a column
/// reused batch after batch allocates nothing once grown.
class column {
 public:
  explicit column(data_type t = {});

  const data_type& type() const noexcept { return type_; }

  size_t size() const noexcept { return size_; }

  bool empty() const noexcept { return size_ == 0; }

  /// True when row `i` is not NULL.
  bool valid(size_t i) const noexcept {
    return validity_.empty() || ((validity_[i >> 6] >> (i & 63)) & 1) != 0;
  }

  /// True when the column keeps a validity bitmap: some row may be NULL
  /// (`null_count` says how many are).
  bool has_nulls() const noexcept { return !validity_.empty(); }

  /// The number of NULL rows (counts the bitmap).
  size_t null_count() const noexcept;

  /// The values of a fixed-width column, as its physical type (`uint8_t`
  /// for BOOLEAN, `int128` for DECIMAL, `int64_t` for TIMESTAMP).
  template <class T>
  std::span<const T> values() const noexcept {
    return {reinterpret_cast<const T*>(data_.data()), data_.size() / sizeof(T)};
  }

  /// The values of a fixed-width column, to change in place.
  template <class T>
  std::span<T> values_mut() noexcept {
    return {reinterpret_cast<T*>(data_.data()), data_.size() / sizeof(T)};
  }

  /// Value `i` of a fixed-width column.
  template <class T>
  T value(size_t i) const noexcept {
    T v;
    std::memcpy(&v, data_.data() + i * sizeof(T), sizeof(T));
    return v;
  }

  /// String `i` of a string column (empty for a NULL row).
  std::string_view str(size_t i) const noexcept {
    return {data_.data() + offsets_[i], offsets_[i + 1] - offsets_[i]};
  }

  /// Reserves room for `rows` rows in total and, for strings, `bytes`
  /// bytes of text.
  void reserve(size_t rows, size_t bytes = 0);

  /// Sets the row count: new rows are valid with value 0 (or empty
  /// strings); removed rows are gone.
  void resize(size_t rows);

  /// Appends a valid value of a fixed-width column (`sizeof(T)` must be the
  /// type's width).
  template <class T>
  void push(T v) {
    static_assert(std::is_trivially_copyable_v<T>);
    auto off = data_.size();
    data_.resize(off + sizeof(T));
    std::memcpy(data_.data() + off, &v, sizeof(T));
    push_validity(true);
  }

  /// Appends a valid string.
  void push_str(std::string_view s);

  /// Appends a NULL row.
  void push_null();

  /// Makes row `i` NULL (its value stays as it is).
  void set_null(size_t i);

  /// Makes row `i` valid.
  void set_valid(size_t i) noexcept;

  /// Removes every row; keeps the capacity.
  void clear() noexcept;

  /// Removes every row and changes the type; keeps the capacity.
  void reset(data_type t) noexcept;

  /// Appends `src[rows]` in the order of `rows` (same physical type; `src`
  /// is another column).
  void gather_from(const column& src, std::span<const uint32_t> rows);

  /// Appends rows `[begin, end)` of `src` (same physical type; `src` is
  /// another column).
  void append_range(const column& src, size_t begin, size_t end);

  /// Keeps only `rows`, in their order. In place (no allocation) when
  /// `rows` is strictly increasing; otherwise through a copy.
  void keep(std::span<const uint32_t> rows);

  /// Bytes held by values, offsets and the bitmap.
  size_t byte_size() const noexcept;

  /// True when sizes agree, offsets rise from 0 to the byte count and no
  /// bit past the end is set (checked after decoding).
  bool well_formed() const noexcept;

  /// Raw buffers for the codec. After filling them, `set_size` sets the row
  /// count; check the result with `well_formed`.
  std::vector<uint64_t>& validity() noexcept { return validity_; }
  const std::vector<uint64_t>& validity() const noexcept { return validity_; }
  std::vector<char>& data() noexcept { return data_; }
  const std::vector<char>& data() const noexcept { return data_; }
  std::vector<uint32_t>& offsets() noexcept { return offsets_; }
  const std::vector<uint32_t>& offsets() const noexcept { return offsets_; }
  void set_size(size_t rows) noexcept { size_ = rows; }

  /// Bitmap words for `rows` rows.
  static constexpr size_t validity_words(size_t rows) noexcept {
    return (rows + 63) / 64;
  }

 private:
  void push_validity(bool valid) {
    if (validity_.empty()) {
      if (valid) {
        ++size_;
        return;
      }
      materialize_validity();
    }
    push_bit(valid);
  }

  void push_bit(bool valid);

  /// Creates the bitmap with every current row valid.
  void materialize_validity();

  /// Sets bits `[begin, end)` of the bitmap (which has room for them).
  void set_bits(size_t begin, size_t end) noexcept;

  /// Clears the bits past `size_` in the last word.
  void trim_bits() noexcept;

  bool is_string() const noexcept { return type_.id == type_id::string; }

  data_type type_;
  size_t size_ = 0;
  size_t width_ = 0;
  std::vector<uint64_t> validity_;
  std::vector<char> data_;
  std::vector<uint32_t> offsets_;
};

} // namespace sluice::columnar
