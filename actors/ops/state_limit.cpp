#include "actors/ops/state_limit.hpp"

#include <string>

#include "runtime/errors.hpp"

namespace sluice::ops {

caf::error check_state_limit(std::string_view stage, size_t bytes,
                             uint64_t max_bytes) {
  if (max_bytes == 0 || bytes <= max_bytes)
    return {};
  return make_error(sql_errc::state_limit,
                    "stage " + std::string{stage} + " holds " +
                        std::to_string(bytes) +
                        " bytes of state, more than sluice.state.max-bytes = " +
                        std::to_string(max_bytes));
}

} // namespace sluice::ops
