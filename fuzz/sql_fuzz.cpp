// Any text is a list of statements and a list of positioned diagnostics;
// never a crash, never a diagnostic without a message or outside the text.
// parse_script is what `sluice check` and `sluice sql` call on a script.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "sql/parser.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text{reinterpret_cast<const char*>(data), size};
  auto result = sluice::sql::parse_script(text, "fuzz.sql");
  for (auto& d : result.diagnostics) {
    if (d.message.empty() || d.where.line == 0 || d.where.column == 0 ||
        d.where.offset > size)
      std::abort();
    auto shown = sluice::sql::render(d, text);
    if (shown.find(d.message) == std::string::npos)
      std::abort();
  }
  return 0;
}
