/* graph_sort.c — the orders of the call graph: nodes as go tool pprof
 * sorts them (flat or cum, then name, then go's printed NodeInfo), the
 * per-node adjacency lists (cp_graph_link), and edges by |weight| then by
 * the names at either end.
 *
 * Data structure: edges are sorted on copied keys (|weight| and a rank per
 * distinct printable name, computed once per graph), so the sort touches
 * neither the edges nor the strings; a merge sort, inlined, because
 * qsort's indirect calls were a tenth of `peek .`.  For tree and peek of a
 * big graph the lists are entries instead of edge indices, keyed by one
 * word (the rank of |weight|, the other end's name rank, the index) and
 * carrying what a printed line needs: sorting and printing them reads no
 * edge (the edges' random reads were a fifth of `peek .`).
 *
 * Split out of graph.c (building the graph) so each file reads as one
 * step; the orders are go's, byte for byte, as the compare suite checks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/graph.h"
#include "base/beside.h"
#include "base/buf.h"
#include "base/prefault.h"

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

/* The lists' places, for the edges not dropped: per node its in-list's
 * and out-list's offset and length; the last lists go.  Counted in an
 * array of their own (a node is big: counting in the nodes missed the
 * cache at every edge).  0 or CPROF_ENOMEM. */
static int link_places(cp_graph *g)
{
    free(g->adjent);
    free(g->wabs);
    free(g->adj);
    g->adjent = NULL;
    g->wabs = NULL;
    g->adj = NULL;
    uint32_t *cnt = calloc(2 * g->nnodes + 1, sizeof *cnt);
    if (!cnt)
        return CPROF_ENOMEM;
    for (size_t i = 0; i < g->nedges; i++) {
        const cp_gedge *e = &g->edges[i];
        if (e->dropped)
            continue;
        cnt[2 * e->dst]++;
        cnt[2 * e->src + 1]++;
    }
    uint32_t off = 0;
    for (size_t i = 0; i < g->nnodes; i++) {
        cp_gnode *n = &g->nodes[i];
        n->in_off = off;
        off += n->nin = cnt[2 * i];
        n->out_off = off;
        off += n->nout = cnt[2 * i + 1];
    }
    free(cnt);
    return 0;
}

/* adj: the lists as edge indices, each in index order. */
static int link_fill(cp_graph *g)
{
    uint32_t *pos = malloc((2 * g->nnodes + 1) * sizeof *pos);
    g->adj = cp_prefault_malloc((2 * g->nedges + 1) * sizeof *g->adj);
    if (!pos || !g->adj) {
        free(pos);
        return CPROF_ENOMEM;
    }
    for (size_t i = 0; i < g->nnodes; i++) {
        pos[2 * i] = g->nodes[i].in_off;
        pos[2 * i + 1] = g->nodes[i].out_off;
    }
    for (size_t i = 0; i < g->nedges; i++) {
        const cp_gedge *e = &g->edges[i];
        if (e->dropped)
            continue;
        g->adj[pos[2 * e->dst]++] = (uint32_t)i;
        g->adj[pos[2 * e->src + 1]++] = (uint32_t)i;
    }
    free(pos);
    return 0;
}

