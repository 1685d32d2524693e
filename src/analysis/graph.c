/* graph.c — go tool pprof's call graph, built without per-sample allocation.
 *
 * What: nodes are the distinct NodeInfo values of go tool pprof's
 * internal/graph (function name, cleaned file name, line, address, object
 * file, start line); each location maps to one node per line (innermost
 * first).  Values are flat (the sample's leaf-most kept node) and cum (every
 * node on the stack, counted once per sample).
 *
 * Data structure: cp_graph_new interns node identities in an open-addressing
 * table and stores location → node indices in one flat array (locoff gives
 * each location's slice), so cp_graph_build is a tight loop over samples and
 * their location indices: no hashing and no malloc per frame.  "Counted once
 * per sample" uses a generation stamp per node (and per edge) instead of
 * clearing a seen-set per sample.  Edges live in an array keyed by a
 * (caller, callee) hash map, only when a report needs them.  Trimming (drop
 * nodes under a cum cutoff, keep the top N) re-runs the build with a kept
 * flag per node, as go tool pprof rebuilds its graph, so edges skip removed
 * nodes and become "residual".
 *
 * Alternatives rejected: a node struct per (sample, frame) or maps of maps as
 * in the Go original (allocation-bound: go tool pprof spends most of its time
 * there), and computing cum by walking a tree of stacks (wrong with
 * recursion, which must count a node once per sample).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/graph.h"
#include "base/beside.h"
#include "base/buf.h"
#include "base/prefault.h"

#define NONE UINT32_MAX
/* cp_graph_build's per-location summary (see lockept) */
#define LK_SKIP UINT32_MAX        /* none of the location's nodes is kept */
#define LK_MULTI (UINT32_MAX - 1) /* several lines: walk locnodes */

/* names of one profile are mostly the same pointers: compare those first */
static bool str_same(const char *a, const char *b)
{
    return a == b || !strcmp(a, b);
}

static bool node_eq(const cp_gnode *a, const cp_gnode *b)
{
    return a->address == b->address && a->lineno == b->lineno && a->start_line == b->start_line &&
           str_same(a->name, b->name) && str_same(a->file, b->file) &&
           str_same(a->objfile, b->objfile);
}

/* node_hash from the string hashes, each string hashed once per function or
 * mapping instead of once per location line (a tenth of `peek` of one
 * function was rehashing the same names) */
static uint64_t node_hash_parts(uint64_t hname, uint64_t hfile, uint64_t hobj, const cp_gnode *n)
{
    uint64_t h = hname;
    h ^= hfile * 31;
    h ^= hobj * 131;
    h ^= cp_hash_u64(n->address ^ cp_hash_u64((uint64_t)n->lineno * 7 + (uint64_t)n->start_line));
    return h;
}

static uint64_t str_hash(const char *s, uint64_t seed)
{
    return cp_hash_bytes(s, strlen(s), seed);
}

static bool prefix_dir(const char *s, const char *dir, size_t dlen, size_t *skip)
{
    /* dir + "/" unless it ends with one */
    bool slash = dlen && dir[dlen - 1] == '/';
    if (strncmp(s, dir, dlen))
        return false;
    if (!slash && s[dlen] != '/')
        return false;
    *skip = dlen + !slash;
    return true;
}

const char *cp_graph_trim_path(const char *path, const char *trim, const char *search)
{
    if (!trim)
        trim = "";
    if (!search)
        search = "";
    if (!*trim && *search) {
        for (const char *d = search;;) {
            const char *e = strchr(d, ':');
            size_t len = e ? (size_t)(e - d) : strlen(d);
            /* filepath.Base of the directory */
            char dir[4096], want[4104];
            snprintf(dir, sizeof dir, "%.*s", (int)len, d);
            size_t dl = strlen(dir);
            while (dl > 1 && dir[dl - 1] == '/')
                dir[--dl] = 0;
            const char *base = strrchr(dir, '/');
            base = !dl ? "." : (base && base[1]) ? base + 1 : dir;
            snprintf(want, sizeof want, "/%s/", base);
            const char *found = strstr(path, want);
            if (found)
                return found + strlen(want);
            if (!e)
                break;
            d = e + 1;
        }
    }
    size_t skip;
    for (const char *d = trim; *d;) {
        const char *e = strchr(d, ':');
        size_t len = e ? (size_t)(e - d) : strlen(d);
        if (len && prefix_dir(path, d, len, &skip))
            return path + skip;
        if (!e)
            break;
        d = e + 1;
    }
    if (prefix_dir(path, "/proc/self/cwd/./", 17, &skip) || prefix_dir(path, "/proc/self/cwd/", 15, &skip))
        return path + skip;
    return path;
}

