/* report_tree.c — tree and peek: each listed node with its callers above
 * and its callees below, as go tool pprof's -tree and -peek print them.
 *
 * What: the graph trimmed as for top (peek builds only the edges of the
 * nodes its regexp matches), then per listed node a separator, its in-edges
 * sorted, its own line (flat, flat%, sum%, cum, cum%), its out-edges sorted.
 *
 * Data structure: the text of a big graph (0.5 GB for `peek .` at 150k
 * stacks) is cut into chunks of listed nodes, about 20000 lines each,
 * formatted into memory on two threads and written in order.  sum% is the
 * one figure that depends on earlier nodes: the running flat sums are
 * computed first, so every chunk is independent.  Each thread has its own
 * figure cache and sort scratch; the graph is only read (names and ranks
 * are made before, cp_graph_sort_ready), and a node's edge lists belong to
 * the one chunk that prints it.  Small graphs are formatted straight to the
 * FILE on one thread; the bytes are the same either way.
 *
 * Alternatives rejected: one thread (the formatting was half of `peek .`),
 * more chunks in flight (each is held in memory until written), printf per
 * line (stdio's locking and parsing per call).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/graph.h"
#include "analysis/outbuf.h"
#include "analysis/report.h"
#include "analysis/units.h"
#include "base/buf.h"

/* tree's and peek's formatted figures, remembered: the edges of a big
 * graph repeat a few thousand weights, and formatting one (unit scaling,
 * rounding) costs more than copying it.  Direct-mapped, keyed by the value
 * (labels) or the value and its node's cum (percentages).  Each is kept
 * as the line has it, with what follows it: a label right-aligned in 50
 * columns and a space, a percentage and " |   "; the rest of s is spaces,
 * so a line copies s whole (a fixed size: no call) and moves on by len. */
#define FIG_SLOTS 4096
typedef struct fig {
    int64_t v, of;
    char s[64];
    uint8_t len, ok;
} fig;
typedef struct fig_cache {
    fig label[FIG_SLOTS], pct[FIG_SLOTS];
} fig_cache;

static size_t fig_slot(int64_t v, int64_t of)
{
    uint64_t h = ((uint64_t)v ^ ((uint64_t)of * 0x9e3779b97f4a7c15ULL)) * 0xff51afd7ed558ccdULL;
    return (size_t)(h >> 52) & (FIG_SLOTS - 1);
}

/* f->s = pad spaces, text, tail; then spaces to the end */
static void fig_set(fig *f, const char *text, size_t pad, const char *tail)
{
    size_t tl = strlen(text), pl = pad > tl ? pad - tl : 0, xl = strlen(tail);
    memset(f->s, ' ', sizeof f->s);
    memcpy(f->s + pl, text, tl);
    memcpy(f->s + pl + tl, tail, xl);
    f->len = (uint8_t)(pl + tl + xl);
    f->ok = 1;
}

static const fig *fig_label(cp_report *r, fig_cache *c, int64_t v)
{
    fig *f = &c->label[fig_slot(v, 0)];
    if (!f->ok || f->v != v) {
        char t[46]; /* "%50s " fits s */
        cp_report_value(r, t, sizeof t, v);
        fig_set(f, t, 50, " ");
        f->v = v;
    }
    return f;
}

static const fig *fig_pct(fig_cache *c, int64_t v, int64_t of)
{
    fig *f = &c->pct[fig_slot(v, of)];
    if (!f->ok || f->v != v || f->of != of) {
        char t[32];
        cp_units_percentage(t, sizeof t, v, of);
        fig_set(f, t, 0, " |   ");
        f->v = v;
        f->of = of;
    }
    return f;
}

/* "%50s %s |   %s%s\n" by hand: this line is most of tree's and peek's
 * output */
