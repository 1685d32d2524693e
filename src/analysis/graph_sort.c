/* graph_sort.c — the orders of the call graph: nodes as go tool pprof
 * sorts them (flat or cum, then name, then go's printed NodeInfo), the
 * per-node adjacency lists (cp_graph_link), and edges by |weight| then by
 * the names at either end.
 *
 * Data structure: edges are sorted on copied keys (|weight| and a rank per
 * distinct printable name, computed once per graph), so the sort touches
 * neither the edges nor the strings; a merge sort, inlined, because
 * qsort's indirect calls were a tenth of `peek .`.
 *
 * Split out of graph.c (building the graph) so each file reads as one
 * step; the orders are go's, byte for byte, as the compare suite checks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/graph.h"

/* fmt.Sprint(NodeInfo) of Go: the last tie-breaker. */
static void info_string(const cp_gnode *n, char *buf, size_t len)
{
    snprintf(buf, len, "{%s  %llu %s %lld %lld %s}", n->name, (unsigned long long)n->address,
             n->file, (long long)n->start_line, (long long)n->lineno, n->objfile);
}

int cp_graph_info_cmp(const cp_gnode *a, const cp_gnode *b)
{
    char x[1024], y[1024];
    info_string(a, x, sizeof x);
    info_string(b, y, sizeof y);
    return strcmp(x, y);
}

static int cmp_flat(const void *pa, const void *pb, void *ctx)
{
    cp_graph *g = ctx;
    uint32_t ia = *(const uint32_t *)pa, ib = *(const uint32_t *)pb;
    const cp_gnode *a = &g->nodes[ia], *b = &g->nodes[ib];
    int64_t x = cp_wabs(a->flat), y = cp_wabs(b->flat);
    if (x != y)
        return x > y ? -1 : 1;
    int c = strcmp(a->pname, b->pname);
    if (c)
        return c;
    x = cp_wabs(a->cum), y = cp_wabs(b->cum);
    if (x != y)
        return x > y ? -1 : 1;
    return cp_graph_info_cmp(a, b);
}

static int cmp_cum(const void *pa, const void *pb, void *ctx)
{
    cp_graph *g = ctx;
    uint32_t ia = *(const uint32_t *)pa, ib = *(const uint32_t *)pb;
    const cp_gnode *a = &g->nodes[ia], *b = &g->nodes[ib];
    int64_t x = cp_wabs(a->cum), y = cp_wabs(b->cum);
    if (x != y)
        return x > y ? -1 : 1;
    int c = strcmp(a->pname, b->pname);
    if (c)
        return c;
    x = cp_wabs(a->flat), y = cp_wabs(b->flat);
    if (x != y)
        return x > y ? -1 : 1;
    return cp_graph_info_cmp(a, b);
}

void cp_graph_sort(cp_graph *g, bool cum)
{
    for (size_t i = 0; i < g->norder; i++)
        cp_graph_pname(g, g->order[i]);
    qsort_r(g->order, g->norder, sizeof *g->order, cum ? cmp_cum : cmp_flat, g);
}

int cp_graph_link(cp_graph *g)
{
    free(g->adj);
    g->adj = malloc((2 * g->nedges + 1) * sizeof *g->adj);
    if (!g->adj)
        return CPROF_ENOMEM;
    for (size_t i = 0; i < g->nnodes; i++)
        g->nodes[i].nin = g->nodes[i].nout = 0;
    for (size_t i = 0; i < g->nedges; i++) {
        if (g->edges[i].dropped)
            continue;
        g->nodes[g->edges[i].dst].nin++;
        g->nodes[g->edges[i].src].nout++;
    }
    uint32_t off = 0;
    for (size_t i = 0; i < g->nnodes; i++) {
        g->nodes[i].in_off = off;
        off += g->nodes[i].nin;
        g->nodes[i].out_off = off;
        off += g->nodes[i].nout;
        g->nodes[i].nin = g->nodes[i].nout = 0;
    }
    for (size_t i = 0; i < g->nedges; i++) {
        const cp_gedge *e = &g->edges[i];
        if (e->dropped)
            continue;
        cp_gnode *d = &g->nodes[e->dst], *s = &g->nodes[e->src];
        g->adj[d->in_off + d->nin++] = (uint32_t)i;
        g->adj[s->out_off + s->nout++] = (uint32_t)i;
    }
    return 0;
}

static int cmp_edge(const void *pa, const void *pb, void *ctx)
{
    cp_graph *g = ctx;
    const cp_gedge *a = &g->edges[*(const uint32_t *)pa], *b = &g->edges[*(const uint32_t *)pb];
    if (a->weight != b->weight) {
        int64_t x = cp_wabs(a->weight), y = cp_wabs(b->weight);
        if (x != y)
            return x > y ? -1 : 1;
    }
    if (g->rank) {
        uint32_t x = g->rank[a->src], y = g->rank[b->src];
        if (x != y)
            return x < y ? -1 : 1;
        x = g->rank[a->dst], y = g->rank[b->dst];
        return x < y ? -1 : x > y;
    }
    int c = strcmp(cp_graph_pname(g, a->src), cp_graph_pname(g, b->src));
    if (c)
        return c;
    return strcmp(cp_graph_pname(g, a->dst), cp_graph_pname(g, b->dst));
}

static const char *pname_of(const cp_graph *g, uint32_t i)
{
    return g->nodes[i].pname ? g->nodes[i].pname : "";
}

static int cmp_pname(const void *pa, const void *pb, void *ctx)
{
    const cp_graph *g = ctx;
    return strcmp(pname_of(g, *(const uint32_t *)pa), pname_of(g, *(const uint32_t *)pb));
}

