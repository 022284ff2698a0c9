#include "runtime/expr/like.hpp"

namespace sluice::expr {

namespace {

// Bytes of the UTF-8 code point starting with `c` (1 for a stray byte).
size_t cp_len(unsigned char c) noexcept {
  if (c < 0x80)
    return 1;
  if ((c >> 5) == 0x6)
    return 2;
  if ((c >> 4) == 0xE)
    return 3;
  if ((c >> 3) == 0x1E)
    return 4;
  return 1;
}

} // namespace

std::optional<like_matcher> like_matcher::make(std::string_view pattern,
                                               std::string_view escape) {
  if (escape.size() > 1)
    return std::nullopt;
  like_matcher m;
  // Tokens: '%', '_' or literal text.
  for (size_t i = 0; i < pattern.size(); ++i) {
    auto c = pattern[i];
    if (!escape.empty() && c == escape[0]) {
      if (i + 1 == pattern.size())
        return std::nullopt;
      auto next = pattern[i + 1];
      if (next != '%' && next != '_' && next != escape[0])
        return std::nullopt;
      if (m.pieces_.empty() || m.pieces_.back().any ||
          m.pieces_.back().ones > 0)
        m.pieces_.push_back(piece{});
      m.pieces_.back().text += next;
      ++i;
    } else if (c == '%') {
      if (m.pieces_.empty() || !m.pieces_.back().any)
        m.pieces_.push_back(piece{true, 0, {}});
    } else if (c == '_') {
      m.pieces_.push_back(piece{false, 1, {}});
    } else {
      if (m.pieces_.empty() || m.pieces_.back().any ||
          m.pieces_.back().ones > 0)
        m.pieces_.push_back(piece{});
      m.pieces_.back().text += c;
    }
  }
  auto& p = m.pieces_;
  auto is_text = [&](size_t i) {
    return !p[i].any && p[i].ones == 0;
  };
  if (p.size() == 1 && is_text(0)) {
    m.shape_ = shape::exact;
    m.literal_ = p[0].text;
  } else if (p.size() == 2 && is_text(0) && p[1].any) {
    m.shape_ = shape::prefix;
    m.literal_ = p[0].text;
  } else if (p.size() == 2 && p[0].any && is_text(1)) {
    m.shape_ = shape::suffix;
    m.literal_ = p[1].text;
  } else if (p.size() == 3 && p[0].any && is_text(1) && p[2].any) {
    m.shape_ = shape::contains;
    m.literal_ = p[1].text;
  } else if (p.empty()) {
    m.shape_ = shape::exact;
  }
  return m;
}

bool like_matcher::match(std::string_view s) const noexcept {
  switch (shape_) {
  case shape::exact:
    return s == literal_;
  case shape::prefix:
    return s.starts_with(literal_);
  case shape::suffix:
    return s.ends_with(literal_);
  case shape::contains:
    return s.find(literal_) != std::string_view::npos;
  case shape::general:
    break;
  }
  return match_general(s);
}

bool like_matcher::match_general(std::string_view s) const noexcept {
  // Greedy with one backtrack point: the last `%` seen and where in `s` it
  // resumes. Enough because `%` matches any run.
  size_t pi = 0;
  size_t si = 0;
  size_t star_p = std::string_view::npos;
  size_t star_s = 0;
  while (si < s.size() || pi < pieces_.size()) {
    if (pi < pieces_.size()) {
      auto& p = pieces_[pi];
      if (p.any) {
        star_p = pi++;
        star_s = si;
        continue;
      }
      if (p.ones > 0 && si < s.size()) {
        si += cp_len(static_cast<unsigned char>(s[si]));
        ++pi;
        continue;
      }
      if (p.ones == 0 && s.substr(si).starts_with(p.text)) {
        si += p.text.size();
        ++pi;
        continue;
      }
    }
    if (star_p == std::string_view::npos || star_s >= s.size())
      return false;
    // Let the last `%` take one more code point and retry after it.
    star_s += cp_len(static_cast<unsigned char>(s[star_s]));
    si = star_s;
    pi = star_p + 1;
  }
  return true;
}

} // namespace sluice::expr
