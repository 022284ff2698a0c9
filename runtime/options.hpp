#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <caf/expected.hpp>

namespace sluice {

/// The kinds of value a component option takes in a topology file.
enum class option_type {
  string,
  integer,
  boolean,
  bytes,       ///< "64MiB", "1GB" or an integer; stored as int64 bytes
  duration,    ///< "250ms", "30s", "1h" or an integer of ms; stored as ms
  string_list, ///< ["a", "b"]
  string_map,  ///< { key = "value", ... }
};

std::string to_string(option_type x);

using string_map = std::map<std::string, std::string>;

using option_value = std::variant<std::string, int64_t, bool,
                                  std::vector<std::string>, string_map>;

/// Declares one option of a component type: its name, kind and default.
struct option_spec {
  std::string name;
  option_type type = option_type::string;
  std::string help;
  bool required = false;
  std::optional<option_value> fallback = std::nullopt;
  /// Smallest accepted value for integer, bytes and duration options.
  std::optional<int64_t> min = std::nullopt;
  /// Largest accepted value for integer, bytes and duration options.
  std::optional<int64_t> max = std::nullopt;
  /// Accepted values of a string option; empty means any.
  std::vector<std::string> one_of = {};
};

/// The option values of one component, after validation against its specs.
class options {
 public:
  options() = default;

  void set(std::string name, option_value value);

  bool contains(const std::string& name) const;

  /// Typed access; the value must exist and have the type (validated specs
  /// with a fallback guarantee both).
  const std::string& get_string(const std::string& name) const;
  int64_t get_int(const std::string& name) const;
  bool get_bool(const std::string& name) const;
  const std::vector<std::string>& get_list(const std::string& name) const;
  const string_map& get_map(const std::string& name) const;

  /// Fills in the fallbacks of `specs` for options not set.
  void apply_fallbacks(const std::vector<option_spec>& specs);

  const std::map<std::string, option_value>& values() const { return values_; }

 private:
  std::map<std::string, option_value> values_;
};

/// Parses "64MiB", "1 GB", "512k", "1000" into bytes.
caf::expected<int64_t> parse_bytes(std::string_view text);

/// Parses "250ms", "30s", "5m", "1h", "1d", "1000" (ms) into milliseconds.
caf::expected<int64_t> parse_duration(std::string_view text);

/// Checks that every required option is set and every value respects its
/// spec; returns one message per problem.
std::vector<std::string> check_options(const options& opts,
                                       const std::vector<option_spec>& specs);

} // namespace sluice
