/* beside.h — work run beside this thread's: fn(arg) on a second thread
 * when wanted (and a thread can be had), else on this one at the end.
 *
 * Contract: cp_beside_start starts fn(arg) on a new thread when want is
 * set; the caller then does its own share; cp_beside_end joins that
 * thread, or, when none was started, calls fn(arg) itself.  Either way
 * fn(arg) has run once when cp_beside_end returns, so the result does not
 * depend on whether a thread could be had.  For the analyzer's two-way
 * splits (a graph built in halves, list entries filled in two halves, the
 * fold's hashing, concatenation and gathering); not for code that runs
 * inside a profiled program.
 */
#ifndef CP_BASE_BESIDE_H
#define CP_BASE_BESIDE_H

#include <pthread.h>
#include <stdbool.h>

typedef struct cp_beside {
    pthread_t t;
    bool on;
    void *(*fn)(void *);
    void *arg;
} cp_beside;

static inline void cp_beside_start(cp_beside *b, bool want, void *(*fn)(void *), void *arg)
{
    b->fn = fn;
    b->arg = arg;
    b->on = want && pthread_create(&b->t, NULL, fn, arg) == 0;
}

static inline void cp_beside_end(cp_beside *b)
{
    if (b->on)
        pthread_join(b->t, NULL);
    else
        b->fn(b->arg);
}

#endif