static void print_edge(cp_report *r, cp_graph *g, fig_cache *c, const cp_gadj *a, int64_t cum,
                       cp_obuf *o)
{
    static const char tails[2][16] = {"\n", " (inline)\n"};
    int64_t w = cp_gadj_weight(g, a);
    const fig *v = fig_label(r, c, w), *pc = fig_pct(c, w, cum);
    const cp_gnode *n = &g->nodes[a->other];
    char *d = cp_obuf_room(o, 2 * sizeof v->s + n->plen + sizeof tails[0]), *d0 = d;
    if (!d) { /* a name longer than a block */
        cp_obuf_put(o, v->s, v->len);
        cp_obuf_put(o, pc->s, pc->len);
        cp_obuf_put(o, n->pname, n->plen);
        cp_obuf_puts(o, tails[a->inl]);
        return;
    }
    memcpy(d, v->s, sizeof v->s);
    d += v->len;
    memcpy(d, pc->s, sizeof pc->s);
    d += pc->len;
    memcpy(d, n->pname, n->plen);
    d += n->plen;
    memcpy(d, tails[a->inl], sizeof tails[0]);
    d += a->inl ? 10 : 1;
    o->n += (size_t)(d - d0);
}

/* A node's sorted in- or out-edges: their other ends and those names are
 * fetched a few lines ahead, since a big graph's lists name nodes in no
 * order of memory (each line otherwise waited for two misses in turn). */
static void print_edges(cp_report *r, cp_graph *g, fig_cache *c, const cp_gadj *a, size_t cnt,
                        int64_t cum, cp_obuf *o)
{
    for (size_t k = 0; k < cnt; k++) {
        if (k + 8 < cnt)
            __builtin_prefetch(&g->nodes[a[k + 8].other]);
        if (k + 4 < cnt)
            __builtin_prefetch(g->nodes[a[k + 4].other].pname);
        print_edge(r, g, c, &a[k], cum, o);
    }
}

typedef struct tree_ctx {
    cp_report *r;
    cp_graph *g;
    const uint32_t *list; /* the listed nodes, in order */
    const int64_t *sum;   /* running flat sum up to and including list[i] */
} tree_ctx;

/* One thread's tools and its chunk: nodes [i0, i1) of the list. */
typedef struct tree_job {
    const tree_ctx *c;
    size_t i0, i1;
    fig_cache *figs;
    void *sortbuf;
    size_t sortcap;
    cp_obuf *ob;
    FILE *sink; /* unbuffered, appends to text: reused chunk after chunk */
    cp_buf text;
    int rc;
} tree_job;

static const char sep[] = "----------------------------------------------------------+-------------";

static void format_nodes(tree_job *j)
{
    const tree_ctx *c = j->c;
    cp_report *r = c->r;
    cp_graph *g = c->g;
    cp_obuf *ob = j->ob;
    for (size_t i = j->i0; i < j->i1; i++) {
        uint32_t ni = c->list[i];
        const cp_gnode *n = &g->nodes[ni];
        cp_obuf_put(ob, sep, sizeof sep - 1);
        cp_obuf_put(ob, "\n", 1);
        const cp_gadj *a;
        size_t cnt;
        if ((j->rc = cp_graph_adj_sorted_r(g, ni, true, &a, &cnt, &j->sortbuf, &j->sortcap)))
            return;
        print_edges(r, g, j->figs, a, cnt, cp_gnode_cum(n), ob);
        int64_t flat = cp_gnode_flat(n), cum = cp_gnode_cum(n);
        char fv[64], cv[64], fp[32], sp[32], cp[32];
        cp_report_value(r, fv, sizeof fv, flat);
        cp_report_value(r, cv, sizeof cv, cum);
        cp_units_percentage(fp, sizeof fp, flat, r->total);
        cp_units_percentage(sp, sizeof sp, c->sum[i], r->total);
        cp_units_percentage(cp, sizeof cp, cum, r->total);
        /* "%10s %s %s %10s %s                | %s\n" */
        cp_obuf_pad(ob, fv, 10);
        cp_obuf_put(ob, " ", 1);
        cp_obuf_puts(ob, fp);
        cp_obuf_put(ob, " ", 1);
        cp_obuf_puts(ob, sp);
        cp_obuf_put(ob, " ", 1);
        cp_obuf_pad(ob, cv, 10);
        cp_obuf_put(ob, " ", 1);
        cp_obuf_puts(ob, cp);
        cp_obuf_put(ob, "                | ", 18);
        cp_obuf_put(ob, n->pname, n->plen);
        cp_obuf_put(ob, "\n", 1);
        if ((j->rc = cp_graph_adj_sorted_r(g, ni, false, &a, &cnt, &j->sortbuf, &j->sortcap)))
            return;
        print_edges(r, g, j->figs, a, cnt, cp_gnode_cum(n), ob);
    }
}

