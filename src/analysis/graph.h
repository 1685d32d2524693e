/* graph.h — the call graph behind top, tree, peek and dot.
 *
 * Contract: cp_graph_new indexes a profile once (location → nodes, one node
 * per distinct (name, file, line, address, object) the way go tool pprof's
 * graph.NodeInfo does); cp_graph_build then accumulates flat/cum values and,
 * optionally, caller→callee edges, restricted to a set of kept nodes, as
 * often as trimming needs.  The profile must outlive the graph and must not
 * change between cp_graph_new and the last build.  No allocation per
 * sample: cum is counted once per sample with a generation stamp per node.
 * Not thread-safe.
 */
#ifndef CP_ANALYSIS_GRAPH_H
#define CP_ANALYSIS_GRAPH_H

#include <stdbool.h>
#include <stdint.h>

#include "base/hashmap.h"
#include "profile/profile.h"

typedef struct cp_gnode {
    /* identity (go tool pprof's NodeInfo) */
    const char *name, *file, *objfile;
    uint64_t address;
    int64_t start_line, lineno;
    /* values of the last build */
    int64_t flat, cum;
    int64_t flat_div, cum_div; /* -mean: sums of the divisor value */
    bool kept;        /* part of the kept set of the last build */
    bool summed;      /* flat and cum above are this node's own (a build
                       * kept it); builds keeping only summed nodes reuse them */
    char *pname;      /* printable name, computed once */
    uint32_t plen;    /* strlen(pname), set with it */
    uint32_t in_off, nin, out_off, nout; /* into cp_graph.adj, after cp_graph_link */
} cp_gnode;

typedef struct cp_gedge {
    uint32_t src, dst; /* caller, callee */
    int64_t weight, weight_div;
    bool residual, inl, dropped;
    uint32_t gen;
} cp_gedge;

/* An entry of a node's edge list as tree and peek print it: the node at
 * the other end, the inline flag, and the weight (cp_gadj_weight).  key
 * orders the entries: see cp_graph_sort_ready. */
typedef struct cp_gadj {
    uint64_t key;
    uint32_t other;
    bool neg, inl; /* neg: the weight is below zero */
} cp_gadj;

typedef struct cp_graph {
    const cp_profile *p;
    int sample_index, div_index;
    cp_gnode *nodes;
    size_t nnodes;
    uint32_t *locnodes;  /* concatenated node index per line, UINT32_MAX = none */
    uint32_t *locoff;    /* nlocations+1 offsets into locnodes */
    uint32_t *order;     /* the graph's nodes (non-zero), sorted by cp_graph_sort */
    size_t norder;
    cp_gedge *edges;
    size_t nedges, edges_cap;
    cp_map edge_map;     /* (src<<32|dst) → edge index */
    uint32_t *adj;       /* edge indices grouped by node: ins then outs */
    cp_gadj *adjent;     /* the same lists as entries, instead of adj
                          * (cp_graph_sort_ready), until the next link */
    int64_t *wabs;       /* with adjent: the distinct |weights|, largest first */
    unsigned wshift;     /* with adjent: key >> wshift indexes wabs */
    cp_arena arena;      /* names and cleaned file names */
    uint32_t *rank;      /* per node: order of its printable name (equal names,
                          * equal ranks), so edge sorts compare integers;
                          * made by the first big edge sort */
    void *sortbuf;       /* scratch keys of the edge sorts */
    size_t sortcap;
    bool has_inline;     /* some location has several lines (inlined calls) */
    bool drop_negative;
    /* NULL: builds make every edge; else only edges with an end marked
     * here (peek shows only the edges of the nodes it matches) */
    const uint8_t *edge_nodes;
    /* with edge_nodes: only edges INTO a marked node (top's inline marks
     * read in-edges only), in no particular order (not first-seen) */
    bool edge_dst_only;
    /* with edge_dst_only: the edges are known to be few (an earlier round
     * had few), so the two threads split the samples, not the callees:
     * each walks half the frames, and each holds a table of them all */
    bool edge_few;
} cp_graph;

typedef struct cp_graph_opts {
    int sample_index;
    int div_index;    /* -mean: sample value that divides (go: the first), -1 = none */
    bool obj_names;   /* always record the mapping file (raw, list) */
    bool trim_paths;  /* go's report.trimPath on file names (graph reports) */
    const char *trim_path, *source_path; /* -trim_path, -source_path; NULL = none */
    bool drop_negative; /* leave nodes with negative flat (or zero flat, negative cum) out */
} cp_graph_opts;

int cp_graph_new(cp_graph *g, const cp_profile *p, const cp_graph_opts *o);

