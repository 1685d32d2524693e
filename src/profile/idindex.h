/* idindex.h — the decoder's record ids → array indices.
 *
 * Contract: cp_idindex_build indexes the ids of n records already decoded
 * (each record starts with its uint64_t id), sized by the largest id: a
 * dense array when ids are small (writers number from 1), else a hash
 * map; nothing at all when the ids are 1, 2, ... in record order.
 * Lookups of absent ids, of any value, are safe and say so.  Not
 * thread-safe while built; lookups of a built index are [thread-safe].
 */
#ifndef CP_PROFILE_IDINDEX_H
#define CP_PROFILE_IDINDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/hashmap.h"

typedef struct cp_idindex {
    bool ident;      /* record i's id is i + 1 for all nident records: no table */
    uint64_t nident;
    uint32_t *dense; /* index+1, 0 = absent; NULL when ident or the map is used */
    uint64_t ndense;
    cp_map map;
} cp_idindex;

/* 0; CPROF_ENOMEM; or CPROF_EFORMAT with *bad the first record whose id
 * is 0 (reserved) or repeats an earlier one's. */
int cp_idindex_build(cp_idindex *x, const void *recs, size_t n, size_t stride, size_t *bad);
bool cp_idindex_get_slow(const cp_idindex *x, uint64_t id, uint32_t *i);
static inline bool cp_idindex_get(const cp_idindex *x, uint64_t id, uint32_t *i)
{
    if (x->ident) {
        if (id - 1 >= x->nident) /* id 0 wraps around */
            return false;
        *i = (uint32_t)(id - 1);
        return true;
    }
    if (x->dense && id < x->ndense && x->dense[id]) {
        *i = x->dense[id] - 1;
        return true;
    }
    return cp_idindex_get_slow(x, id, i);
}
void cp_idindex_free(cp_idindex *x);

#endif
