#include "runtime/json_text.hpp"

#include <cstddef>

namespace sluice {

namespace {

/// Length of the valid UTF-8 sequence at `p` (n bytes available), 0 when
/// it is not one (overlong, surrogate, past U+10FFFF, truncated).
size_t utf8_length(const unsigned char* p, size_t n) {
  auto b = p[0];
  auto cont = [&](size_t k, unsigned char lo = 0x80, unsigned char hi = 0xBF) {
    return k < n && p[k] >= lo && p[k] <= hi;
  };
  if (b < 0x80)
    return 1;
  if (b < 0xC2)
    return 0;
  if (b < 0xE0)
    return cont(1) ? 2 : 0;
  if (b < 0xF0) {
    unsigned char lo = b == 0xE0 ? 0xA0 : 0x80;
    unsigned char hi = b == 0xED ? 0x9F : 0xBF;
    return cont(1, lo, hi) && cont(2) ? 3 : 0;
  }
  if (b < 0xF5) {
    unsigned char lo = b == 0xF0 ? 0x90 : 0x80;
    unsigned char hi = b == 0xF4 ? 0x8F : 0xBF;
    return cont(1, lo, hi) && cont(2) && cont(3) ? 4 : 0;
  }
  return 0;
}

} // namespace

void append_json_string(std::string_view s, std::string& out) {
  static constexpr char hex[] = "0123456789abcdef";
  auto escape_byte = [&](unsigned char c) {
    out += "\\u00";
    out += hex[c >> 4];
    out += hex[c & 0xF];
  };
  out += '"';
  auto* p = reinterpret_cast<const unsigned char*>(s.data());
  size_t n = s.size();
  size_t i = 0;
  while (i < n) {
    // Copy a run of bytes that need nothing.
    size_t j = i;
    while (j < n && p[j] >= 0x20 && p[j] < 0x80 && p[j] != '"' && p[j] != '\\')
      ++j;
    out.append(s.data() + i, j - i);
    i = j;
    if (i == n)
      break;
    auto c = p[i];
    if (c >= 0x80) {
      if (auto len = utf8_length(p + i, n - i); len > 0) {
        out.append(s.data() + i, len);
        i += len;
      } else {
        escape_byte(c);
        ++i;
      }
      continue;
    }
    switch (c) {
    case '"':
      out += "\\\"";
      break;
    case '\\':
      out += "\\\\";
      break;
    case '\b':
      out += "\\b";
      break;
    case '\f':
      out += "\\f";
      break;
    case '\n':
      out += "\\n";
      break;
    case '\r':
      out += "\\r";
      break;
    case '\t':
      out += "\\t";
      break;
    default:
      escape_byte(c);
    }
    ++i;
  }
  out += '"';
}

} // namespace sluice