char *cp_graph_clean_path(cp_arena *a, const char *path)
{
    size_t n = strlen(path);
    if (n == 0)
        return cp_arena_strndup(a, ".", 1);
    char *out = cp_arena_alloc(a, n + 2);
    if (!out)
        return NULL;
    bool rooted = path[0] == '/';
    size_t r = 0, w = 0, dotdot = 0;
    if (rooted) {
        out[w++] = '/';
        r = dotdot = 1;
    }
    while (r < n) {
        if (path[r] == '/') {
            r++;
        } else if (path[r] == '.' && (r + 1 == n || path[r + 1] == '/')) {
            r++;
        } else if (path[r] == '.' && path[r + 1] == '.' && (r + 2 == n || path[r + 2] == '/')) {
            r += 2;
            if (w > dotdot) {
                w--;
                while (w > dotdot && out[w] != '/')
                    w--;
            } else if (!rooted) {
                if (w > 0)
                    out[w++] = '/';
                out[w++] = '.';
                out[w++] = '.';
                dotdot = w;
            }
        } else {
            if ((rooted && w != 1) || (!rooted && w != 0))
                out[w++] = '/';
            for (; r < n && path[r] != '/'; r++)
                out[w++] = path[r];
        }
    }
    if (w == 0)
        out[w++] = '.';
    out[w] = 0;
    return out;
}

typedef struct node_table {
    uint32_t *slots; /* node index + 1 */
    size_t cap;
} node_table;

static int add_node(cp_graph *g, node_table *t, const cp_gnode *want, uint64_t h, uint32_t *idx,
                    size_t *cap)
{
    size_t mask = t->cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        uint32_t s = t->slots[i];
        if (!s) {
            if (cp_grow(&g->nodes, cap, g->nnodes + 1, sizeof *g->nodes))
                return CPROF_ENOMEM;
            g->nodes[g->nnodes] = *want;
            t->slots[i] = (uint32_t)(g->nnodes + 1);
            *idx = (uint32_t)g->nnodes++;
            return 0;
        }
        if (node_eq(&g->nodes[s - 1], want)) {
            *idx = s - 1;
            return 0;
        }
    }
}

int cp_graph_new(cp_graph *g, const cp_profile *p, const cp_graph_opts *o)
{
    int rc = 0;
    memset(g, 0, sizeof *g);
    g->p = p;
    g->sample_index = o->sample_index;
    g->div_index = o->div_index;
    g->drop_negative = o->drop_negative;
    size_t nlines = 0;
    for (size_t i = 0; i < p->nlocations; i++)
        nlines += p->locations[i].nlines ? p->locations[i].nlines : 1;
    node_table t = {0};
    t.cap = 64;
    while (t.cap < nlines * 2)
        t.cap *= 2;
    t.slots = cp_prefault_calloc(t.cap, sizeof *t.slots);
    const char **ffile = calloc(p->nfunctions + 1, sizeof *ffile);
    uint64_t *fname_h = malloc((p->nfunctions + 1) * sizeof *fname_h);
    uint64_t *ffile_h = malloc((p->nfunctions + 1) * sizeof *ffile_h);
    uint64_t *obj_h = malloc((p->nmappings + 1) * sizeof *obj_h);
    uint64_t empty_name_h = str_hash("", 1), empty_file_h = str_hash("", 2),
             empty_obj_h = str_hash("", 3);
    g->locnodes = cp_prefault_malloc((nlines + 1) * sizeof *g->locnodes);
    g->locoff = cp_prefault_malloc((p->nlocations + 1) * sizeof *g->locoff);
    size_t cap = 0;
    if (!t.slots || !ffile || !g->locnodes || !g->locoff || !fname_h || !ffile_h || !obj_h) {
        rc = CPROF_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < p->nfunctions; i++) {
        const char *f = cp_str(p, p->functions[i].filename);
        if (o->trim_paths)
            f = cp_graph_trim_path(f, o->trim_path, o->source_path);
        ffile[i] = *f ? cp_graph_clean_path(&g->arena, f) : "";
        if (!ffile[i]) {
            rc = CPROF_ENOMEM;
            goto out;
        }
        fname_h[i] = str_hash(cp_str(p, p->functions[i].name), 1);
        ffile_h[i] = str_hash(ffile[i], 2);
    }
    for (size_t i = 0; i < p->nmappings; i++)
        obj_h[i] = str_hash(cp_str(p, p->mappings[i].filename), 3);
    size_t k = 0;
    for (size_t i = 0; i < p->nlocations; i++) {
        const cp_location *l = &p->locations[i];
        const char *obj = l->mapping == CP_NO_MAPPING ? "" : cp_str(p, p->mappings[l->mapping].filename);
        g->locoff[i] = (uint32_t)k;
        uint32_t nl = l->nlines ? l->nlines : 1;
        if (nl > 1)
            g->has_inline = true;
        for (uint32_t li = 0; li < nl; li++) {
            cp_gnode want;
            memset(&want, 0, sizeof want);
            want.address = l->address;
            want.name = want.file = want.objfile = "";
            uint64_t hn = empty_name_h, hf = empty_file_h, ho = empty_obj_h;
            uint64_t hobj = l->mapping == CP_NO_MAPPING ? empty_obj_h : obj_h[l->mapping];
            const cp_line *ln = l->nlines ? &l->lines[li] : NULL;
            if (!ln || ln->func == CP_NO_FUNCTION) {
                want.objfile = obj;
                ho = hobj;
            } else {
                const cp_function *f = &p->functions[ln->func];
                want.lineno = ln->line;
                want.name = cp_str(p, f->name);
                want.file = ffile[ln->func];
                hn = fname_h[ln->func];
                hf = ffile_h[ln->func];
                if (o->obj_names || !want.name[0]) {
                    want.objfile = obj;
                    want.start_line = f->start_line;
                    ho = hobj;
                }
            }
            uint32_t idx;
            if ((rc = add_node(g, &t, &want, node_hash_parts(hn, hf, ho, &want), &idx, &cap)))
                goto out;
            g->locnodes[k++] = idx;
        }
    }
    g->locoff[p->nlocations] = (uint32_t)k;
    g->order = malloc((g->nnodes + 1) * sizeof *g->order);
    if (!g->order)
        rc = CPROF_ENOMEM;
out:
    free(t.slots);
    free(ffile);
    free(fname_h);
    free(ffile_h);
    free(obj_h);
    if (rc)
        cp_graph_free(g);
    return rc;
}