int cp_graph_link(cp_graph *g)
{
    int rc = link_places(g);
    return rc ? rc : link_fill(g);
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

/* name(k, tmp, n): sorts k[0..n) of T by LESS (two pointers), tmp[0..n)
 * as scratch; the comparison inlined (qsort's calls through a pointer
 * were a tenth of `peek .`).  Runs of up to 16 by insertion, merges above
 * without a branch on the comparison (a coin toss on unsorted lists: the
 * side's pointer is selected and its element copied).  LESS is a total
 * order, so the result is unique. */
#define MERGE_SORT(name, T, LESS)                                                  \
    static void name(T *k, T *tmp, size_t n)                                       \
    {                                                                              \
        if (n <= 16) {                                                             \
            for (size_t i = 1; i < n; i++) {                                       \
                T x = k[i];                                                        \
                size_t j = i;                                                      \
                for (; j > 0 && LESS(&x, &k[j - 1]); j--)                          \
                    k[j] = k[j - 1];                                               \
                k[j] = x;                                                          \
            }                                                                      \
            return;                                                                \
        }                                                                          \
        size_t h = n / 2;                                                          \
        name(k, tmp, h);                                                           \
        name(k + h, tmp, n - h);                                                   \
        if (!LESS(&k[h], &k[h - 1]))                                               \
            return; /* already in order */                                         \
        memcpy(tmp, k, h * sizeof *k);                                             \
        size_t i = 0, j = h, w = 0;                                                \
        while (i < h && j < n) {                                                   \
            bool right = LESS(&k[j], &tmp[i]);                                     \
            const T *from = right ? &k[j] : &tmp[i];                               \
            k[w++] = *from;                                                        \
            j += right;                                                            \
            i += !right;                                                           \
        }                                                                          \
        while (i < h)                                                              \
            k[w++] = tmp[i++];                                                     \
    }

MERGE_SORT(key_sort, edge_key, key_less)

/* Ranks pay off once the edges to sort outnumber the nodes to rank. */
size_t cp_graph_rank_edges = 10000;

static bool want_ranks(const cp_graph *g)
{
    return g->nedges > 4 * g->nnodes && g->nedges - 4 * g->nnodes > cp_graph_rank_edges;
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

static size_t edges_sorted_r(cp_graph *g, uint32_t node, bool in, uint32_t **out, void **buf,
                             size_t *cap)
{
    cp_gnode *n = &g->nodes[node];
    uint32_t *v = g->adj + (in ? n->in_off : n->out_off);
    size_t cnt = in ? n->nin : n->nout;
    edge_sort(g, v, cnt, buf, cap);
    *out = v;
    return cnt;
}

size_t cp_graph_edges_sorted(cp_graph *g, uint32_t node, bool in, uint32_t **out)
{
    return edges_sorted_r(g, node, in, out, &g->sortbuf, &g->sortcap);
}

static int cmp_desc(const void *pa, const void *pb)
{
    int64_t a = *(const int64_t *)pa, b = *(const int64_t *)pb;
    return a > b ? -1 : a < b;
}

static unsigned bits_for(uint64_t n)
{
    unsigned b = 0;
    while (b < 64 && (n >> b))
        b++;
    return b;
}

/* What the threads filling the entries share, and one thread's half: the
 * in-lists or the out-lists. */
typedef struct fill_ctx {
    cp_graph *g;
    cp_map wr; /* |weight| -> its rank */
    unsigned bn, bi;
} fill_ctx;

typedef struct fill_job {
    fill_ctx *c;
    bool in;
    uint32_t *pos; /* per node: where its list's next entry goes */
} fill_job;

/* One pass over the edges in index order, as cp_graph_link fills adj: each
 * edge's entry in its callee's in-list (or its caller's out-list). */
static void *fill_lists(void *arg)
{
    fill_job *j = arg;
    cp_graph *g = j->c->g;
    unsigned bn = j->c->bn, bi = j->c->bi;
    uint64_t last = 0, r = 0;
    bool have = false;
    for (size_t i = 0; i < g->nedges; i++) {
        const cp_gedge *e = &g->edges[i];
        if (e->dropped)
            continue;
        uint64_t w = (uint64_t)cp_wabs(e->weight);
        if (!have || w != last) /* runs of one weight are common */
            cp_map_get(&j->c->wr, w, &r);
        last = w;
        have = true;
        uint32_t self = j->in ? e->dst : e->src, other = j->in ? e->src : e->dst;
        g->adjent[j->pos[self]++] =
            (cp_gadj){(r << (bn + bi)) | ((uint64_t)g->rank[other] << bi) | i, other,
                      e->weight < 0, e->inl};
    }
    return NULL;
}

size_t cp_graph_parallel_entries = 65536;

/* g->adjent, g->wabs and g->wshift for a ranked graph whose lists are
 * placed (see graph.h), on two threads (in-lists, out-lists).  Left undone
 * (0) when the key does not fit a word; CPROF_ENOMEM. */
static int make_entries(cp_graph *g)
{
    fill_ctx c = {.g = g};
    uint32_t maxrank = 0;
    for (size_t i = 0; i < g->nnodes; i++)
        maxrank = g->rank[i] > maxrank ? g->rank[i] : maxrank;
    c.bn = bits_for(maxrank);
    c.bi = bits_for(g->nedges);
    int64_t *ws = NULL;
    size_t nw = 0, wcap = 0, n = 0;
    fill_job in = {&c, true, malloc((g->nnodes + 1) * sizeof *in.pos)};
    fill_job out = {&c, false, malloc((g->nnodes + 1) * sizeof *out.pos)};
    int rc = in.pos && out.pos ? 0 : CPROF_ENOMEM;
    /* the distinct |weights|, then each one's rank in descending order */
    for (size_t i = 0; !rc && i < g->nedges; i++) {
        if (g->edges[i].dropped)
            continue;
        bool inserted;
        int64_t w = cp_wabs(g->edges[i].weight);
        if (n++ && w == ws[nw - 1])
            continue; /* the weight just added: runs are common */
        if (!cp_map_slot(&c.wr, (uint64_t)w, 0, &inserted) ||
            (inserted && cp_grow(&ws, &wcap, nw + 1, sizeof *ws)))
            rc = CPROF_ENOMEM;
        else if (inserted)
            ws[nw++] = w;
    }
    if (rc || bits_for(nw) + c.bn + c.bi > 64)
        goto out;
    qsort(ws, nw, sizeof *ws, cmp_desc);
    for (size_t i = 0; i < nw; i++)
        if (cp_map_put(&c.wr, (uint64_t)ws[i], i)) {
            rc = CPROF_ENOMEM;
            goto out;
        }
    if (!(g->adjent = cp_prefault_malloc((2 * n + 1) * sizeof *g->adjent))) {
        rc = CPROF_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < g->nnodes; i++) {
        in.pos[i] = g->nodes[i].in_off;
        out.pos[i] = g->nodes[i].out_off;
    }
    cp_beside b;
    cp_beside_start(&b, n >= cp_graph_parallel_entries, fill_lists, &out);
    fill_lists(&in);
    cp_beside_end(&b);
    g->wabs = ws;
    g->wshift = c.bn + c.bi;
    ws = NULL;
out:
    cp_map_free(&c.wr);
    free(ws);
    free(in.pos);
    free(out.pos);
    return rc;
}

int cp_graph_sort_ready(cp_graph *g)
{
    for (size_t i = 0; i < g->nnodes; i++) {
        cp_graph_pname(g, (uint32_t)i);
        if (!g->nodes[i].pname) /* "" returned, nothing kept: out of memory */
            return CPROF_ENOMEM;
    }
    int rc = link_places(g);
    if (rc)
        return rc;
    if (want_ranks(g)) {
        make_ranks(g);
        if (!g->rank)
            return CPROF_ENOMEM;
        if ((rc = make_entries(g)) || g->adjent)
            return rc;
    }
    return link_fill(g);
}

static inline bool entry_less(const cp_gadj *a, const cp_gadj *b)
{
    return a->key < b->key;
}

MERGE_SORT(entry_sort, cp_gadj, entry_less)

int cp_graph_adj_sorted_r(cp_graph *g, uint32_t node, bool in, const cp_gadj **out, size_t *cnt,
                          void **buf, size_t *cap)
{
    const cp_gnode *n = &g->nodes[node];
    size_t k = in ? n->nin : n->nout;
    *out = NULL;
    *cnt = 0;
    /* room for k keys: the merge scratch, or the k entries made below */
    if (k && cp_grow(buf, cap, k, sizeof(edge_key)))
        return CPROF_ENOMEM;
    if (g->adjent) { /* sorted in place: a second call finds it so */
        cp_gadj *a = g->adjent + (in ? n->in_off : n->out_off);
        entry_sort(a, *buf, k);
        *out = a;
        *cnt = k;
        return 0;
    }
    /* without entries: the edge indices sorted, then entries made in the
     * scratch, keyed by the index */
    uint32_t *v;
    edges_sorted_r(g, node, in, &v, buf, cap); /* keeps (or grows) the room */
    cp_gadj *a = *buf;
    for (size_t i = 0; i < k; i++) {
        const cp_gedge *e = &g->edges[v[i]];
        a[i] = (cp_gadj){v[i], in ? e->src : e->dst, e->weight < 0, e->inl};
    }
    *out = a;
    *cnt = k;
    return 0;
}
