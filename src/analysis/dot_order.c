/* dot_order.c — go's visual-mode graph order for the dot report: nodes
 * by entropy score, and residual edges that a longer path already implies
 * removed.
 *
 * What: graph.go's entropyScore ordering (a node's cum weighted by the
 * entropy of its in- and out-edges, flat added) and RemoveRedundantEdges
 * (a residual edge whose source reaches its destination through other
 * kept nodes goes).  Data structure: scores in an array indexed by node,
 * sorted with qsort_r; a breadth-first queue with a seen byte per node for
 * the reachability test.  Alternatives rejected: keeping these inside
 * report_dot.c (it passed 800 lines; the order is a step of its own).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/dot_order.h"
#include "profile/profile.h"

/* go's int64 arithmetic wraps; so does this (no undefined overflow) */
/* ---- entropy order ----------------------------------------------------------- */

static double edge_entropy(cp_graph *g, uint32_t *v, size_t cnt, int64_t self)
{
    double score = 0;
    int64_t total = self;
    for (size_t i = 0; i < cnt; i++)
        if (g->edges[v[i]].weight > 0)
            total = cp_wadd(total, cp_wabs(g->edges[v[i]].weight));
    if (total != 0) {
        for (size_t i = 0; i < cnt; i++) {
            double frac = (double)cp_wabs(g->edges[v[i]].weight) / (double)total;
            score += -frac * log2(frac);
        }
        if (self > 0) {
            double frac = (double)cp_wabs(self) / (double)total;
            score += -frac * log2(frac);
        }
    }
    return score;
}

typedef struct sort_ctx {
    cp_graph *g;
    int64_t *score;
} sort_ctx;

static int cmp_score(const void *pa, const void *pb, void *c)
{
    sort_ctx *s = c;
    uint32_t ia = *(const uint32_t *)pa, ib = *(const uint32_t *)pb;
    int64_t x = cp_wabs(s->score[ia]), y = cp_wabs(s->score[ib]);
    if (x != y)
        return x > y ? -1 : 1;
    const cp_gnode *a = &s->g->nodes[ia], *b = &s->g->nodes[ib];
    int r = strcmp(a->pname, b->pname);
    if (r)
        return r;
    x = cp_wabs(a->flat), y = cp_wabs(b->flat);
    if (x != y)
        return x > y ? -1 : 1;
    return cp_graph_info_cmp(a, b);
}

int cp_dot_entropy_sort(cp_graph *g)
{
    int rc = cp_graph_link(g);
    if (rc)
        return rc;
    int64_t *score = calloc(g->nnodes + 1, sizeof *score);
    if (!score)
        return CPROF_ENOMEM;
    for (size_t i = 0; i < g->norder; i++) {
        uint32_t ni = g->order[i];
        cp_gnode *n = &g->nodes[ni];
        cp_graph_pname(g, ni);
        double sc = 0;
        if (n->nin == 0)
            sc += 1;
        else
            sc += edge_entropy(g, g->adj + n->in_off, n->nin, 0);
        if (n->nout == 0)
            sc += 1;
        else
            sc += edge_entropy(g, g->adj + n->out_off, n->nout, n->flat);
        /* a negative edge weight makes the entropy NaN, as in go */
        score[ni] = (int64_t)((uint64_t)cp_go_f2i(sc * (double)n->cum) + (uint64_t)n->flat);
    }
    sort_ctx c = {g, score};
    qsort_r(g->order, g->norder, sizeof *g->order, cmp_score, &c);
    free(score);
    return 0;
}

/* ---- redundant edges ---------------------------------------------------------- */

static bool redundant(cp_graph *g, uint32_t ei, uint32_t *queue, uint8_t *seen)
{
    const cp_gedge *e = &g->edges[ei];
    memset(seen, 0, g->nnodes);
    size_t qh = 0, qt = 0;
    queue[qt++] = e->dst;
    seen[e->dst] = 1;
    bool found = false;
    while (qh < qt && !found) {
        const cp_gnode *n = &g->nodes[queue[qh++]];
        for (uint32_t k = 0; k < n->nin; k++) {
            uint32_t ie = g->adj[n->in_off + k];
            const cp_gedge *x = &g->edges[ie];
            if (ie == ei || x->dropped || seen[x->src])
                continue;
            if (x->src == e->src) {
                found = true;
                break;
            }
            seen[x->src] = 1;
            queue[qt++] = x->src;
        }
    }
    return found;
}

int cp_dot_remove_redundant_edges(cp_graph *g)
{
    int rc = cp_graph_link(g);
    if (rc)
        return rc;
    uint32_t *queue = malloc((g->nnodes + 1) * sizeof *queue);
    uint8_t *seen = malloc(g->nnodes + 1);
    uint32_t *in = malloc((g->nedges + 1) * sizeof *in);
    if (!queue || !seen || !in) {
        free(queue);
        free(seen);
        free(in);
        return CPROF_ENOMEM;
    }
    for (size_t i = g->norder; i > 0; i--) {
        uint32_t ni = g->order[i - 1];
        uint32_t *v;
        size_t cnt = cp_graph_edges_sorted(g, ni, true, &v);
        size_t live = 0;
        for (size_t k = 0; k < cnt; k++)
            if (!g->edges[v[k]].dropped)
                in[live++] = v[k];
        for (size_t j = live; j > 0; j--) {
            uint32_t ei = in[j - 1];
            if (!g->edges[ei].residual)
                break;
            if (redundant(g, ei, queue, seen))
                g->edges[ei].dropped = true;
        }
    }
    free(queue);
    free(seen);
    free(in);
    return cp_graph_link(g);
}
