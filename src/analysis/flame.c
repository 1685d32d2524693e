/* flame.c — merge a profile's stacks into the flame graph's tree, as JSON.
 *
 * What: each sample's frames, root first (inline frames expanded as the
 * graph does), are inserted into a prefix tree whose node is (parent,
 * graph node); values add up along the path, so a node's value is its cum
 * in that calling context.  Frames below o->min_fraction of the total are
 * pruned with their subtrees (a 1500-pixel-wide graph cannot draw a frame
 * worth less than a pixel, and the file stays small: a 150k-stack profile
 * has ~1.5M tree nodes but only tens of thousands a pixel wide).
 * Data structure: nodes in flat arrays, a cp_map from (parent<<32|gnode)
 * to the child, first-child/next-sibling links; children are written
 * sorted by name, preorder, each as [func, nchildren, value(, base)], with
 * one function table (name, file) for the graph nodes actually written.
 * Traversal is iterative (stacks may be thousands of frames deep).
 * Alternatives rejected: nested JSON objects per frame (three times the
 * bytes and a slower JSON.parse), sending the samples and merging in
 * JavaScript (150k stacks × 40 frames is too much to ship and to merge
 * before the first paint).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/flame.h"
#include "analysis/graph.h"
#include "analysis/prep.h"
#include "base/hashmap.h"

#define NONE UINT32_MAX

typedef struct tree {
    uint32_t *gnode, *first, *next;
    int64_t *val, *base;
    size_t n, cap;
    cp_map kids;
} tree;

static int tree_grow(tree *t)
{
    if (t->n < t->cap)
        return 0;
    size_t c = t->cap ? t->cap * 2 : 4096;
    void *a = realloc(t->gnode, c * sizeof *t->gnode), *b = NULL, *d = NULL, *e = NULL,
         *f = NULL;
    if (a)
        t->gnode = a;
    if (a && (b = realloc(t->first, c * sizeof *t->first)))
        t->first = b;
    if (b && (d = realloc(t->next, c * sizeof *t->next)))
        t->next = d;
    if (d && (e = realloc(t->val, c * sizeof *t->val)))
        t->val = e;
    if (e && (f = realloc(t->base, c * sizeof *t->base)))
        t->base = f;
    if (!f)
        return CPROF_ENOMEM;
    t->cap = c;
    return 0;
}

/* The child of parent for graph node g, created when absent; NONE on ENOMEM. */
static uint32_t tree_child(tree *t, uint32_t parent, uint32_t g)
{
    bool ins;
    uint64_t *slot = cp_map_slot(&t->kids, (uint64_t)parent << 32 | g, t->n, &ins);
    if (!slot)
        return NONE;
    if (!ins)
        return (uint32_t)*slot;
    if (tree_grow(t))
        return NONE;
    uint32_t id = (uint32_t)t->n++;
    t->gnode[id] = g;
    t->first[id] = NONE;
    t->next[id] = t->first[parent];
    t->first[parent] = id;
    t->val[id] = t->base[id] = 0;
    return id;
}

void cp_flame_json_string(FILE *out, const char *s)
{
    fputc('"', out);
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        switch (*c) {
        case '"': fputs("\\\"", out); break;
        case '\\': fputs("\\\\", out); break;
        case '\n': fputs("\\n", out); break;
        case '<': fputs("\\u003c", out); break;
        case '>': fputs("\\u003e", out); break;
        case '&': fputs("\\u0026", out); break;
        default:
            if (*c < 0x20 || *c == 0x7f)
                fprintf(out, "\\u%04x", *c);
            else if (*c == 0xe2 && c[1] == 0x80 && (c[2] == 0xa8 || c[2] == 0xa9)) {
                fprintf(out, "\\u%s", c[2] == 0xa8 ? "2028" : "2029"); /* JS line ends */
                c += 2;
            } else
                fputc(*c, out);
        }
    }
    fputc('"', out);
}

/* qsort context: children are ordered by printable name. */
static cp_graph *sort_graph;
static const tree *sort_tree;
static int cmp_child(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    int c = strcmp(cp_graph_pname(sort_graph, sort_tree->gnode[x]),
                   cp_graph_pname(sort_graph, sort_tree->gnode[y]));
    return c ? c : (x > y) - (x < y);
}

/* The call tree of the samples through the graph's nodes (inlined frames
 * apart), base samples (-diff) summed apart.  0 or CPROF_ENOMEM. */
static int build_tree(const cp_report *r, const cp_flame_opts *o, const cp_graph *g, tree *t)
{
    const cp_profile *p = r->p;
    if (tree_grow(t))
        return CPROF_ENOMEM;
    t->n = 1; /* the root */
    t->gnode[0] = NONE;
    t->first[0] = t->next[0] = NONE;
    t->val[0] = t->base[0] = 0;
    for (size_t i = 0; i < p->nsamples; i++) {
        const cp_sample *s = &p->samples[i];
        int64_t w = s->values[r->sample_index];
        if (!w)
            continue;
        bool base = o->diff && cp_prep_is_diff_base(p, s);
        if (base)
            w = -w; /* -base subtracted it: the base's own value */
        uint32_t at = 0;
        (base ? t->base : t->val)[0] += w;
        for (uint32_t k = s->nlocs; k-- > 0;) {
            uint32_t off = g->locoff[s->locs[k]], cnt = g->locoff[s->locs[k] + 1] - off;
            for (uint32_t li = cnt; li-- > 0;) {
                uint32_t gn = g->locnodes[off + li];
                if (gn == NONE)
                    continue;
                if ((at = tree_child(t, at, gn)) == NONE)
                    return CPROF_ENOMEM;
                (base ? t->base : t->val)[at] += w;
            }
        }
    }
    cp_map_free(&t->kids); /* built: the rest walks the links */
    return 0;
}