void cp_graph_free(cp_graph *g)
{
    if (g->nodes)
        for (size_t i = 0; i < g->nnodes; i++)
            free(g->nodes[i].pname);
    free(g->nodes);
    free(g->locnodes);
    free(g->locoff);
    free(g->order);
    free(g->edges);
    free(g->adj);
    free(g->adjent);
    free(g->wabs);
    free(g->rank);
    free(g->sortbuf);
    cp_map_free(&g->edge_map);
    cp_arena_free(&g->arena);
    memset(g, 0, sizeof *g);
}

/* What the per-frame loop of cp_graph_build touches, packed: 32 bytes per
 * node instead of a whole cp_gnode, so the random accesses of a big profile
 * stay in cache (this loop is most of `cprof top`'s time). */
typedef struct hot {
    int64_t cum, cum_div;
    uint32_t gen;
    uint32_t last_src, last_edge; /* the edge into this node last added */
    uint8_t kept;
} hot;

/* An edge occurrence waiting in its part's batch (see flush_pending) */
typedef struct pend {
    uint32_t src, dst, gen, at; /* at: its edge once known, else NONE */
    int64_t w, dw;
    uint64_t tick;
    uint64_t hash; /* 0 when the callee's cached edge answered */
    bool residual, inl;
} pend;

#define PEND 256 /* edge occurrences per batch: 14 KiB, in L1/L2 */

/* One share of the samples, built independently: big profiles are split in
 * two halves built on two threads, then merged.  Merging keeps the serial
 * result exactly: sums are sums, an edge's residual flag is an OR and its
 * inline flag an AND over its occurrences, and the second half's new edges
 * are appended in the order it met them, which is the serial order. */
typedef struct part {
    cp_graph *g;
    size_t s0, s1; /* the samples whose values this part sums */
    size_t w0, w1; /* the samples it walks for edges (s0, s1 unless split by dst) */
    int parity;    /* -1: every edge; 0 or 1: only edges into nodes of that parity */
    bool ticks;      /* record first[]: the parity split in first-met order */
    uint64_t *first; /* per edge, the tick (kept frames walked before it, the
                      * same count on both threads) it was first met at:
                      * the parity split's parts merge by it */
    size_t fcap;
    bool edges;
    hot *h;
    int64_t *flat, *flat_div;
    cp_gedge *e;
    size_t ne, ecap;
    const uint32_t *lockept; /* per location: its one kept node, LK_SKIP or LK_MULTI */
    uint64_t *slots; /* edge table: hash's top 32 bits << 32 | index into e + 1 */
    size_t nslots;   /* a power of two, at least twice ne */
    pend *pend;      /* the batch, npend long */
    size_t npend;
    int rc;
} part;

/* The edge table: 8 bytes a slot instead of a general map's 17 (keys and
 * values 8 bytes each) — the edges of a big graph are most of its memory.
 * A slot keeps the top half of its edge's hash beside the index, so a probe
 * reads the edge itself (which the caller then updates anyway) only when
 * the halves match. */
static uint64_t edge_hash(uint32_t src, uint32_t dst)
{
    return cp_hash_u64(((uint64_t)src << 32) | dst) | 1; /* never 0 (see pend) */
}

static uint64_t slot_of(uint64_t hash, size_t i)
{
    return (hash & 0xffffffff00000000ULL) | (i + 1);
}

static int etab_grow(part *pt)
{
    size_t n = pt->nslots ? pt->nslots * 2 : 1024;
    /* written, not calloc'ed: a big calloc maps the zero page, so each
     * page of the table faulted twice (read, then copy on write) and the
     * second fault flushed the TLB of the other thread's CPU by IPI, a
     * tenth of `peek .`.  explicit_bzero, because the compiler turns
     * malloc + memset into calloc. */
    uint64_t *s = cp_prefault_malloc(n * sizeof *s);
    if (!s)
        return CPROF_ENOMEM;
    explicit_bzero(s, n * sizeof *s);
    for (size_t i = 0; i < pt->ne; i++) {
        uint64_t h = edge_hash(pt->e[i].src, pt->e[i].dst);
        size_t j = h & (n - 1);
        while (s[j])
            j = (j + 1) & (n - 1);
        s[j] = slot_of(h, i);
    }
    free(pt->slots);
    pt->slots = s;
    pt->nslots = n;
    return 0;
}

