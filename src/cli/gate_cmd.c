/* gate_cmd.c — `cprof gate`: a CI regression gate on profiles.
 *
 * What: `cprof gate [flags] BASE… -- NEW…` (or `BASE NEW…`) pools the base
 * profiles and the new ones, sums each function's sample counts and values
 * (flat by default, -cum for every function on the stack), and flags the
 * functions that grew beyond -threshold and beyond sampling noise at
 * -alpha (analysis/gate.h has the test).  Exit 0: no regression, 1: a
 * regression (each named), 2: usage or unreadable input.  Output: a table
 * of the top regressions and improvements, text or Markdown.
 * Data structure: function names interned (base/hashmap.h cp_strtab), each
 * name index pointing at its row.
 * Alternatives rejected: going through the report pipeline's graph (it
 * trims and merges nodes for display; the gate needs every function's raw
 * counts), one profile a side only (CI runs the benchmark several times).
 */
#include <math.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/gate.h"
#include "analysis/prep.h"
#include "analysis/rx.h"
#include "analysis/units.h"
#include "base/buf.h"
#include "base/hashmap.h"
#include "cli/commands.h"
#include "cli/fetch.h"
#include "cli/report_io.h"
#include "cprof.h"
#include "profile/profile.h"

#define MAXP 256

typedef struct gopts {
    double threshold, alpha;
    const char *focus, *sample_index, *format;
    bool normalize, cum;
    long rows;
    const char *srcs[2][MAXP];
    size_t nsrcs[2];
} gopts;

typedef struct table {
    cp_gate_row *rows;
    size_t n, cap;
    cp_strtab names;  /* the functions' names, interned (rows point at them) */
    uint32_t *row_of; /* name index -> row + 1, 0 while the name has no row */
    size_t row_of_cap;
} table;

static const char usage_text[] =
    "usage: cprof gate [-threshold=PCT] [-alpha=A] [-focus=RX] [-sample_index=NAME|N]\n"
    "                  [-normalize] [-cum] [-rows=N] [-format=text|markdown]\n"
    "                  BASE NEW...  |  BASE... -- NEW...\n";
#define usage(...) cp_cli_usage_err("cprof gate", usage_text, __VA_ARGS__)

static cp_gate_row *row_for(table *t, const char *name)
{
    int64_t id = cp_strtab_add(&t->names, name);
    if (id < 0)
        return NULL;
    size_t had = t->row_of_cap;
    if (cp_grow(&t->row_of, &t->row_of_cap, (size_t)id + 1, sizeof *t->row_of))
        return NULL;
    memset(t->row_of + had, 0, (t->row_of_cap - had) * sizeof *t->row_of);
    if (t->row_of[id])
        return &t->rows[t->row_of[id] - 1];
    if (cp_grow(&t->rows, &t->cap, t->n + 1, sizeof *t->rows))
        return NULL;
    cp_gate_row *r = &t->rows[t->n];
    memset(r, 0, sizeof *r);
    r->name = t->names.strs[id];
    t->row_of[id] = (uint32_t)++t->n;
    return r;
}

/* The value column: -sample_index by name or number, else the profile's
 * default type, else the last (go's choice). */
static int value_index(const cp_profile *p, const char *want)
{
    if (p->nsample_types == 0)
        return -1;
    if (want && *want) {
        char *end;
        long v = strtol(want, &end, 10);
        if (!*end)
            return v >= 0 && (size_t)v < p->nsample_types ? (int)v : -1;
        return cp_profile_sample_index(p, want);
    }
    if (p->default_sample_type) {
        int i = cp_profile_sample_index(p, cp_str(p, p->default_sample_type));
        if (i >= 0)
            return i;
    }
    return (int)p->nsample_types - 1;
}

/* The column that counts events: the value column itself when its unit is
 * "count", else a "samples"-named count column (CPU), else -1 (the value
 * divided by the period, or the value itself, stands in). */