static ssize_t sink_write(void *cookie, const char *buf, size_t n)
{
    tree_job *j = cookie;
    if (cp_buf_append(&j->text, buf, n)) {
        j->rc = CPROF_ENOMEM;
        return 0;
    }
    return (ssize_t)n;
}

/* A chunk into memory (j->rc on failure): its text is j->text, then what
 * is left in the block j->ob.  A chunk is sized to fit the block, so most
 * are never copied before they are written; j->text takes what overflows
 * (long names).  The text buffer is the last chunk's, emptied: no fresh
 * pages to fault in per chunk. */
static void *format_chunk(void *arg)
{
    tree_job *j = arg;
    j->text.len = 0;
    j->ob->out = j->sink;
    j->ob->n = 0;
    format_nodes(j);
    return NULL;
}

static int job_init(tree_job *j, const tree_ctx *c)
{
    memset(j, 0, sizeof *j);
    j->c = c;
    j->figs = calloc(1, sizeof *j->figs);
    j->ob = malloc(sizeof *j->ob);
    j->sink = fopencookie(j, "w", (cookie_io_functions_t){.write = sink_write});
    if (!j->figs || !j->ob || !j->sink || setvbuf(j->sink, NULL, _IONBF, 0))
        return CPROF_ENOMEM;
    return 0;
}

static void job_free(tree_job *j)
{
    if (j->sink)
        fclose(j->sink);
    free(j->figs);
    free(j->ob);
    free(j->sortbuf);
    cp_buf_free(&j->text);
}

/* Lines per chunk: ~0.9 MB of text at 110 bytes a line (peek . of the
 * benchmark's profiles), to fit a 1 MiB output block. */
size_t cp_report_tree_chunk_lines = 8000;

/* The end of the chunk that starts at list[i0]. */
static size_t chunk_end(const tree_ctx *c, size_t i0, size_t n)
{
    size_t lines = 0, i = i0;
    while (i < n && lines < cp_report_tree_chunk_lines) {
        const cp_gnode *x = &c->g->nodes[c->list[i++]];
        lines += 2 + (size_t)x->nin + x->nout;
    }
    return i;
}

/* Whose turn it is to write: chunk k is written only after chunk k-1, by
 * the thread that formatted it, while the other thread formats its next
 * one (writing 0.5-1.4 GB is a third of `peek .`: it overlaps). */
typedef struct turns {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    size_t next; /* the chunk to be written next */
    bool failed;
    const size_t *starts; /* chunk k is list[starts[k], starts[k+1]) */
    size_t nchunks;
    FILE *out;
} turns;

typedef struct runner {
    tree_job *j;
    turns *t;
    size_t first, step;
} runner;