/* The index of edge (src, dst) in pt->e, appended (zeroed but for src and
 * dst) when new: *inserted says which.  UINT32_MAX on ENOMEM. */
static uint32_t etab_find(part *pt, uint32_t src, uint32_t dst, uint64_t hash, bool *inserted)
{
    *inserted = false;
    if ((pt->ne + 1) * 2 > pt->nslots && etab_grow(pt))
        return NONE;
    size_t mask = pt->nslots - 1;
    for (size_t j = hash & mask;; j = (j + 1) & mask) {
        uint64_t v = pt->slots[j];
        if (!v) {
            if (pt->ne >= NONE - 1 || cp_grow(&pt->e, &pt->ecap, pt->ne + 1, sizeof *pt->e))
                return NONE;
            memset(&pt->e[pt->ne], 0, sizeof *pt->e);
            pt->e[pt->ne].src = src;
            pt->e[pt->ne].dst = dst;
            pt->slots[j] = slot_of(hash, pt->ne++);
            *inserted = true;
            return (uint32_t)(pt->ne - 1);
        }
        uint32_t i = (uint32_t)v - 1;
        if ((v >> 32) == (hash >> 32) && pt->e[i].src == src && pt->e[i].dst == dst)
            return i;
    }
}

/* One more occurrence of an edge: weights add, it is residual if any
 * occurrence was and inline only if every occurrence was (go's rules). */
static void edge_fold(cp_gedge *e, int64_t w, int64_t dw, bool residual, bool inl)
{
    e->weight = cp_wadd(e->weight, w);
    e->weight_div = cp_wadd(e->weight_div, dw);
    e->residual = e->residual || residual;
    e->inl = e->inl && inl;
}

/* A batch of edge occurrences, in three stages a few occurrences apart, so
 * that the cache misses of one (the callee's cached edge or the table slot,
 * then the edge) are in flight while earlier ones are folded: a big
 * graph's edges and table are tens of megabytes, and looking each up in
 * turn waited for two misses one after the other (a third of `peek .`).
 *  a: the callee's one-entry cache (stacks repeat their prefixes), else
 *     the slot's line is fetched;
 *  b: the slot is read for a candidate edge, whose line is fetched;
 *  c: in order, the occurrence is folded into its edge once per sample,
 *     or the edge found or inserted (a new edge, or a candidate that was
 *     not it) as one at a time would.
 * Only c writes, in the occurrences' order, so the result is the serial
 * one; a and b only guess, and c checks every guess. */
#define PEND_AHEAD 8

static void pend_a(part *pt, pend *q)
{
    const hot *d = &pt->h[q->dst];
    if (d->last_edge != NONE && d->last_src == q->src) {
        q->at = d->last_edge;
        q->hash = 0;
        __builtin_prefetch(&pt->e[q->at], 1);
        return;
    }
    q->at = NONE;
    q->hash = edge_hash(q->src, q->dst);
    if (pt->nslots)
        __builtin_prefetch(&pt->slots[q->hash & (pt->nslots - 1)]);
}

static void pend_b(part *pt, pend *q)
{
    if (!q->hash || !pt->nslots)
        return;
    size_t mask = pt->nslots - 1;
    for (size_t j = q->hash & mask;; j = (j + 1) & mask) {
        uint64_t v = pt->slots[j];
        if (!v)
            return;
        if ((v >> 32) == (q->hash >> 32)) {
            q->at = (uint32_t)v - 1;
            __builtin_prefetch(&pt->e[q->at], 1);
            return;
        }
    }
}

static int pend_c(part *pt, const pend *q)
{
    uint32_t at = q->at;
    bool inserted = false;
    if (at == NONE || pt->e[at].src != q->src || pt->e[at].dst != q->dst) {
        uint64_t hash = q->hash ? q->hash : edge_hash(q->src, q->dst);
        if ((at = etab_find(pt, q->src, q->dst, hash, &inserted)) == NONE)
            return CPROF_ENOMEM;
    }
    hot *d = &pt->h[q->dst];
    d->last_src = q->src;
    d->last_edge = at;
    cp_gedge *e = &pt->e[at];
    if (inserted) {
        if (pt->ticks) {
            if (cp_grow(&pt->first, &pt->fcap, pt->ne, sizeof *pt->first))
                return CPROF_ENOMEM;
            pt->first[at] = q->tick;
        }
        e->weight = q->w;
        e->weight_div = q->dw;
        e->residual = q->residual;
        e->inl = q->inl;
        e->gen = q->gen;
        return 0;
    }
    if (e->gen == q->gen)
        return 0; /* once per sample */
    e->gen = q->gen;
    edge_fold(e, q->w, q->dw, q->residual, q->inl);
    return 0;
}

