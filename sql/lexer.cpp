#include "sql/lexer.hpp"
#include "runtime/text.hpp"

namespace sluice::sql {

namespace {

bool is_ident_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
         static_cast<unsigned char>(c) >= 0x80;
}

bool is_ident_part(char c) {
  return is_ident_start(c) || (c >= '0' && c <= '9') || c == '$';
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

class lexer {
 public:
  lexer(std::string_view text, const std::string& file,
        std::vector<sql_diagnostic>& diags)
      : text_(text), file_(file), diags_(diags) {}

  std::vector<token> run() {
    std::vector<token> result;
    for (;;) {
      skip_space_and_comments();
      auto t = next_token();
      if (skipped_)
        continue;
      auto done = t.kind == token_kind::end;
      result.push_back(std::move(t));
      if (done)
        return result;
    }
  }

 private:
  char at(size_t i) const { return i < text_.size() ? text_[i] : '\0'; }

  /// Moves one byte forward, keeping line and column.
  void advance() {
    if (text_[pos_] == '\n') {
      ++line_;
      column_ = 1;
    } else if (!is_utf8_continuation(text_[pos_])) {
      ++column_;
    }
    ++pos_;
  }

  void advance(size_t n) {
    for (size_t i = 0; i < n && pos_ < text_.size(); ++i)
      advance();
  }

  void error(source_span where, std::string message) {
    diags_.push_back(
        {to_position(where, file_), diag_code::lexical, std::move(message)});
  }

  source_span here() const {
    return {static_cast<uint32_t>(pos_), 1, line_, column_};
  }

  void skip_space_and_comments() {
    while (pos_ < text_.size()) {
      auto c = text_[pos_];
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
          c == '\v') {
        advance();
      } else if (c == '-' && at(pos_ + 1) == '-') {
        while (pos_ < text_.size() && text_[pos_] != '\n')
          advance();
      } else if (c == '/' && at(pos_ + 1) == '*') {
        auto start = here();
        start.length = 2;
        advance(2);
        bool closed = false;
        while (pos_ < text_.size()) {
          if (text_[pos_] == '*' && at(pos_ + 1) == '/') {
            advance(2);
            closed = true;
            break;
          }
          advance();
        }
        if (!closed)
          error(start, "unterminated comment: '/*' without its '*/'");
      } else {
        return;
      }
    }
  }

  token make(token_kind kind, source_span start) {
    token t;
    t.kind = kind;
    t.span = start;
    t.span.length = static_cast<uint32_t>(pos_ - start.offset);
    t.text = text_.substr(start.offset, pos_ - start.offset);
    return t;
  }

  token next_token() {
    skipped_ = false;
    auto start = here();
    if (pos_ >= text_.size()) {
      start.length = 0;
      token t;
      t.span = start;
      return t;
    }
    auto c = text_[pos_];
    if (is_ident_start(c)) {
      while (pos_ < text_.size() && is_ident_part(text_[pos_]))
        advance();
      return make(token_kind::identifier, start);
    }
    if (is_digit(c) || (c == '.' && is_digit(at(pos_ + 1))))
      return number(start);
    if (c == '\'')
      return quoted(start, '\'', token_kind::string);
    if (c == '`')
      return quoted(start, '`', token_kind::quoted_identifier);
    auto two = [&](token_kind k) {
      advance(2);
      return make(k, start);
    };
    auto one = [&](token_kind k) {
      advance();
      return make(k, start);
    };
    switch (c) {
    case ',':
      return one(token_kind::comma);
    case '.':
      return one(token_kind::dot);
    case ';':
      return one(token_kind::semicolon);
    case '(':
      return one(token_kind::lparen);
    case ')':
      return one(token_kind::rparen);
    case '+':
      return one(token_kind::plus);
    case '-':
      return one(token_kind::minus);
    case '*':
      return one(token_kind::star);
    case '/':
      return one(token_kind::slash);
    case '%':
      return one(token_kind::percent);
    case '=':
      return one(token_kind::eq);
    case '|':
      if (at(pos_ + 1) == '|')
        return two(token_kind::concat);
      break;
    case '!':
      if (at(pos_ + 1) == '=')
        return two(token_kind::ne);
      break;
    case '<':
      if (at(pos_ + 1) == '>')
        return two(token_kind::ne);
      if (at(pos_ + 1) == '=')
        return two(token_kind::le);
      return one(token_kind::lt);
    case '>':
      if (at(pos_ + 1) == '=')
        return two(token_kind::ge);
      return one(token_kind::gt);
    default:
      break;
    }
    // One character (all its UTF-8 bytes) that starts no token.
    advance();
    while (pos_ < text_.size() && is_utf8_continuation(text_[pos_]))
      advance();
    auto bad = make(token_kind::end, start);
    error(bad.span, "unexpected character '" + std::string{bad.text} + "'");
    skipped_ = true;
    return bad;
  }

  token number(source_span start) {
    auto kind = token_kind::integer;
    while (is_digit(at(pos_)))
      advance();
    if (at(pos_) == '.') {
      kind = token_kind::decimal;
      advance();
      while (is_digit(at(pos_)))
        advance();
    }
    auto e = at(pos_);
    if (e == 'e' || e == 'E') {
      size_t digits = pos_ + 1;
      if (at(digits) == '+' || at(digits) == '-')
        ++digits;
      if (is_digit(at(digits))) {
        kind = token_kind::real;
        advance(digits - pos_);
        while (is_digit(at(pos_)))
          advance();
      }
    }
    return make(kind, start);
  }

  /// A string ('...', '' inside) or a quoted identifier (`...`, `` inside).
  token quoted(source_span start, char quote, token_kind kind) {
    std::string value;
    advance();
    bool closed = false;
    while (pos_ < text_.size()) {
      auto c = text_[pos_];
      if (c == quote) {
        if (at(pos_ + 1) == quote) {
          value += quote;
          advance(2);
          continue;
        }
        advance();
        closed = true;
        break;
      }
      value += c;
      advance();
    }
    auto t = make(kind, start);
    t.value = std::move(value);
    if (!closed) {
      auto where = start;
      where.length = 1;
      error(where, kind == token_kind::string
                       ? "unterminated string literal: no closing quote"
                       : "unterminated quoted name: no closing '`'");
    } else if (kind == token_kind::quoted_identifier && t.value.empty()) {
      error(t.span, "empty quoted name");
    }
    return t;
  }

  std::string_view text_;
  const std::string& file_;
  std::vector<sql_diagnostic>& diags_;
  size_t pos_ = 0;
  uint32_t line_ = 1;
  uint32_t column_ = 1;
  bool skipped_ = false;
};

} // namespace

