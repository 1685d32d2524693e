/* arena.h — bump allocator for data that lives and dies together.
 *
 * Contract: cp_arena_alloc returns zeroed, 16-byte aligned memory or NULL
 * when the arena's cap is exceeded or the system is out of memory.  Blocks
 * come from mmap, never from malloc, so an arena is usable inside the
 * profiler's malloc hooks.  Not thread-safe: one owner at a time.
 */
#ifndef CP_BASE_ARENA_H
#define CP_BASE_ARENA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct cp_arena_block cp_arena_block;

typedef struct cp_arena {
    cp_arena_block *head;
    size_t used_bytes;   /* sum of all requested sizes */
    size_t mapped_bytes; /* sum of block sizes */
    size_t cap_bytes;    /* 0 = unlimited */
} cp_arena;

/* [hook-safe] */
void *cp_arena_alloc(cp_arena *a, size_t n);
/* Copy n bytes and add a NUL.  [hook-safe] */
char *cp_arena_strndup(cp_arena *a, const char *s, size_t n);
void *cp_arena_memdup(cp_arena *a, const void *p, size_t n);
/* Release every block.  [hook-safe] */
void cp_arena_free(cp_arena *a);
/* Move every block of src into dst (which then frees them); src is left
 * empty.  Caps add up (0, unlimited, wins).  [hook-safe] */
void cp_arena_adopt(cp_arena *dst, cp_arena *src);
/* Give back the pages of p when it is a big allocation (over a quarter of
 * the 1 MiB block) with a mapping of its own; true if it was.  p must not
 * be used after.  For arrays replaced by bigger copies.  [hook-safe] */
bool cp_arena_release(cp_arena *a, const void *p);

#endif