/* The batch, folded and emptied.  Nonzero on ENOMEM (pt->rc set). */
static int flush_pending(part *pt)
{
    size_t n = pt->npend;
    pend *q = pt->pend;
    pt->npend = 0;
    for (size_t i = 0; i < n + 2 * PEND_AHEAD; i++) {
        if (i < n)
            pend_a(pt, &q[i]);
        if (i >= PEND_AHEAD && i - PEND_AHEAD < n)
            pend_b(pt, &q[i - PEND_AHEAD]);
        if (i >= 2 * PEND_AHEAD && i - 2 * PEND_AHEAD < n &&
            (pt->rc = pend_c(pt, &q[i - 2 * PEND_AHEAD])))
            return pt->rc;
    }
    return 0;
}

/* One kept node of a sample, walked root to leaf: its cum (once per
 * sample) and the edge from the last kept node, queued.  Returns nonzero
 * on ENOMEM (pt->rc set).  EDGES and FILTER are constants of each copy of
 * walk(). */
static inline __attribute__((always_inline)) int visit(part *pt, hot *h, uint32_t n, bool inl,
                                                       bool sums, bool EDGES, bool FILTER,
                                                       int64_t w, int64_t dw, uint32_t gen,
                                                       uint64_t tick, uint32_t *parent,
                                                       bool *residual)
{
    hot *hn = &h[n];
    if (sums && hn->gen != gen) {
        hn->gen = gen;
        hn->cum = cp_wadd(hn->cum, w);
        hn->cum_div = cp_wadd(hn->cum_div, dw);
    }
    uint32_t pa = *parent;
    *parent = n;
    bool res = *residual;
    *residual = false;
    if (!EDGES || pa == NONE || n == pa)
        return 0;
    if (FILTER) {
        const cp_graph *g = pt->g;
        if ((g->edge_nodes && !(g->edge_nodes[n] || (!g->edge_dst_only && g->edge_nodes[pa]))) ||
            (pt->parity >= 0 && (int)(n & 1) != pt->parity))
            return 0;
    }
    pt->pend[pt->npend++] = (pend){.src = pa, .dst = n, .gen = gen, .w = w, .dw = dw,
                                   .tick = tick, .residual = res, .inl = inl};
    return pt->npend == PEND ? flush_pending(pt) : 0;
}

/* The samples [w0, w1): sums for those in [s0, s1), edges if EDGES (only
 * those g->edge_nodes and the parity allow if FILTER). */
static inline __attribute__((always_inline)) void walk(part *pt, bool EDGES, bool FILTER)
{
    const cp_graph *g = pt->g;
    const cp_profile *p = g->p;
    hot *h = pt->h;
    uint32_t gen = 0;
    uint64_t tick = 0;
    const uint32_t *locnodes = g->locnodes, *locoff = g->locoff, *lk = pt->lockept;
    int si = g->sample_index, di = g->div_index;
    for (size_t s = pt->w0; s < pt->w1; s++) {
        const cp_sample *sm = &p->samples[s];
        if (s + 2 < pt->w1) {
            const cp_sample *nx = &p->samples[s + 2];
            for (uint32_t i = 0; i < nx->nlocs; i++)
                __builtin_prefetch(&lk[nx->locs[i]]);
        }
        bool sums = s >= pt->s0 && s < pt->s1;
        int64_t w = sm->values[si], dw = di >= 0 ? sm->values[di] : 0;
        if (w == 0 && dw == 0)
            continue;
        if (++gen == 0) { /* wrapped: fold what is queued, reset stamps */
            if (EDGES && flush_pending(pt))
                return;
            for (size_t i = 0; i < g->nnodes; i++)
                h[i].gen = 0;
            for (size_t i = 0; i < pt->ne; i++)
                pt->e[i].gen = 0;
            gen = 1;
        }
        uint32_t parent = NONE;
        bool residual = false;
        for (uint32_t i = sm->nlocs; i-- > 0;) {
            uint32_t loc = sm->locs[i], k = lk[loc];
            if (k == LK_SKIP) { /* no kept node on this location's lines */
                residual = true;
                continue;
            }
            if (k != LK_MULTI) { /* one line, kept: most frames */
                if (visit(pt, h, k, false, sums, EDGES, FILTER, w, dw, gen, tick++, &parent,
                          &residual))
                    return;
                continue;
            }
            uint32_t off = locoff[loc], cnt = locoff[loc + 1] - off;
            for (uint32_t ni = cnt; ni-- > 0;) {
                uint32_t n = locnodes[off + ni];
                if (!h[n].kept) {
                    residual = true;
                    continue;
                }
                if (visit(pt, h, n, ni != cnt - 1, sums, EDGES, FILTER, w, dw, gen, tick++,
                          &parent, &residual))
                    return;
            }
        }
        if (sums && parent != NONE && !residual) {
            pt->flat[parent] = cp_wadd(pt->flat[parent], w);
            pt->flat_div[parent] = cp_wadd(pt->flat_div[parent], dw);
        }
    }
}