std::vector<token> lex(std::string_view text, const std::string& file,
                       std::vector<sql_diagnostic>& diags) {
  return lexer{text, file, diags}.run();
}

sql_position to_position(const source_span& s, const std::string& file) {
  return {file, s.line, s.column, s.length, s.offset};
}

std::vector<env_reference> find_env_references(const token& t) {
  std::vector<env_reference> result;
  if (t.kind != token_kind::string || t.text.empty())
    return result;
  // Walk the raw text (after the opening quote) and the decoded value side
  // by side: a '' in the raw text is one ' in the value.
  auto raw = t.text;
  size_t i = 1;
  size_t value_pos = 0;
  uint32_t line = t.span.line;
  uint32_t column = t.span.column + 1;
  auto step = [&] {
    if (raw[i] == '\'' && i + 1 < raw.size() && raw[i + 1] == '\'') {
      column += 2; // '' is one quote of the value
      i += 2;
      ++value_pos;
      return;
    }
    if (raw[i] == '\n') {
      ++line;
      column = 1;
    } else if (!is_utf8_continuation(raw[i])) {
      ++column;
    }
    ++i;
    ++value_pos;
  };
  constexpr std::string_view open = "${env:";
  while (i < raw.size()) {
    if (raw.substr(i, open.size()) == open) {
      auto close = raw.find('}', i + open.size());
      auto name = close == std::string_view::npos
                      ? std::string_view{}
                      : raw.substr(i + open.size(), close - i - open.size());
      if (!name.empty() && name.find('\'') == std::string_view::npos &&
          name.find('\n') == std::string_view::npos) {
        env_reference ref;
        ref.name = std::string{name};
        ref.where = {static_cast<uint32_t>(t.span.offset + i),
                     static_cast<uint32_t>(close + 1 - i), line, column};
        ref.value_offset = value_pos;
        ref.value_length = close + 1 - i;
        result.push_back(std::move(ref));
        auto skip = close + 1 - i;
        for (size_t k = 0; k < skip; ++k)
          step();
        continue;
      }
    }
    step();
  }
  return result;
}

} // namespace sluice::sql
