/* chunks.c — chunks of a text report printed on two threads, written in
 * order (contract in chunks.h).
 *
 * Data structure: per worker an output block (cp_obuf, 1 MiB) whose FILE
 * is an unbuffered memory stream appending to an overflow buffer: a chunk
 * sized to fit the block is never copied before it is written, a bigger
 * one (long names) spills to the buffer.  The chunks are cut first, from
 * the items' weights.  Whose turn it is to write is one counter under a
 * mutex; a worker takes chunks k, k + 2, ...
 *
 * Alternatives rejected: one thread (the printing was half of `peek .`),
 * more chunks in flight (each is held in memory until written).
 */
#include "analysis/chunks.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "cprof.h"

typedef struct worker {
    unsigned id;
    cp_obuf *ob;
    FILE *sink; /* unbuffered, appends to spill */
    cp_buf spill;
    int rc;
} worker;

static ssize_t sink_write(void *cookie, const char *buf, size_t n)
{
    worker *w = cookie;
    if (cp_buf_append(&w->spill, buf, n)) {
        w->rc = CPROF_ENOMEM;
        return 0;
    }
    return (ssize_t)n;
}

static int worker_init(worker *w, unsigned id)
{
    memset(w, 0, sizeof *w);
    w->id = id;
    w->ob = malloc(sizeof *w->ob);
    w->sink = fopencookie(w, "w", (cookie_io_functions_t){.write = sink_write});
    if (!w->ob || !w->sink || setvbuf(w->sink, NULL, _IONBF, 0))
        return CPROF_ENOMEM;
    return 0;
}

static void worker_free(worker *w)
{
    if (w->sink)
        fclose(w->sink);
    free(w->ob);
    cp_buf_free(&w->spill);
}

typedef struct turns {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    size_t next; /* the chunk to be written next */
    bool failed;
    const size_t *starts; /* chunk k is items [starts[k], starts[k + 1]) */
    size_t nchunks;
    cp_chunk_fn fmt;
    void *ctx;
    FILE *out;
} turns;

typedef struct runner {
    worker *w;
    turns *t;
    size_t first, step;
} runner;

static void *run(void *arg)
{
    runner *ru = arg;
    worker *w = ru->w;
    turns *t = ru->t;
    for (size_t k = ru->first; k < t->nchunks; k += ru->step) {
        /* into the block; the spill buffer is the last chunk's, emptied:
         * no fresh pages to fault in per chunk */
        w->spill.len = 0;
        w->ob->out = w->sink;
        w->ob->n = 0;
        int rc = t->fmt(t->ctx, w->id, t->starts[k], t->starts[k + 1], w->ob);
        if (rc && !w->rc)
            w->rc = rc;
        pthread_mutex_lock(&t->mu);
        while (t->next != k && !t->failed)
            pthread_cond_wait(&t->cv, &t->mu);
        bool ok = !t->failed && !w->rc;
        t->failed = !ok;
        pthread_mutex_unlock(&t->mu);
        if (ok) { /* alone: the other thread waits for its turn */
            if (w->spill.len)
                fwrite(w->spill.data, 1, w->spill.len, t->out);
            fwrite(w->ob->buf, 1, w->ob->n, t->out);
        }
        pthread_mutex_lock(&t->mu);
        t->next = k + 1;
        pthread_cond_broadcast(&t->cv);
        pthread_mutex_unlock(&t->mu);
        if (!ok)
            break;
    }
    return NULL;
}

/* Where the chunks of items [0, n) start, and n last: *nchunks + 1
 * entries, malloc'd.  0 or CPROF_ENOMEM. */
static int cut(size_t n, cp_chunk_weight_fn weight, size_t limit, const void *ctx,
               size_t **starts, size_t *nchunks)
{
    size_t *s = NULL, ns = 0, cap = 0, sum = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i == 0 || i == n || sum >= limit) {
            if (cp_grow(&s, &cap, ns + 1, sizeof *s)) {
                free(s);
                return CPROF_ENOMEM;
            }
            s[ns++] = i;
            sum = 0;
        }
        if (i < n)
            sum += weight(ctx, i);
    }
    *starts = s;
    *nchunks = ns - 1;
    return 0;
}

int cp_chunks_write(size_t n, cp_chunk_weight_fn weight, size_t limit, cp_chunk_fn fmt, void *ctx,
                    FILE *out)
{
    worker a, b;
    size_t *starts = NULL, nchunks;
    memset(&b, 0, sizeof b); /* made only for two chunks or more */
    int rc = worker_init(&a, 0);
    if (rc || (rc = cut(n, weight, limit, ctx, &starts, &nchunks)))
        goto out;
    if (nchunks <= 1) { /* no thread, no copy */
        a.ob->out = out;
        a.ob->n = 0;
        rc = n ? fmt(ctx, 0, 0, n, a.ob) : 0;
        cp_obuf_flush(a.ob);
        goto out;
    }
    if ((rc = worker_init(&b, 1)))
        goto out;
    turns t = {.starts = starts, .nchunks = nchunks, .fmt = fmt, .ctx = ctx, .out = out};
    pthread_mutex_init(&t.mu, NULL);
    pthread_cond_init(&t.cv, NULL);
    runner ra = {&a, &t, 0, 2}, rb = {&b, &t, 1, 2};
    pthread_t th;
    if (pthread_create(&th, NULL, run, &rb) == 0) {
        run(&ra);
        pthread_join(th, NULL);
    } else { /* one worker does every chunk, in order */
        ra.step = 1;
        run(&ra);
    }
    pthread_cond_destroy(&t.cv);
    pthread_mutex_destroy(&t.mu);
    if (t.failed)
        rc = a.rc ? a.rc : b.rc ? b.rc : CPROF_ENOMEM;
out:
    free(starts);
    worker_free(&a);
    worker_free(&b);
    return rc;
}