static int count_index(const cp_profile *p, int vi)
{
    if (!strcmp(cp_str(p, p->sample_types[vi].unit), "count"))
        return vi;
    for (size_t i = 0; i < p->nsample_types; i++)
        if (!strcmp(cp_str(p, p->sample_types[i].unit), "count") &&
            !strcmp(cp_str(p, p->sample_types[i].type), "samples"))
            return (int)i;
    return -1;
}

static const char *frame_name(const cp_profile *p, const cp_location *l, size_t li, char *buf,
                              size_t n)
{
    if (li < l->nlines && l->lines[li].func != CP_NO_FUNCTION &&
        *cp_str(p, p->functions[l->lines[li].func].name))
        return cp_str(p, p->functions[l->lines[li].func].name);
    snprintf(buf, n, "0x%llx", (unsigned long long)l->address);
    return buf;
}

/* The sample's frames, leaf first, as names into out (at most max). */
static size_t frames(const cp_profile *p, const cp_sample *sm, const char **out, size_t max,
                     char (*bufs)[40])
{
    size_t n = 0;
    for (size_t k = 0; k < sm->nlocs && n < max; k++) {
        const cp_location *l = &p->locations[sm->locs[k]];
        size_t nl = l->nlines ? l->nlines : 1;
        for (size_t li = 0; li < nl && n < max; li++, n++)
            out[n] = frame_name(p, l, li, bufs[n], sizeof bufs[n]);
    }
    return n;
}

#define MAXF 1024 /* frames looked at per sample (cum: deeper ones are not counted) */

/* Add one profile's samples to the table, side 0 (base) or 1 (new).
 * totals[0] += counts, totals[1] += values (before -focus, as pprof's
 * -normalize). */
static int add_profile(table *t, const cp_profile *p, int side, const gopts *o, regex_t *focus,
                       double totals[2], const char *path)
{
    int vi = value_index(p, o->sample_index);
    if (vi < 0) {
        fprintf(stderr, "cprof gate: %s: no sample type %s\n", path,
                o->sample_index ? o->sample_index : "(the profile has none)");
        return 2;
    }
    int ci = count_index(p, vi);
    double per_count = 1;
    if (ci < 0 && p->period > 0 &&
        !strcmp(cp_str(p, p->period_type.unit), cp_str(p, p->sample_types[vi].unit)))
        per_count = (double)p->period;
    static const char *names[MAXF];
    static char bufs[MAXF][40];
    for (size_t s = 0; s < p->nsamples; s++) {
        const cp_sample *sm = &p->samples[s];
        double v = (double)sm->values[vi];
        double c = ci >= 0 ? (double)sm->values[ci] : v / per_count;
        totals[0] += c;
        totals[1] += v;
        if (sm->nlocs == 0 || (v == 0 && c == 0))
            continue;
        size_t nf = frames(p, sm, names, o->cum ? MAXF : 1, bufs);
        if (focus) {
            size_t all = o->cum ? nf : frames(p, sm, names, MAXF, bufs);
            bool hit = false;
            for (size_t k = 0; k < all && !hit; k++)
                hit = !regexec(focus, names[k], 0, NULL, 0);
            if (!hit)
                continue;
        }
        for (size_t k = 0; k < nf; k++) {
            bool seen = false; /* recursion: each function once a sample */
            for (size_t j = 0; j < k && !seen; j++)
                seen = !strcmp(names[j], names[k]);
            if (seen)
                continue;
            cp_gate_row *r = row_for(t, names[k]);
            if (!r) {
                fputs("cprof gate: out of memory\n", stderr);
                return 1;
            }
            if (side) {
                r->new_count += c;
                r->new_value += v;
            } else {
                r->base_count += c;
                r->base_value += v;
            }
        }
    }
    return 0;
}

static double value_moved(const cp_gate_row *r, double vratio)
{
    return r->new_value - r->base_value * vratio;
}

