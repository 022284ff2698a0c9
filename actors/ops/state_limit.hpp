#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include <caf/error.hpp>

namespace sluice::ops {

/// Checks an operator state's size against `sluice.state.max-bytes`: an
/// empty error while `bytes <= max_bytes` (0 means no limit), else
/// sql_errc::state_limit naming the stage, its size and the limit.
caf::error check_state_limit(std::string_view stage, size_t bytes,
                             uint64_t max_bytes);

} // namespace sluice::ops
