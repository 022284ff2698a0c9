// Any text is either an agent's topology or a list of positioned errors;
// never a crash, never an error without a message, and every value byte
// of a property has its position. parse_flume is what `sluice check
// --agent a1` calls on a Flume file's text.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "config/flume_properties.hpp"
#include "connectors/registry.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto registry = sluice::connector_registry::builtin();
  std::string_view text{reinterpret_cast<const char*>(data), size};
  std::vector<sluice::diagnostic> problems, notes;
  for (auto& p : sluice::read_properties(text, "fuzz.properties", problems))
    if (p.value_at.size() != p.value.size() || p.where.line == 0)
      std::abort();
  problems.clear();
  auto spec = sluice::parse_flume(text, "fuzz.properties", "a1", registry,
                                  problems, notes);
  if (!spec && problems.empty())
    std::abort();
  for (auto& p : problems)
    if (p.message.empty() ||
        (p.where.line == 0 && size <= sluice::max_topology_bytes))
      std::abort();
  return 0;
}