/* go's FlatValue/CumValue/WeightValue: the mean when a divisor is in use. */
static inline int64_t cp_gnode_flat(const cp_gnode *n)
{
    return n->flat_div ? cp_go_div(n->flat, n->flat_div) : n->flat;
}
static inline int64_t cp_gnode_cum(const cp_gnode *n)
{
    return n->cum_div ? cp_go_div(n->cum, n->cum_div) : n->cum;
}
static inline int64_t cp_gedge_weight(const cp_gedge *e)
{
    return e->weight_div ? cp_go_div(e->weight, e->weight_div) : e->weight;
}
void cp_graph_free(cp_graph *g);

/* Recompute values; nodes with kept==false act as absent (edges through
 * them become residual).  all_kept=true ignores the flags.  Fills g->order
 * with nodes whose flat or cum is non-zero (unsorted). */
/* Profiles with at least this many frames are built on two threads (the
 * result is identical to one thread's); tests lower it.  */
extern size_t cp_graph_parallel_frames;
int cp_graph_build(cp_graph *g, bool all_kept, bool edges);
/* Sort g->order: by |flat| (cum=false) or |cum| (cum=true), ties by name. */
void cp_graph_sort(cp_graph *g, bool cum);
/* Sum of flat over g->order. */
int64_t cp_graph_flat_sum(const cp_graph *g);
/* Mark edges under |weight| < cutoff dropped; returns how many. */
int cp_graph_trim_edges(cp_graph *g, int64_t cutoff);
/* Group non-dropped edges per node (in/out lists) for printing. */
int cp_graph_link(cp_graph *g);

/* go's last tie-break between two nodes: their whole info strings
 * (name, address, file, start line, line, object) compared as text. */
int cp_graph_info_cmp(const cp_gnode *a, const cp_gnode *b);
/* Sorted in/out edge lists of a node: weight desc, then names.  Returns count;
 * *out points into an internal buffer valid until the next call. */
size_t cp_graph_edges_sorted(cp_graph *g, uint32_t node, bool in, uint32_t **out);
/* For sorting on several threads: cp_graph_sort_ready (0 or CPROF_ENOMEM)
 * links the graph (as cp_graph_link) and makes every printable name, and
 * for a graph with many edges the name ranks and, instead of adj, every
 * list's entries (g->adjent), each keyed by one word: the rank of its
 * |weight| among the distinct ones, the name rank of the other end, the
 * edge's index.  Then cp_graph_adj_sorted_r sorts a node's in- or
 * out-list (*out, *cnt long; go's edge order, as cp_graph_edges_sorted;
 * 0 or CPROF_ENOMEM) with the caller's scratch (*buf with room for *cap,
 * grown by cp_grow; the caller frees it) and only reads the graph
 * otherwise, so threads may sort the lists of different nodes at once;
 * nor do the entries send the printer back to the edges. */
int cp_graph_sort_ready(cp_graph *g);
/* "Many edges": more than 4 per node and this many more; and the edges
 * from which the entries are made on two threads.  Tests lower both. */
extern size_t cp_graph_rank_edges, cp_graph_parallel_entries;
int cp_graph_adj_sorted_r(cp_graph *g, uint32_t node, bool in, const cp_gadj **out, size_t *cnt,
                          void **buf, size_t *cap);
static inline int64_t cp_gadj_weight(const cp_graph *g, const cp_gadj *a)
{
    if (!g->wabs) /* no one-word keys: the key is the edge's index */
        return g->edges[a->key].weight;
    uint64_t w = (uint64_t)g->wabs[a->key >> g->wshift];
    return (int64_t)(a->neg ? 0 - w : w);
}

const char *cp_graph_pname(cp_graph *g, uint32_t node);
/* Sort edge indices in go's edge order (weight, then names). */
void cp_graph_sort_edges(cp_graph *g, uint32_t *v, size_t n);
/* go tool pprof's default trimming (report.newTrimmedGraph without call
 * tree): fills *orig_count and *dropped_nodes, leaves g->order sorted. */
typedef struct cp_trim_result {
    int orig_count, dropped_nodes, dropped_edges;
    int64_t edge_cut; /* edges under this |weight| into listed nodes are dropped */
} cp_trim_result;
int cp_graph_trim(cp_graph *g, double node_fraction, double edge_fraction, int node_count,
                  bool cum_sort, bool edges, cp_trim_result *r);

/* report.trimPath: the suffix of path go shows and searches for, given
 * -trim_path and the source search path (both ':'-separated lists). */
const char *cp_graph_trim_path(const char *path, const char *trim_path, const char *search_path);

/* filepath.Clean of Go, into a's memory. */
char *cp_graph_clean_path(cp_arena *a, const char *path);

#endif
