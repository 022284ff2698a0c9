#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <caf/expected.hpp>

#include "config/topology.hpp"

namespace sluice {

class connector_registry;

/// One property of a Java properties file, its escapes resolved.
struct property {
  std::string key;
  std::string value;
  source_position where; ///< where the key starts
  /// Where each byte of `value` came from (escapes and continuation lines
  /// make these differ from plain offsets).
  std::vector<source_position> value_at;

  /// The position of byte `i` of the value (the key's when out of range).
  source_position at(size_t i) const;
};

/// Reads Java properties syntax as `java.util.Properties.load` does:
/// `key = value`, `key: value` and `key value`; `#` and `!` comment lines;
/// a line ending in an odd number of backslashes continues on the next
/// (whose leading blanks are skipped); escapes `\t \n \r \f \uXXXX` and `\c`
/// for any other `c`. A malformed `\uXXXX` is reported in `problems`.
std::vector<property> read_properties(std::string_view text,
                                      const std::string& file_name,
                                      std::vector<diagnostic>& problems);

/// Maps one agent of a Flume configuration to a topology: its sources,
/// channels, sinks and sink groups, with Flume's option names and
/// defaults. Properties of other agents are ignored; everything of this
/// agent that does not map (an unknown type or key, an undeclared
/// component, a sink without a channel) is an error at its position, all
/// reported at once in `problems`. Options that are accepted but have no
/// effect in sluice are reported in `notes`.
caf::expected<topology_spec>
parse_flume(std::string_view text, const std::string& file_name,
            const std::string& agent, const connector_registry& registry,
            std::vector<diagnostic>& problems, std::vector<diagnostic>& notes);

/// Reads a Flume properties file (a regular file of at most
/// `max_topology_bytes`) and maps one agent of it (see `parse_flume`).
caf::expected<topology_spec> load_flume(const std::string& path,
                                        const std::string& agent,
                                        const connector_registry& registry,
                                        std::vector<diagnostic>& problems,
                                        std::vector<diagnostic>& notes);

/// "AGENT: unused Flume properties: a.b.c, ..." naming (never showing the
/// values of) the properties the mapping accepted without effect (a
/// DatahubSink's credentials and project); empty when there are none.
/// `sluice check` and `run` print it once.
std::string unused_properties_line(const std::string& agent,
                                   const topology_spec& spec);

/// True when `path` names a Flume configuration by its extension
/// (`.properties` or `.conf`).
bool is_flume_file(const std::string& path);

/// Renders "file:line:column: note: message".
std::string note_to_string(const diagnostic& x);

} // namespace sluice
