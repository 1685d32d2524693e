/* heap_region.c — the address range that sampled heap blocks live in.
 *
 * What: a small allocator for the blocks the heap profiler samples.  Because
 * every sampled block lies inside one reserved range, free() recognises a
 * sampled pointer with a subtraction and a comparison, and ordinary frees
 * cost nothing more than glibc's own (see heap.h, docs/heap.md).
 *
 * Data structure: one anonymous PROT_NONE mapping (64 GiB of address
 * space, less if the system refuses), aligned to 2 MiB; the parts handed
 * out are made writable as the bump pointer reaches them, so only those
 * count against a strict overcommit limit, and pages cost memory only once
 * touched.  Blocks are powers of two from 32 bytes up, naturally
 * aligned relative to the base, one free list per size class.  Classes
 * below 64 KiB are carved out of 64 KiB chunks; larger ones come straight
 * from the bump pointer, aligned to their size.  A byte per 64 KiB chunk
 * (chunk_class) records the class, so the block and its size follow from
 * any pointer into it.  Freed blocks of 64 KiB and more stay resident up to
 * 64 MiB in total (a loop that frees and reallocates a big block would
 * otherwise fault all its pages in again each time: measured 50x slower
 * than glibc on 1 MiB blocks); beyond that they go back to the kernel with
 * MADV_DONTNEED and then read as zero when reused, which the free-list
 * entry records so calloc clears only blocks that need it.  The user pointer sits `off` bytes
 * into the block, off = max(16, alignment): the 16 bytes below it hold the
 * profiler's header (heap.c).
 *
 * Every function here runs with the heap lock held (heap.c), except
 * cp_heap_region_init which runs once before sampling starts.
 *
 * Alternatives rejected:
 *  - a header tag in front of every block (ordinary ones included): free()
 *    of a glibc block would have to read glibc's chunk header, which any
 *    value can collide with, and every allocation would grow.
 *  - a hash set of sampled addresses: a lookup on every free(), the very
 *    cost the design avoids.
 *  - glibc blocks for sampled objects plus a bitmap of sampled addresses:
 *    the heap spans brk, mmap and thread arenas; the bitmap is either huge
 *    or two-level (two dependent loads per free) and still needs locking.
 *  - exact-size (non power of two) classes: sampled blocks are rare at the
 *    default rate, so the 2x worst-case slack of powers of two costs little
 *    and keeps the arithmetic to shifts and masks.
 */
#include "collect/heap.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include "cprof.h"

uintptr_t cp_heap_region_base;
uintptr_t cp_heap_region_bytes;

enum {
    MIN_CLASS = 5,             /* 32 bytes */
    CHUNK_SHIFT = 16,          /* 64 KiB chunks */
    MAX_CLASSES = 48,
};
#define CHUNK_BYTES ((uintptr_t)1 << CHUNK_SHIFT)

static uint8_t *chunk_class;   /* one byte per chunk: the class of its blocks */
static void *free_list[MAX_CLASSES];
static uintptr_t top;          /* bump offset from the base */
static size_t used_bytes;
static size_t retained_bytes;  /* freed large blocks kept resident (dirty) */
#define RETAIN_BYTES ((size_t)64 << 20)

static int class_of(size_t need)
{
    if (need <= ((size_t)1 << MIN_CLASS))
        return MIN_CLASS;
    return 64 - __builtin_clzll((unsigned long long)(need - 1));
}

