/* report.c — top and tree/peek: go tool pprof's graph-based text reports.
 *
 * What: the header lines (File, Type, Time, Duration, Showing nodes…,
 * Dropped…, Showing top…), the output unit chosen from the smallest and
 * largest figures, and the rows.  Data structure: a cp_graph trimmed as
 * report.newTrimmedGraph does; rows are formatted straight to the FILE.
 * Alternatives rejected: building lines in memory and joining (no need:
 * every line's content is known when it is written).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/graph.h"
#include "analysis/report.h"
#include "analysis/units.h"

void cp_report_value(cp_report *r, char *buf, size_t n, int64_t v)
{
    if (r->ratio > 0 && r->ratio != 1)
        v = cp_go_f2i((double)v * r->ratio);
    cp_units_label(buf, n, v, r->sample_unit, r->output_unit);
}

void cp_report_profile_labels(cp_report *r, FILE *out)
{
    cp_profile *p = r->p;
    if (p->nmappings) {
        const char *f = cp_str(p, p->mappings[0].filename);
        if (*f) {
            const char *b = strrchr(f, '/');
            /* filepath.Base: strip trailing slashes first */
            size_t len = strlen(f);
            while (len > 1 && f[len - 1] == '/')
                len--;
            b = NULL;
            for (size_t i = 0; i < len; i++)
                if (f[i] == '/')
                    b = f + i;
            b = b ? b + 1 : f;
            fprintf(out, "File: %.*s\n", (int)(f + len - b), b);
        }
        const char *bid = cp_str(p, p->mappings[0].build_id);
        if (*bid)
            fprintf(out, "Build ID: %s\n", bid);
    }
    for (size_t i = 0; i < p->ncomments; i++) {
        const char *c = cp_str(p, p->comments[i]);
        if (c[0] != '#')
            fprintf(out, "%s\n", c);
    }
    if (r->sample_type && *r->sample_type)
        fprintf(out, "Type: %s\n", r->sample_type);
    if (p->time_nanos) {
        char t[128];
        cp_units_header_time(t, sizeof t, p->time_nanos);
        fprintf(out, "Time: %s\n", t);
    }
    if (p->duration_nanos) {
        char d[64], tot[64], ratio[64] = "";
        cp_units_label(d, sizeof d, p->duration_nanos, "nanoseconds", "auto");
        const char *u;
        double ns = cp_units_scale(r->total, r->sample_unit, "nanoseconds", &u);
        if (!strcmp(u, "ns") && ns != 0) {
            char pc[32];
            cp_units_percentage(pc, sizeof pc, (int64_t)ns, p->duration_nanos);
            snprintf(ratio, sizeof ratio, "(%s)", pc);
        }
        cp_report_value(r, tot, sizeof tot, r->total);
        fprintf(out, "Duration: %s, Total samples = %s %s\n", d, tot, ratio);
    }
}

cp_graph_opts cp_report_graph_opts(const cp_report *r)
{
    cp_graph_opts go = {.sample_index = r->sample_index, .div_index = r->div_index,
                        .trim_paths = true, .trim_path = r->trim_path,
                        .source_path = r->source_path, .drop_negative = r->drop_negative};
    return go;
}

void cp_report_select_unit(cp_report *r, cp_graph *g)
{
    if (strcmp(r->output_unit, "minimum") || g->norder == 0)
        return;
    int64_t minv = 0;
    for (size_t i = 0; i < g->norder; i++) {
        const cp_gnode *n = &g->nodes[g->order[i]];
        int64_t m = cp_wabs(cp_gnode_flat(n));
        if (m == 0)
            m = cp_wabs(cp_gnode_cum(n));
        if (m > 0 && (minv == 0 || m < minv))
            minv = m;
    }
    int64_t maxv = r->total;
    if (minv == 0)
        minv = maxv;
    if (r->ratio > 0 && r->ratio != 1) {
        minv = cp_go_f2i((double)minv * r->ratio);
        maxv = cp_go_f2i((double)maxv * r->ratio);
    }
    const char *minu, *maxu, *unit;
    cp_units_scale(minv, r->sample_unit, "minimum", &minu);
    cp_units_scale(maxv, r->sample_unit, "minimum", &maxu);
    unit = minu;
    if (strcmp(minu, maxu) && cp_wmul(minv, 100) < maxv)
        cp_units_scale(cp_wmul(minv, 100), r->sample_unit, "minimum", &unit);
    snprintf(r->output_unit, sizeof r->output_unit, "%s", *unit ? unit : r->sample_unit);
}

