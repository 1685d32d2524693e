/* report_tree.c — tree and peek: each listed node with its callers above
 * and its callees below, as go tool pprof's -tree and -peek print them.
 *
 * What: the graph trimmed as for top (peek builds only the edges of the
 * nodes its regexp matches), then per listed node a separator, its in-edges
 * sorted, its own line (flat, flat%, sum%, cum, cum%), its out-edges sorted.
 *
 * Data structure: the text of a big graph (0.5 GB for `peek .` at 150k
 * stacks) is cut into chunks of listed nodes, about 8000 lines each,
 * printed on two threads and written in order (chunks.h).  sum% is the
 * one figure that depends on earlier nodes: the running flat sums are
 * computed first, so every chunk is independent.  Each worker has its own
 * figure cache and sort scratch; the graph is only read (names, ranks and
 * list entries are made before, cp_graph_sort_ready), and a node's edge
 * lists belong to the one chunk that prints it.  A small graph is one
 * chunk, printed straight to the FILE; the bytes are the same either way.
 *
 * Alternatives rejected: printf per line (stdio's locking and parsing per
 * call).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/chunks.h"
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

/* Per worker of cp_chunks_write: its figure cache and sort scratch. */
typedef struct tree_tools {
    fig_cache *figs;
    void *sortbuf;
    size_t sortcap;
} tree_tools;

typedef struct tree_ctx {
    cp_report *r;
    cp_graph *g;
    const uint32_t *list;  /* the listed nodes, in order */
    const int64_t *sum;    /* running flat sum up to and including list[i] */
    tree_tools tools[2];
} tree_ctx;

static const char sep[] = "----------------------------------------------------------+-------------";

/* list[i0, i1): each node's separator, in-edges, own line, out-edges. */
static int format_nodes(void *arg, unsigned worker, size_t i0, size_t i1, cp_obuf *ob)
{
    tree_ctx *c = arg;
    tree_tools *tl = &c->tools[worker];
    cp_report *r = c->r;
    cp_graph *g = c->g;
    int rc;
    for (size_t i = i0; i < i1; i++) {
        uint32_t ni = c->list[i];
        const cp_gnode *n = &g->nodes[ni];
        cp_obuf_put(ob, sep, sizeof sep - 1);
        cp_obuf_put(ob, "\n", 1);
        const cp_gadj *a;
        size_t cnt;
        if ((rc = cp_graph_adj_sorted_r(g, ni, true, &a, &cnt, &tl->sortbuf, &tl->sortcap)))
            return rc;
        print_edges(r, g, tl->figs, a, cnt, cp_gnode_cum(n), ob);
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
        if ((rc = cp_graph_adj_sorted_r(g, ni, false, &a, &cnt, &tl->sortbuf, &tl->sortcap)))
            return rc;
        print_edges(r, g, tl->figs, a, cnt, cp_gnode_cum(n), ob);
    }
    return 0;
}

/* Lines per chunk: ~0.9 MB of text at 110 bytes a line (peek . of the
 * benchmark's profiles), to fit a 1 MiB output block. */
size_t cp_report_tree_chunk_lines = 8000;

/* A listed node's lines: its separator, its own line and its edges. */
static size_t node_lines(const void *arg, size_t i)
{
    const tree_ctx *c = arg;
    const cp_gnode *x = &c->g->nodes[c->list[i]];
    return 2 + (size_t)x->nin + x->nout;
}

/* The listed nodes' blocks to out, in chunks (chunks.h). */
static int print_nodes(tree_ctx *c, size_t n, FILE *out)
{
    int rc = 0;
    for (int w = 0; w < 2 && !rc; w++)
        if (!(c->tools[w].figs = calloc(1, sizeof *c->tools[w].figs)))
            rc = CPROF_ENOMEM;
    if (!rc)
        rc = cp_chunks_write(n, node_lines, cp_report_tree_chunk_lines, format_nodes, c, out);
    for (int w = 0; w < 2; w++) {
        free(c->tools[w].figs);
        free(c->tools[w].sortbuf);
    }
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