static double g_vratio;
static int by_moved_desc(const void *a, const void *b)
{
    double x = value_moved(a, g_vratio), y = value_moved(b, g_vratio);
    return x < y ? 1 : x > y ? -1 : strcmp(((const cp_gate_row *)a)->name,
                                           ((const cp_gate_row *)b)->name);
}

static void fmt_growth(char *b, size_t n, double g)
{
    if (isinf(g))
        snprintf(b, n, "new");
    else
        snprintf(b, n, "%+.1f%%", 100 * g);
}

static void put_name(FILE *f, const char *s, bool md)
{
    for (; *s; s++) {
        if (md && (*s == '|' || *s == '\\' || *s == '*' || *s == '_' || *s == '`' || *s == '<'))
            fputc('\\', f);
        fputc(*s, f);
    }
}

/* One table: rows[from..to) in order, the first `max` of them. */
static void print_table(FILE *f, const char *title, cp_gate_row **rows, size_t n, long max,
                        bool md, const char *unit, double cut, bool up)
{
    if (n == 0)
        return;
    if (md)
        fprintf(f, "\n#### %s\n\n| function | base | new | growth | p-value | verdict |\n"
                   "|---|---:|---:|---:|---:|---|\n",
                title);
    else
        fprintf(f, "\n%s:\n%10s %10s %9s %9s  %-15s %s\n", title, "base", "new", "growth",
                "p-value", "verdict", "function");
    for (size_t i = 0; i < n && (long)i < max; i++) {
        const cp_gate_row *r = rows[i];
        char b[64], nw[64], g[32];
        cp_units_label(b, sizeof b, (int64_t)llround(r->base_value), unit, "auto");
        cp_units_label(nw, sizeof nw, (int64_t)llround(r->new_value), unit, "auto");
        fmt_growth(g, sizeof g, r->growth);
        double pv = up ? r->p_up : r->p_down;
        const char *verdict = up ? (r->regressed ? "REGRESSION" : pv < cut ? "below threshold" : "noise")
                                 : (r->improved ? "improved" : pv < cut ? "below threshold" : "noise");
        if (md) {
            fputs("| ", f);
            put_name(f, r->name, true);
            fprintf(f, " | %s | %s | %s | %.2g | %s%s%s |\n", b, nw, g, pv,
                    r->regressed ? "**" : "", verdict, r->regressed ? "**" : "");
        } else {
            fprintf(f, "%10s %10s %9s %9.2g  %-15s ", b, nw, g, pv, verdict);
            put_name(f, r->name, false);
            fputc('\n', f);
        }
    }
}

