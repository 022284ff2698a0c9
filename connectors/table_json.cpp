#include <cctype>
#include <optional>

#include <fmt/format.h>

#include "connectors/table_files.hpp"
#include "runtime/columnar/format.hpp"
#include "runtime/errors.hpp"

namespace sluice {

namespace {

using columnar::row_batch;
using columnar::type_id;

constexpr int max_depth = 64;

/// What a key's value was.
enum class json_kind : uint8_t { missing, null, string, number, boolean, raw };

/// A cursor over one JSON text.
struct json_reader {
  std::string_view s;
  size_t i = 0;

  caf::error fail(std::string_view what) const {
    return make_error(
        connector_errc::bad_input,
        fmt::format("invalid JSON at column {}: {}", i + 1, what));
  }

  void blanks() {
    while (i < s.size() &&
           (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n'))
      ++i;
  }

  bool eat(char ch) {
    blanks();
    if (i < s.size() && s[i] == ch) {
      ++i;
      return true;
    }
    return false;
  }

  static void put_utf8(uint32_t cp, std::string& out) {
    if (cp < 0x80) {
      out += char(cp);
    } else if (cp < 0x800) {
      out += char(0xC0 | (cp >> 6));
      out += char(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += char(0xE0 | (cp >> 12));
      out += char(0x80 | ((cp >> 6) & 0x3F));
      out += char(0x80 | (cp & 0x3F));
    } else {
      out += char(0xF0 | (cp >> 18));
      out += char(0x80 | ((cp >> 12) & 0x3F));
      out += char(0x80 | ((cp >> 6) & 0x3F));
      out += char(0x80 | (cp & 0x3F));
    }
  }

  bool hex4(uint32_t& out) {
    if (i + 4 > s.size())
      return false;
    out = 0;
    for (int k = 0; k < 4; ++k) {
      auto c = s[i++];
      out <<= 4;
      if (c >= '0' && c <= '9')
        out |= uint32_t(c - '0');
      else if (c >= 'a' && c <= 'f')
        out |= uint32_t(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F')
        out |= uint32_t(c - 'A' + 10);
      else
        return false;
    }
    return true;
  }

  /// Reads a string (at its opening quote) into `out`, unescaped.
  caf::error string(std::string& out) {
    out.clear();
    if (!eat('"'))
      return fail("expected a string");
    for (;;) {
      // Copy a run of plain characters at once.
      auto run = i;
      while (run < s.size() && s[run] != '"' && s[run] != '\\' &&
             static_cast<unsigned char>(s[run]) >= 0x20)
        ++run;
      out.append(s.data() + i, run - i);
      i = run;
      if (i >= s.size())
        return fail("unterminated string");
      auto ch = s[i++];
      if (ch == '"')
        return {};
      if (static_cast<unsigned char>(ch) < 0x20)
        return fail("control character in a string");
      if (ch != '\\') {
        out += ch;
        continue;
      }
      if (i >= s.size())
        return fail("unterminated string");
      switch (s[i++]) {
      case '"':
        out += '"';
        break;
      case '\\':
        out += '\\';
        break;
      case '/':
        out += '/';
        break;
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case 'u': {
        uint32_t cp = 0;
        if (!hex4(cp))
          return fail("bad \\u escape");
        if (cp >= 0xD800 && cp < 0xDC00) {
          uint32_t lo = 0;
          if (i + 2 > s.size() || s[i] != '\\' || s[i + 1] != 'u')
            return fail("lone surrogate");
          i += 2;
          if (!hex4(lo) || lo < 0xDC00 || lo > 0xDFFF)
            return fail("lone surrogate");
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        } else if (cp >= 0xDC00 && cp < 0xE000) {
          return fail("lone surrogate");
        }
        put_utf8(cp, out);
        break;
      }
      default:
        return fail("bad escape");
      }
    }
  }

  /// Skips any value; `depth` guards nesting.
  caf::error skip(int depth, std::string& tmp) {
    if (depth > max_depth)
      return fail("nested too deeply");
    blanks();
    if (i >= s.size())
      return fail("expected a value");
    auto ch = s[i];
    if (ch == '"')
      return string(tmp);
    if (ch == '{' || ch == '[') {
      auto close = ch == '{' ? '}' : ']';
      ++i;
      if (eat(close))
        return {};
      for (;;) {
        if (ch == '{') {
          if (auto err = string(tmp))
            return err;
          if (!eat(':'))
            return fail("expected ':'");
        }
        if (auto err = skip(depth + 1, tmp))
          return err;
        if (eat(close))
          return {};
        if (!eat(','))
          return fail("expected ',' or a closing bracket");
      }
    }
    auto start = i;
    while (i < s.size() && (std::isalnum(static_cast<unsigned char>(s[i])) ||
                            s[i] == '-' || s[i] == '+' || s[i] == '.'))
      ++i;
    auto word = s.substr(start, i - start);
    if (word.empty())
      return fail("expected a value");
    if (word == "true" || word == "false" || word == "null" ||
        word.find_first_not_of("-+.eE0123456789") == std::string_view::npos)
      return {};
    return fail("expected a value");
  }
};

} // namespace

caf::error json_decode_row(std::string_view line, const table_format& fmt,
                           row_batch& out, decode_scratch& scratch) {
  auto& sch = *out.row_schema();
  auto n = sch.size();
  // kinds of the columns' values, texts in scratch.texts[c]
  scratch.quoted.assign(n, static_cast<uint8_t>(json_kind::missing));
  if (scratch.texts.size() < n + 1)
    scratch.texts.resize(n + 1);
  auto& key = scratch.texts[n];
  json_reader r{line};
  if (!r.eat('{'))
    return r.fail("expected an object");
  size_t keys = 0;
  if (!r.eat('}')) {
    for (;;) {
      if (auto err = r.string(key))
        return err;
      if (!r.eat(':'))
        return r.fail("expected ':'");
      // Writers keep the column order: try the key's place first.
      std::optional<size_t> col;
      if (keys < n && sch.fields[keys].name == key)
        col = keys;
      else
        col = sch.find(key);
      ++keys;
      r.blanks();
      if (!col) {
        if (auto err = r.skip(0, scratch.unescaped))
          return err;
      } else {
        auto c = *col;
        auto& text = scratch.texts[c];
        auto start = r.i;
        auto ch = r.i < line.size() ? line[r.i] : '\0';
        if (ch == '"') {
          if (auto err = r.string(text))
            return err;
          scratch.quoted[c] = static_cast<uint8_t>(json_kind::string);
        } else {
          if (auto err = r.skip(0, scratch.unescaped))
            return err;
          text.assign(line.substr(start, r.i - start));
          auto kind = json_kind::raw;
          if (text == "null")
            kind = json_kind::null;
          else if (text == "true" || text == "false")
            kind = json_kind::boolean;
          else if (ch != '{' && ch != '[')
            kind = json_kind::number;
          scratch.quoted[c] = static_cast<uint8_t>(kind);
        }
      }
      if (r.eat('}'))
        break;
      if (!r.eat(','))
        return r.fail("expected ',' or '}'");
    }
  }
  r.blanks();
  if (r.i != line.size())
    return r.fail("text after the object");
  auto rows = out.num_rows();
  for (size_t c = 0; c < n; ++c) {
    auto& col = out.col(c);
    auto& f = sch.fields[c];
    auto kind = static_cast<json_kind>(scratch.quoted[c]);
    auto& text = scratch.texts[c];
    caf::error err;
    if (kind == json_kind::missing && fmt.fail_on_missing) {
      err = make_error(connector_errc::bad_input,
                       "missing field '" + f.name + "'");
    } else if (kind == json_kind::missing || kind == json_kind::null) {
      if (!f.type.nullable)
        err = make_error(connector_errc::bad_input,
                         "NULL in NOT NULL column '" + f.name + "'");
      else
        col.push_null();
    } else if (kind == json_kind::raw && f.type.id != type_id::string) {
      err = make_error(connector_errc::bad_input,
                       "column '" + f.name + "': an object or array is not a " +
                           columnar::to_string(f.type.id));
    } else if (auto e = columnar::push_parsed(col, text)) {
      err = make_error(connector_errc::bad_input,
                       "column '" + f.name + "': " + reason_of(e));
    }
    if (err) {
      for (size_t k = 0; k < c; ++k)
        out.col(k).resize(rows);
      return err;
    }
  }
  return {};
}

void json_encode_row(const row_batch& b, size_t row, const table_format& fmt,
                     std::string& out) {
  auto& sch = *b.row_schema();
  out += '{';
  for (size_t c = 0; c < b.num_columns(); ++c) {
    if (c > 0)
      out += ',';
    columnar::append_json_string(sch.fields[c].name, out);
    out += ':';
    auto& col = b.col(c);
    auto start = out.size();
    columnar::append_json_value(col, row, out);
    // "yyyy-MM-dd HH:mm:ss.SSS" is 1 + 10 characters in: the space.
    if (fmt.iso_timestamps && col.type().id == type_id::timestamp &&
        col.valid(row) && out.size() > start + 11 && out[start + 11] == ' ')
      out[start + 11] = 'T';
  }
  out += "}\n";
}

} // namespace sluice
