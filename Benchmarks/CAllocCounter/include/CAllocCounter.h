#pragma once
#include <stdint.h>
/// Heap allocations (malloc, calloc, realloc, posix_memalign, aligned_alloc) made by
/// this process since it started; the benchmark reads it around the measured path.
uint64_t ike_alloc_count(void);
/// Bytes of heap held now (each live chunk's usable size plus glibc's size word): what
/// the memory benchmark reads before and after it establishes SAs.
int64_t ike_alloc_live_bytes(void);
/// Live chunks whose usable size is in [16 * sizeClass, 16 * sizeClass + 16); the last of
/// the ike_alloc_size_classes() classes counts every larger chunk. The memory benchmark
/// compares them before and after to say which allocations a tunnel holds.
int ike_alloc_size_classes(void);
int64_t ike_alloc_live_chunks(int sizeClass);
