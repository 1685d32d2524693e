/* stacktab_race — the lock-free stack table under ThreadSanitizer: eight
 * threads add overlapping stacks at once (the signal handlers' situation,
 * without signals), then one thread merges and reads.  Every sample and
 * every nanosecond must be found exactly once, and TSan must see no race.
 * Exit 0 on success. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>

#include "collect/stacktab.h"

enum { THREADS = 8, ADDS = 20000, SHAPES = 64 };

static cp_stacktab tab;

static void *adder(void *arg)
{
    uintptr_t id = (uintptr_t)arg;
    uint64_t pcs[8];
    for (int i = 0; i < ADDS; i++) {
        int shape = (int)((i * 7 + id) % SHAPES);
        uint32_t n = 1 + (uint32_t)(shape % 8);
        for (uint32_t k = 0; k < n; k++)
            pcs[k] = 0x400000 + (uint64_t)shape * 64 + k;
        cp_stackrec *rec = NULL;
        if (cp_stacktab_add_rec(&tab, pcs, n, 3, &rec) != 0)
            return (void *)1;
        if (rec)
            cp_stacktab_add_ns(rec, 2); /* a tail added later, as cpu.c does */
    }
    return NULL;
}

int main(void)
{
    if (cp_stacktab_init(&tab, 1024, 1 << 16) != 0)
        return 1;
    pthread_t t[THREADS];
    for (uintptr_t i = 0; i < THREADS; i++)
        pthread_create(&t[i], NULL, adder, (void *)i);
    int bad = 0;
    for (int i = 0; i < THREADS; i++) {
        void *r;
        pthread_join(t[i], &r);
        bad |= r != NULL;
    }
    cp_stacktab_merge(&tab);
    int64_t count = 0, ns = 0, distinct = 0;
    for (const cp_stackrec *s = cp_stacktab_next(&tab, NULL); s; s = cp_stacktab_next(&tab, s)) {
        if (s->count == 0 && s->ns == 0)
            continue;
        count += s->count;
        ns += s->ns;
        distinct++;
    }
    printf("stacktab: %lld samples, %lld ns, %lld distinct stacks\n", (long long)count,
           (long long)ns, (long long)distinct);
    cp_stacktab_destroy(&tab);
    return bad || count != THREADS * ADDS || ns != 5LL * THREADS * ADDS || distinct != SHAPES;
}