void cp_report_labels(cp_report *r, cp_graph *g, const cp_trim_result *t, bool full, FILE *out)
{
    if (full || !r->compact_labels)
        cp_report_profile_labels(r, out);
    if (r->nfilters) {
        fprintf(out, "Active filters:\n");
        for (size_t i = 0; i < r->nfilters; i++) {
            const char *s = r->filters[i];
            /* Go cuts at 80 bytes and adds an ellipsis */
            if (strlen(s) > 80)
                fprintf(out, "   %.80s\xe2\x80\xa6\n", s);
            else
                fprintf(out, "   %s\n", s);
        }
    }
    int64_t flat_sum = 0;
    for (size_t i = 0; i < g->norder; i++)
        flat_sum = cp_wadd(flat_sum, cp_gnode_flat(&g->nodes[g->order[i]]));
    char a[64], b[64], pc[32];
    cp_report_value(r, a, sizeof a, flat_sum);
    cp_report_value(r, b, sizeof b, r->total);
    cp_units_percentage(pc, sizeof pc, flat_sum, r->total);
    const char *pcs = pc;
    while (*pcs == ' ')
        pcs++;
    fprintf(out, "Showing nodes accounting for %s, %s of %s total\n", a, pcs, b);
    if (r->total != 0) {
        if (t->dropped_nodes > 0) {
            cp_report_value(r, a, sizeof a,
                            cp_wabs(cp_go_f2i((double)r->total * r->node_fraction)));
            fprintf(out, "Dropped %d node%s (cum <= %s)\n", t->dropped_nodes,
                    t->dropped_nodes > 1 ? "s" : "", a);
        }
        if (t->dropped_edges > 0) {
            cp_report_value(r, a, sizeof a,
                            cp_wabs(cp_go_f2i((double)r->total * r->edge_fraction)));
            fprintf(out, "Dropped %d edge%s (freq <= %s)\n", t->dropped_edges,
                    t->dropped_edges > 1 ? "s" : "", a);
        }
        if (g->norder > 0 && (int)g->norder < t->orig_count)
            fprintf(out, "Showing top %zu nodes out of %d\n", g->norder, t->orig_count);
    }
    if (full)
        fprintf(out, "\nSee https://git.io/JfYMW for how to read the graph\n");
}

/* top shows edges only as a node's "(inline)" (every kept in-edge is an
 * inlined call) or "(partial-inline)" (some are) mark, and needs for that
 * one kept inline and one kept other in-edge per listed node at most.  A
 * big graph has millions of edges (3M into the listed nodes for -base of
 * two 150k-stack profiles): they are built in rounds, each for a share of
 * the callees (both threads walking every sample, each for half of the
 * share), and only the representatives are kept.  Two rounds once the
 * frames that can add such an edge reach cp_report_round_frames: each
 * round walks every frame, so more rounds cost time in proportion to the
 * profile (five rounds made -base at 500k stacks 3x slower), while two
 * keep the table at half of the edges, which grows with the profile as
 * go's memory does.  The first round splits the callees between the two
 * threads (disjoint tables, each walking every frame); when it made fewer
 * than cp_report_few_edges, the next rounds split the samples instead
 * (each thread walks half the frames and holds a table of all the round's
 * edges): top at 500k stacks makes 185k edges a round, -base of two 150k
 * profiles 1.5M.  Edges into nodes
 * without inlined lines are all non-inline: those nodes print no mark and
 * are skipped.  The kept set, values and order stay cp_graph_trim's. */
size_t cp_report_round_frames = 8u << 20;
uint32_t cp_report_max_rounds = 2;
size_t cp_report_few_edges = 512u << 10;