static int parse_args(int argc, char **argv, gopts *o)
{
    int side = 0;
    bool dashdash = false;
    for (int i = 1; i < argc; i++) {
        char *a = argv[i];
        if (!strcmp(a, "--")) {
            if (dashdash)
                return usage("%s given twice", "--");
            dashdash = true;
            side = 1;
            continue;
        }
        if (a[0] != '-' || !a[1]) {
            if (o->nsrcs[side] == MAXP)
                return usage("more than %s profiles on one side", "256");
            o->srcs[side][o->nsrcs[side]++] = a;
            continue;
        }
        char key[64];
        const char *val;
        if (cp_cli_split_flag(a, key, sizeof key, &val))
            return usage("unknown flag %s", a);
        bool takes = !strcmp(key, "threshold") || !strcmp(key, "alpha") ||
                     !strcmp(key, "focus") || !strcmp(key, "sample_index") ||
                     !strcmp(key, "format") || !strcmp(key, "rows");
        if (takes && !val) {
            if (i + 1 >= argc)
                return usage("flag needs a value: %s", a);
            val = argv[++i];
        }
        char *end;
        if (!strcmp(key, "threshold")) {
            o->threshold = strtod(val, &end) / 100;
            if (end == val || (*end && strcmp(end, "%")) || !(o->threshold >= 0) ||
                o->threshold > 100)
                return usage("invalid -threshold (a percentage, e.g. 5): %s", val);
        } else if (!strcmp(key, "alpha")) {
            o->alpha = strtod(val, &end);
            if (end == val || *end || !(o->alpha > 0 && o->alpha < 1))
                return usage("invalid -alpha (between 0 and 1, e.g. 0.01): %s", val);
        } else if (!strcmp(key, "rows")) {
            o->rows = strtol(val, &end, 10);
            if (end == val || *end || o->rows < 0)
                return usage("invalid -rows: %s", val);
        } else if (!strcmp(key, "focus")) {
            o->focus = val;
        } else if (!strcmp(key, "sample_index")) {
            o->sample_index = val;
        } else if (!strcmp(key, "format")) {
            if (strcmp(val, "text") && strcmp(val, "markdown"))
                return usage("invalid -format (text or markdown): %s", val);
            o->format = val;
        } else if (!strcmp(key, "normalize") && (!val || !strcmp(val, "true"))) {
            o->normalize = true;
        } else if (!strcmp(key, "cum") && (!val || !strcmp(val, "true"))) {
            o->cum = true;
        } else if (!strcmp(key, "flat") && (!val || !strcmp(val, "true"))) {
            o->cum = false;
        } else if (!strcmp(key, "h") || !strcmp(key, "help")) {
            return usage("%s", "help");
        } else {
            return usage("unknown flag %s", a);
        }
    }
    if (!dashdash && o->nsrcs[0] >= 2) { /* BASE NEW... */
        memcpy(o->srcs[1], o->srcs[0] + 1, (o->nsrcs[0] - 1) * sizeof *o->srcs[0]);
        o->nsrcs[1] = o->nsrcs[0] - 1;
        o->nsrcs[0] = 1;
    }
    if (o->nsrcs[0] == 0 || o->nsrcs[1] == 0)
        return usage("%s", "need at least one BASE and one NEW profile");
    return 0;
}

/* One gate run's state: the rows, each side's totals (count, value) and
 * cumulative counts per row after each of its profiles (for the
 * run-to-run dispersion), the sample type. */
typedef struct gate_run {
    table t;
    regex_t focus_rx, *focus;
    double totals[2][2];
    double *snaps[2][MAXP];
    size_t snap_len[2][MAXP];
    double *per[2]; /* per row and profile: the profile's own count */
    char type[128], unit[64];
} gate_run;

static void gate_run_free(gate_run *g)
{
    for (int side = 0; side < 2; side++) {
        free(g->per[side]);
        for (size_t i = 0; i < MAXP; i++)
            free(g->snaps[side][i]);
    }
    free(g->t.rows);
    free(g->t.row_of);
    cp_strtab_free(&g->t.names);
    if (g->focus)
        regfree(g->focus);
}

/* Profile i of a side into the rows, its sample type checked against the
 * first profile's.  0 or 2 after a message. */
static int read_profile(gate_run *g, const gopts *o, int side, size_t i)
{
    const char *path = o->srcs[side][i];
    cp_profile *p = cp_fetch_profile("cprof gate", path, 0, 0);
    if (!p)
        return 2;
    int rc = 0;
    cp_prep_demangle(p);
    int vi = value_index(p, o->sample_index);
    if (vi >= 0) {
        char ty[128];
        snprintf(ty, sizeof ty, "%s/%s", cp_str(p, p->sample_types[vi].type),
                 cp_str(p, p->sample_types[vi].unit));
        if (!g->type[0]) {
            snprintf(g->type, sizeof g->type, "%s", ty);
            snprintf(g->unit, sizeof g->unit, "%s", cp_str(p, p->sample_types[vi].unit));
        } else if (strcmp(g->type, ty)) {
            fprintf(stderr, "cprof gate: %s: sample type %s, the first profile's is %s\n", path,
                    ty, g->type);
            rc = 2;
        }
    }
    if (!rc)
        rc = add_profile(&g->t, p, side, o, g->focus, g->totals[side], path);
    cp_profile_free(p);
    if (!rc && !(g->snaps[side][i] = malloc((g->t.n + 1) * sizeof(double)))) {
        fputs("cprof gate: out of memory\n", stderr);
        rc = 2;
    }
    if (!rc) {
        for (size_t f = 0; f < g->t.n; f++)
            g->snaps[side][i][f] = side ? g->t.rows[f].new_count : g->t.rows[f].base_count;
        g->snap_len[side][i] = g->t.n;
    }
    return rc;
}

