#include "actors/ops/slicing.hpp"

#include <string>

#include "runtime/errors.hpp"

namespace sluice::ops {

caf::expected<slicing> slicing::make(const window_spec& w) {
  auto fail = [&](const char* why) {
    return make_error(sql_errc::bad_plan,
                      std::string{to_string(w.kind)} + " window: " + why);
  };
  slicing s;
  s.kind = w.kind;
  s.offset = w.offset_ms;
  switch (w.kind) {
  case window_kind::tumble:
    if (w.size_ms <= 0)
      return fail("size must be positive");
    s.size = s.slice = w.size_ms;
    return s;
  case window_kind::hop:
    if (w.size_ms <= 0 || w.slide_ms <= 0)
      return fail("size and slide must be positive");
    if (w.size_ms % w.slide_ms != 0)
      return fail("size must be an integral multiple of slide");
    s.size = w.size_ms;
    s.slice = w.slide_ms;
    return s;
  case window_kind::cumulate:
    if (w.size_ms <= 0 || w.step_ms <= 0)
      return fail("size and step must be positive");
    if (w.size_ms % w.step_ms != 0)
      return fail("size must be an integral multiple of step");
    s.size = w.size_ms;
    s.slice = w.step_ms;
    return s;
  case window_kind::inherited:
    return s;
  default:
    return fail("not a sliced window");
  }
}

int64_t slicing::window_start(int64_t end) const noexcept {
  switch (kind) {
  case window_kind::cumulate: {
    auto last = end - 1;
    return last - floor_mod(last - offset, size);
  }
  default:
    return end - size;
  }
}

int64_t slicing::last_window_end(int64_t end) const noexcept {
  switch (kind) {
  case window_kind::hop:
    return end + size - slice;
  case window_kind::cumulate:
    return window_start(end) + size;
  default:
    return end;
  }
}

} // namespace sluice::ops
