/* report_dot.c — dot: the call graph as graphviz text, as go tool pprof -dot.
 *
 * What: the legend, one box per node (shortened multi-line name, flat and
 * cum, font size and colour by weight), "nodelets" for the labels seen at a
 * node, and edges (dotted when residual, "(inline)", width and weight by
 * share).  Node choice follows go's visual mode: entropy order, top nodes
 * counted together with their nodelets, redundant residual edges removed
 * (the ordering and the edge removal are in dot_order.c).
 * Data structure: the cp_graph with edges, plus a tag table (node, group,
 * name) → flat/cum filled by a second walk over the samples that mirrors
 * the graph build (cum once per sample per node, flat on the leaf-most kept
 * node).  Alternatives rejected: tags inside every graph build (only dot
 * needs them; top on big profiles would pay for nothing).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/graph.h"
#include "analysis/report.h"
#include "analysis/units.h"
#include "base/buf.h"
#include "base/hashmap.h"
#include "analysis/dot_names.h"
#include "analysis/dot_order.h"

#define NONE UINT32_MAX
#define MAX_NODELETS 4

/* go's int64 arithmetic wraps; so does this (no undefined overflow) */
/* ---- tags ------------------------------------------------------------------ */

typedef struct tag {
    uint32_t node;
    int64_t group; /* strtab id of the joined labels; -1 for a label tag */
    int64_t name;  /* strtab id */
    const char *unit;
    int64_t value;
    int64_t flat, cum, flat_div, cum_div;
    bool dropped;
} tag;

static int64_t tag_flat(const tag *t) { return t->flat_div ? cp_go_div(t->flat, t->flat_div) : t->flat; }
static int64_t tag_cum(const tag *t) { return t->cum_div ? cp_go_div(t->cum, t->cum_div) : t->cum; }

typedef struct tags {
    tag *v;
    size_t n, cap;
    cp_map idx;
    cp_strtab strs;
} tags;

static tag *tag_get(tags *t, uint32_t node, int64_t group, const char *name, const char *unit,
                    int64_t value)
{
    int64_t nid = cp_strtab_add(&t->strs, name);
    uint64_t h = cp_hash_u64(((uint64_t)node << 32) ^ (uint64_t)(group + 2) * 0x9e3779b97f4a7c15ULL ^
                             (uint64_t)nid * 0xc2b2ae3d27d4eb4fULL);
    uint64_t at;
    for (;; h++) {
        if (!cp_map_get(&t->idx, h, &at))
            break;
        tag *x = &t->v[at];
        if (x->node == node && x->group == group && x->name == nid)
            return x;
    }
    if (cp_grow(&t->v, &t->cap, t->n + 1, sizeof *t->v))
        return NULL;
    tag *x = &t->v[t->n];
    memset(x, 0, sizeof *x);
    x->node = node;
    x->group = group;
    x->name = nid;
    x->unit = unit;
    x->value = value;
    cp_map_put(&t->idx, h, t->n++);
    return x;
}

static void tags_free(tags *t)
{
    free(t->v);
    cp_map_free(&t->idx);
    cp_strtab_free(&t->strs);
    memset(t, 0, sizeof *t);
}

