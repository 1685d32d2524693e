/* labels.h — per-thread profile labels (Go's pprof.Do / SetGoroutineLabels).
 *
 * Contract:
 *  - A thread's labels are one pointer, cp_labels_tls, to an immutable
 *    label set: a node (key, value, parent).  Pushing makes (or finds) the
 *    node (current, key, value); popping goes back to its parent.  Nodes are
 *    interned and never freed, so a sample keeps a plain pointer to its set
 *    and reads it at write time, long after the thread popped or exited.
 *  - Reading the current set is one initial-exec TLS load: safe in a signal
 *    handler and inside malloc (cp_labels_current).
 *  - A key pushed again shadows the outer value (the innermost wins), as a
 *    nested pprof.Do does; cp_labels_each reports each key once.
 *  - Distinct nodes are capped (CP_LABELS_MAX_NODES).  A push past the cap
 *    is counted (cp_labels_dropped) and leaves the set unchanged; its pop
 *    still balances.  A program that labels by request id reaches the cap;
 *    labels are for routes, tenants, phases — bounded sets.
 *  - New threads inherit their creator's set (the pthread_create
 *    interposer passes it with cp_labels_set_current).
 */
#ifndef CP_COLLECT_LABELS_H
#define CP_COLLECT_LABELS_H

#include <stddef.h>
#include <stdint.h>

#define CP_LABELS_MAX_NODES 65536
#define CP_LABELS_MAX_LEN 1024 /* longer keys or values are cut there */

typedef struct cp_labelset {
    const struct cp_labelset *parent; /* NULL: the outermost label */
    const char *key, *value;          /* NUL-terminated, interned */
    uint32_t depth;                   /* 1 for the outermost */
} cp_labelset;

extern __thread const cp_labelset *cp_labels_tls __attribute__((tls_model("initial-exec")));

/* The calling thread's label set; NULL when it has none.
 * [async-signal-safe] [hook-safe] */
static inline const cp_labelset *cp_labels_current(void)
{
    return cp_labels_tls;
}

/* Replace the calling thread's set (thread start, inherited from the
 * creator).  [async-signal-safe] */
void cp_labels_set_current(const cp_labelset *s);

/* Push key=value on the calling thread; 0, CPROF_EINVAL (NULL or empty
 * key, NULL value) or CPROF_ENOMEM (cap reached: counted, set unchanged,
 * the matching pop still balances).  Takes a mutex; never allocates with
 * malloc.  [thread-safe] */
int cp_labels_push(const char *key, const char *value);
/* Undo the calling thread's latest push (no-op without one).  [thread-safe] */
void cp_labels_pop(void);

/* Call fn for each distinct key of s, innermost value first; stops early
 * when fn returns nonzero and returns that.  [thread-safe] */
int cp_labels_each(const cp_labelset *s,
                   int (*fn)(void *ctx, const char *key, const char *value), void *ctx);

/* In a forked child: the lock may have been held by a thread that does not
 * exist there; make it free again.  Nodes stay valid. */
void cp_labels_atfork_child(void);
/* fork (sigfork.c): the lock is held across fork. */
void cp_labels_atfork_prepare(void);
void cp_labels_atfork_parent(void);

/* Pushes refused because the cap was reached.  [thread-safe] */
uint64_t cp_labels_dropped(void);

#endif
