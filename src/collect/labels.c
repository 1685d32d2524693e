/* labels.c — interned, immutable label sets (see labels.h).
 *
 * Data structure: every node (parent, key, value) lives in an mmap arena
 * (never malloc: push may be called from code the heap profiler is
 * watching) and is found again through a chained hash table of fixed size
 * keyed by the parent pointer and the two strings.  Nodes are never freed,
 * which is what makes a sample's pointer to its set valid at write time
 * without reference counts in the signal handler.
 *
 * Rejected: copying the labels into every sample (a CPU sample would copy
 * strings in the signal handler; a heap sample would grow by the labels'
 * size); reference-counted sets (the handler would have to count).
 *
 * The lock is a plain spin flag, not a mutex, so a forked child can reset
 * it without calling pthread functions that glibc forbids there.
 */
#include "collect/labels.h"

#include <sched.h>
#include <stdatomic.h>
#include <string.h>

#include "base/arena.h"
#include "cprof.h"

__thread const cp_labelset *cp_labels_tls __attribute__((tls_model("initial-exec")));
/* Pushes made on this thread that pop has not undone yet, and which of
 * them were refused (bit i: push i; a refused one pops without changing
 * the set).  Pushes nested deeper than MAX_DEPTH are refused. */
#define MAX_DEPTH 256
static __thread uint32_t tls_pushes __attribute__((tls_model("initial-exec")));
static __thread uint64_t tls_refused[MAX_DEPTH / 64] __attribute__((tls_model("initial-exec")));

typedef struct node {
    cp_labelset set; /* first: a cp_labelset * is a node * */
    struct node *next;
    uint64_t hash;
} node;

#define NBUCKETS 16384u
static node *buckets[NBUCKETS];
static cp_arena arena;
static uint32_t nodes;
static atomic_flag lock = ATOMIC_FLAG_INIT;
static _Atomic uint64_t dropped;

static void lock_take(void)
{
    while (atomic_flag_test_and_set_explicit(&lock, memory_order_acquire))
        sched_yield();
}

static void lock_give(void)
{
    atomic_flag_clear_explicit(&lock, memory_order_release);
}

static uint64_t mix(uint64_t h, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 0x100000001b3ull;
    return (h ^ 0xff) * 0x100000001b3ull; /* end of string */
}

static size_t cut_len(const char *s)
{
    return strnlen(s, CP_LABELS_MAX_LEN);
}

void cp_labels_set_current(const cp_labelset *s)
{
    cp_labels_tls = s;
    tls_pushes = 0;
}

int cp_labels_push(const char *key, const char *value)
{
    if (!key || !*key || !value)
        return CPROF_EINVAL;
    if (tls_pushes >= MAX_DEPTH) {
        tls_pushes++;
        atomic_fetch_add_explicit(&dropped, 1, memory_order_relaxed);
        return CPROF_ENOMEM;
    }
    const cp_labelset *parent = cp_labels_tls;
    size_t klen = cut_len(key), vlen = cut_len(value);
    uint64_t h = 0xcbf29ce484222325ull ^ (uint64_t)(uintptr_t)parent;
    h = mix(mix(h, key, klen), value, vlen);

    lock_take();
    node *n = buckets[h % NBUCKETS];
    for (; n; n = n->next)
        if (n->hash == h && n->set.parent == parent &&
            strncmp(n->set.key, key, klen) == 0 && n->set.key[klen] == 0 &&
            strncmp(n->set.value, value, vlen) == 0 && n->set.value[vlen] == 0)
            break;
    if (!n && nodes < CP_LABELS_MAX_NODES) {
        n = cp_arena_alloc(&arena, sizeof *n);
        char *k = n ? cp_arena_strndup(&arena, key, klen) : NULL;
        char *v = k ? cp_arena_strndup(&arena, value, vlen) : NULL;
        if (v) {
            n->set.parent = parent;
            n->set.key = k;
            n->set.value = v;
            n->set.depth = parent ? parent->depth + 1 : 1;
            n->hash = h;
            n->next = buckets[h % NBUCKETS];
            buckets[h % NBUCKETS] = n;
            nodes++;
        } else {
            n = NULL;
        }
    }
    lock_give();

    uint32_t i = tls_pushes++;
    uint64_t bit = 1ull << (i % 64);
    if (!n) {
        tls_refused[i / 64] |= bit;
        atomic_fetch_add_explicit(&dropped, 1, memory_order_relaxed);
        return CPROF_ENOMEM;
    }
    tls_refused[i / 64] &= ~bit;
    cp_labels_tls = &n->set;
    return 0;
}

void cp_labels_pop(void)
{
    if (!tls_pushes)
        return;
    uint32_t i = --tls_pushes;
    if (i >= MAX_DEPTH)
        return; /* refused for depth */
    if (tls_refused[i / 64] & (1ull << (i % 64)))
        return;
    if (cp_labels_tls)
        cp_labels_tls = cp_labels_tls->parent;
}

int cp_labels_each(const cp_labelset *s,
                   int (*fn)(void *ctx, const char *key, const char *value), void *ctx)
{
    for (const cp_labelset *a = s; a; a = a->parent) {
        int shadowed = 0;
        for (const cp_labelset *b = s; b != a; b = b->parent)
            if (strcmp(b->key, a->key) == 0) {
                shadowed = 1;
                break;
            }
        if (shadowed)
            continue;
        int r = fn(ctx, a->key, a->value);
        if (r)
            return r;
    }
    return 0;
}

void cp_labels_atfork_prepare(void)
{
    lock_take();
}

void cp_labels_atfork_parent(void)
{
    lock_give();
}

void cp_labels_atfork_child(void)
{
    atomic_flag_clear_explicit(&lock, memory_order_release);
}

uint64_t cp_labels_dropped(void)
{
    return atomic_load_explicit(&dropped, memory_order_relaxed);
}

CPROF_API int cprof_label_push(const char *key, const char *value)
{
    return cp_labels_push(key, value);
}

CPROF_API void cprof_label_pop(void)
{
    cp_labels_pop();
}
