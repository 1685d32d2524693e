/* hashmap.h — open-addressing maps with 64-bit keys, and a string interner.
 *
 * Contract: cp_map maps any uint64 key to a uint64 value (malloc-backed; not
 * for hooks).  cp_strtab interns byte strings to dense indices 0..n-1, index
 * 0 being the empty string, which is exactly pprof's string table rule.
 */
#ifndef CP_BASE_HASHMAP_H
#define CP_BASE_HASHMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"

typedef struct cp_map {
    uint64_t *keys;
    uint64_t *vals;
    uint8_t *used;
    size_t cap, len; /* cap is a power of two */
} cp_map;

/* Find key; returns true and sets *val when present. */
bool cp_map_get(const cp_map *m, uint64_t key, uint64_t *val);
/* Insert or overwrite.  0 or CPROF_ENOMEM. */
int cp_map_put(cp_map *m, uint64_t key, uint64_t val);
/* Pointer to key's value slot, inserting `dflt` if absent (NULL on ENOMEM);
 * *inserted tells which.  The pointer is valid until the next insert. */
uint64_t *cp_map_slot(cp_map *m, uint64_t key, uint64_t dflt, bool *inserted);
void cp_map_free(cp_map *m);

uint64_t cp_hash_bytes(const void *p, size_t n, uint64_t seed);
static inline uint64_t cp_hash_u64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

typedef struct cp_strtab {
    const char **strs; /* NUL-terminated copies */
    uint32_t *lens;
    size_t len, strs_cap, lens_cap;
    uint32_t *slots; /* index+1, 0 = empty */
    size_t nslots;
    cp_arena arena; /* the string bytes */
} cp_strtab;

/* Intern s[0..n); returns its index or -1 on ENOMEM. */
int64_t cp_strtab_intern(cp_strtab *t, const char *s, size_t n);
int64_t cp_strtab_add(cp_strtab *t, const char *s); /* NUL-terminated */
void cp_strtab_free(cp_strtab *t);

#endif