/* Each profile's own count per row (the differences of the snapshots),
 * for a side of two profiles or more.  0 or 2 after a message. */
static int per_profile(gate_run *g, const gopts *o, int side)
{
    size_t r = o->nsrcs[side], n = g->t.n;
    if (r < 2)
        return 0;
    double *per = g->per[side] = calloc(n * r + 1, sizeof(double));
    if (!per) {
        fputs("cprof gate: out of memory\n", stderr);
        return 2;
    }
    for (size_t f = 0; f < n; f++)
        for (size_t i = 0; i < r; i++) {
            double now = f < g->snap_len[side][i] ? g->snaps[side][i][f] : 0;
            double before = i && f < g->snap_len[side][i - 1] ? g->snaps[side][i - 1][f] : 0;
            per[f * r + i] = now - before;
        }
    if (o->normalize) {
        /* Shares: each profile scaled to the side's mean total, so a run
         * that used more CPU for the same work (a busier machine) adds no
         * dispersion of its own. */
        double tot[256] = {0}, mean = 0;
        for (size_t i = 0; i < r && i < 256; i++) {
            for (size_t f = 0; f < n; f++)
                tot[i] += per[f * r + i];
            mean += tot[i] / (double)r;
        }
        for (size_t i = 0; i < r && i < 256; i++)
            if (tot[i] > 0)
                for (size_t f = 0; f < n; f++)
                    per[f * r + i] *= mean / tot[i];
    }
    return 0;
}

/* The report: header, the two tables, the verdict.  The exit status. */
static int print_report(gate_run *g, const gopts *o, const cp_gate_params *gp, double cut,
                        size_t k)
{
    table *t = &g->t;
    cp_gate_row **up = malloc((t->n + 1) * sizeof *up), **down = malloc((t->n + 1) * sizeof *down);
    if (!up || !down) {
        free(up);
        free(down);
        fputs("cprof gate: out of memory\n", stderr);
        return 2;
    }
    size_t nup = 0, ndown = 0, nreg = 0;
    for (size_t i = 0; i < t->n; i++) {
        if (t->rows[i].growth > 0)
            up[nup++] = &t->rows[i];
        nreg += t->rows[i].regressed;
    }
    for (size_t i = t->n; i-- > 0;)
        if (t->rows[i].growth < 0)
            down[ndown++] = &t->rows[i];
    bool md = !strcmp(o->format, "markdown");
    FILE *f = stdout;
    char head[64];
    snprintf(head, sizeof head, nreg ? "%zu regression%s" : "no regression", nreg,
             nreg == 1 ? "" : "s");
    if (md)
        fprintf(f, "### cprof gate: %s\n\n", head);
    fprintf(f,
            "%s%s, %s; base: %zu profile%s (%.0f samples), new: %zu profile%s (%.0f samples)%s\n"
            "%sflagged when growth > %g%% and p < %.3g (false-alarm rate %g over %zu functions, "
            "Bonferroni); run-to-run dispersion %.2f%s; %s%s\n",
            md ? "" : "cprof gate: ", g->type, o->cum ? "cum" : "flat", o->nsrcs[0],
            o->nsrcs[0] == 1 ? "" : "s", g->totals[0][0], o->nsrcs[1],
            o->nsrcs[1] == 1 ? "" : "s", g->totals[1][0], md ? "  " : "",
            md ? "" : "cprof gate: ", 100 * o->threshold, cut, o->alpha, k, gp->dispersion,
            o->nsrcs[0] < 2 && o->nsrcs[1] < 2 ? " (one profile a side: not measured)" : "",
            o->normalize ? "-normalize: new scaled to the base's total"
                         : "same work per profile assumed (else -normalize)",
            g->focus ? ", -focus applied" : "");
    print_table(f, "Top regressions", up, nup, o->rows, md, g->unit, cut, true);
    print_table(f, "Top improvements", down, ndown, o->rows, md, g->unit, cut, false);
    fputc('\n', f);
    if (!nreg)
        fprintf(f, "%sno regression\n", md ? "" : "cprof gate: ");
    for (size_t i = 0; i < nup; i++)
        if (up[i]->regressed) {
            char gr[32];
            fmt_growth(gr, sizeof gr, up[i]->growth);
            fprintf(f, "%s%s", md ? "" : "cprof gate: ", md ? "**REGRESSION** " : "REGRESSION ");
            put_name(f, up[i]->name, md);
            fprintf(f, " %s (p=%.2g)%s\n", gr, up[i]->p_up, md ? "  " : "");
        }
    free(up);
    free(down);
    int rc = nreg ? 1 : 0;
    if (fflush(f)) {
        fputs("cprof gate: writing the report failed\n", stderr);
        rc = 2;
    }
    return rc;
}

