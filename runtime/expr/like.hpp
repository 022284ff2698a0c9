#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

/// SQL LIKE: `%` any run of characters, `_` one character (a UTF-8 code
/// point), an optional escape character that makes the next `%`, `_` or
/// itself literal.
namespace sluice::expr {

/// A compiled LIKE pattern.
class like_matcher {
 public:
  /// Compiles `pattern`; nullopt when an escape character ends the pattern
  /// or escapes anything but `%`, `_` or itself (Flink refuses these too),
  /// or when `escape` is longer than one character.
  static std::optional<like_matcher> make(std::string_view pattern,
                                          std::string_view escape = {});

  /// True when all of `s` matches.
  bool match(std::string_view s) const noexcept;

 private:
  enum class shape { exact, prefix, suffix, contains, general };
  struct piece {
    bool any = false; ///< `%`
    int ones = 0;     ///< how many `_` (when text is empty and !any)
    std::string text; ///< literal bytes
  };
  bool match_general(std::string_view s) const noexcept;

  shape shape_ = shape::general;
  std::string literal_; ///< exact / prefix / suffix / contains
  std::vector<piece> pieces_;
};

} // namespace sluice::expr
