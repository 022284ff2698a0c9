#pragma once

#include <cctype>
#include <string_view>

/// Small text helpers shared across the tree.
namespace sluice {

/// `s` without leading and trailing white space (as std::isspace says).
inline std::string_view trim_space(std::string_view s) noexcept {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())))
    s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())))
    s.remove_suffix(1);
  return s;
}

/// True for the second and later bytes of a UTF-8 sequence.
constexpr bool is_utf8_continuation(char c) noexcept {
  return (static_cast<unsigned char>(c) & 0xC0) == 0x80;
}

} // namespace sluice
