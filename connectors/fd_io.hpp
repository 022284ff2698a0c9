#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include <caf/error.hpp>

#include "runtime/event_batch.hpp"

namespace sluice {

/// Writes all of `data` to `fd`, retrying partial writes and EINTR; the
/// error names `what` (a path or "stdout").
caf::error write_fully(int fd, const char* data, size_t size,
                       const std::string& what);

/// Appends the events of `batch` as lines to `out`, each prefixed with its
/// headers as `{k=v, ...} ` when `headers` is set.
void format_lines(const event_batch& batch, bool headers,
                  std::vector<char>& out);

/// Text of errno `code`.
std::string errno_text(int code);

} // namespace sluice
