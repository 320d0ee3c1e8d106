#pragma once
#include <stdint.h>
/// Heap allocations (malloc, calloc, realloc, posix_memalign, aligned_alloc) made by
/// this process since it started; the benchmark reads it around the measured path.
uint64_t ike_alloc_count(void);
/// Bytes of heap held now (each live chunk's usable size plus glibc's size word): what
/// the memory benchmark reads before and after it establishes SAs.
int64_t ike_alloc_live_bytes(void);
