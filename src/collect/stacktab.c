/* stacktab.c — the drain thread's table of distinct stacks.
 *
 * Data structure: an array of stacks plus an open-addressing index of
 * uint32 (linear probing, load <= 1/2) keyed by a hash of the PCs; a hit is
 * confirmed by comparing the PCs.  Profiles have thousands of distinct
 * stacks at most, so this stays small; the drain thread does one lookup per
 * sample, away from the signal handler.
 *
 * Rejected: folding in the handler (needs a lock-free hash map with
 * allocation in signal context); keeping every sample (memory grows with
 * run time, the builder would fold them later anyway).
 */
#include "collect/stacktab.h"

#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/hashmap.h"
#include "cprof.h"

static int grow_index(cp_stacktab *t)
{
    size_t n = t->nindex ? t->nindex * 2 : 1024;
    uint32_t *idx = calloc(n, sizeof *idx);
    if (!idx)
        return CPROF_ENOMEM;
    for (size_t i = 0; i < t->len; i++) {
        size_t j = t->stacks[i].hash & (n - 1);
        while (idx[j])
            j = (j + 1) & (n - 1);
        idx[j] = (uint32_t)i + 1;
    }
    free(t->index);
    t->index = idx;
    t->nindex = n;
    return 0;
}

int cp_stacktab_add(cp_stacktab *t, const uint64_t *pcs, uint32_t n, int64_t count, int64_t ns)
{
    if ((t->len + 1) * 2 > t->nindex && grow_index(t) != 0)
        return CPROF_ENOMEM;
    uint64_t h = cp_hash_bytes(pcs, n * sizeof *pcs, n);
    size_t j = h & (t->nindex - 1);
    while (t->index[j]) {
        cp_stack *s = &t->stacks[t->index[j] - 1];
        if (s->hash == h && s->n == n && memcmp(s->pcs, pcs, n * sizeof *pcs) == 0) {
            s->count += count;
            s->ns += ns;
            return 0;
        }
        j = (j + 1) & (t->nindex - 1);
    }
    if (cp_grow(&t->stacks, &t->cap, t->len + 1, sizeof *t->stacks) != 0)
        return CPROF_ENOMEM;
    uint64_t *copy = malloc((n ? n : 1) * sizeof *pcs);
    if (!copy)
        return CPROF_ENOMEM;
    memcpy(copy, pcs, n * sizeof *pcs);
    t->stacks[t->len] = (cp_stack){.hash = h, .pcs = copy, .n = n, .count = count, .ns = ns};
    t->index[j] = (uint32_t)++t->len;
    return 0;
}

void cp_stacktab_free(cp_stacktab *t)
{
    for (size_t i = 0; i < t->len; i++)
        free(t->stacks[i].pcs);
    free(t->stacks);
    free(t->index);
    memset(t, 0, sizeof *t);
}
