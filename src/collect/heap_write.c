/* heap_write.c — heap buckets to a pprof profile, a file, a leak report.
 *
 * What: walks the buckets heap.c recorded (without its lock: buckets are
 * immutable once published except for atomic counters), unbiases each with
 * Go's formula, and builds Go's heap profile: sample types alloc_objects,
 * alloc_space, inuse_objects, inuse_space; period type space/bytes with the
 * sampling rate as period; one sample per (stack, size) with a numeric
 * `bytes` label, as runtime/pprof writes it.  Mappings come from the step
 * every writer shares (locate.c: /proc/self/maps now, and the notes taken
 * before each dlclose, so allocations from code unloaded since keep their
 * names) and names from the symbolizer, so the file opens anywhere.
 *
 * The writer runs on the caller's thread with its `busy` flag set, so the
 * builder's and the symbolizer's own allocations are never sampled.
 *
 * The leak report groups in-use objects by stack (sizes summed), sorts by
 * bytes and prints the top stacks with symbolized frames, in the shape of
 * a sanitizer's summary.  Rejected: printing from the raw buckets with
 * dladdr names only (no file:line, no inline frames, static functions
 * unnamed).
 */
#include "collect/heap.h"

#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/log.h"
#include "collect/labelsout.h"
#include "collect/output.h"
#include "collect/locate.h"
#include "collect/unwind.h"
#include "cprof.h"
#include "profile/builder.h"


void cp_heap_scale(int64_t count, int64_t bytes, int64_t rate,
                   int64_t *out_count, int64_t *out_bytes)
{
    if (count <= 0) {
        *out_count = 0;
        *out_bytes = 0;
        return;
    }
    if (rate <= 1) {
        *out_count = count;
        *out_bytes = bytes;
        return;
    }
    /* Each object of size s was sampled with probability 1 - exp(-s/rate):
     * divide by it (Go's runtime/pprof scaleHeapSample, same rounding).
     * Zero-size objects were sampled as 1-byte ones (heap.h); Go drops
     * them (it returns 0, 0 for size 0), we count them. */
    double avg = bytes > 0 ? (double)bytes / (double)count : 1.0;
    double scale = 1 / (1 - exp(-avg / (double)rate));
    *out_count = (int64_t)((double)count * scale);
    *out_bytes = (int64_t)((double)bytes * scale);
}