static void *build_part(void *arg)
{
    part *pt = arg;
    int par = pt->parity;
    if (!pt->edges)
        walk(pt, false, false);
    else if (!pt->g->edge_nodes && par < 0)
        walk(pt, true, false);
    else
        walk(pt, true, true);
    if (pt->rc || (pt->edges && flush_pending(pt)))
        return NULL;
    if (par >= 0) { /* split by dst: no lookups follow; shrink before the join */
        free(pt->slots);
        pt->slots = NULL;
        pt->nslots = 0;
        cp_gedge *e = pt->ne ? realloc(pt->e, pt->ne * sizeof *e) : NULL;
        if (e) {
            pt->e = e;
            pt->ecap = pt->ne;
        }
    }
    return NULL;
}

static int part_init(part *pt, cp_graph *g, size_t s0, size_t s1, bool edges)
{
    memset(pt, 0, sizeof *pt);
    pt->g = g;
    pt->s0 = pt->w0 = s0;
    pt->s1 = pt->w1 = s1;
    pt->parity = -1;
    pt->edges = edges;
    size_t n = g->nnodes ? g->nnodes : 1;
    pt->h = cp_prefault_malloc(n * sizeof *pt->h);
    pt->flat = cp_prefault_calloc(n, sizeof *pt->flat);
    pt->flat_div = cp_prefault_calloc(n, sizeof *pt->flat_div);
    pt->pend = edges ? malloc(PEND * sizeof *pt->pend) : NULL;
    if (!pt->h || !pt->flat || !pt->flat_div || (edges && !pt->pend))
        return CPROF_ENOMEM;
    for (size_t i = 0; i < g->nnodes; i++)
        pt->h[i] = (hot){.last_edge = NONE, .kept = g->nodes[i].kept};
    return 0;
}

static void part_free(part *pt)
{
    free(pt->h);
    free(pt->flat);
    free(pt->flat_div);
    free(pt->e);
    free(pt->slots);
    free(pt->first);
    free(pt->pend);
}

/* Fold b's sums and edges into a.  Parts split by dst (disjoint edges):
 * b's edges are appended. */
static int part_merge(part *a, part *b, size_t nnodes)
{
    for (size_t i = 0; i < nnodes; i++) {
        a->h[i].cum = cp_wadd(a->h[i].cum, b->h[i].cum);
        a->h[i].cum_div = cp_wadd(a->h[i].cum_div, b->h[i].cum_div);
        a->flat[i] = cp_wadd(a->flat[i], b->flat[i]);
        a->flat_div[i] = cp_wadd(a->flat_div[i], b->flat_div[i]);
    }
    if (b->parity >= 0) {
        if (b->ne && a->ne + b->ne > a->ecap) { /* exactly: no doubling here */
            cp_gedge *e = realloc(a->e, (a->ne + b->ne) * sizeof *e);
            if (!e)
                return CPROF_ENOMEM;
            a->e = e;
            a->ecap = a->ne + b->ne;
        }
        if (b->ne && a->ticks) {
            /* both lists are in first-met order and disjoint: merged from
             * the back, in place, into the one-thread order */
            size_t i = a->ne, j = b->ne, w = a->ne + b->ne;
            while (j > 0) {
                if (i > 0 && a->first[i - 1] > b->first[j - 1])
                    a->e[--w] = a->e[--i];
                else
                    a->e[--w] = b->e[--j];
            }
        } else if (b->ne)
            memcpy(a->e + a->ne, b->e, b->ne * sizeof *b->e);
        a->ne += b->ne;
        b->ne = 0;
    }
    for (size_t k = 0; k < b->ne; k++) {
        const cp_gedge *be = &b->e[k];
        bool inserted;
        uint32_t at = etab_find(a, be->src, be->dst, edge_hash(be->src, be->dst), &inserted);
        if (at == NONE)
            return CPROF_ENOMEM;
        if (inserted) {
            a->e[at] = *be;
            continue;
        }
        edge_fold(&a->e[at], be->weight, be->weight_div, be->residual, be->inl);
    }
    /* b is spent: its memory goes before the caller moves on */
    free(b->e);
    free(b->slots);
    b->e = NULL;
    b->slots = NULL;
    b->ne = b->ecap = b->nslots = 0;
    return 0;
}

/* Below this many frames one thread is faster than starting a second. */
size_t cp_graph_parallel_frames = 400000;

