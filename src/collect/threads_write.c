/* threads_write.c — snapshot → threads profile, threadcreate profile, text.
 *
 * The threads profile is Go's goroutine profile for threads: sample type
 * threads/count, one sample per distinct (stack, labels), value = how many
 * threads were there.  Threads that could not be asked (signal blocked, no
 * answer in time) are counted under the marker frame CP_THREADS_BLOCKED_FRAME,
 * so the total is every thread the snapshot found; threads that exited
 * meanwhile are only counted in a comment.  The threadcreate profile
 * (threadcreate/count, Go's name) counts live threads by the stack that
 * created them.  The text dump mirrors goroutine?debug=2: per thread its
 * tid, name, state, labels, every frame (function, then object +offset on
 * the next line, tab-indented) and "created by".  It is rendered from a
 * symbolized unmerged profile holding one sample per stack, so names come
 * from the same ELF step as every profile's.
 *
 * Rejected: writing the text from the merged profile (threads with one
 * stack would lose their tids and names); symbolizing separately for the
 * text (two passes over the symbol tables).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/buf.h"
#include "base/log.h"
#include "base/path.h"
#include "collect/heap.h"
#include "collect/labelsout.h"
#include "collect/output.h"
#include "collect/locate.h"
#include "collect/threads.h"
#include "collect/unwind.h"
#include "cprof.h"
#include "profile/builder.h"

#define CP_THREADS_BLOCKED_FRAME "[thread not sampled: signal blocked or no answer]"

#define OWN CP_THREADS_OWN

/* The stack of t as location ids (the marker frame when it has none). */
static int thread_stack(cp_pbuilder *b, cp_locate *loc, const cp_thread_snap *t,
                        uint64_t *ids, uint32_t *n)
{
    if (t->n == 0) {
        ids[0] = cp_pbuilder_named_location(b, CP_THREADS_BLOCKED_FRAME);
        *n = 1;
        return ids[0] ? 0 : CPROF_ENOMEM;
    }
    *n = t->n;
    return cp_locate_stack(loc, t->pcs, t->n, ids);
}

static cp_pbuilder *new_builder(const char *type, int64_t time_ns, bool merge)
{
    cp_pbuilder *b = cp_pbuilder_new(merge);
    if (b && (cp_pbuilder_sample_type(b, type, "count") ||
              cp_pbuilder_period(b, type, "count", 1))) {
        cp_pbuilder_free(b);
        return NULL;
    }
    if (b)
        cp_pbuilder_times(b, time_ns, 0);
    return b;
}

int cp_threads_build(const cp_threads_snapshot *s, cp_profile **out)
{
    int busy = cp_heap_busy_enter();
    int rc = CPROF_ENOMEM;
    cp_locate loc;
    uint64_t *ids = malloc((CP_MAX_FRAMES + 1) * sizeof *ids);
    cp_pbuilder *b = new_builder("threads", s->time_ns, true);
    cp_locate_init(&loc, b);
    if (!b || !ids)
        goto out;
    char note[160];
    snprintf(note, sizeof note,
             "cprof: %zu threads; %d not sampled (signal blocked or no answer); "
             "%d exited while asked",
             s->n, s->skipped_blocked, s->skipped_exited);
    if (cp_pbuilder_comment(b, note))
        goto out;
    for (size_t i = 0; i < s->n; i++) {
        const cp_thread_snap *t = &s->threads[i];
        uint32_t n;
        if ((rc = thread_stack(b, &loc, t, ids, &n)) != 0)
            goto out;
        cp_label_in labs[CP_LABELSOUT_MAX];
        size_t nl = cp_labelsout_fill(t->labels, labs, CP_LABELSOUT_MAX);
        int64_t one = 1;
        if ((rc = cp_pbuilder_sample(b, ids, n, &one, labs, nl)) != 0)
            goto out;
    }
    rc = cp_locate_finish(&loc, true, out);
out:
    cp_locate_free(&loc);
    cp_pbuilder_free(b);
    free(ids);
    cp_heap_busy_leave(busy);
    return rc;
}

typedef struct create_ctx {
    cp_pbuilder *b;
    cp_locate loc;
    uint64_t *ids;
    int rc;
} create_ctx;

static void add_created(void *ctx, pid_t tid, const uint64_t *pcs, uint32_t n)
{
    (void)tid;
    create_ctx *c = ctx;
    if (c->rc)
        return;
    if (n > CP_MAX_FRAMES)
        n = CP_MAX_FRAMES;
    int64_t one = 1;
    if ((c->rc = cp_locate_stack(&c->loc, pcs, n, c->ids)) == 0)
        c->rc = cp_pbuilder_sample(c->b, c->ids, n, &one, NULL, 0);
}

