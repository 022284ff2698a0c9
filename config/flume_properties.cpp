// Java properties syntax, read as java.util.Properties.load reads it, with
// the position of every key and value byte kept for messages.
#include "config/flume_properties.hpp"

#include <cstdint>

namespace sluice {

namespace {

bool blank(char c) {
  return c == ' ' || c == '\t' || c == '\f';
}

/// One byte of a logical line and where it was written.
struct located {
  char c;
  uint32_t line;
  uint32_t column;
};

/// Splits text into logical lines: comments and blank lines dropped,
/// continuation lines joined, leading blanks skipped.
class line_reader {
 public:
  explicit line_reader(std::string_view text) : text_(text) {}

  /// The next logical line; false at the end of the text.
  bool next(std::vector<located>& out) {
    out.clear();
    while (i_ < text_.size()) {
      skip_blanks();
      if (at_line_end()) {
        end_line();
        continue;
      }
      if (text_[i_] == '#' || text_[i_] == '!') {
        while (!at_line_end())
          step();
        end_line();
        continue;
      }
      read_continued(out);
      return true;
    }
    return false;
  }

 private:
  bool at_line_end() const {
    return i_ >= text_.size() || text_[i_] == '\n' || text_[i_] == '\r';
  }

  void step() {
    // One column per UTF-8 character, not per byte.
    if ((static_cast<unsigned char>(text_[i_]) & 0xC0) != 0x80)
      ++column_;
    ++i_;
  }

  void end_line() {
    bool cr = i_ < text_.size() && text_[i_] == '\r';
    if (i_ < text_.size())
      ++i_;
    if (cr && i_ < text_.size() && text_[i_] == '\n')
      ++i_;
    ++line_;
    column_ = 1;
  }

  void skip_blanks() {
    while (i_ < text_.size() && blank(text_[i_]))
      step();
  }

  void read_continued(std::vector<located>& out) {
    for (;;) {
      size_t start = out.size();
      while (!at_line_end()) {
        out.push_back({text_[i_], line_, column_});
        step();
      }
      size_t backslashes = 0;
      for (size_t k = out.size(); k > start && out[k - 1].c == '\\'; --k)
        ++backslashes;
      bool more = backslashes % 2 == 1;
      if (more)
        out.pop_back();
      end_line();
      if (!more || i_ >= text_.size())
        return;
      skip_blanks();
    }
  }

  std::string_view text_;
  size_t i_ = 0;
  uint32_t line_ = 1;
  uint32_t column_ = 1;
};

int hex_digit(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

void append_utf8(uint32_t cp, std::string& out) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

/// Resolves the escapes of `in[from, to)`.
class unescaper {
 public:
  unescaper(const std::vector<located>& in, const std::string& file,
            std::vector<diagnostic>& problems)
      : in_(in), file_(file), problems_(problems) {}

  void run(size_t from, size_t to, std::string& out,
           std::vector<source_position>& at) {
    uint32_t high = 0; // a pending high surrogate
    source_position high_at;
    auto flush_high = [&] {
      if (high != 0) {
        emit(0xFFFD, high_at, out, at);
        high = 0;
      }
    };
    for (size_t i = from; i < to; ++i) {
      auto pos = position(i);
      if (in_[i].c != '\\' || i + 1 >= to) {
        flush_high();
        // A lone backslash at the end stands for nothing, as in Java.
        if (in_[i].c != '\\') {
          out += in_[i].c;
          at.push_back(pos);
        }
        continue;
      }
      char c = in_[++i].c;
      if (c != 'u') {
        flush_high();
        char plain = c == 't'   ? '\t'
                     : c == 'n' ? '\n'
                     : c == 'r' ? '\r'
                     : c == 'f' ? '\f'
                                : c;
        out += plain;
        at.push_back(pos);
        continue;
      }
      uint32_t cp = 0;
      bool ok = i + 4 < to;
      for (size_t k = 1; ok && k <= 4; ++k) {
        auto d = hex_digit(in_[i + k].c);
        ok = d >= 0;
        cp = cp * 16 + static_cast<uint32_t>(d);
      }
      if (!ok) {
        problems_.push_back(
            {pos, "malformed \\uxxxx escape: \\u must be followed by four "
                  "hexadecimal digits"});
        flush_high();
        continue;
      }
      i += 4;
      if (cp >= 0xD800 && cp < 0xDC00) {
        flush_high();
        high = cp;
        high_at = pos;
      } else if (cp >= 0xDC00 && cp < 0xE000 && high != 0) {
        emit(0x10000 + ((high - 0xD800) << 10) + (cp - 0xDC00), high_at, out,
             at);
        high = 0;
      } else {
        flush_high();
        emit(cp >= 0xDC00 && cp < 0xE000 ? 0xFFFD : cp, pos, out, at);
      }
    }
    flush_high();
  }

 private:
  source_position position(size_t i) const {
    return {file_, in_[i].line, in_[i].column};
  }

  static void emit(uint32_t cp, const source_position& pos, std::string& out,
                   std::vector<source_position>& at) {
    auto before = out.size();
    append_utf8(cp, out);
    at.insert(at.end(), out.size() - before, pos);
  }

  const std::vector<located>& in_;
  const std::string& file_;
  std::vector<diagnostic>& problems_;
};

} // namespace

source_position property::at(size_t i) const {
  if (i < value_at.size())
    return value_at[i];
  if (!value_at.empty())
    return value_at.back();
  return where;
}

std::vector<property> read_properties(std::string_view text,
                                      const std::string& file_name,
                                      std::vector<diagnostic>& problems) {
  std::vector<property> result;
  // A byte order mark some editors write is not part of the first key.
  if (text.starts_with("\xEF\xBB\xBF"))
    text.remove_prefix(3);
  line_reader reader{text};
  std::vector<located> line;
  while (reader.next(line)) {
    size_t limit = line.size();
    size_t key_end = 0;
    size_t value_start = limit;
    bool separator = false;
    bool escaped = false;
    for (; key_end < limit; ++key_end) {
      char c = line[key_end].c;
      if ((c == '=' || c == ':') && !escaped) {
        value_start = key_end + 1;
        separator = true;
        break;
      }
      if (blank(c) && !escaped) {
        value_start = key_end + 1;
        break;
      }
      escaped = c == '\\' && !escaped;
    }
    while (value_start < limit) {
      char c = line[value_start].c;
      if (!blank(c)) {
        if (separator || (c != '=' && c != ':'))
          break;
        separator = true;
      }
      ++value_start;
    }
    property p;
    p.where = {file_name, line[0].line, line[0].column};
    unescaper u{line, file_name, problems};
    std::vector<source_position> key_at;
    u.run(0, key_end, p.key, key_at);
    u.run(value_start, limit, p.value, p.value_at);
    result.push_back(std::move(p));
  }
  return result;
}

bool is_flume_file(const std::string& path) {
  return path.ends_with(".properties") || path.ends_with(".conf");
}

std::string note_to_string(const diagnostic& x) {
  std::string result = x.where.file.empty() ? "<topology>" : x.where.file;
  if (x.where.line > 0)
    result += ":" + std::to_string(x.where.line) + ":" +
              std::to_string(x.where.column);
  return result + ": note: " + x.message;
}

} // namespace sluice