/* Rank every node by printable name once: the sorts of a graph with many
 * edges (tree, peek .) then compare two integers instead of two names
 * (strcmp was a fifth of `peek .`).  Equal names share a rank, so the
 * order is strcmp's.  Without memory the sorts fall back to strcmp. */
static void make_ranks(cp_graph *g)
{
    if (g->rank || g->nnodes == 0)
        return;
    uint32_t *idx = malloc(g->nnodes * sizeof *idx);
    uint32_t *rank = malloc(g->nnodes * sizeof *rank);
    if (!idx || !rank) {
        free(idx);
        free(rank);
        return;
    }
    for (size_t i = 0; i < g->nnodes; i++) {
        idx[i] = (uint32_t)i;
        cp_graph_pname(g, (uint32_t)i);
    }
    qsort_r(idx, g->nnodes, sizeof *idx, cmp_pname, g);
    uint32_t r = 0;
    for (size_t i = 0; i < g->nnodes; i++) {
        if (i && strcmp(pname_of(g, idx[i - 1]), pname_of(g, idx[i])))
            r++;
        rank[idx[i]] = r;
    }
    free(idx);
    g->rank = rank;
}

/* An edge's sort key, copied out so the sort touches neither the edges nor
 * the names: |weight| descending, then the ranks of the names. */
typedef struct edge_key {
    int64_t absw; /* cp_wabs: INT64_MIN stays the smallest, as in cmp_edge */
    uint32_t rs, rd, idx;
} edge_key;

static inline bool key_less(const edge_key *a, const edge_key *b)
{
    if (a->absw != b->absw)
        return a->absw > b->absw;
    if (a->rs != b->rs)
        return a->rs < b->rs;
    if (a->rd != b->rd)
        return a->rd < b->rd;
    return a->idx < b->idx;
}

/* Merge sort of k[0..n) with tmp[0..n), the comparison inlined (qsort's
 * calls through a pointer were a tenth of `peek .`); runs of up to 16 by
 * insertion.  The keys are a total order: the result is unique. */
static void key_sort(edge_key *k, edge_key *tmp, size_t n)
{
    if (n <= 16) {
        for (size_t i = 1; i < n; i++) {
            edge_key x = k[i];
            size_t j = i;
            for (; j > 0 && key_less(&x, &k[j - 1]); j--)
                k[j] = k[j - 1];
            k[j] = x;
        }
        return;
    }
    size_t h = n / 2;
    key_sort(k, tmp, h);
    key_sort(k + h, tmp, n - h);
    if (!key_less(&k[h], &k[h - 1]))
        return; /* already in order */
    memcpy(tmp, k, h * sizeof *k);
    size_t i = 0, j = h, w = 0;
    while (i < h && j < n)
        k[w++] = key_less(&k[j], &tmp[i]) ? k[j++] : tmp[i++];
    while (i < h)
        k[w++] = tmp[i++];
}

/* Ranks pay off once the edges to sort outnumber the nodes to rank. */
static bool want_ranks(const cp_graph *g)
{
    return g->nedges > 4 * g->nnodes + 10000;
}

/* Sorts v with keys in *buf (room for *cap keys, grown as needed). */
static void edge_sort(cp_graph *g, uint32_t *v, size_t n, void **buf, size_t *cap)
{
    if (!g->rank && want_ranks(g))
        make_ranks(g);
    if (g->rank && n > 1 && !cp_grow(buf, cap, 2 * n, sizeof(edge_key))) {
        edge_key *k = *buf;
        for (size_t i = 0; i < n; i++) {
            const cp_gedge *e = &g->edges[v[i]];
            k[i] = (edge_key){cp_wabs(e->weight), g->rank[e->src], g->rank[e->dst], v[i]};
        }
        key_sort(k, k + n, n);
        for (size_t i = 0; i < n; i++)
            v[i] = k[i].idx;
        return;
    }
    if (!g->rank)
        for (size_t i = 0; i < n; i++) {
            cp_graph_pname(g, g->edges[v[i]].src);
            cp_graph_pname(g, g->edges[v[i]].dst);
        }
    qsort_r(v, n, sizeof *v, cmp_edge, g);
}

void cp_graph_sort_edges(cp_graph *g, uint32_t *v, size_t n)
{
    edge_sort(g, v, n, &g->sortbuf, &g->sortcap);
}

size_t cp_graph_edges_sorted(cp_graph *g, uint32_t node, bool in, uint32_t **out)
{
    return cp_graph_edges_sorted_r(g, node, in, out, &g->sortbuf, &g->sortcap);
}

int cp_graph_sort_ready(cp_graph *g)
{
    for (size_t i = 0; i < g->nnodes; i++) {
        cp_graph_pname(g, (uint32_t)i);
        if (!g->nodes[i].pname) /* "" returned, nothing kept: out of memory */
            return CPROF_ENOMEM;
    }
    if (want_ranks(g)) {
        make_ranks(g);
        if (!g->rank)
            return CPROF_ENOMEM;
    }
    return 0;
}

size_t cp_graph_edges_sorted_r(cp_graph *g, uint32_t node, bool in, uint32_t **out, void **buf,
                               size_t *cap)
{
    cp_gnode *n = &g->nodes[node];
    uint32_t *v = g->adj + (in ? n->in_off : n->out_off);
    size_t cnt = in ? n->nin : n->nout;
    edge_sort(g, v, cnt, buf, cap);
    *out = v;
    return cnt;
}