int cp_heap_region_init(void)
{
    if (cp_heap_region_bytes)
        return 0;
    /* Try 64 GiB of address space first; halve when refused (ulimit -v). */
    for (uintptr_t want = (uintptr_t)64 << 30; want >= ((uintptr_t)256 << 20); want /= 2) {
        size_t map = want + CP_HEAP_MAX_ALIGN;
        /* PROT_NONE: address space only, charged to no commit limit even
         * under strict overcommit; bump() opens what it hands out. */
        void *p = mmap(NULL, map, PROT_NONE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (p == MAP_FAILED)
            continue;
        size_t nchunks = want >> CHUNK_SHIFT;
        void *cc = mmap(NULL, nchunks, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (cc == MAP_FAILED) {
            munmap(p, map);
            continue;
        }
        uintptr_t start = ((uintptr_t)p + CP_HEAP_MAX_ALIGN - 1) & ~((uintptr_t)CP_HEAP_MAX_ALIGN - 1);
        /* Give back the unaligned head and the tail beyond want. */
        if (start > (uintptr_t)p)
            munmap(p, start - (uintptr_t)p);
        uintptr_t end = (uintptr_t)p + map;
        if (end > start + want)
            munmap((void *)(start + want), end - (start + want));
        chunk_class = cc;
        top = 0;
        cp_heap_region_base = start;
        /* Published last: from here on free() may see sampled pointers. */
        __atomic_store_n(&cp_heap_region_bytes, want, __ATOMIC_RELEASE);
        return 0;
    }
    return CPROF_ENOMEM;
}

static void *bump(uintptr_t bytes, uintptr_t align)
{
    uintptr_t off = (top + align - 1) & ~(align - 1);
    if (off > cp_heap_region_bytes || cp_heap_region_bytes - off < bytes)
        return NULL;
    void *p = (void *)(cp_heap_region_base + off);
    if (mprotect(p, bytes, PROT_READ | PROT_WRITE) != 0)
        return NULL; /* over the commit limit: the caller drops the sample */
    top = off + bytes;
    return p;
}

static void set_class(uintptr_t block, uintptr_t bytes, int cls)
{
    uintptr_t first = (block - cp_heap_region_base) >> CHUNK_SHIFT;
    uintptr_t n = (bytes + CHUNK_BYTES - 1) >> CHUNK_SHIFT;
    memset(chunk_class + first, cls, n);
}

void *cp_heap_region_alloc(size_t n, size_t align, void **user, bool *zeroed)
{
    size_t off = align > 16 ? align : 16;
    if (!cp_heap_region_bytes || off > CP_HEAP_MAX_ALIGN || n > cp_heap_region_bytes / 4)
        return NULL;
    int cls = class_of((n ? n : 1) + off); /* user + n stays inside, even for n = 0 */
    if (cls >= MAX_CLASSES)
        return NULL;
    uintptr_t bytes = (uintptr_t)1 << cls;
    bool zero = false;
    void **b = free_list[cls];
    if (b) {
        free_list[cls] = b[0];
        if (bytes >= CHUNK_BYTES) {
            zero = b[1] == NULL; /* NULL: handed back to the kernel on free */
            if (!zero)
                retained_bytes -= bytes;
        }
    } else if (bytes < CHUNK_BYTES) {
        char *chunk = bump(CHUNK_BYTES, CHUNK_BYTES);
        if (!chunk)
            return NULL;
        set_class((uintptr_t)chunk, CHUNK_BYTES, cls);
        /* Keep the first block; the rest go on the free list in address
         * order. */
        for (uintptr_t o = CHUNK_BYTES - bytes; o > 0; o -= bytes) {
            *(void **)(chunk + o) = free_list[cls];
            free_list[cls] = chunk + o;
        }
        b = (void **)chunk;
        zero = true; /* fresh pages */
    } else {
        b = bump(bytes, bytes);
        if (!b)
            return NULL;
        set_class((uintptr_t)b, bytes, cls);
        zero = true;
    }
    used_bytes += bytes;
    *user = (char *)b + off;
    if (zeroed)
        *zeroed = zero;
    return b;
}

void *cp_heap_region_block(const void *user, size_t *block_bytes)
{
    uintptr_t rel = (uintptr_t)user - cp_heap_region_base;
    int cls = chunk_class[rel >> CHUNK_SHIFT];
    uintptr_t bytes = (uintptr_t)1 << cls;
    if (block_bytes)
        *block_bytes = bytes;
    return (void *)(cp_heap_region_base + (rel & ~(bytes - 1)));
}

void cp_heap_region_free(void *block)
{
    size_t bytes;
    cp_heap_region_block(block, &bytes);
    int cls = __builtin_ctzll((unsigned long long)bytes);
    void **b = block;
    b[1] = NULL;
    if (bytes >= CHUNK_BYTES) {
        /* Keep up to RETAIN_BYTES of freed large blocks resident, so a
         * program that frees and allocates big blocks in a loop does not
         * fault their pages in again every time; hand the rest back. */
        if (retained_bytes + bytes <= RETAIN_BYTES) {
            retained_bytes += bytes;
            b[1] = b; /* dirty */
        } else {
            madvise(block, bytes, MADV_DONTNEED);
        }
    }
    b[0] = free_list[cls];
    free_list[cls] = block;
    used_bytes -= bytes;
}

size_t cp_heap_region_retained(void)
{
    return retained_bytes;
}

size_t cp_heap_region_used(void)
{
    return used_bytes;
}
