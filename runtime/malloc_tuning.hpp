#pragma once

#include <cstddef>

namespace sluice {

/// Freed heap memory glibc keeps for reuse instead of giving it back to the
/// kernel (per arena) when `keep_freed_heap` is called without an argument.
inline constexpr size_t default_kept_heap_bytes = size_t{64} << 20;

/// Tells glibc's allocator to keep up to `bytes` of freed memory at the top
/// of each heap rather than trimming it after every free (its default is
/// 128 KiB), and to serve blocks up to half of that (at most 32 MiB, the
/// ceiling glibc's own adaptive setting reaches) from the heap rather than
/// from a fresh mapping each time. A topic reader allocates and frees about a
/// megabyte of batches per fetch; with the default, every fetch faults its
/// buffers into memory again, which caps reading at a tenth of what the page
/// cache gives (see BENCHMARKS.md, topic read). The `sluice` binary calls it at
/// start; embedding programs choose for themselves (it is process-wide; setting
/// `GLIBC_TUNABLES=glibc.malloc.trim_threshold=N` does the same). Returns
/// false when the allocator refused (not glibc: nothing changes).
bool keep_freed_heap(size_t bytes = default_kept_heap_bytes) noexcept;

} // namespace sluice