static int cmp_cstr(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* graph.joinLabels: sorted "key:value", joined with a literal \n. */
static void join_labels(const cp_profile *p, const cp_sample *s, cp_buf *b)
{
    char **items = malloc(((size_t)s->nlabels + 1) * sizeof *items);
    if (!items)
        return;
    size_t n = 0;
    b->len = 0;
    for (uint32_t k = 0; k < s->nlabels; k++) {
        const cp_label *l = &s->labels[k];
        if (!l->str || !strcmp(cp_str(p, l->key), "pprof::base"))
            continue;
        cp_buf x = {0};
        cp_buf_printf(&x, "%s:%s", cp_str(p, l->key), cp_str(p, l->str));
        cp_buf_putc(&x, 0);
        items[n++] = (char *)x.data;
    }
    qsort(items, n, sizeof *items, cmp_cstr);
    for (size_t i = 0; i < n; i++) {
        cp_buf_printf(b, "%s%s", i ? "\\n" : "", items[i]);
        free(items[i]);
    }
    cp_buf_putc(b, 0);
    b->len--;
    free(items);
}

static void tag_add(tag *x, int64_t w, int64_t dw, bool flat)
{
    if (!x)
        return;
    if (flat) {
        x->flat = cp_wadd(x->flat, w);
        x->flat_div = cp_wadd(x->flat_div, dw);
    } else {
        x->cum = cp_wadd(x->cum, w);
        x->cum_div = cp_wadd(x->cum_div, dw);
    }
}

static void add_sample_tags(tags *t, uint32_t node, int64_t w, int64_t dw, bool flat,
                            const char *labels,
                            int64_t group, const cp_profile *p, const cp_sample *s,
                            const char *bytes_unit, const char *out_unit)
{
    if (*labels) {
        tag *x = tag_get(t, node, -1, labels, "", 0);
        tag_add(x, w, dw, flat);
    }
    for (uint32_t k = 0; k < s->nlabels; k++) {
        const cp_label *l = &s->labels[k];
        if (l->str || !(l->num || l->num_unit) || strcmp(cp_str(p, l->key), "bytes"))
            continue;
        char name[64];
        cp_units_label(name, sizeof name, l->num, bytes_unit, out_unit);
        tag *x = tag_get(t, node, group, name, bytes_unit, l->num);
        tag_add(x, w, dw, flat);
    }
}

static void collect_tags(cp_graph *g, tags *t, const char *out_unit)
{
    const cp_profile *p = g->p;
    tags_free(t);
    cp_strtab_add(&t->strs, "");
    uint32_t *stamp = calloc(g->nnodes + 1, sizeof *stamp);
    if (!stamp)
        return;
    int64_t bytes_key = -1;
    for (size_t i = 0; i < p->nstrings && bytes_key < 0; i++)
        if (!strcmp(p->strings[i], "bytes"))
            bytes_key = (int64_t)i;
    const char *bytes_unit = bytes_key >= 0 ? cp_prep_num_label_unit(p, bytes_key) : "bytes";
    cp_buf lb = {0};
    uint32_t gen = 0;
    for (size_t si = 0; si < p->nsamples; si++) {
        const cp_sample *s = &p->samples[si];
        int64_t w = s->values[g->sample_index];
        int64_t dw = g->div_index >= 0 ? s->values[g->div_index] : 0;
        if ((w == 0 && dw == 0) || s->nlabels == 0)
            continue; /* no labels: no tags (the walk below was a quarter of dot) */
        gen++;
        join_labels(p, s, &lb);
        const char *labels = lb.data ? (const char *)lb.data : "";
        int64_t group = cp_strtab_add(&t->strs, labels);
        uint32_t parent = NONE;
        bool residual = false;
        for (uint32_t i = s->nlocs; i-- > 0;) {
            uint32_t off = g->locoff[s->locs[i]], cnt = g->locoff[s->locs[i] + 1] - off;
            for (uint32_t ni = cnt; ni-- > 0;) {
                uint32_t n = g->locnodes[off + ni];
                if (!g->nodes[n].kept) {
                    residual = true;
                    continue;
                }
                if (stamp[n] != gen) {
                    stamp[n] = gen;
                    add_sample_tags(t, n, w, dw, false, labels, group, p, s, bytes_unit, out_unit);
                }
                parent = n;
                residual = false;
            }
        }
        if (parent != NONE && !residual)
            add_sample_tags(t, parent, w, dw, true, labels, group, p, s, bytes_unit, out_unit);
    }
    cp_buf_free(&lb);
    free(stamp);
}

static void trim_tags(tags *t, int64_t cutoff)
{
    for (size_t i = 0; i < t->n; i++)
        if (cp_wabs(t->v[i].flat) < cutoff && cp_wabs(t->v[i].cum) < cutoff)
            t->v[i].dropped = true;
}

static int count_tags(const tags *t, uint32_t node)
{
    int c = 0;
    for (size_t i = 0; i < t->n; i++)
        if (t->v[i].node == node && !t->v[i].dropped && t->v[i].flat != 0)
            c++;
    return c;
}

/* ---- trimming in visual mode ------------------------------------------------- */

typedef struct dot_graph {
    cp_graph g;
    tags t;
    int orig_count, dropped_nodes, dropped_edges;
} dot_graph;

static int dot_trim(cp_report *r, dot_graph *d)
{
    cp_graph *g = &d->g;
    int rc;
    /* Node values do not depend on edges: the first build, which only
     * decides which nodes survive the cut, skips them, so edges are built
     * once for the nodes kept (the full edge set of a large profile is
     * most of go's and was most of our memory). */
    bool cut_possible = r->node_fraction != 0;
    if ((rc = cp_graph_build(g, true, !cut_possible)))
        return rc;
    int64_t total = cp_graph_flat_sum(g);
    int64_t node_cut = cp_wabs(cp_go_f2i((double)total * r->node_fraction));
    int64_t edge_cut = cp_wabs(cp_go_f2i((double)total * r->edge_fraction));
    bool have_edges = !cut_possible;
    if (node_cut > 0) {
        size_t kept = 0;
        for (size_t i = 0; i < g->nnodes; i++)
            g->nodes[i].kept = false;
        for (size_t i = 0; i < g->norder; i++)
            if (cp_wabs(g->nodes[g->order[i]].cum) >= node_cut) {
                g->nodes[g->order[i]].kept = true;
                kept++;
            }
        if (kept != g->norder) {
            d->dropped_nodes = (int)(g->norder - kept);
            if ((rc = cp_graph_build(g, false, true)))
                return rc;
            have_edges = true;
        } else
            for (size_t i = 0; i < g->nnodes; i++)
                g->nodes[i].kept = true;
    }
    if (!have_edges && (rc = cp_graph_build(g, true, true)))
        return rc;
    d->orig_count = (int)g->norder;
    if ((rc = cp_dot_entropy_sort(g)))
        return rc;
    bool rebuilt = false;
    if (r->node_count > 0) {
        collect_tags(g, &d->t, r->output_unit);
        trim_tags(&d->t, node_cut);
        cp_graph_trim_edges(g, edge_cut);
        size_t max = (size_t)r->node_count;
        int count = 0;
        for (size_t i = 0; i < g->norder; i++) {
            int tc = count_tags(&d->t, g->order[i]);
            if (tc > MAX_NODELETS)
                tc = MAX_NODELETS;
            if ((count += tc + 1) >= r->node_count) {
                max = i + 1;
                break;
            }
        }
        if (max > g->norder)
            max = g->norder;
        /* go's makeNodeSet(top, 0) also drops a node whose cum is
         * INT64_MIN (its cp_wabs stays negative) */
        bool min_cum = false;
        for (size_t i = 0; i < max; i++)
            min_cum = min_cum || g->nodes[g->order[i]].cum == INT64_MIN;
        if (max < g->norder || min_cum) {
            for (size_t i = 0; i < g->nnodes; i++)
                g->nodes[i].kept = false;
            for (size_t i = 0; i < max; i++)
                g->nodes[g->order[i]].kept = g->nodes[g->order[i]].cum != INT64_MIN;
            if ((rc = cp_graph_build(g, false, true)) || (rc = cp_dot_entropy_sort(g)))
                return rc;
            rebuilt = true;
        }
    }
    if (r->node_count <= 0 || rebuilt)
        collect_tags(g, &d->t, r->output_unit);
    trim_tags(&d->t, node_cut);
    d->dropped_edges = cp_graph_trim_edges(g, edge_cut);
    if (r->node_count > 0 && !rebuilt)
        d->dropped_edges = 0;
    return cp_dot_remove_redundant_edges(g);
}

/* ---- output --------------------------------------------------------------------- */

static int cmp_tag_sort(const tag *a, const tag *b, bool flat, const tags *t)
{
    if (!flat && a->cum != b->cum && cp_wabs(a->cum) != cp_wabs(b->cum))
        return cp_wabs(a->cum) > cp_wabs(b->cum) ? -1 : 1;
    if (a->flat != b->flat && cp_wabs(a->flat) != cp_wabs(b->flat))
        return cp_wabs(a->flat) > cp_wabs(b->flat) ? -1 : 1;
    return strcmp(t->strs.strs[a->name], t->strs.strs[b->name]);
}

typedef struct tag_sort_ctx {
    const tags *t;
    bool flat;
} tag_sort_ctx;

static int cmp_tag_idx(const void *pa, const void *pb, void *c)
{
    tag_sort_ctx *x = c;
    return cmp_tag_sort(*(tag *const *)pa, *(tag *const *)pb, x->flat, x->t);
}

static void sort_tags(tag **v, size_t n, bool flat, const tags *t)
{
    tag_sort_ctx c = {t, flat};
    qsort_r(v, n, sizeof *v, cmp_tag_idx, &c);
}

static double tag_distance(const tag *t, const tag *u)
{
    const char *unit;
    double v = cp_units_scale(u->value, u->unit, t->unit, &unit);
    return v < (double)t->value ? (double)t->value - v : v - (double)t->value;
}

/* A label value inside a quoted dot string.  go prints it raw, and
 * `cprof dot` does too (byte for byte); a value with a quote then breaks
 * the graph, so for svg/png (r->dot_quote_labels) quotes are escaped and
 * a final backslash doubled (it would escape the closing quote). */
static void put_label(const cp_report *r, FILE *out, const char *s)
{
    if (!r->dot_quote_labels) {
        fputs(s, out);
        return;
    }
    for (; *s; s++) {
        if (*s == '"' || (*s == '\\' && !s[1]))
            fputc('\\', out);
        fputc(*s, out);
    }
}

/* Returns whether anything was printed. */
static bool numeric_nodelets(cp_report *r, FILE *out, tags *t, tag **nts, size_t n, bool flat_tags,
                             const char *source)
{
    bool printed = false;
    sort_tags(nts, n, flat_tags, t);
    tag groups[MAX_NODELETS];
    char names[MAX_NODELETS][160];
    tag *shown[MAX_NODELETS];
    size_t ng = n;
    if (n > MAX_NODELETS) {
        /* collapsedTags: the first four seed groups, the rest join the nearest */
        tag *gmin[MAX_NODELETS], *gmax[MAX_NODELETS];
        size_t gcount[MAX_NODELETS];
        for (size_t i = 0; i < MAX_NODELETS; i++) {
            groups[i] = *nts[i];
            gmin[i] = gmax[i] = nts[i];
            gcount[i] = 1;
        }
        for (size_t k = MAX_NODELETS; k < n; k++) {
            size_t gi = 0;
            double dist = tag_distance(nts[k], nts[0]);
            for (size_t i = 1; i < MAX_NODELETS; i++) {
                double nd = tag_distance(nts[k], nts[i]);
                if (nd < dist) {
                    gi = i;
                    dist = nd;
                }
            }
            const char *u;
            if ((int64_t)cp_units_scale(nts[k]->value, nts[k]->unit, gmin[gi]->unit, &u) <
                gmin[gi]->value)
                gmin[gi] = nts[k];
            if ((int64_t)cp_units_scale(nts[k]->value, nts[k]->unit, gmax[gi]->unit, &u) >
                gmax[gi]->value)
                gmax[gi] = nts[k];
            groups[gi].flat = cp_wadd(groups[gi].flat, nts[k]->flat);
            groups[gi].cum = cp_wadd(groups[gi].cum, nts[k]->cum);
            groups[gi].flat_div = cp_wadd(groups[gi].flat_div, nts[k]->flat_div);
            groups[gi].cum_div = cp_wadd(groups[gi].cum_div, nts[k]->cum_div);
            gcount[gi]++;
        }
        for (size_t i = 0; i < MAX_NODELETS; i++) {
            char a[64], b[64];
            cp_units_label(a, sizeof a, gmin[i]->value, gmin[i]->unit, "auto");
            if (gcount[i] == 1)
                snprintf(names[i], sizeof names[i], "%s", a);
            else {
                cp_units_label(b, sizeof b, gmax[i]->value, gmax[i]->unit, "auto");
                snprintf(names[i], sizeof names[i], "%s..%s", a, b);
            }
            groups[i].name = cp_strtab_add(&t->strs, names[i]);
            /* go's collapsed tags carry the means, undivided from then on */
            groups[i].flat = tag_flat(&groups[i]);
            groups[i].cum = tag_cum(&groups[i]);
            groups[i].flat_div = groups[i].cum_div = 0;
            shown[i] = &groups[i];
        }
        ng = MAX_NODELETS;
        sort_tags(shown, ng, flat_tags, t);
    } else {
        for (size_t i = 0; i < n; i++)
            shown[i] = nts[i];
    }
    for (size_t j = 0; j < ng; j++) {
        const tag *x = shown[j];
        int64_t w = tag_cum(x);
        const char *attr = " style=\"dotted\"";
        if (flat_tags || tag_flat(x) == tag_cum(x)) {
            w = tag_flat(x);
            attr = "";
        }
        if (w == 0)
            continue;
        char wv[64];
        cp_report_value(r, wv, sizeof wv, w);
        const char *name = t->strs.strs[x->name];
        fprintf(out, "N%s_%zu [label = \"", source, j);
        put_label(r, out, name);
        fprintf(out, "\" id=\"N%s_%zu\" fontsize=8 shape=box3d tooltip=\"%s\"]\n", source, j, wv);
        fprintf(out, "%s -> N%s_%zu [label=\" %s\" weight=100 tooltip=\"%s\" labeltooltip=\"%s\"%s]\n",
                source, source, j, wv, wv, wv, attr);
        printed = true;
    }
    return printed;
}

static bool nodelets(cp_report *r, FILE *out, dot_graph *d, uint32_t ni, uint32_t id)
{
    tags *t = &d->t;
    cp_graph *g = &d->g;
    tag **ts = NULL, **nts = NULL;
    size_t nt = 0, nn = 0;
    ts = malloc((t->n + 1) * sizeof *ts);
    nts = malloc((t->n + 1) * sizeof *nts);
    if (!ts || !nts) {
        free(ts);
        free(nts);
        return false;
    }
    for (size_t i = 0; i < t->n; i++)
        if (t->v[i].node == ni && !t->v[i].dropped && t->v[i].group == -1)
            ts[nt++] = &t->v[i];
    bool flat_tags = g->nodes[ni].nout > 0;
    sort_tags(ts, nt, flat_tags, t);
    if (nt > MAX_NODELETS)
        nt = MAX_NODELETS;
    bool any = false;
    char src[64];
    for (size_t i = 0; i < nt; i++) {
        int64_t w = flat_tags ? tag_flat(ts[i]) : tag_cum(ts[i]);
        if (w == 0)
            continue;
        char wv[64];
        cp_report_value(r, wv, sizeof wv, w);
        const char *name = t->strs.strs[ts[i]->name];
        fprintf(out, "N%u_%zu [label = \"", id, i);
        put_label(r, out, name);
        fprintf(out, "\" id=\"N%u_%zu\" fontsize=8 shape=box3d tooltip=\"%s\"]\n", id, i, wv);
        fprintf(out, "N%u -> N%u_%zu [label=\" %s\" weight=100 tooltip=\"%s\" labeltooltip=\"%s\"]\n", id,
                id, i, wv, wv, wv);
        any = true;
        int64_t group = cp_strtab_add(&t->strs, name);
        nn = 0;
        for (size_t k = 0; k < t->n; k++)
            if (t->v[k].node == ni && !t->v[k].dropped && t->v[k].group == group)
                nts[nn++] = &t->v[k];
        if (nn) {
            snprintf(src, sizeof src, "N%u_%zu", id, i);
            numeric_nodelets(r, out, t, nts, nn, flat_tags, src);
        }
    }
    nn = 0;
    for (size_t k = 0; k < t->n; k++)
        if (t->v[k].node == ni && !t->v[k].dropped && t->v[k].group == 0)
            nts[nn++] = &t->v[k];
    if (nn) {
        snprintf(src, sizeof src, "N%u", id);
        if (numeric_nodelets(r, out, t, nts, nn, flat_tags, src))
            any = true;
    }
    free(ts);
    free(nts);
    return any;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* The graph's name: the main mapping's base name, or NULL. */
static const char *dot_title(const cp_report *r, char *buf, size_t n)
{
    if (!r->p->nmappings || !*cp_str(r->p, r->p->mappings[0].filename))
        return NULL;
    const char *f = cp_str(r->p, r->p->mappings[0].filename);
    const char *b = strrchr(f, '/');
    snprintf(buf, n, "%s", b && b[1] ? b + 1 : f);
    return buf;
}

/* The graph's opening and its legend box: the profile's labels and the
 * "Showing…" lines, full headers; the first line names the box. */
static int dot_legend(cp_report *r, dot_graph *d, FILE *out)
{
    char *labels = NULL;
    size_t len = 0;
    FILE *lf = open_memstream(&labels, &len);
    if (!lf)
        return CPROF_ENOMEM;
    cp_trim_result tr = {d->orig_count, d->dropped_nodes, d->dropped_edges};
    cp_report_labels(r, &d->g, &tr, true, lf);
    fclose(lf);
    char tbuf[512] = "";
    const char *title = dot_title(r, tbuf, sizeof tbuf);
    fprintf(out, "digraph \"%s\" {\n", title ? title : "unnamed");
    fprintf(out, "node [style=filled fillcolor=\"#f8f8f8\"]\n");
    cp_buf first = {0}, all_l = {0};
    if (len && labels[len - 1] == '\n')
        labels[--len] = 0;
    char *nl = strchr(labels, '\n');
    char *fl = strndup(labels, nl ? (size_t)(nl - labels) : len);
    cp_dot_escape(&first, fl ? fl : "");
    free(fl);
    /* lines are joined by \l; a line break inside one (the "See…" line
     * starts with one) escapes to \l as well */
    cp_dot_escape(&all_l, labels);
    cp_buf_putc(&first, 0);
    cp_buf_putc(&all_l, 0);
    fprintf(out, "subgraph cluster_L { \"%s\" [shape=box fontsize=16 label=\"%s\\l\"",
            (char *)first.data, (char *)all_l.data);
    if (title)
        fprintf(out, " tooltip=\"%s\"", title);
    fprintf(out, "] }\n");
    cp_buf_free(&first);
    cp_buf_free(&all_l);
    free(labels);
    return 0;
}

/* " (P%)" after a value in a node's label: the share without padding. */
static void dot_share(cp_report *r, cp_buf *lb, const char *value, int64_t v)
{
    char pc[32];
    cp_units_percentage(pc, sizeof pc, v, r->total);
    const char *p = pc;
    while (*p == ' ')
        p++;
    cp_buf_printf(lb, "%s (%s)", value, p);
}

/* One node: its label (name, flat and cum), font size by flat against
 * the largest flat, colours by cum. */
static void dot_node(cp_report *r, FILE *out, cp_graph *g, uint32_t ni, uint32_t id,
                     double max_flat)
{
    const cp_gnode *n = &g->nodes[ni];
    int64_t flat = cp_gnode_flat(n), cum = cp_gnode_cum(n);
    cp_buf lb = {0};
    cp_dot_node_label(n, &lb);
    char fv[64], cv[64];
    cp_report_value(r, fv, sizeof fv, flat);
    if (flat != 0)
        dot_share(r, &lb, fv, flat);
    else
        cp_buf_printf(&lb, "0");
    snprintf(cv, sizeof cv, "%s", fv);
    if (cum != flat) {
        cp_buf_printf(&lb, flat != 0 ? "\\n" : " ");
        cp_report_value(r, cv, sizeof cv, cum);
        cp_buf_printf(&lb, "of ");
        dot_share(r, &lb, cv, cum);
    }
    cp_buf_putc(&lb, 0);
    int font = 8;
    if (max_flat != 0 && flat != 0 && (double)cp_wabs(flat) <= max_flat)
        font += (int)ceil(16.0 * sqrt((double)cp_wabs(flat) / max_flat));
    cp_buf tt = {0};
    cp_dot_escape(&tt, cp_graph_pname(g, ni));
    cp_buf_putc(&tt, 0);
    char c1[16], c2[16];
    double sc = (double)cum / (double)cp_wabs(r->total);
    cp_dot_color(c1, sizeof c1, sc, false);
    cp_dot_color(c2, sizeof c2, sc, true);
    fprintf(out,
            "N%u [label=\"%s\" id=\"node%u\" fontsize=%d shape=box tooltip=\"%s (%s)\" "
            "color=\"%s\" fillcolor=\"%s\"]\n",
            id, (char *)lb.data, id, font, (char *)tt.data, cv, c1, c2);
    cp_buf_free(&lb);
    cp_buf_free(&tt);
}

/* One edge: weight and pen width by its share of the total.  An edge into
 * a node left out (-drop_negative) shows as N0, as in go. */
static void dot_edge(cp_report *r, FILE *out, cp_graph *g, const cp_gedge *e,
                     const uint32_t *ids, const bool *has_nodelets)
{
    int64_t ew = cp_gedge_weight(e);
    char wv[64], attr[1024], col[16];
    cp_report_value(r, wv, sizeof wv, ew);
    int off = snprintf(attr, sizeof attr, "label=\" %s%s\"", wv, e->inl ? "\\n (inline)" : "");
    if (r->total != 0) {
        int64_t x = cp_wabs(cp_go_div(cp_wmul(ew, 100), r->total));
        int weight = 1 + (int)(x < 100 ? x : 100);
        if (weight > 1)
            off += snprintf(attr + off, sizeof attr - (size_t)off, " weight=%d", weight);
        x = cp_wabs(cp_go_div(cp_wmul(ew, 5), r->total));
        int width = 1 + (int)(x < 5 ? x : 5);
        if (width > 1)
            off += snprintf(attr + off, sizeof attr - (size_t)off, " penwidth=%d", width);
        cp_dot_color(col, sizeof col, (double)ew / (double)cp_wabs(r->total), false);
        off += snprintf(attr + off, sizeof attr - (size_t)off, " color=\"%s\"", col);
    }
    cp_buf tt = {0};
    cp_buf_putc(&tt, '"');
    cp_dot_escape(&tt, cp_graph_pname(g, e->src));
    cp_buf_printf(&tt, " %s ", e->residual ? "..." : "->");
    cp_dot_escape(&tt, cp_graph_pname(g, e->dst));
    cp_buf_printf(&tt, " (%s)\"", wv);
    cp_buf_putc(&tt, 0);
    fprintf(out, "N%u -> N%u [%s tooltip=%s labeltooltip=%s%s%s]\n", ids[e->src], ids[e->dst],
            attr, (char *)tt.data, (char *)tt.data, e->residual ? " style=\"dotted\"" : "",
            has_nodelets[e->src] ? " minlen=2" : "");
    cp_buf_free(&tt);
}

/* Every edge of the kept nodes once, in go's edge order; the count. */
static size_t dot_edge_order(cp_graph *g, uint32_t *all)
{
    size_t nall = 0;
    for (size_t i = 0; i < g->norder; i++) {
        const cp_gnode *n = &g->nodes[g->order[i]];
        for (uint32_t k = 0; k < n->nout; k++)
            all[nall++] = g->adj[n->out_off + k];
    }
    qsort(all, nall, sizeof *all, cmp_u32);
    size_t w = 0;
    for (size_t i = 0; i < nall; i++)
        if (!w || all[w - 1] != all[i])
            all[w++] = all[i];
    cp_graph_sort_edges(g, all, w);
    return w;
}

int cp_report_dot(cp_report *r, FILE *out)
{
    dot_graph d;
    memset(&d, 0, sizeof d);
    cp_graph_opts go = cp_report_graph_opts(r);
    int rc = cp_graph_new(&d.g, r->p, &go);
    if (rc)
        return rc;
    cp_graph *g = &d.g;
    uint32_t *ids = NULL, *all = NULL;
    bool *has_nodelets = NULL;
    if ((rc = dot_trim(r, &d)))
        goto out;
    cp_report_select_unit(r, g);
    if ((rc = dot_legend(r, &d, out)))
        goto out;
    if (g->norder == 0) {
        fprintf(out, "}\n");
        goto out;
    }
    ids = calloc(g->nnodes + 1, sizeof *ids);
    has_nodelets = calloc(g->nnodes + 1, sizeof *has_nodelets);
    all = malloc((g->nedges + 1) * sizeof *all);
    if (!ids || !has_nodelets || !all) {
        rc = CPROF_ENOMEM;
        goto out;
    }
    double max_flat = (double)cp_wabs(cp_gnode_flat(&g->nodes[g->order[0]]));
    for (size_t i = 0; i < g->norder; i++) {
        ids[g->order[i]] = (uint32_t)i + 1;
        if ((double)cp_wabs(cp_gnode_flat(&g->nodes[g->order[i]])) > max_flat)
            max_flat = (double)cp_wabs(cp_gnode_flat(&g->nodes[g->order[i]]));
    }
    for (size_t i = 0; i < g->norder; i++) {
        uint32_t ni = g->order[i];
        dot_node(r, out, g, ni, ids[ni], max_flat);
        has_nodelets[ni] = nodelets(r, out, &d, ni, ids[ni]);
    }
    size_t nall = dot_edge_order(g, all);
    for (size_t i = 0; i < nall; i++)
        dot_edge(r, out, g, &g->edges[all[i]], ids, has_nodelets);
    fprintf(out, "}\n");
out:
    free(ids);
    free(all);
    free(has_nodelets);
    tags_free(&d.t);
    cp_graph_free(g);
    return rc;
}
