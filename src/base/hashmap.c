/* hashmap.c — linear-probing hash maps.
 *
 * Keys and values in parallel arrays with a used-byte array, load factor at
 * most 1/2.  Chosen over chaining for locality: the analysis passes look up
 * millions of location ids.  No deletion is needed by any caller.
 */
#include "hashmap.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cprof.h"

static int map_resize(cp_map *m, size_t ncap)
{
    cp_map n = {0};
    n.keys = malloc(ncap * sizeof *n.keys);
    n.vals = malloc(ncap * sizeof *n.vals);
    n.used = calloc(ncap, 1);
    if (!n.keys || !n.vals || !n.used) {
        free(n.keys);
        free(n.vals);
        free(n.used);
        return CPROF_ENOMEM;
    }
    n.cap = ncap;
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->used[i])
            continue;
        size_t j = cp_hash_u64(m->keys[i]) & (ncap - 1);
        while (n.used[j])
            j = (j + 1) & (ncap - 1);
        n.used[j] = 1;
        n.keys[j] = m->keys[i];
        n.vals[j] = m->vals[i];
    }
    n.len = m->len;
    cp_map_free(m);
    *m = n;
    return 0;
}

bool cp_map_get(const cp_map *m, uint64_t key, uint64_t *val)
{
    if (!m->cap)
        return false;
    size_t j = cp_hash_u64(key) & (m->cap - 1);
    while (m->used[j]) {
        if (m->keys[j] == key) {
            if (val)
                *val = m->vals[j];
            return true;
        }
        j = (j + 1) & (m->cap - 1);
    }
    return false;
}

uint64_t *cp_map_slot(cp_map *m, uint64_t key, uint64_t dflt, bool *inserted)
{
    if ((m->len + 1) * 2 > m->cap && map_resize(m, m->cap ? m->cap * 2 : 16))
        return NULL;
    size_t j = cp_hash_u64(key) & (m->cap - 1);
    while (m->used[j]) {
        if (m->keys[j] == key) {
            if (inserted)
                *inserted = false;
            return &m->vals[j];
        }
        j = (j + 1) & (m->cap - 1);
    }
    m->used[j] = 1;
    m->keys[j] = key;
    m->vals[j] = dflt;
    m->len++;
    if (inserted)
        *inserted = true;
    return &m->vals[j];
}

int cp_map_put(cp_map *m, uint64_t key, uint64_t val)
{
    uint64_t *slot = cp_map_slot(m, key, val, NULL);
    if (!slot)
        return CPROF_ENOMEM;
    *slot = val;
    return 0;
}

void cp_map_free(cp_map *m)
{
    free(m->keys);
    free(m->vals);
    free(m->used);
    memset(m, 0, sizeof *m);
}

uint64_t cp_hash_bytes(const void *p, size_t n, uint64_t seed)
{
    /* FNV-1a over 8-byte words, finished with a 64-bit mixer. */
    const unsigned char *s = p;
    uint64_t h = seed ^ 0xcbf29ce484222325ULL ^ n;
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, s, 8);
        h = (h ^ w) * 0x100000001b3ULL;
        h ^= h >> 29;
        s += 8;
        n -= 8;
    }
    while (n--)
        h = (h ^ *s++) * 0x100000001b3ULL;
    return cp_hash_u64(h);
}

static int strtab_rehash(cp_strtab *t, size_t nslots)
{
    uint32_t *slots = calloc(nslots, sizeof *slots);
    if (!slots)
        return CPROF_ENOMEM;
    for (size_t i = 0; i < t->len; i++) {
        size_t j = cp_hash_bytes(t->strs[i], t->lens[i], 0) & (nslots - 1);
        while (slots[j])
            j = (j + 1) & (nslots - 1);
        slots[j] = (uint32_t)i + 1;
    }
    free(t->slots);
    t->slots = slots;
    t->nslots = nslots;
    return 0;
}

int64_t cp_strtab_intern(cp_strtab *t, const char *s, size_t n)
{
    if (t->len == 0 && n != 0 && cp_strtab_intern(t, "", 0) < 0)
        return -1; /* index 0 is always the empty string */
    if (n >= UINT32_MAX || t->len >= UINT32_MAX - 1)
        return -1;
    if ((t->len + 1) * 2 > t->nslots && strtab_rehash(t, t->nslots ? t->nslots * 2 : 64))
        return -1;
    size_t j = cp_hash_bytes(s, n, 0) & (t->nslots - 1);
    while (t->slots[j]) {
        uint32_t i = t->slots[j] - 1;
        if (t->lens[i] == n && memcmp(t->strs[i], s, n) == 0)
            return i;
        j = (j + 1) & (t->nslots - 1);
    }
    if (cp_grow(&t->strs, &t->strs_cap, t->len + 1, sizeof *t->strs) ||
        cp_grow(&t->lens, &t->lens_cap, t->len + 1, sizeof *t->lens))
        return -1;
    char *copy = cp_arena_strndup(&t->arena, s, n);
    if (!copy)
        return -1;
    t->strs[t->len] = copy;
    t->lens[t->len] = (uint32_t)n;
    t->slots[j] = (uint32_t)t->len + 1;
    return (int64_t)t->len++;
}

int64_t cp_strtab_add(cp_strtab *t, const char *s)
{
    return cp_strtab_intern(t, s ? s : "", s ? strlen(s) : 0);
}

void cp_strtab_free(cp_strtab *t)
{
    free(t->strs);
    free(t->lens);
    free(t->slots);
    cp_arena_free(&t->arena);
    memset(t, 0, sizeof *t);
}
