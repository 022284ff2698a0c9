// Any text is either a topology or a list of positioned errors; never a
// crash, never an error without a message. parse_topology is what
// `sluice check` and `sluice run` call on a file's text, size limit and
// nesting scan included.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "config/topology.hpp"
#include "connectors/registry.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto registry = sluice::connector_registry::builtin();
  std::vector<sluice::diagnostic> problems;
  std::string_view text{reinterpret_cast<const char*>(data), size};
  auto spec = sluice::parse_topology(text, "fuzz.toml", registry, problems);
  if (!spec && problems.empty())
    std::abort();
  for (auto& p : problems)
    if (p.message.empty())
      std::abort();
  return 0;
}
