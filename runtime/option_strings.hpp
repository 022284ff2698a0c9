#pragma once

#include <array>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <caf/expected.hpp>

#include "runtime/options.hpp"

namespace sluice {

/// WITH keys every table takes that the job reads, not the connector:
/// `connector` (which chose it) and `scan.watermark.idle-timeout` (Flink's
/// per-source idle timeout).
inline constexpr std::array<std::string_view, 2> table_level_options = {
    "connector", "scan.watermark.idle-timeout"};

/// Converts the string values of a SQL `WITH ('key' = 'value', ...)` clause
/// into typed options, checked against `specs`.
///
/// Integers are decimal ("42", "-1"); booleans "true"/"false" (any case);
/// durations "200ms", "10 s", "1 min", "2 hours" or a number of ms; sizes
/// "64MiB", "1 gb" or a number of bytes; string lists are separated by
/// ';' (as Flink's list options) and string maps are "k1:v1,k2:v2". The
/// `table_level_options` are skipped. Unknown keys, values
/// that do not convert, missing required options and values outside their
/// range or `one_of` are errors (`config_errc::invalid`) naming the option
/// and the value; all problems are reported at once, separated by "; ".
/// Fallbacks fill the options not given.
caf::expected<options>
options_from_strings(const std::vector<option_spec>& specs,
                     const std::map<std::string, std::string>& values);

/// Parses a duration as Flink writes one: "200ms", "10 s", "1 min",
/// "2 hours", or a number of ms (what `options_from_strings` takes for a
/// duration option and the SQL settings take).
caf::expected<int64_t> parse_flink_duration(std::string_view text);

} // namespace sluice