int cp_threadcreate_profile(cp_profile **out)
{
    int busy = cp_heap_busy_enter();
    create_ctx c = {0};
    c.rc = CPROF_ENOMEM;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    c.b = new_builder("threadcreate", (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec, true);
    c.ids = malloc(CP_MAX_FRAMES * sizeof *c.ids);
    cp_locate_init(&c.loc, c.b);
    if (c.b && c.ids) {
        /* mappings read before the registry lock is taken */
        cp_locate_prepare(&c.loc);
        c.rc = cp_pbuilder_comment(c.b, "cprof: live threads created through pthread_create "
                                        "since the profiler loaded, by creating stack");
        if (!c.rc)
            cp_threadreg_each(add_created, &c);
        if (!c.rc)
            c.rc = cp_locate_finish(&c.loc, true, out);
    }
    int rc = c.rc;
    cp_locate_free(&c.loc);
    cp_pbuilder_free(c.b);
    free(c.ids);
    cp_heap_busy_leave(busy);
    return rc;
}

static const char *state_name(char s)
{
    switch (s) {
    case 'R': return "running";
    case 'S': return "sleeping";
    case 'D': return "disk sleep";
    case 'T': return "stopped";
    case 't': return "tracing stop";
    case 'Z': return "zombie";
    case 'X': return "dead";
    case 'I': return "idle";
    default: return "unknown";
    }
}

/* One frame per line of each location: "func()\n\tobject +0xoff\n". */
static int print_sample(cp_buf *out, const cp_profile *p, const cp_sample *sm, bool first_only,
                        const char *prefix)
{
    for (uint32_t i = 0; i < sm->nlocs; i++) {
        const cp_location *l = &p->locations[sm->locs[i]];
        const cp_mapping *m = l->mapping != CP_NO_MAPPING ? &p->mappings[l->mapping] : NULL;
        for (uint32_t k = 0; k < (l->nlines ? l->nlines : 1); k++) {
            const char *name = "?";
            if (l->nlines && l->lines[k].func != CP_NO_FUNCTION)
                name = cp_str(p, p->functions[l->lines[k].func].name);
            if (cp_buf_printf(out, "%s%s%s\n", prefix, name, m || l->address ? "()" : "") < 0)
                return CPROF_ENOMEM;
        }
        if (m && cp_buf_printf(out, "\t%s +0x%llx\n", cp_str(p, m->filename),
                               (unsigned long long)(l->address - m->start + m->offset)) < 0)
            return CPROF_ENOMEM;
        else if (!m && l->address && cp_buf_printf(out, "\t0x%llx\n",
                                                   (unsigned long long)l->address) < 0)
            return CPROF_ENOMEM;
        if (first_only)
            break;
        prefix = "";
    }
    return 0;
}

static int print_label(void *ctx, const char *key, const char *value)
{
    return cp_buf_printf(ctx, "%s\"%s\":\"%s\"", ((cp_buf *)ctx)->len &&
                         ((cp_buf *)ctx)->data[((cp_buf *)ctx)->len - 1] == '{' ? "" : ", ",
                         key, value) < 0;
}

int cp_threads_render_text(const cp_threads_snapshot *s, cp_buf *out)
{
    int busy = cp_heap_busy_enter();
    int rc = CPROF_ENOMEM;
    cp_locate loc;
    cp_profile *p = NULL;
    uint64_t *ids = malloc((CP_MAX_FRAMES + 1) * sizeof *ids);
    cp_pbuilder *b = new_builder("threads", s->time_ns, false);
    cp_locate_init(&loc, b);
    if (!b || !ids)
        goto out;
    /* samples in order: each thread's stack, then its creation stack */
    for (size_t i = 0; i < s->n; i++) {
        const cp_thread_snap *t = &s->threads[i];
        uint32_t n;
        int64_t one = 1;
        if ((rc = thread_stack(b, &loc, t, ids, &n)) != 0 ||
            (rc = cp_pbuilder_sample(b, ids, n, &one, NULL, 0)) != 0)
            goto out;
        if (t->ncreate) {
            n = t->ncreate < CP_MAX_FRAMES ? t->ncreate : CP_MAX_FRAMES;
            if ((rc = cp_locate_stack(&loc, t->create_pcs, n, ids)) != 0 ||
                (rc = cp_pbuilder_sample(b, ids, n, &one, NULL, 0)) != 0)
                goto out;
        }
    }
    if ((rc = cp_locate_finish(&loc, true, &p)) != 0)
        goto out;
    rc = CPROF_ENOMEM;
    if (cp_buf_printf(out, "threads: %zu (not sampled: %d; exited while asked: %d)\n\n", s->n,
                      s->skipped_blocked, s->skipped_exited) < 0)
        goto out;
    size_t k = 0;
    for (size_t i = 0; i < s->n && k < p->nsamples; i++) {
        const cp_thread_snap *t = &s->threads[i];
        if (cp_buf_printf(out, "thread %d \"%s\" [%s]:\n", (int)t->tid, t->name,
                          state_name(t->state)) < 0)
            goto out;
        if (t->labels) {
            if (cp_buf_printf(out, "labels: {") < 0 || cp_labels_each(t->labels, print_label, out) ||
                cp_buf_printf(out, "}\n") < 0)
                goto out;
        }
        if (print_sample(out, p, &p->samples[k++], false, "") != 0)
            goto out;
        if (t->ncreate && k < p->nsamples) {
            /* the creation stack's first frame past pthread_create */
            const cp_sample *c = &p->samples[k++];
            cp_sample one = *c;
            while (one.nlocs > 1) {
                const cp_location *l = &p->locations[one.locs[0]];
                const char *fn = l->nlines && l->lines[0].func != CP_NO_FUNCTION
                                     ? cp_str(p, p->functions[l->lines[0].func].name) : "";
                if (strncmp(fn, "pthread_create", 14) != 0)
                    break;
                one.locs++;
                one.nlocs--;
            }
            if (print_sample(out, p, &one, true, "created by ") != 0)
                goto out;
        }
        if (cp_buf_putc(out, '\n') < 0)
            goto out;
    }
    rc = 0;
out:
    cp_profile_free(p);
    cp_locate_free(&loc);
    cp_pbuilder_free(b);
    free(ids);
    cp_heap_busy_leave(busy);
    return rc;
}

OWN int cp_threads_profile(cp_profile **out)
{
    cp_threads_snapshot s;
    int rc = cp_threads_take(&s);
    if (rc)
        return rc;
    rc = cp_threads_build(&s, out);
    cp_threads_snapshot_free(&s);
    return rc;
}

OWN int cp_threads_text(cp_buf *out)
{
    cp_threads_snapshot s;
    int rc = cp_threads_take(&s);
    if (rc)
        return rc;
    rc = cp_threads_render_text(&s, out);
    cp_threads_snapshot_free(&s);
    return rc;
}

/* FILE's siblings: "NAME.pb.gz" (or "NAME") → "NAME.<what>" */
static int sibling(const char *path, const char *what, char *out, size_t cap)
{
    size_t n = strlen(path);
    if (n > 6 && !strcmp(path + n - 6, ".pb.gz"))
        n -= 6;
    if ((size_t)snprintf(out, cap, "%.*s.%s", (int)n, path, what) >= cap)
        return CPROF_EINVAL;
    return 0;
}

OWN CPROF_API int cprof_threads_write(const char *path)
{
    if (!path || !*path)
        return CPROF_EINVAL;
    int busy = cp_heap_busy_enter();
    cp_threads_snapshot s;
    cp_profile *p = NULL;
    cp_buf text = {0};
    char side[4096], exp[4096];
    int rc = cp_threads_take(&s);
    if (rc)
        goto out_busy;
    if ((rc = cp_threads_build(&s, &p)) != 0 || (rc = cp_output_write(p, path, -1)) != 0)
        goto out;
    cp_profile_free(p);
    p = NULL;
    if ((rc = cp_threadcreate_profile(&p)) != 0 ||
        (rc = sibling(path, "threadcreate.pb.gz", side, sizeof side)) != 0 ||
        (rc = cp_output_write(p, side, -1)) != 0)
        goto out;
    if ((rc = cp_threads_render_text(&s, &text)) != 0 ||
        (rc = sibling(path, "txt", side, sizeof side)) != 0 ||
        (rc = cp_path_expand(side, exp, sizeof exp)) != 0)
        goto out;
    rc = cp_write_file_atomic(exp, text.data ? (const void *)text.data : "", text.len);
out:
    cp_buf_free(&text);
    cp_profile_free(p);
    cp_threads_snapshot_free(&s);
out_busy:
    cp_heap_busy_leave(busy);
    return rc;
}
