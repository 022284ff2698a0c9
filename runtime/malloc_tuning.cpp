#include "runtime/malloc_tuning.hpp"

#include <algorithm>
#include <climits>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace sluice {

bool keep_freed_heap(size_t bytes) noexcept {
#if defined(__GLIBC__)
  // Setting either threshold stops glibc's adaptive mmap threshold, so
  // both are set: the mapping threshold where the adaptive one would end
  // up after the first large frees, the trim threshold above it (else a
  // large block freed at the top of the heap would be trimmed at once).
  auto trim =
      bytes > static_cast<size_t>(INT_MAX) ? INT_MAX : static_cast<int>(bytes);
  auto map = std::min(trim / 2, 32 << 20);
  return mallopt(M_MMAP_THRESHOLD, map) == 1 &&
         mallopt(M_TRIM_THRESHOLD, trim) == 1;
#else
  (void)bytes;
  return false;
#endif
}

} // namespace sluice
