/* registry.h — the profile types a process can write, in one table.
 *
 * Contract: one entry per type, in a fixed order (cpu first).  Periodic,
 * signal and duration writes (continuous.c) iterate it; a new profile type
 * adds one line in registry.c.  Each type says how to take "what a period
 * holds":
 *  - CP_REG_PERIODIC (cpu): `snapshot` already returns the samples since
 *    the previous call and `finish` the last ones, stopping the type;
 *  - CP_REG_CUMULATIVE (heap, mutex, block, io): `snapshot` returns the
 *    profile since the start (symbolized); a period is the delta between
 *    two snapshots (profile/delta.h: in-use kept, counts subtracted);
 *    `finish` (may be NULL) stops it after the last snapshot;
 *  - CP_REG_GAUGE (threads): each snapshot is written as it is.
 * `env` names the variable holding the type's FILE; a type is written
 * only when it is enabled and that variable is set.  [thread-safe]
 */
#ifndef CP_COLLECT_REGISTRY_H
#define CP_COLLECT_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>

#include "profile/profile.h"

typedef enum cp_reg_kind { CP_REG_PERIODIC, CP_REG_CUMULATIVE, CP_REG_GAUGE } cp_reg_kind;

typedef struct cp_reg_type {
    const char *name; /* "cpu", "heap", ... */
    const char *env;  /* "CPROF_CPU", ... */
    cp_reg_kind kind;
    bool (*enabled)(void);
    int (*snapshot)(cp_profile **out);
    int (*finish)(cp_profile **out); /* PERIODIC: the last period; others: stop, *out unset */
} cp_reg_type;

size_t cp_registry_count(void);
const cp_reg_type *cp_registry_get(size_t i);

#endif
