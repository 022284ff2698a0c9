#pragma once

#include <string>
#include <string_view>

namespace sluice {

/// Appends `s` as a JSON string (with its quotes) to `out`. Quotes,
/// backslashes and control characters are escaped (`\n`, `\t`, ...,
/// `\u00XX`); valid UTF-8 is copied as it is; each byte of invalid UTF-8
/// becomes `\u00XX` of its value. Valid text never yields `\u0080` to
/// `\u00ff` as escapes, so those always stand for one raw byte and the
/// original bytes can be restored.
void append_json_string(std::string_view s, std::string& out);

} // namespace sluice
