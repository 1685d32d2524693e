/* prefault.h — fill pages in ahead, for memory about to be written whole.
 *
 * The analyzer writes a few hundred MB of fresh memory a command (the
 * file read, its inflated bytes, the decoded model's arena blocks): one
 * page fault per 4 KiB page otherwise, a fifth of `cprof merge`'s cpu.
 * Populating a block in one call (MAP_POPULATE, MADV_POPULATE_WRITE)
 * allocates the same pages without a trap for each: merge at 150k stacks
 * spends about a quarter less time in the kernel.
 *
 * Off unless the program says so (cp_prefault = true: the cprof command);
 * the LD_PRELOAD runtime never touches memory ahead of its use, so a
 * profiled program's RSS stays what it uses.  A kernel without
 * MADV_POPULATE_WRITE (before 5.14) ignores the advice.
 */
#ifndef CPROF_BASE_PREFAULT_H
#define CPROF_BASE_PREFAULT_H

#include <stdbool.h>
#include <stddef.h>

extern bool cp_prefault;

/* Fill in the whole pages of [p, p+n), writable, when cp_prefault is set
 * and n is at least CP_PREFAULT_MIN; nothing else.  The bytes are left as
 * they are.  True if the kernel filled them.  [hook-safe] */
#define CP_PREFAULT_MIN ((size_t)256 << 10)
bool cp_prefault_range(void *p, size_t n);

/* malloc and calloc of an array about to be written whole, its pages
 * filled in (cp_prefault_range). */
void *cp_prefault_malloc(size_t n);
void *cp_prefault_calloc(size_t k, size_t n);

/* The mmap flag that maps a block populated: MAP_POPULATE when cp_prefault
 * is set, else 0.  [hook-safe] */
int cp_prefault_map_flag(void);

#endif