int cp_graph_build(cp_graph *g, bool all_kept, bool edges)
{
    const cp_profile *p = g->p;
    cp_gnode *nodes = g->nodes;
    for (size_t i = 0; i < g->nnodes; i++)
        if (all_kept)
            nodes[i].kept = true;
    size_t frames = 0, half = p->nsamples;
    for (size_t s = 0; s < p->nsamples; s++)
        frames += p->samples[s].nlocs;
    if (frames >= cp_graph_parallel_frames) { /* split where half the frames are */
        size_t acc = 0;
        for (half = 0; half < p->nsamples && acc < frames / 2; half++)
            acc += p->samples[half].nlocs;
    }
    part pa, pb;
    memset(&pb, 0, sizeof pb);
    /* One load per frame says what a location holds for this build: the
     * walk otherwise chases locoff, locnodes and the node's kept flag, three
     * dependent cache misses, for every frame (most of a trimmed build's
     * frames are in locations with nothing kept). */
    uint32_t *lk = g->nnodes < LK_MULTI ? malloc((p->nlocations + 1) * sizeof *lk) : NULL;
    int rc = part_init(&pa, g, 0, half, edges);
    if (!rc)
        rc = part_init(&pb, g, half, p->nsamples, edges);
    if (!rc && !lk)
        rc = CPROF_ENOMEM;
    if (rc)
        goto out;
    for (size_t l = 0; l < p->nlocations; l++) {
        uint32_t off = g->locoff[l], cnt = g->locoff[l + 1] - off;
        bool any = false;
        for (uint32_t k = 0; k < cnt; k++)
            any = any || nodes[g->locnodes[off + k]].kept;
        lk[l] = !any ? LK_SKIP : cnt == 1 ? g->locnodes[off] : LK_MULTI;
    }
    pa.lockept = pb.lockept = lk;
    /* A kept node's flat and cum do not depend on which other nodes are
     * kept (cum: every sample through it; flat: samples whose leaf it is),
     * so once summed they hold for every later build that keeps it: the
     * trims' rebuilds, which only shrink the kept set, walk for edges
     * alone. */
    bool sums = false;
    size_t nkept = 0;
    for (size_t i = 0; i < g->nnodes; i++) {
        sums = sums || (nodes[i].kept && !nodes[i].summed);
        nkept += nodes[i].kept;
    }
    if (!sums) {
        pa.s0 = pa.s1 = pb.s0 = pb.s1 = 0;
        if (!edges)
            pa.w1 = pb.w1 = 0; /* nothing to walk for */
    }
    if (edges && half < p->nsamples &&
        (g->edge_dst_only ? !g->edge_few : nkept * 2 >= g->nnodes)) {
        /* each thread walks every sample for the edges into its half of
         * the nodes, so the two tables are disjoint and half the size, none
         * is looked up in the other, and each callee's cached edge sees
         * every sample.  Edges whose order matters carry the tick they
         * were first met at (the same on both threads), to be merged into
         * the one-thread order; top's inline marks need no order.  Worth
         * walking every sample twice when most nodes are kept (peek ., a
         * whole graph); a trimmed graph's few edges are cheaper built from
         * halves of the samples. */
        pa.w1 = pb.w1 = p->nsamples;
        pb.w0 = 0;
        pa.parity = 0;
        pb.parity = 1;
        pa.ticks = pb.ticks = !g->edge_dst_only;
    }
    cp_beside b;
    cp_beside_start(&b, half < p->nsamples, build_part, &pb);
    build_part(&pa);
    cp_beside_end(&b);
    if ((rc = pa.rc) || (rc = pb.rc) || (rc = part_merge(&pa, &pb, g->nnodes)))
        goto out;
    /* the edges move into the graph */
    free(g->edges);
    cp_map_free(&g->edge_map);
    g->edges = pa.e;
    g->nedges = pa.ne;
    g->edges_cap = pa.ecap;
    pa.e = NULL;
    pa.ne = pa.ecap = 0;
    g->norder = 0;
    for (size_t i = 0; i < g->nnodes; i++) {
        cp_gnode *n = &nodes[i];
        if (sums || !n->kept) {
            n->cum = pa.h[i].cum;
            n->cum_div = pa.h[i].cum_div;
            n->flat = pa.flat[i];
            n->flat_div = pa.flat_div[i];
            n->summed = n->kept;
        }
        if (!n->kept || (!n->flat && !n->cum))
            continue;
        if (g->drop_negative && (n->flat < 0 || (n->flat == 0 && n->cum < 0)))
            continue;
        g->order[g->norder++] = (uint32_t)i;
    }
out:
    free(lk);
    part_free(&pa);
    part_free(&pb);
    return rc;
}

const char *cp_graph_pname(cp_graph *g, uint32_t idx)
{
    cp_gnode *n = &g->nodes[idx];
    if (n->pname)
        return n->pname;
    cp_buf b = {0};
    const char *sep = "";
    if (n->address) {
        cp_buf_printf(&b, "%016llx", (unsigned long long)n->address);
        sep = " ";
    }
    if (n->name[0]) {
        cp_buf_printf(&b, "%s%s", sep, n->name);
        sep = " ";
    }
    if (n->lineno)
        cp_buf_printf(&b, "%s%s:%lld", sep, n->file, (long long)n->lineno);
    else if (n->file[0])
        cp_buf_printf(&b, "%s%s", sep, n->file);
    else if (n->name[0])
        ;
    else if (n->objfile[0]) {
        const char *base = strrchr(n->objfile, '/');
        base = base && base[1] ? base + 1 : n->objfile;
        cp_buf_printf(&b, "%s[%s]", sep, base);
    } else
        cp_buf_printf(&b, "%s<unknown>", sep);
    n->plen = (uint32_t)b.len;
    cp_buf_putc(&b, 0);
    n->pname = (char *)b.data;
    if (!n->pname)
        n->plen = 0;
    return n->pname ? n->pname : "";
}

