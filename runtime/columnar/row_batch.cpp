#include "runtime/columnar/row_batch.hpp"

#include <algorithm>
#include <cstring>
#include <numeric>
#include <utility>

namespace sluice::columnar {

const char* to_string(row_kind k) noexcept {
  switch (k) {
  case row_kind::insert:
    return "+I";
  case row_kind::update_before:
    return "-U";
  case row_kind::update_after:
    return "+U";
  case row_kind::del:
    return "-D";
  }
  return "?";
}

row_batch::row_batch(schema_ptr s) {
  reset(std::move(s));
}

void row_batch::set_num_rows(size_t n) {
  rows_ = n;
  for (auto& c : cols_)
    c.resize(n);
  if (kinds_.size() > n)
    kinds_.resize(n);
}

void row_batch::set_selection(std::vector<uint32_t> rows) {
  sel_ = std::move(rows);
  all_ = false;
}

void row_batch::select_all() noexcept {
  sel_.clear();
  all_ = true;
}

std::span<const uint32_t>
row_batch::active(std::vector<uint32_t>& scratch) const {
  if (!all_)
    return sel_;
  scratch.resize(num_rows());
  std::iota(scratch.begin(), scratch.end(), uint32_t{0});
  return scratch;
}

void row_batch::set_kind(size_t row, row_kind k) {
  if (kinds_.empty() && k == row_kind::insert)
    return;
  pad_kinds(std::max(num_rows(), row + 1));
  kinds_[row] = k;
}

void row_batch::compact() {
  if (all_)
    return;
  auto rows = num_rows();
  bool identity = sel_.size() == rows;
  for (size_t k = 0; identity && k < sel_.size(); ++k)
    identity = sel_[k] == k;
  if (!identity) {
    for (auto& c : cols_)
      c.keep(sel_);
    if (!kinds_.empty()) {
      pad_kinds(rows);
      // Increasing selections move kinds forward in place; others copy.
      bool increasing =
          std::is_sorted(sel_.begin(), sel_.end()) &&
          std::adjacent_find(sel_.begin(), sel_.end()) == sel_.end();
      if (increasing) {
        for (size_t k = 0; k < sel_.size(); ++k)
          kinds_[k] = kinds_[sel_[k]];
        kinds_.resize(sel_.size());
      } else {
        std::vector<row_kind> tmp(sel_.size());
        for (size_t k = 0; k < sel_.size(); ++k)
          tmp[k] = kinds_[sel_[k]];
        kinds_ = std::move(tmp);
      }
    }
    rows_ = sel_.size();
  }
  select_all();
}

void row_batch::append_rows(const row_batch& src,
                            std::span<const uint32_t> rows) {
  auto old = num_rows();
  for (size_t i = 0; i < cols_.size(); ++i)
    cols_[i].gather_from(src.cols_[i], rows);
  rows_ = old + rows.size();
  if (!src.kinds_.empty()) {
    pad_kinds(old);
    kinds_.resize(old + rows.size());
    for (size_t k = 0; k < rows.size(); ++k)
      kinds_[old + k] = src.kind(rows[k]);
  }
  if (!all_)
    for (size_t k = 0; k < rows.size(); ++k)
      sel_.push_back(static_cast<uint32_t>(old + k));
}

void row_batch::append_active(const row_batch& src) {
  if (!src.all_) {
    append_rows(src, src.sel_);
    return;
  }
  auto old = num_rows();
  auto n = src.num_rows();
  for (size_t i = 0; i < cols_.size(); ++i)
    cols_[i].append_range(src.cols_[i], 0, n);
  rows_ = old + n;
  if (!src.kinds_.empty()) {
    pad_kinds(old);
    kinds_.resize(old + n, row_kind::insert);
    std::copy(src.kinds_.begin(), src.kinds_.end(), kinds_.begin() + old);
  }
  if (!all_)
    for (size_t k = 0; k < n; ++k)
      sel_.push_back(static_cast<uint32_t>(old + k));
}

void row_batch::clear() noexcept {
  for (auto& c : cols_)
    c.clear();
  rows_ = 0;
  sel_.clear();
  all_ = true;
  kinds_.clear();
}

void row_batch::reset(schema_ptr s) {
  schema_ = std::move(s);
  auto n = schema_ ? schema_->fields.size() : 0;
  if (cols_.size() > n)
    cols_.resize(n);
  for (size_t i = 0; i < cols_.size(); ++i)
    cols_[i].reset(schema_->fields[i].type);
  for (size_t i = cols_.size(); i < n; ++i)
    cols_.emplace_back(schema_->fields[i].type);
  rows_ = 0;
  sel_.clear();
  all_ = true;
  kinds_.clear();
}

size_t row_batch::byte_size() const noexcept {
  size_t n = sel_.size() * sizeof(uint32_t) + kinds_.size();
  for (auto& c : cols_)
    n += c.byte_size();
  return n;
}

bool row_batch::well_formed() const noexcept {
  auto fields = schema_ ? schema_->fields.size() : 0;
  if (cols_.size() != fields)
    return false;
  if (schema_ && schema_->rowtime >= static_cast<int32_t>(fields))
    return false;
  auto rows = num_rows();
  for (size_t i = 0; i < cols_.size(); ++i) {
    auto& c = cols_[i];
    if (c.size() != rows || !(c.type() == schema_->fields[i].type) ||
        !c.well_formed())
      return false;
  }
  if (kinds_.size() > rows)
    return false;
  for (auto k : kinds_)
    if (static_cast<uint8_t>(k) > max_row_kind)
      return false;
  if (!all_)
    for (auto r : sel_)
      if (r >= rows)
        return false;
  return true;
}

void row_batch::pad_kinds(size_t rows) {
  if (kinds_.size() < rows)
    kinds_.resize(rows, row_kind::insert);
}

bool equal_rows(const row_batch& x, const row_batch& y) {
  auto sx = x.row_schema();
  auto sy = y.row_schema();
  if (sx && sy ? !(*sx == *sy) : sx != sy)
    return false;
  if (x.active_rows() != y.active_rows())
    return false;
  std::vector<uint32_t> xs, ys;
  auto rx = x.active(xs);
  auto ry = y.active(ys);
  for (size_t k = 0; k < rx.size(); ++k)
    if (x.kind(rx[k]) != y.kind(ry[k]))
      return false;
  for (size_t i = 0; i < x.num_columns(); ++i) {
    auto& cx = x.col(i);
    auto& cy = y.col(i);
    auto w = fixed_width(cx.type().id);
    auto str = cx.type().id == type_id::string;
    for (size_t k = 0; k < rx.size(); ++k) {
      auto a = rx[k];
      auto b = ry[k];
      if (cx.valid(a) != cy.valid(b))
        return false;
      if (!cx.valid(a))
        continue;
      if (str) {
        if (cx.str(a) != cy.str(b))
          return false;
      } else if (w > 0 && std::memcmp(cx.data().data() + a * w,
                                      cy.data().data() + b * w, w) != 0) {
        return false;
      }
    }
  }
  return true;
}

} // namespace sluice::columnar
