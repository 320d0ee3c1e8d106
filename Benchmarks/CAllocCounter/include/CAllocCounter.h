#pragma once
#include <stdint.h>
/// Heap allocations (malloc, calloc, realloc, posix_memalign, aligned_alloc) made by
/// this process since it started; the benchmark reads it around the measured path.
uint64_t ike_alloc_count(void);