int64_t cp_graph_flat_sum(const cp_graph *g)
{
    int64_t s = 0;
    for (size_t i = 0; i < g->norder; i++)
        s = cp_wadd(s, g->nodes[g->order[i]].flat);
    return s;
}

int cp_graph_trim_edges(cp_graph *g, int64_t cutoff)
{
    int dropped = 0;
    /* go trims the in-edges of the graph's nodes only: an edge into a node
     * left out of the list (zero or, with -drop_negative, negative) stays */
    uint8_t *listed = calloc(g->nnodes + 1, 1);
    if (!listed)
        return 0;
    for (size_t i = 0; i < g->norder; i++)
        listed[g->order[i]] = 1;
    for (size_t i = 0; i < g->nedges; i++) {
        cp_gedge *e = &g->edges[i];
        if (!e->dropped && listed[e->dst] && cp_wabs(e->weight) < cutoff) {
            e->dropped = true;
            dropped++;
        }
    }
    free(listed);
    return dropped;
}

/* Restrict g->order to kept nodes.  A kept node's flat and cum do not depend
 * on which other nodes are kept (cum counts the node itself; flat needs the
 * node to be the sample's leaf), so go's rebuild is needed only for edges. */
static void keep_only(cp_graph *g)
{
    size_t w = 0;
    for (size_t i = 0; i < g->norder; i++)
        if (g->nodes[g->order[i]].kept)
            g->order[w++] = g->order[i];
    g->norder = w;
}

int cp_graph_trim(cp_graph *g, double node_fraction, double edge_fraction, int node_count,
                  bool cum_sort, bool edges, cp_trim_result *r)
{
    int rc;
    memset(r, 0, sizeof *r);
    /* The first build's flat sum is the sum over samples with a stack (every
     * leaf is kept then): known up front, so the cutoffs are too, and edges
     * (costly on big profiles) are built only once, for the final node set. */
    int64_t total = 0;
    const cp_profile *p = g->p;
    for (size_t i = 0; i < p->nsamples; i++)
        if (p->samples[i].nlocs)
            total = cp_wadd(total, p->samples[i].values[g->sample_index]);
    int64_t node_cut = cp_wabs(cp_go_f2i((double)total * node_fraction));
    int64_t edge_cut = cp_wabs(cp_go_f2i((double)total * edge_fraction));
    /* with -drop_negative the sum leaves out negative nodes: known only
     * after the build */
    bool edges_now = edges && node_cut == 0 && node_count <= 0 && !g->drop_negative;
    bool rebuilt = false, trimmed = false;
    if ((rc = cp_graph_build(g, true, edges_now)))
        return rc;
    if (g->drop_negative) {
        total = cp_graph_flat_sum(g);
        node_cut = cp_wabs(cp_go_f2i((double)total * node_fraction));
        edge_cut = cp_wabs(cp_go_f2i((double)total * edge_fraction));
    }
    if (node_cut > 0) {
        size_t kept = 0;
        for (size_t i = 0; i < g->nnodes; i++)
            g->nodes[i].kept = false;
        for (size_t i = 0; i < g->norder; i++) {
            cp_gnode *n = &g->nodes[g->order[i]];
            if (cp_wabs(n->cum) >= node_cut) {
                n->kept = true;
                kept++;
            }
        }
        if (kept != g->norder) {
            r->dropped_nodes = (int)(g->norder - kept);
            keep_only(g);
            trimmed = true;
        } else {
            for (size_t i = 0; i < g->nnodes; i++)
                g->nodes[i].kept = true;
        }
    }
    r->orig_count = (int)g->norder;
    cp_graph_sort(g, cum_sort);
    size_t top = node_count > 0 && (size_t)node_count < g->norder ? (size_t)node_count : g->norder;
    bool min_cum = false; /* go's makeNodeSet(top, 0) drops cum == INT64_MIN */
    for (size_t i = 0; node_count > 0 && i < top; i++)
        min_cum = min_cum || g->nodes[g->order[i]].cum == INT64_MIN;
    if (node_count > 0 && (top < g->norder || min_cum)) {
        for (size_t i = 0; i < g->nnodes; i++)
            g->nodes[i].kept = false;
        size_t w = 0;
        for (size_t i = 0; i < top; i++)
            if (g->nodes[g->order[i]].cum != INT64_MIN) {
                g->nodes[g->order[i]].kept = true;
                g->order[w++] = g->order[i];
            }
        g->norder = w; /* already sorted */
        rebuilt = trimmed = true;
    }
    if (edges && !edges_now) {
        /* same kept set, same values: only the edges are new */
        if (!trimmed)
            for (size_t i = 0; i < g->nnodes; i++)
                g->nodes[i].kept = true;
        if ((rc = cp_graph_build(g, !trimmed, true)))
            return rc;
        cp_graph_sort(g, cum_sort);
    }
    r->edge_cut = edge_cut;
    r->dropped_edges = cp_graph_trim_edges(g, edge_cut);
    /* go trims edges once before choosing the top nodes too; without a
     * rebuild the second trim finds nothing left to count */
    if (node_count > 0 && !rebuilt)
        r->dropped_edges = 0;
    return 0;
}