static int build(bool raw, bool with_size_label, cp_profile **out)
{
    int rc = CPROF_ENOMEM;
    uint64_t *ids = NULL;
    cp_locate loc;
    cp_pbuilder *b = cp_pbuilder_new(true);
    cp_locate_init(&loc, b);
    if (!b)
        goto out;
    int64_t rate = cp_heap_rate();
    if (cp_pbuilder_sample_type(b, "alloc_objects", "count") ||
        cp_pbuilder_sample_type(b, "alloc_space", "bytes") ||
        cp_pbuilder_sample_type(b, "inuse_objects", "count") ||
        cp_pbuilder_sample_type(b, "inuse_space", "bytes") ||
        cp_pbuilder_period(b, "space", "bytes", rate) ||
        cp_pbuilder_default_sample_type(b, "inuse_space"))
        goto out;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    cp_pbuilder_times(b, (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec, 0);
    ids = malloc(sizeof *ids * 64);
    size_t idcap = 64;
    if (!ids)
        goto out;
    const cp_stacktab *tab = cp_heap_table();
    for (const cp_heap_bucket *k = cp_stacktab_next(tab, NULL); k; k = cp_stacktab_next(tab, k)) {
        /* Frees first: a free is always counted after its allocation. */
        int64_t fo = atomic_load_explicit(&k->val[CP_HEAP_FREE_OBJECTS], memory_order_acquire);
        int64_t fb = atomic_load_explicit(&k->val[CP_HEAP_FREE_BYTES], memory_order_relaxed);
        int64_t ao = atomic_load_explicit(&k->val[CP_HEAP_ALLOC_OBJECTS], memory_order_acquire);
        int64_t ab = atomic_load_explicit(&k->val[CP_HEAP_ALLOC_BYTES], memory_order_relaxed);
        if (ao == 0)
            continue;
        if (fo > ao || fb > ab) { /* a racing free seen before its alloc */
            fo = ao;
            fb = ab;
        }
        int64_t v[4];
        cp_heap_scale(ao, ab, rate, &v[0], &v[1]);
        cp_heap_scale(ao - fo, ab - fb, rate, &v[2], &v[3]);
        if (k->n > idcap) {
            uint64_t *n2 = realloc(ids, sizeof *ids * k->n);
            if (!n2)
                goto out;
            ids = n2;
            idcap = k->n;
        }
        if ((rc = cp_locate_stack(&loc, k->pcs, k->n, ids)) != 0)
            goto out;
        /* the thread's labels (string), then Go's numeric `bytes` label */
        cp_label_in lab[CP_LABELSOUT_MAX + 1];
        size_t nl = cp_labelsout_fill((const cp_labelset *)(uintptr_t)k->key, lab,
                                      CP_LABELSOUT_MAX);
        if (with_size_label)
            lab[nl++] = (cp_label_in){.key = "bytes", .num = (int64_t)k->key2};
        rc = cp_pbuilder_sample(b, ids, k->n, v, lab, nl);
        if (rc)
            goto out;
    }
    /* Samples the region could not hold: on the lost-samples frame. */
    uint64_t lost = cp_heap_dropped();
    if (lost && (rc = cp_locate_lost(&loc, (int64_t[4]){(int64_t)lost, 0, 0, 0})) != 0)
        goto out;
    rc = cp_locate_finish(&loc, !raw, out);
out:
    free(ids);
    cp_locate_free(&loc);
    cp_pbuilder_free(b);
    return rc;
}

int cp_heap_profile(bool raw, bool with_size_label, cp_profile **out)
{
    int busy = cp_heap_busy_enter();
    int rc = build(raw, with_size_label, out);
    cp_heap_busy_leave(busy);
    return rc;
}

/* Build the full profile and write it to path_tmpl or, when NULL, to fd. */
static int write_profile(const char *path_tmpl, int fd)
{
    int busy = cp_heap_busy_enter();
    cp_profile *p = NULL;
    int rc = build(false, true, &p);
    if (rc == 0)
        rc = cp_output_write(p, path_tmpl, fd);
    cp_profile_free(p);
    cp_heap_busy_leave(busy);
    return rc;
}

int cp_heap_write_path(const char *path)
{
    if (!path || !*path)
        return CPROF_EINVAL;
    return write_profile(path, -1);
}

int cprof_heap_write(const char *path)
{
    return cp_heap_write_path(path);
}

int cprof_heap_write_fd(int fd)
{
    if (fd < 0)
        return CPROF_EINVAL;
    return write_profile(NULL, fd);
}

/* ---- leak report ---- */

typedef struct leak {
    size_t sample;
    int64_t objects, bytes;
} leak;

static int by_bytes_desc(const void *a, const void *b)
{
    const leak *x = a, *y = b;
    if (x->bytes != y->bytes)
        return x->bytes < y->bytes ? 1 : -1;
    return x->sample < y->sample ? -1 : x->sample > y->sample;
}

static void frame_text(cp_buf *o, const cp_profile *p, const cp_location *l, int *idx,
                       int max_frames)
{
    if (l->nlines == 0) {
        if (*idx < max_frames)
            cp_buf_printf(o, "    #%d 0x%llx\n", *idx, (unsigned long long)l->address);
        (*idx)++;
        return;
    }
    for (uint32_t j = 0; j < l->nlines; j++, (*idx)++) {
        if (*idx >= max_frames)
            continue;
        const cp_line *ln = &l->lines[j];
        const cp_function *f = ln->func != CP_NO_FUNCTION ? &p->functions[ln->func] : NULL;
        const char *name = f ? cp_str(p, f->name) : "??";
        const char *file = f ? cp_str(p, f->filename) : "";
        cp_buf_printf(o, "    #%d 0x%llx in %s", *idx, (unsigned long long)l->address,
                      *name ? name : "??");
        if (*file)
            cp_buf_printf(o, " %s:%lld", file, (long long)ln->line);
        cp_buf_putc(o, '\n');
    }
}

static int report(int fd, int top, const cp_profile *p)
{
    enum { MAX_FRAMES = 8 };
    int rc = CPROF_ENOMEM;
    cp_buf o = {0};
    leak *lk = calloc(p->nsamples ? p->nsamples : 1, sizeof *lk);
    if (!lk)
        goto out;
    size_t n = 0;
    int64_t tot_objects = 0, tot_bytes = 0;
    for (size_t i = 0; i < p->nsamples; i++) {
        const cp_sample *s = &p->samples[i];
        if (s->values[3] <= 0 && s->values[2] <= 0)
            continue;
        lk[n++] = (leak){.sample = i, .objects = s->values[2], .bytes = s->values[3]};
        tot_objects += s->values[2];
        tot_bytes += s->values[3];
    }
    qsort(lk, n, sizeof *lk, by_bytes_desc);
    int64_t rate = cp_heap_rate();
    long pid = (long)getpid();
    if (n == 0) {
        cp_buf_printf(&o, "==%ld== cprof: no leaks: every sampled heap block was freed "
                      "(heap rate %lld%s).\n", pid, (long long)rate,
                      rate <= 1 ? ", every allocation" : "");
    } else {
        size_t shown = n < (size_t)top ? n : (size_t)top;
        cp_buf_printf(&o, "==%ld== cprof: LEAK SUMMARY: %lld bytes in %lld objects still "
                      "allocated at exit, from %zu stacks (%s).\n", pid,
                      (long long)tot_bytes, (long long)tot_objects, n,
                      rate <= 1 ? "heap rate 1: exact" : "sampled: estimates");
        if (rate > 1)
            cp_buf_printf(&o, "==%ld== cprof: estimated from 1 sample per %lld bytes; "
                          "set CPROF_HEAP_RATE=1 for exact figures.\n", pid, (long long)rate);
        for (size_t i = 0; i < shown; i++) {
            const cp_sample *s = &p->samples[lk[i].sample];
            cp_buf_printf(&o, "\n%s%lld bytes in %lld objects allocated from:\n",
                          rate <= 1 ? "" : "~", (long long)lk[i].bytes,
                          (long long)lk[i].objects);
            int idx = 0;
            for (uint32_t j = 0; j < s->nlocs; j++)
                frame_text(&o, p, &p->locations[s->locs[j]], &idx, MAX_FRAMES);
            if (idx > MAX_FRAMES)
                cp_buf_printf(&o, "    ... %d more frames\n", idx - MAX_FRAMES);
        }
        if (shown < n)
            cp_buf_printf(&o, "\n... and %zu more stacks; see the heap profile "
                          "(CPROF_HEAP=FILE) for all.\n", n - shown);
        cp_buf_putc(&o, '\n');
    }
    rc = cp_write_all(fd, o.data, o.len);
out:
    free(lk);
    cp_buf_free(&o);
    return rc;
}

int cp_heap_leak_report(int fd, int top)
{
    cp_heap_tls *t = &cp_heap_tls_state;
    int prev = t->busy;
    t->busy = 1;
    cp_profile *p = NULL;
    int rc = build(false, false, &p);
    if (rc == 0)
        rc = report(fd, top > 0 ? top : 10, p);
    cp_profile_free(p);
    t->busy = prev;
    return rc;
}