int cp_cmd_gate(int argc, char **argv)
{
    gopts o = {.threshold = 0.05, .alpha = 0.01, .format = "text", .rows = 10};
    int rc = parse_args(argc, argv, &o);
    if (rc)
        return rc;
    gate_run g;
    memset(&g, 0, sizeof g);
    if (o.focus && *o.focus) {
        char m[256];
        if (cp_rx_compile(&g.focus_rx, o.focus, m, sizeof m)) {
            fprintf(stderr, "cprof gate: parsing -focus regexp %s: %s\n", o.focus, m);
            return 2;
        }
        g.focus = &g.focus_rx;
    }
    for (int side = 0; side < 2 && !rc; side++)
        for (size_t i = 0; i < o.nsrcs[side] && !rc; i++)
            rc = read_profile(&g, &o, side, i);
    if (rc)
        goto out;
    if (g.totals[0][0] <= 0 || g.totals[1][0] <= 0) {
        fprintf(stderr, "cprof gate: the %s profiles hold no samples of %s\n",
                g.totals[0][0] <= 0 ? "base" : "new", g.type);
        rc = 2;
        goto out;
    }
    cp_gate_params gp = {.threshold = o.threshold, .alpha = o.alpha};
    if (o.normalize) { /* as pprof's -normalize: compare shares of the totals */
        gp.count_ratio = g.totals[1][0] / g.totals[0][0];
        gp.value_ratio = g.totals[1][1] / g.totals[0][1];
    } else { /* same work per profile: exposure is the number of profiles */
        gp.count_ratio = gp.value_ratio = (double)o.nsrcs[1] / (double)o.nsrcs[0];
    }
    for (int side = 0; side < 2 && !rc; side++)
        rc = per_profile(&g, &o, side);
    if (rc)
        goto out;
    const double *pc[2] = {g.per[0], g.per[1]};
    gp.dispersion = cp_gate_dispersion(pc, o.nsrcs, g.t.n);
    double cut;
    size_t k = cp_gate_test(g.t.rows, g.t.n, &gp, &cut);
    g_vratio = gp.value_ratio;
    qsort(g.t.rows, g.t.n, sizeof *g.t.rows, by_moved_desc);
    rc = print_report(&g, &o, &gp, cut, k);
out:
    gate_run_free(&g);
    return rc;
}