static void *run_chunks(void *arg)
{
    runner *ru = arg;
    tree_job *j = ru->j;
    turns *t = ru->t;
    for (size_t k = ru->first; k < t->nchunks; k += ru->step) {
        j->i0 = t->starts[k];
        j->i1 = t->starts[k + 1];
        format_chunk(j);
        pthread_mutex_lock(&t->mu);
        while (t->next != k && !t->failed)
            pthread_cond_wait(&t->cv, &t->mu);
        bool ok = !t->failed && !j->rc;
        t->failed = !ok;
        pthread_mutex_unlock(&t->mu);
        if (ok) { /* alone: the other thread waits for its turn */
            if (j->text.len)
                fwrite(j->text.data, 1, j->text.len, t->out);
            fwrite(j->ob->buf, 1, j->ob->n, t->out);
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

/* The listed nodes' blocks to out: on two threads when there are at least
 * two chunks, in order either way. */
static int print_nodes(const tree_ctx *c, size_t n, FILE *out)
{
    tree_job a, b;
    size_t *starts = NULL, nchunks = 0, cap = 0;
    memset(&b, 0, sizeof b); /* made only for two chunks or more */
    int rc = job_init(&a, c);
    if (rc)
        goto out;
    if (chunk_end(c, 0, n) >= n) { /* one chunk: no thread, no copy */
        a.ob->out = out;
        a.ob->n = 0;
        a.i1 = n;
        format_nodes(&a);
        cp_obuf_flush(a.ob);
        rc = a.rc;
        goto out;
    }
    if ((rc = job_init(&b, c)))
        goto out;
    for (size_t i = 0;; i = chunk_end(c, i, n)) {
        if (cp_grow(&starts, &cap, nchunks + 1, sizeof *starts)) {
            rc = CPROF_ENOMEM;
            goto out;
        }
        starts[nchunks++] = i;
        if (i >= n)
            break;
    }
    turns t = {.starts = starts, .nchunks = nchunks - 1, .out = out};
    pthread_mutex_init(&t.mu, NULL);
    pthread_cond_init(&t.cv, NULL);
    runner ra = {&a, &t, 0, 2}, rb = {&b, &t, 1, 2};
    pthread_t th;
    if (pthread_create(&th, NULL, run_chunks, &rb) == 0) {
        run_chunks(&ra);
        pthread_join(th, NULL);
    } else { /* one thread does every chunk, in order */
        ra.step = 1;
        run_chunks(&ra);
    }
    pthread_cond_destroy(&t.cv);
    pthread_mutex_destroy(&t.mu);
    if (t.failed)
        rc = a.rc ? a.rc : b.rc ? b.rc : CPROF_ENOMEM;
out:
    free(starts);
    job_free(&a);
    job_free(&b);
    return rc;
}

int cp_report_tree(cp_report *r, FILE *out)
{
    cp_graph g;
    cp_graph_opts go = cp_report_graph_opts(r);
    int rc = cp_graph_new(&g, r->p, &go);
    if (rc)
        return rc;
    uint8_t *marks = NULL;
    uint32_t *list = NULL;
    int64_t *sum = NULL;
    if (r->symbol) {
        /* peek prints only matching nodes and their edges: the other edges
         * (most of a big graph) are never built */
        if (!(marks = calloc(g.nnodes + 1, 1))) {
            rc = CPROF_ENOMEM;
            goto out;
        }
        for (size_t i = 0; i < g.nnodes; i++)
            marks[i] = regexec(r->symbol, cp_graph_pname(&g, (uint32_t)i), 0, NULL, 0) == 0;
        g.edge_nodes = marks;
    }
    cp_trim_result t;
    if ((rc = cp_graph_trim(&g, r->node_fraction, r->edge_fraction, r->node_count, r->cum_sort,
                            true, &t)))
        goto out;
    if ((rc = cp_graph_sort_ready(&g)))
        goto out;
    cp_report_select_unit(r, &g);
    list = malloc((g.norder + 1) * sizeof *list);
    sum = malloc((g.norder + 1) * sizeof *sum);
    if (!list || !sum) {
        rc = CPROF_ENOMEM;
        goto out;
    }
    size_t n = 0;
    int64_t flat_sum = 0;
    for (size_t i = 0; i < g.norder; i++) {
        uint32_t ni = g.order[i];
        if (marks && !marks[ni]) /* the same regexp on the same name */
            continue;
        flat_sum = cp_wadd(flat_sum, cp_gnode_flat(&g.nodes[ni]));
        list[n] = ni;
        sum[n++] = flat_sum;
    }
    if (r->symbol && n == 0) { /* go prints nothing at all when nothing matches */
        snprintf(r->err, sizeof r->err, "no matches found for regexp: %s", r->symbol_src);
        rc = CPROF_EINVAL;
        goto out;
    }
    t.dropped_edges = 0; /* text reports never mention dropped edges */
    cp_report_labels(r, &g, &t, false, out);
    fprintf(out, "%s\n", sep);
    fprintf(out, "      flat  flat%%   sum%%        cum   cum%%   calls calls%% + context \t \t \n");
    tree_ctx c = {.r = r, .g = &g, .list = list, .sum = sum};
    if ((rc = print_nodes(&c, n, out)))
        goto out;
    if (g.norder > 0)
        fprintf(out, "%s\n", sep);
out:
    cp_graph_free(&g);
    free(marks);
    free(list);
    free(sum);
    return rc;
}