/* The preorder of the nodes kept (|value| >= cut on either side), the
 * kept children relinked in name order.  The count in order. */
static size_t preorder(cp_graph *g, tree *t, int64_t cut, uint32_t *order, uint32_t *stack,
                       uint32_t *kids)
{
    size_t norder = 0, sp = 0;
    stack[sp++] = 0;
    sort_graph = g;
    sort_tree = t;
    while (sp) {
        uint32_t id = stack[--sp];
        order[norder++] = id;
        size_t nk = 0;
        for (uint32_t c = t->first[id]; c != NONE; c = t->next[c]) {
            if (cp_wabs(t->val[c]) >= cut || cp_wabs(t->base[c]) >= cut)
                kids[nk++] = c;
        }
        qsort(kids, nk, sizeof *kids, cmp_child);
        t->first[id] = nk ? kids[0] : NONE;
        for (size_t k = 0; k < nk; k++) {
            t->next[kids[k]] = k + 1 < nk ? kids[k + 1] : NONE;
            stack[sp++] = kids[nk - 1 - k];
        }
    }
    return norder;
}

/* The "names" and "files" arrays: the functions in order of first use. */
static void write_functions(FILE *out, cp_graph *g, const uint32_t *funcs, size_t nfuncs)
{
    fputs(",\"names\":[", out);
    for (size_t i = 0; i < nfuncs; i++) {
        if (i)
            fputc(',', out);
        /* by function (and file): the bare name, the file goes apart */
        const cp_gnode *n = &g->nodes[funcs[i]];
        bool bare = n->name && *n->name && !n->lineno && !n->address;
        cp_flame_json_string(out, bare ? n->name : cp_graph_pname(g, funcs[i]));
    }
    fputs("],\"files\":[", out);
    for (size_t i = 0; i < nfuncs; i++) {
        if (i)
            fputc(',', out);
        const cp_gnode *n = &g->nodes[funcs[i]];
        cp_flame_json_string(out, n->file ? n->file : "");
    }
    fputc(']', out);
}

int cp_flame_json(cp_report *r, const cp_flame_opts *o, FILE *out, cp_flame_stats *st)
{
    cp_graph g;
    cp_graph_opts go = cp_report_graph_opts(r);
    go.div_index = -1;
    int rc = cp_graph_new(&g, r->p, &go);
    if (rc)
        return rc;
    tree t = {0};
    uint32_t *order = NULL, *stack = NULL, *kids = NULL, *fmap = NULL, *funcs = NULL;
    size_t nfuncs = 0;
    memset(st, 0, sizeof *st);
    rc = CPROF_ENOMEM;
    if (build_tree(r, o, &g, &t))
        goto out;
    int64_t total = cp_wabs(t.val[0]) > cp_wabs(t.base[0]) ? cp_wabs(t.val[0]) : cp_wabs(t.base[0]);
    order = malloc(t.n * sizeof *order);
    stack = malloc(t.n * sizeof *stack);
    kids = malloc(t.n * sizeof *kids);
    fmap = malloc((g.nnodes + 1) * sizeof *fmap);
    funcs = malloc((g.nnodes + 1) * sizeof *funcs);
    if (!order || !stack || !kids || !fmap || !funcs)
        goto out;
    size_t norder = preorder(&g, &t, (int64_t)((double)total * o->min_fraction), order, stack,
                             kids);
    st->nodes = norder;
    st->hidden = t.n - norder;
    /* the function table: graph nodes in order of first use */
    for (size_t i = 0; i < g.nnodes + 1; i++)
        fmap[i] = NONE;
    for (size_t i = 1; i < norder; i++) {
        uint32_t gn = t.gnode[order[i]];
        if (fmap[gn] == NONE) {
            fmap[gn] = (uint32_t)nfuncs;
            funcs[nfuncs++] = gn;
        }
    }
    fputs("{\"version\":1,\"title\":", out);
    cp_flame_json_string(out, o->title ? o->title : "");
    fputs(",\"type\":", out);
    cp_flame_json_string(out, r->sample_type ? r->sample_type : "");
    fputs(",\"unit\":", out);
    cp_flame_json_string(out, r->sample_unit ? r->sample_unit : "");
    fprintf(out, ",\"diff\":%s,\"total\":%" PRId64 ",\"btotal\":%" PRId64 ",\"hidden\":%zu",
            o->diff ? "true" : "false", t.val[0], t.base[0], st->hidden);
    write_functions(out, &g, funcs, nfuncs);
    fputs(",\"nodes\":[", out);
    for (size_t i = 0; i < norder; i++) {
        uint32_t id = order[i], nk = 0;
        for (uint32_t c = t.first[id]; c != NONE; c = t.next[c])
            nk++;
        long fn = id == 0 ? -1 : (long)fmap[t.gnode[id]];
        fprintf(out, "%s%ld,%" PRIu32 ",%" PRId64, i ? "," : "", fn, nk, t.val[id]);
        if (o->diff)
            fprintf(out, ",%" PRId64, t.base[id]);
    }
    fputs("]}", out);
    rc = ferror(out) ? CPROF_EIO : 0;
out:
    free(order);
    free(stack);
    free(kids);
    free(fmap);
    free(funcs);
    free(t.gnode);
    free(t.first);
    free(t.next);
    free(t.val);
    free(t.base);
    cp_map_free(&t.kids);
    cp_graph_free(&g);
    return rc;
}
