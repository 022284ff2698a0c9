#include "sql/diagnostics.hpp"
#include "runtime/text.hpp"

#include <algorithm>

namespace sluice::sql {

namespace {

/// The text of 1-based line `line` (without its line break); empty past the
/// end.
std::string_view line_text(std::string_view text, uint32_t line) {
  size_t begin = 0;
  for (uint32_t i = 1; i < line; ++i) {
    auto nl = text.find('\n', begin);
    if (nl == std::string_view::npos)
      return {};
    begin = nl + 1;
  }
  auto end = text.find('\n', begin);
  if (end == std::string_view::npos)
    end = text.size();
  auto result = text.substr(begin, end - begin);
  if (!result.empty() && result.back() == '\r')
    result.remove_suffix(1);
  return result;
}

} // namespace

const char* to_string(diag_code x) noexcept {
  switch (x) {
  case diag_code::lexical:
    return "lexical";
  case diag_code::syntax:
    return "syntax";
  case diag_code::unknown_table:
    return "unknown_table";
  case diag_code::unknown_column:
    return "unknown_column";
  case diag_code::unknown_function:
    return "unknown_function";
  case diag_code::type_mismatch:
    return "type_mismatch";
  case diag_code::not_grouped:
    return "not_grouped";
  case diag_code::bad_window:
    return "bad_window";
  case diag_code::unsupported:
    return "unsupported";
  case diag_code::bad_option:
    return "bad_option";
  case diag_code::env_missing:
    return "env_missing";
  case diag_code::sink_no_updates:
    return "sink_no_updates";
  case diag_code::no_sample:
    return "no_sample";
  }
  return "unknown";
}

std::string render(const sql_diagnostic& d, std::string_view source_text) {
  const auto& w = d.where;
  std::string out = w.file;
  out += ':';
  out += std::to_string(w.line);
  out += ':';
  out += std::to_string(w.column);
  out += ": error: ";
  out += d.message;
  if (w.line == 0)
    return out;
  auto line = line_text(source_text, w.line);
  out += '\n';
  out += line;
  out += '\n';
  // Walk to the column, copying tabs so the caret lines up in any terminal.
  size_t i = 0;
  for (uint32_t col = 1; col < w.column; ++col) {
    if (i < line.size()) {
      out += line[i] == '\t' ? '\t' : ' ';
      ++i;
      while (i < line.size() && is_utf8_continuation(line[i]))
        ++i;
    } else {
      out += ' ';
    }
  }
  out += '^';
  auto end = std::min(line.size(), i + std::max<uint32_t>(w.length, 1));
  if (i < line.size()) {
    ++i;
    for (; i < end; ++i)
      if (!is_utf8_continuation(line[i]))
        out += '~';
  }
  return out;
}

std::string render(const std::vector<sql_diagnostic>& ds,
                   std::string_view source_text) {
  std::string out;
  for (auto& d : ds) {
    out += render(d, source_text);
    out += '\n';
  }
  return out;
}

} // namespace sluice::sql
