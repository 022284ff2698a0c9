#include "runtime/columnar/column.hpp"

#include <bit>
#include <utility>

namespace sluice::columnar {

namespace {

/// Copies `rows.size()` values of `W` bytes from `src` at `rows` to `dst`.
template <size_t W>
void gather_fixed(char* dst, const char* src,
                  std::span<const uint32_t> rows) noexcept {
  for (size_t k = 0; k < rows.size(); ++k)
    std::memcpy(dst + k * W, src + size_t{rows[k]} * W, W);
}

void gather_values(size_t width, char* dst, const char* src,
                   std::span<const uint32_t> rows) noexcept {
  switch (width) {
  case 1:
    gather_fixed<1>(dst, src, rows);
    break;
  case 4:
    gather_fixed<4>(dst, src, rows);
    break;
  case 8:
    gather_fixed<8>(dst, src, rows);
    break;
  case 16:
    gather_fixed<16>(dst, src, rows);
    break;
  default:
    for (size_t k = 0; k < rows.size(); ++k)
      std::memmove(dst + k * width, src + size_t{rows[k]} * width, width);
  }
}

bool strictly_increasing(std::span<const uint32_t> rows) noexcept {
  for (size_t k = 1; k < rows.size(); ++k)
    if (rows[k] <= rows[k - 1])
      return false;
  return true;
}

} // namespace

column::column(data_type t) : type_(t), width_(fixed_width(t.id)) {
  if (is_string())
    offsets_.push_back(0);
}

size_t column::null_count() const noexcept {
  if (validity_.empty())
    return 0;
  size_t set = 0;
  for (auto w : validity_)
    set += static_cast<size_t>(std::popcount(w));
  return size_ - set;
}

void column::reserve(size_t rows, size_t bytes) {
  if (is_string()) {
    offsets_.reserve(rows + 1);
    data_.reserve(bytes);
  } else {
    data_.reserve(rows * width_);
  }
}

void column::resize(size_t rows) {
  auto old = size_;
  if (is_string()) {
    if (rows < old) {
      offsets_.resize(rows + 1);
      data_.resize(offsets_.back());
    } else {
      offsets_.resize(rows + 1, offsets_.back());
    }
  } else {
    data_.resize(rows * width_);
  }
  size_ = rows;
  if (!validity_.empty()) {
    validity_.resize(validity_words(rows), 0);
    if (rows > old)
      set_bits(old, rows);
    trim_bits();
  }
}

void column::push_str(std::string_view s) {
  data_.insert(data_.end(), s.begin(), s.end());
  offsets_.push_back(static_cast<uint32_t>(data_.size()));
  push_validity(true);
}

void column::push_null() {
  if (is_string())
    offsets_.push_back(static_cast<uint32_t>(data_.size()));
  else
    data_.resize(data_.size() + width_);
  push_validity(false);
}

void column::set_null(size_t i) {
  if (validity_.empty())
    materialize_validity();
  validity_[i >> 6] &= ~(uint64_t{1} << (i & 63));
}

void column::set_valid(size_t i) noexcept {
  if (!validity_.empty())
    validity_[i >> 6] |= uint64_t{1} << (i & 63);
}

void column::clear() noexcept {
  size_ = 0;
  validity_.clear();
  data_.clear();
  offsets_.clear();
  if (is_string())
    offsets_.push_back(0); // capacity is kept, so this never allocates
}

void column::reset(data_type t) noexcept {
  type_ = t;
  width_ = fixed_width(t.id);
  clear();
}

void column::gather_from(const column& src, std::span<const uint32_t> rows) {
  auto old = size_;
  auto n = rows.size();
  if (is_string()) {
    size_t total = 0;
    for (auto r : rows)
      total += src.offsets_[r + 1] - src.offsets_[r];
    auto pos = data_.size();
    data_.resize(pos + total);
    offsets_.resize(old + 1 + n);
    auto* dst = data_.data();
    const auto* sdata = src.data_.data();
    const auto* soff = src.offsets_.data();
    auto* off = offsets_.data() + old + 1;
    for (size_t k = 0; k < n; ++k) {
      auto r = rows[k];
      auto len = soff[r + 1] - soff[r];
      if (len > 0) // empty strings: the buffers may have no storage at all
        std::memcpy(dst + pos, sdata + soff[r], len);
      pos += len;
      off[k] = static_cast<uint32_t>(pos);
    }
  } else if (width_ > 0) {
    data_.resize((old + n) * width_);
    gather_values(width_, data_.data() + old * width_, src.data_.data(), rows);
  }
  size_ = old + n;
  if (src.validity_.empty()) {
    if (!validity_.empty()) {
      validity_.resize(validity_words(size_), 0);
      set_bits(old, size_);
    }
    return;
  }
  if (validity_.empty()) {
    bool any_null = false;
    for (auto r : rows)
      if (!src.valid(r)) {
        any_null = true;
        break;
      }
    if (!any_null)
      return;
    size_ = old;
    materialize_validity();
    size_ = old + n;
  }
  validity_.resize(validity_words(size_), 0);
  auto* bits = validity_.data();
  for (size_t k = 0; k < n; ++k) {
    auto i = old + k;
    bits[i >> 6] |= uint64_t{src.valid(rows[k])} << (i & 63);
  }
}

void column::append_range(const column& src, size_t begin, size_t end) {
  auto old = size_;
  auto n = end - begin;
  if (is_string()) {
    auto from = src.offsets_[begin];
    auto to = src.offsets_[end];
    auto pos = static_cast<uint32_t>(data_.size());
    data_.insert(data_.end(), src.data_.data() + from, src.data_.data() + to);
    offsets_.resize(old + 1 + n);
    for (size_t k = 0; k < n; ++k)
      offsets_[old + 1 + k] = src.offsets_[begin + 1 + k] - from + pos;
  } else if (width_ > 0) {
    data_.insert(data_.end(), src.data_.data() + begin * width_,
                 src.data_.data() + end * width_);
  }
  size_ = old + n;
  if (src.validity_.empty() && validity_.empty())
    return;
  if (validity_.empty()) {
    size_ = old;
    materialize_validity();
    size_ = old + n;
  }
  validity_.resize(validity_words(size_), 0);
  for (size_t k = 0; k < n; ++k) {
    auto i = old + k;
    validity_[i >> 6] |= uint64_t{src.valid(begin + k)} << (i & 63);
  }
}

void column::keep(std::span<const uint32_t> rows) {
  if (!strictly_increasing(rows)) {
    column tmp{type_};
    tmp.gather_from(*this, rows);
    *this = std::move(tmp);
    return;
  }
  // rows[k] >= k: every read is at or after the place last written.
  auto n = rows.size();
  if (is_string()) {
    auto* d = data_.data();
    auto* off = offsets_.data();
    uint32_t pos = 0;
    for (size_t k = 0; k < n; ++k) {
      auto r = rows[k];
      auto from = off[r];
      auto len = off[r + 1] - from;
      if (pos != from)
        std::memmove(d + pos, d + from, len);
      pos += len;
      off[k + 1] = pos;
    }
    offsets_.resize(n + 1);
    data_.resize(pos);
  } else if (width_ > 0) {
    auto* d = data_.data();
    for (size_t k = 0; k < n; ++k)
      if (rows[k] != k)
        std::memcpy(d + k * width_, d + size_t{rows[k]} * width_, width_);
    data_.resize(n * width_);
  }
  if (!validity_.empty()) {
    auto* bits = validity_.data();
    for (size_t k = 0; k < n; ++k) {
      auto v = (bits[rows[k] >> 6] >> (rows[k] & 63)) & 1;
      bits[k >> 6] =
          (bits[k >> 6] & ~(uint64_t{1} << (k & 63))) | (v << (k & 63));
    }
    validity_.resize(validity_words(n));
  }
  size_ = n;
  trim_bits();
}

size_t column::byte_size() const noexcept {
  return data_.size() + offsets_.size() * sizeof(uint32_t) +
         validity_.size() * sizeof(uint64_t);
}

bool column::well_formed() const noexcept {
  if (!validity_.empty()) {
    if (validity_.size() != validity_words(size_))
      return false;
    if ((size_ & 63) != 0 && (validity_.back() >> (size_ & 63)) != 0)
      return false;
  }
  if (is_string()) {
    if (offsets_.size() != size_ + 1 || offsets_[0] != 0)
      return false;
    for (size_t i = 0; i < size_; ++i)
      if (offsets_[i + 1] < offsets_[i])
        return false;
    return offsets_.back() == data_.size();
  }
  if (!offsets_.empty())
    return false;
  if (type_.id == type_id::boolean)
    for (auto c : data_)
      if (static_cast<unsigned char>(c) > 1)
        return false;
  return data_.size() == size_ * width_;
}

void column::push_bit(bool valid) {
  auto i = size_;
  if ((i & 63) == 0)
    validity_.push_back(0);
  validity_[i >> 6] |= uint64_t{valid} << (i & 63);
  ++size_;
}

void column::materialize_validity() {
  validity_.assign(validity_words(size_), 0);
  set_bits(0, size_);
}

void column::set_bits(size_t begin, size_t end) noexcept {
  auto* bits = validity_.data();
  while (begin < end && (begin & 63) != 0) {
    bits[begin >> 6] |= uint64_t{1} << (begin & 63);
    ++begin;
  }
  while (begin + 64 <= end) {
    bits[begin >> 6] = ~uint64_t{0};
    begin += 64;
  }
  while (begin < end) {
    bits[begin >> 6] |= uint64_t{1} << (begin & 63);
    ++begin;
  }
}

void column::trim_bits() noexcept {
  if (validity_.empty() || (size_ & 63) == 0)
    return;
  validity_.back() &= (uint64_t{1} << (size_ & 63)) - 1;
}

} // namespace sluice::columnar
