#pragma once

#include <cstddef>
#include <string>

#include <caf/expected.hpp>

namespace sluice {

/// What a file read by `read_text_file` is called in its messages.
struct text_file_kind {
  std::string name;    ///< "topology file", "SQL script"
  std::string regular; ///< what it should be: "a regular TOML file"
};

/// Reads a whole text file in one bounded read. Refuses what is not a
/// regular file (a directory, a device, a FIFO: looked at before opening,
/// so a FIFO is never opened and a device never read) and a file larger
/// than `max_bytes`, also one that grew past it while read. Errors:
/// `config_errc::not_found` (missing or unreadable) and
/// `config_errc::invalid` (not a regular file, too large), with a sentence
/// naming the kind ("a directory, not a SQL script (a regular text
/// file)").
caf::expected<std::string> read_text_file(const std::string& path,
                                          size_t max_bytes,
                                          const text_file_kind& kind);

} // namespace sluice
