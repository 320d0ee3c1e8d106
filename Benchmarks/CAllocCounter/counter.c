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

uint64_t ike_alloc_count(void) { return __atomic_load_n(&allocations, __ATOMIC_RELAXED); }
int64_t ike_alloc_live_bytes(void) { return __atomic_load_n(&live, __ATOMIC_RELAXED); }

static void counted(void) { __atomic_add_fetch(&allocations, 1, __ATOMIC_RELAXED); }

/// What a chunk costs the heap: its usable size and glibc's size word.
static void *held(void *p) {
    if (p != NULL) __atomic_add_fetch(&live, (int64_t)malloc_usable_size(p) + 8, __ATOMIC_RELAXED);
    return p;
}
static void released(void *p) {
    if (p != NULL) __atomic_sub_fetch(&live, (int64_t)malloc_usable_size(p) + 8, __ATOMIC_RELAXED);
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
