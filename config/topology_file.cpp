// What a topology file must be before the TOML parser sees it: a regular
// file, at most max_topology_bytes, nested at most max_topology_depth deep.
#include <vector>

#include "config/topology.hpp"
#include "config/topology_detail.hpp"
#include "runtime/errors.hpp"
#include "runtime/text_file.hpp"

namespace sluice::detail {

namespace {

/// Walks TOML text as the parser would read it (strings, comments, table
/// headers, keys, values) and tracks how deep each value sits in the tree
/// of tables and arrays. Text that is not TOML is followed only as far as
/// the parser would read it before reporting its own error.
class nesting_scan {
 public:
  nesting_scan(std::string_view text, const std::string& file)
      : text_(text), file_(file) {}

  std::optional<diagnostic> run();

 private:
  enum class state { statement, header, key, value, rest };

  struct frame {
    bool table;     ///< an inline table; otherwise an array
    uint32_t depth; ///< of the table or array itself
  };

  char peek(size_t ahead = 0) const {
    return i_ + ahead < text_.size() ? text_[i_ + ahead] : '\0';
  }

  void step() {
    if (text_[i_] == '\n') {
      ++line_;
      column_ = 1;
    } else if ((static_cast<unsigned char>(text_[i_]) & 0xC0) != 0x80) {
      ++column_; // one per UTF-8 character, not per byte
    }
    ++i_;
  }

  void skip_string();
  void skip_comment() {
    while (i_ < text_.size() && text_[i_] != '\n')
      step();
  }

  void close_bracket() {
    if (open_.empty())
      return;
    open_.pop_back();
    state_ = open_.empty() ? state::rest : state::value;
    if (!open_.empty())
      value_ = open_.back().depth + 1;
  }

  /// The depth a key's parts start from: the table it is written in.
  uint32_t key_base() const {
    return open_.empty() ? header_depth_ : open_.back().depth;
  }

  std::optional<diagnostic> too_deep() const {
    return diagnostic{{file_, line_, column_},
                      "nested more than " + std::to_string(max_topology_depth) +
                          " levels deep (table headers, dotted keys, arrays "
                          "and inline tables count together)"};
  }

  std::string_view text_;
  const std::string& file_;
  size_t i_ = 0;
  uint32_t line_ = 1;
  uint32_t column_ = 1;
  state state_ = state::statement;
  uint32_t header_depth_ = 0;
  uint32_t parts_ = 0; ///< of the header or key being read
  uint32_t value_ = 0; ///< depth of the value being read
  std::vector<frame> open_;
};

void nesting_scan::skip_string() {
  char quote = peek();
  bool multi = peek(1) == quote && peek(2) == quote;
  for (int k = 0; k < (multi ? 3 : 1); ++k)
    step();
  while (i_ < text_.size()) {
    char c = peek();
    if (c == '\n' && !multi)
      return; // the parser stops here with an error
    if (c == '\\' && quote == '"') {
      step();
      if (i_ < text_.size())
        step();
      continue;
    }
    if (c == quote) {
      if (!multi) {
        step();
        return;
      }
      if (peek(1) == quote && peek(2) == quote) {
        for (int k = 0; k < 3; ++k)
          step();
        // Up to two more quotes belong to the string's content.
        for (int k = 0; k < 2 && peek() == quote; ++k)
          step();
        return;
      }
    }
    step();
  }
}

std::optional<diagnostic> nesting_scan::run() {
  while (i_ < text_.size()) {
    char c = peek();
    if (c == '#') {
      skip_comment();
      continue;
    }
    if (c == '\n') {
      // Arrays may span lines; everything else ends at the line's end.
      if (open_.empty() || state_ == state::header)
        state_ = state::statement;
      step();
      continue;
    }
    if (c == ' ' || c == '\t' || c == '\r') {
      step();
      continue;
    }
    if (c == '"' || c == '\'') {
      if (state_ == state::statement) {
        state_ = state::key;
        parts_ = 1;
      }
      skip_string();
      continue;
    }
    switch (state_) {
    case state::statement:
      if (c == '[') {
        step();
        parts_ = 1;
        if (peek() == '[') {
          step();
          ++parts_; // an array of tables adds the array's level
        }
        if (parts_ > max_topology_depth)
          return too_deep();
        state_ = state::header;
        continue;
      }
      state_ = state::key;
      parts_ = 1;
      continue; // read this character as part of the key
    case state::header:
      if (c == '.' && ++parts_ > max_topology_depth)
        return too_deep();
      if (c == ']') {
        header_depth_ = parts_;
        state_ = state::rest;
      }
      break;
    case state::key:
      if (c == '}') { // an empty inline table
        close_bracket();
        break;
      }
      if (c == '.' && key_base() + ++parts_ > max_topology_depth)
        return too_deep();
      if (c == '=') {
        value_ = key_base() + parts_;
        if (value_ > max_topology_depth)
          return too_deep();
        state_ = state::value;
      }
      break;
    case state::value:
      if (c == '[' || c == '{') {
        open_.push_back({c == '{', value_});
        if (value_ + 1 > max_topology_depth)
          return too_deep();
        if (c == '{') {
          state_ = state::key;
          parts_ = 1;
        } else {
          value_ += 1;
        }
      } else if (c == ']' || c == '}') {
        close_bracket();
      } else if (c == ',' && !open_.empty() && open_.back().table) {
        state_ = state::key;
        parts_ = 1;
      }
      break;
    case state::rest:
      break;
    }
    step();
  }
  return std::nullopt;
}

} // namespace

std::optional<diagnostic> check_nesting(std::string_view text,
                                        const std::string& file_name) {
  return nesting_scan{text, file_name}.run();
}

caf::expected<std::string>
read_topology_file(const std::string& path, std::vector<diagnostic>& problems) {
  auto text = read_text_file(path, max_topology_bytes,
                             {"topology file", "a regular TOML file"});
  if (!text) {
    problems.push_back({{path, 0, 0}, message_of(text.error())});
    return make_error(static_cast<config_errc>(text.error().code()),
                      to_string(problems.back()));
  }
  return text;
}

} // namespace sluice::detail
