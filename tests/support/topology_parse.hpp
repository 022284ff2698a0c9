#pragma once

// Parsing topology text in tests: the spec, or every error rendered
// "t.toml:LINE:COLUMN: error: ...".

#include <string>
#include <string_view>
#include <vector>

#include <catch2/catch.hpp>

#include "config/topology.hpp"
#include "connectors/registry.hpp"

namespace sluice::test {

inline const connector_registry& builtin_connectors() {
  static auto r = connector_registry::builtin();
  return r;
}

/// Every error of `text`; requires that it fails exactly when it has some.
inline std::vector<std::string> parse_errors(std::string_view text) {
  std::vector<diagnostic> problems;
  auto spec = parse_topology(text, "t.toml", builtin_connectors(), problems);
  std::vector<std::string> result;
  for (auto& p : problems)
    result.push_back(to_string(p));
  if (spec)
    REQUIRE(result.empty());
  else
    REQUIRE(!result.empty());
  return result;
}

/// The spec of `text`, which must parse.
inline topology_spec parse_ok(std::string_view text) {
  std::vector<diagnostic> problems;
  auto spec = parse_topology(text, "t.toml", builtin_connectors(), problems);
  for (auto& p : problems)
    UNSCOPED_INFO(to_string(p));
  REQUIRE(spec);
  return std::move(*spec);
}

/// Whether one of `xs` contains `needle`; lists them all when none does.
inline bool has(const std::vector<std::string>& xs, const std::string& needle) {
  for (auto& x : xs)
    if (x.find(needle) != std::string::npos)
      return true;
  for (auto& x : xs)
    UNSCOPED_INFO(x);
  return false;
}

} // namespace sluice::test
