// Interposes the allocator entry points in the benchmark executable (never in `ike`)
// and counts every call before passing it to glibc's implementation.
#define _GNU_SOURCE
#include "CAllocCounter.h"
#include <stddef.h>
#include <errno.h>
#include <malloc.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void __libc_free(void *);

static uint64_t allocations;
static int64_t live;
/// Live chunks by usable size, in 16-byte classes; the last class takes everything larger.
#define SIZE_CLASSES 257
static int64_t liveBySize[SIZE_CLASSES];

uint64_t ike_alloc_count(void) { return __atomic_load_n(&allocations, __ATOMIC_RELAXED); }
int64_t ike_alloc_live_bytes(void) { return __atomic_load_n(&live, __ATOMIC_RELAXED); }

static void counted(void) { __atomic_add_fetch(&allocations, 1, __ATOMIC_RELAXED); }

static size_t sizeClass(size_t usable) { return usable / 16 < SIZE_CLASSES - 1 ? usable / 16 : SIZE_CLASSES - 1; }

/// What a chunk costs the heap: its usable size and glibc's size word.
static void *held(void *p) {
    if (p != NULL) {
        size_t usable = malloc_usable_size(p);
        __atomic_add_fetch(&live, (int64_t)usable + 8, __ATOMIC_RELAXED);
        __atomic_add_fetch(&liveBySize[sizeClass(usable)], 1, __ATOMIC_RELAXED);
    }
    return p;
}
static void released(void *p) {
    if (p != NULL) {
        size_t usable = malloc_usable_size(p);
        __atomic_sub_fetch(&live, (int64_t)usable + 8, __ATOMIC_RELAXED);
        __atomic_sub_fetch(&liveBySize[sizeClass(usable)], 1, __ATOMIC_RELAXED);
    }
}

int ike_alloc_size_classes(void) { return SIZE_CLASSES; }
int64_t ike_alloc_live_chunks(int sizeClass) {
    return sizeClass >= 0 && sizeClass < SIZE_CLASSES ? __atomic_load_n(&liveBySize[sizeClass], __ATOMIC_RELAXED) : 0;
}

void *malloc(size_t n) { counted(); return held(__libc_malloc(n)); }
void *calloc(size_t c, size_t n) { counted(); return held(__libc_calloc(c, n)); }
void *realloc(void *p, size_t n) {
    counted();
    released(p);
    void *q = __libc_realloc(p, n);
    if (q == NULL && n != 0) { held(p); return NULL; }
    return held(q);
}
void free(void *p) { released(p); __libc_free(p); }
void *aligned_alloc(size_t a, size_t n) { counted(); return held(__libc_memalign(a, n)); }
void *memalign(size_t a, size_t n) { counted(); return held(__libc_memalign(a, n)); }
int posix_memalign(void **out, size_t a, size_t n) {
    counted();
    void *p = held(__libc_memalign(a, n));
    if (p == NULL) return ENOMEM;
    *out = p;
    return 0;
}
