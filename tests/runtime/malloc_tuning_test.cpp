// keep_freed_heap: freed memory at the top of the heap stays for reuse
// instead of going back to the kernel (what makes topic reads fast).
#include <cstring>
#include <memory>

#include <catch2/catch.hpp>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

// A sanitizer's allocator replaces glibc's, and its mallopt never accepts.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SLUICE_SANITIZED_ALLOCATOR 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SLUICE_SANITIZED_ALLOCATOR 1
#endif
#endif

#include "runtime/malloc_tuning.hpp"

using namespace sluice;

TEST_CASE("keep_freed_heap keeps a freed block at the top of the heap",
          "[malloc_tuning]") {
#if defined(__GLIBC__) && !defined(SLUICE_SANITIZED_ALLOCATOR)
  REQUIRE(keep_freed_heap());
  constexpr size_t bytes = size_t{8} << 20;
  {
    // Below the mapping threshold it set (32 MiB): from the heap, not mmap.
    std::unique_ptr<char[]> block{new char[bytes]};
    std::memset(block.get(), 1, bytes);
  }
  // glibc's default would have trimmed all but 128 KiB of it.
  CHECK(mallinfo2().keepcost >= bytes);
#else
  // Not glibc's allocator (or a sanitizer's in its place): it refuses.
  CHECK_FALSE(keep_freed_heap());
#endif
}