static int inline_edges(cp_report *r, cp_graph *g, const cp_trim_result *t)
{
    const cp_profile *p = r->p;
    size_t nn = g->nnodes, frames = 0, nkeep = 0, cap = 0;
    uint8_t *inl_dst = calloc(nn + 1, 1), *have = calloc(nn + 1, 1), *share = calloc(nn + 1, 1);
    cp_gedge *keep = NULL;
    int rc = CPROF_ENOMEM;
    if (!inl_dst || !have || !share)
        goto out;
    for (size_t l = 0; l < p->nlocations; l++)
        for (uint32_t k = g->locoff[l]; k + 1 < g->locoff[l + 1]; k++)
            inl_dst[g->locnodes[k]] = 1;
    for (size_t i = 0; i < g->norder; i++) /* listed (cp_graph_trim_edges) */
        have[g->order[i]] |= 4;
    for (size_t i = 0; i < nn; i++)
        inl_dst[i] = inl_dst[i] && g->nodes[i].kept;
    /* the frames that can add such an edge bound the edges: the rounds
     * (each a walk over every sample) are for big edge sets only — a
     * trimmed top of a big profile has few */
    for (size_t i = 0; i < p->nsamples; i++)
        for (uint32_t k = 0; k < p->samples[i].nlocs; k++) {
            uint32_t l = p->samples[i].locs[k];
            for (uint32_t j = g->locoff[l]; j < g->locoff[l + 1]; j++)
                frames += inl_dst[g->locnodes[j]];
        }
    size_t want = 1 + frames / (cp_report_round_frames ? cp_report_round_frames : 1);
    uint32_t rounds = want < cp_report_max_rounds ? (uint32_t)want : cp_report_max_rounds;
    if (rounds == 0)
        rounds = 1;
    g->edge_nodes = share;
    g->edge_dst_only = true;
    rc = 0;
    for (uint32_t rd = 0; rd < rounds && !rc; rd++) {
        /* this round's callees: a mark per node, no division per frame */
        for (size_t i = 0; i < nn; i++)
            share[i] = inl_dst[i] && (i >> 1) % rounds == rd;
        free(g->edges); /* the last round's: not alongside the next one's */
        g->edges = NULL;
        g->nedges = g->edges_cap = 0;
        if ((rc = cp_graph_build(g, false, true)))
            break;
        g->edge_few = g->nedges < cp_report_few_edges;
        for (size_t i = 0; i < g->nedges; i++) {
            const cp_gedge *e = &g->edges[i];
            uint8_t bit = e->inl ? 1 : 2;
            if (!(have[e->dst] & 4) || (have[e->dst] & bit) || cp_wabs(e->weight) < t->edge_cut)
                continue; /* not printed, already represented, or dropped */
            if (cp_grow(&keep, &cap, nkeep + 1, sizeof *keep)) {
                rc = CPROF_ENOMEM;
                break;
            }
            keep[nkeep++] = *e;
            have[e->dst] |= bit;
        }
    }
    g->edge_nodes = NULL;
    g->edge_dst_only = g->edge_few = false;
    if (rc)
        goto out;
    free(g->edges);
    g->edges = keep;
    g->nedges = nkeep;
    g->edges_cap = cap;
    keep = NULL;
    cp_graph_sort(g, r->cum_sort); /* each build left the order unsorted */
out:
    free(inl_dst);
    free(share);
    free(have);
    free(keep);
    return rc;
}

int cp_report_top(cp_report *r, FILE *out)
{
    cp_graph g;
    cp_graph_opts go = cp_report_graph_opts(r);
    int rc = cp_graph_new(&g, r->p, &go);
    if (rc)
        return rc;
    cp_trim_result t;
    if ((rc = cp_graph_trim(&g, r->node_fraction, r->edge_fraction, r->node_count, r->cum_sort,
                            false, &t)) ||
        (g.has_inline && (rc = inline_edges(r, &g, &t))) || (rc = cp_graph_link(&g)))
        goto out;
    cp_report_select_unit(r, &g);
    t.dropped_edges = 0; /* text reports never mention dropped edges */
    cp_report_labels(r, &g, &t, false, out);
    fprintf(out, "%10s %5s%% %5s%% %10s %5s%%\n", "flat", "flat", "sum", "cum", "cum");
    int64_t flat_sum = 0;
    for (size_t i = 0; i < g.norder; i++) {
        uint32_t ni = g.order[i];
        const cp_gnode *n = &g.nodes[ni];
        bool inl = false, noinl = false;
        for (uint32_t k = 0; k < n->nin; k++) {
            if (g.edges[g.adj[n->in_off + k]].inl)
                inl = true;
            else
                noinl = true;
        }
        int64_t flat = cp_gnode_flat(n), cum = cp_gnode_cum(n);
        flat_sum = cp_wadd(flat_sum, flat);
        char fv[64], cv[64], fp[32], sp[32], cp[32];
        cp_report_value(r, fv, sizeof fv, flat);
        cp_report_value(r, cv, sizeof cv, cum);
        cp_units_percentage(fp, sizeof fp, flat, r->total);
        cp_units_percentage(sp, sizeof sp, flat_sum, r->total);
        cp_units_percentage(cp, sizeof cp, cum, r->total);
        fprintf(out, "%10s %s %s %10s %s  %s%s\n", fv, fp, sp, cv, cp, cp_graph_pname(&g, ni),
                inl ? (noinl ? " (partial-inline)" : " (inline)") : "");
    }
out:
    cp_graph_free(&g);
    return rc;
}
