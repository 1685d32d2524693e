/* stacktab.h — fold identical stacks into one entry with summed values.
 *
 * Contract: used by one thread (the drain thread, then the writer after
 * the drain thread has been joined).  Uses malloc: never call from a
 * signal handler or a malloc hook.
 */
#ifndef CP_COLLECT_STACKTAB_H
#define CP_COLLECT_STACKTAB_H

#include <stddef.h>
#include <stdint.h>

typedef struct cp_stack {
    uint64_t hash;
    uint64_t *pcs;  /* innermost first */
    uint32_t n;
    int64_t count;  /* samples */
    int64_t ns;     /* CPU nanoseconds */
} cp_stack;

typedef struct cp_stacktab {
    cp_stack *stacks;
    size_t len, cap;
    uint32_t *index; /* open addressing: stack index + 1, 0 = empty */
    size_t nindex;   /* power of two */
} cp_stacktab;

/* Add count samples and ns to the stack pcs[0..n).  0 or CPROF_ENOMEM. */
int cp_stacktab_add(cp_stacktab *t, const uint64_t *pcs, uint32_t n, int64_t count, int64_t ns);
void cp_stacktab_free(cp_stacktab *t);

#endif
