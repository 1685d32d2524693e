/* arena.c — mmap-backed bump allocator.
 *
 * Blocks are linked newest-first; a request larger than a quarter of the
 * standard block gets a block of its own so big arrays waste nothing.
 * Rejected: malloc-backed blocks (the heap profiler's hooks would recurse).
 */
#include "arena.h"
#include "prefault.h"

#include <stdbool.h>
#include <string.h>
#include <sys/mman.h>

struct cp_arena_block {
    cp_arena_block *next;
    size_t size; /* bytes mapped, header included */
    size_t off;  /* first free byte */
    bool own;    /* holds one big allocation and never another */
};

enum { BLOCK_BYTES = 1 << 20, HDR = (sizeof(cp_arena_block) + 15) & ~(size_t)15 };

static cp_arena_block *new_block(size_t size)
{
    /* blocks are filled from the start and big ones hold arrays written
     * whole: populated at once where the program asks (prefault.h) */
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | cp_prefault_map_flag(), -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    cp_arena_block *b = p;
    b->size = size;
    b->off = HDR;
    return b;
}

void *cp_arena_alloc(cp_arena *a, size_t n)
{
    if (n == 0)
        n = 1;
    if (n > SIZE_MAX / 2)
        return NULL;
    n = (n + 15) & ~(size_t)15;
    if (a->cap_bytes && a->used_bytes + n > a->cap_bytes)
        return NULL;
    cp_arena_block *b = a->head;
    if (!b || b->size - b->off < n) {
        size_t size = BLOCK_BYTES;
        if (n > BLOCK_BYTES / 4)
            size = (n + HDR + 4095) & ~(size_t)4095;
        cp_arena_block *nb = new_block(size);
        if (!nb)
            return NULL;
        a->mapped_bytes += size;
        if (b && n > BLOCK_BYTES / 4) {
            /* keep filling the current block; the big one goes second */
            nb->next = b->next;
            b->next = nb;
            nb->own = true; /* only the head is ever filled */
            b = nb;
        } else {
            nb->next = b;
            a->head = b = nb;
        }
    }
    void *p = (char *)b + b->off;
    b->off += n;
    a->used_bytes += n;
    return p; /* fresh mmap pages are zero and blocks are never reused */
}

char *cp_arena_strndup(cp_arena *a, const char *s, size_t n)
{
    char *p = cp_arena_alloc(a, n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = 0;
    }
    return p;
}

void *cp_arena_memdup(cp_arena *a, const void *src, size_t n)
{
    void *p = cp_arena_alloc(a, n);
    if (p && n)
        memcpy(p, src, n);
    return p;
}

void cp_arena_free(cp_arena *a)
{
    cp_arena_block *b = a->head;
    while (b) {
        cp_arena_block *next = b->next;
        munmap(b, b->size);
        b = next;
    }
    a->head = NULL;
    a->used_bytes = a->mapped_bytes = 0;
}

void cp_arena_adopt(cp_arena *dst, cp_arena *src)
{
    if (!src->head)
        return;
    cp_arena_block *last = src->head;
    while (last->next)
        last = last->next;
    if (dst->head) { /* dst keeps filling its current block */
        last->next = dst->head->next;
        dst->head->next = src->head;
    } else
        dst->head = src->head;
    dst->used_bytes += src->used_bytes;
    dst->mapped_bytes += src->mapped_bytes;
    dst->cap_bytes = dst->cap_bytes && src->cap_bytes ? dst->cap_bytes + src->cap_bytes : 0;
    src->head = NULL;
    src->used_bytes = src->mapped_bytes = 0;
}

bool cp_arena_release(cp_arena *a, const void *p)
{
    for (cp_arena_block **pb = &a->head; *pb; pb = &(*pb)->next) {
        cp_arena_block *b = *pb;
        if (!b->own || (const char *)b + HDR != (const char *)p)
            continue;
        *pb = b->next;
        a->used_bytes -= b->off - HDR;
        a->mapped_bytes -= b->size;
        munmap(b, b->size);
        return true;
    }
    return false;
}
