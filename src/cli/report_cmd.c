/* report_cmd.c — the report commands: flags, fetch, filter, report.
 *
 * What: go tool pprof's command line for non-interactive reports, with its
 * flag spellings (-flag, --flag, -flag=v, -flag v) and its pipeline order,
 * which cp_cmd_report reads as: parse → fetch (read, merge, -normalize,
 * simplify names, drop_frames) → configure (sample value, go's per-report
 * overrides) → label frames → total → filters (applyFocus) → aggregate →
 * emit.  Data structure: one options struct (report_opts.h) filled by
 * the flag table of report_flags.c; the profile is owned and rewritten in
 * place by the steps.  Alternatives rejected: getopt_long (no single-dash
 * long options with `=`, no go-style bools).
 */
#include <errno.h>
#include <malloc.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/prep.h"
#include "analysis/report.h"
#include "analysis/rx.h"
#include "cli/commands.h"
#include "cli/fetch.h"
#include "cli/picture.h"
#include "cli/report_io.h"
#include "cli/report_opts.h"
#include "profile/profile.h"

#define MAXP CP_REPORT_MAXP
typedef cp_report_opts opts;

static regex_t *compile(const char *what, const char *rx, regex_t *store, int *rc)
{
    if (!rx || !*rx || *rc)
        return NULL;
    char m[256];
    if (cp_rx_compile(store, rx, m, sizeof m)) {
        fprintf(stderr, "cprof: parsing %s regexp %s: %s\n", what, rx, m);
        *rc = 2;
        return NULL;
    }
    return store;
}

/* Read every source and base and combine them as go tool pprof's fetch
 * does: merge (unless nothing could tell), -normalize, simplified names,
 * drop_frames, -add_comment.  Returns the profile or NULL (*rc set). */
static cp_profile *fetch(const opts *o, int *rc)
{
    cp_profile *ps[2 * MAXP] = {0};
    double scales[2 * MAXP];
    bool diffs[2 * MAXP];
    size_t np = 0;
    cp_profile *p = NULL;
    cp_diag d = {{0}};
    *rc = 1;
    /* local files (no URL) are read two at a time; the first failure in
     * command-line order is the one reported, as when read one by one */
    size_t nall = o->nsrcs + o->nbases, bad = nall;
    const char *paths[2 * MAXP];
    cp_profile *pre[2 * MAXP];
    static cp_diag pdiag[2 * MAXP];
    bool local = nall > 1;
    for (size_t i = 0; i < nall; i++) {
        paths[i] = i >= o->nsrcs ? o->bases[i - o->nsrcs] : o->srcs[i];
        local = local && !cp_fetch_is_url(paths[i]);
    }
    if (local)
        bad = cp_cli_read_files(paths, nall, pre, pdiag);
    for (size_t i = 0; i < nall; i++) {
        bool base = i >= o->nsrcs;
        if (local && i == bad) {
            fprintf(stderr, "cprof: %s\n", pdiag[i].msg[0] ? pdiag[i].msg : paths[i]);
            for (size_t k = i + 1; k < nall; k++)
                cp_profile_free(pre[k]);
            goto out;
        }
        if (!(ps[np] = local ? pre[i] : cp_fetch_profile("cprof", paths[i], (int)o->seconds, (int)o->timeout)))
            goto out;
        if (cp_cli_override_main(ps[np], o->exec_name, o->build_id)) {
            fprintf(stderr, "cprof: out of memory\n");
            np++;
            for (size_t k = i + 1; local && k < nall; k++)
                cp_profile_free(pre[k]);
            goto out;
        }
        scales[np] = base ? -1.0 : 1.0;
        diffs[np++] = base && o->diff_base;
    }
    if (o->normalize && o->nbases == 0) {
        fprintf(stderr, "cprof: must have base profile to normalize by\n");
        *rc = 2;
        goto out;
    }
    /* go merges even a single profile: ids renumbered, equal samples folded
     * (which changes totals of |value| when signs mix), zero samples gone.
     * Reports that cannot tell the difference skip the copy. */
    bool shows_ids = !strcmp(o->cmd, "raw") || !strcmp(o->cmd, "merge") ||
                     !strcmp(o->cmd, "proto");
    bool want_merge = np > 1 || shows_ids || !strcmp(o->cmd, "traces") ||
                      cp_prep_has_negative(ps[0]);
    if (o->normalize || (o->nbases && !cp_cli_small_values(ps + o->nsrcs, o->nbases))) {
        /* go: merge sources, merge bases, (-normalize: scale the sources to
         * the bases' totals,) then subtract the merged bases.  Subtracting
         * each base sample instead gives the same sums unless negating
         * loses precision (values beyond 2^53), so that cheaper way is
         * taken below when it cannot tell. */
        cp_profile *two[2] = {cp_prep_merge_owned(ps, NULL, NULL, o->nsrcs, &d), NULL};
        if (two[0])
            two[1] = cp_prep_merge_owned(ps + o->nsrcs, NULL, NULL, o->nbases, &d);
        if (two[1] && (!o->normalize || cp_prep_normalize(two[0], two[1], &d) == 0)) {
            double sc[2] = {1, -1};
            bool df[2] = {false, o->diff_base};
            p = cp_prep_merge_owned(two, sc, df, 2, &d);
        }
        for (int i = 0; i < 2; i++)
            if (two[i])
                cp_profile_free(two[i]);
    } else if (want_merge && np == 1 && scales[0] == 1.0 && !diffs[0]) {
        /* one profile: go's merge done in place (prep_fold.c), no copy;
         * renumbered only when the report shows ids */
        p = ps[0];
        ps[0] = NULL;
        if (cp_prep_fold(p, shows_ids)) {
            cp_diag_set(&d, CPROF_ENOMEM, "out of memory");
            cp_profile_free(p);
            p = NULL;
        }
    } else if (want_merge && cp_prep_fold_merge_ok(ps, scales, diffs, np)) {
        /* several profiles: their concatenation folded in place, no
         * builder (-base's merge) */
        if (!(p = cp_prep_fold_merge(ps, scales, np, shows_ids)))
            cp_diag_set(&d, CPROF_ENOMEM, "out of memory");
    } else if (want_merge) {
        p = cp_prep_merge_owned(ps, scales, diffs, np, &d);
    } else {
        p = ps[0];
        ps[0] = NULL;
        cp_prep_drop_zero_samples(p);
    }
    if (!p) {
        fprintf(stderr, "cprof: %s\n", d.msg);
        goto out;
    }
    /* names simplified, then drop_frames applied (a bad drop_frames
     * pattern is ignored, as go ignores it) */
    char perr[512];
    if ((!o->symbolize_none && cp_prep_demangle(p)) ||
        (o->add_comment && *o->add_comment && cp_prep_add_comment(p, o->add_comment))) {
        fprintf(stderr, "cprof: out of memory\n");
        cp_profile_free(p);
        p = NULL;
        goto out;
    }
    cp_prep_remove_uninteresting(p, perr, sizeof perr);
    *rc = 0;
out:
    for (size_t i = 0; i < np; i++)
        if (ps[i])
            cp_profile_free(ps[i]);
    return p;
}

/* The compiled pattern flags. */
typedef struct filters {
    regex_t rx[9];
    regex_t *focus, *ignore, *hide, *show, *sym, *show_from, *tagshow, *taghide, *prune_from;
    cp_tag_filter *tf, *ti;
} filters;

static void filters_free(filters *f)
{
    regex_t *all[] = {f->focus,     f->ignore,  f->hide,    f->show,      f->sym,
                      f->show_from, f->tagshow, f->taghide, f->prune_from};
    for (size_t i = 0; i < 9; i++)
        if (all[i])
            regfree(all[i]);
    cp_prep_tag_filter_free(f->tf);
    cp_prep_tag_filter_free(f->ti);
}

/* 0, or 2 after a message for a bad pattern. */
static int filters_compile(const opts *o, filters *f)
{
    int rc = 0;
    char err[512];
    f->focus = compile("focus", o->focus, &f->rx[0], &rc);
    f->ignore = compile("ignore", o->ignore, &f->rx[1], &rc);
    f->hide = compile("hide", o->hide, &f->rx[2], &rc);
    f->show = compile("show", o->show, &f->rx[3], &rc);
    if (o->cmd_arg)
        f->sym = compile("argument", o->cmd_arg, &f->rx[4], &rc);
    f->show_from = compile("show_from", o->show_from, &f->rx[5], &rc);
    f->tagshow = compile("tagshow", o->tagshow, &f->rx[6], &rc);
    f->taghide = compile("taghide", o->taghide, &f->rx[7], &rc);
    f->prune_from = compile("prune_from", o->prune_from, &f->rx[8], &rc);
    const char *tv[2] = {o->tagfocus, o->tagignore}, *tn[2] = {"tagfocus", "tagignore"};
    cp_tag_filter **tp[2] = {&f->tf, &f->ti};
    for (int i = 0; i < 2 && !rc; i++) {
        if (!tv[i] || !*tv[i])
            continue;
        if (!(*tp[i] = cp_prep_tag_filter_new(tv[i], err, sizeof err))) {
            fprintf(stderr, "cprof: parsing %s regexp: %s\n", tn[i], err);
            rc = 2;
        } else if (cp_prep_tag_filter_is_range(*tp[i])) {
            fprintf(stderr, "%s:Interpreted '%s' as range, not regexp\n", tn[i],
                    strchr(tv[i], '=') ? strchr(tv[i], '=') + 1 : tv[i]);
        }
    }
    return rc;
}

/* go's applyFocus, in its order, with its warnings. */
static void filters_apply(const filters *f, cp_profile *p)
{
    cp_name_filter nf = {.focus = f->focus, .ignore = f->ignore, .hide = f->hide, .show = f->show};
    cp_prep_filter_names(p, &nf);
    if (f->focus && !nf.fm)
        fputs("Focus expression matched no samples\n", stderr);
    if (f->ignore && !nf.im)
        fputs("Ignore expression matched no samples\n", stderr);
    if (f->hide && !nf.hm)
        fputs("Hide expression matched no samples\n", stderr);
    if (f->show && !nf.hnm)
        fputs("Show expression matched no samples\n", stderr);
    if (f->show_from && !cp_prep_show_from(p, f->show_from))
        fputs("ShowFrom expression matched no samples\n", stderr);
    if (f->tf || f->ti) {
        bool fm = false, im = false;
        cp_prep_filter_tags(p, f->tf, f->ti, &fm, &im);
        if (f->tf && !fm)
            fputs("TagFocus expression matched no samples\n", stderr);
        if (f->ti && !im)
            fputs("TagIgnore expression matched no samples\n", stderr);
    }
    if (f->tagshow || f->taghide) {
        bool sm = false, hm = false;
        cp_prep_filter_tag_names(p, f->tagshow, f->taghide, &sm, &hm);
        if (f->tagshow && !sm)
            fputs("TagShow expression matched no samples\n", stderr);
        if (f->taghide && !hm)
            fputs("TagHide expression matched no samples\n", stderr);
    }
    if (f->prune_from)
        cp_prep_prune_from(p, f->prune_from);
}

/* Report options from the flags and go's applyCommandOverrides.  Returns
 * the granularity; *inlines tells whether inlined frames stay. */
static cp_granularity configure(const opts *o, cp_profile *p, int si, cp_report *r, bool *inlines)
{
    static char mean_type[256], fbuf[9][600];
    memset(r, 0, sizeof *r);
    r->p = p;
    r->sample_index = si;
    r->div_index = o->mean ? 0 : -1; /* go divides by the first value */
    r->sample_type = cp_str(p, p->sample_types[si].type);
    if (o->mean) {
        snprintf(mean_type, sizeof mean_type, "mean_%s", r->sample_type);
        r->sample_type = mean_type;
    }
    r->sample_unit = cp_str(p, p->sample_types[si].unit);
    snprintf(r->output_unit, sizeof r->output_unit, "%s", o->unit ? o->unit : "minimum");
    r->node_fraction = o->node_fraction;
    r->edge_fraction = o->edge_fraction;
    r->node_count = (int)o->node_count;
    r->cum_sort = o->cum;
    r->ratio = 1.0 / o->divide_by;
    r->compact_labels = o->compact_labels;
    r->trim_path = o->trim_path;
    r->source_path = o->source_path;
    r->drop_negative = o->drop_negative;
    r->symbol_src = o->cmd_arg;

    bool trim = true;
    const char *gran = o->gran ? o->gran : "functions";
    *inlines = !o->noinlines;
    if (!strcmp(o->cmd, "peek"))
        trim = false;
    else if (!strcmp(o->cmd, "list")) {
        trim = false;
        gran = "lines";
    } else if (!strcmp(o->cmd, "top")) {
        if (r->node_count == -1)
            r->node_count = 0;
    } else if (r->node_count == -1)
        r->node_count = 80;
    if (!strcmp(o->cmd, "raw") || !strcmp(o->cmd, "proto")) {
        trim = false;
        gran = "addresses";
        *inlines = true;
    }
    if (!trim || o->no_trim) {
        r->node_count = 0;
        r->node_fraction = 0;
        r->edge_fraction = 0;
    }
    const char *fnames[] = {"focus",    "ignore",    "hide",    "show",   "show_from",
                            "tagfocus", "tagignore", "tagshow", "taghide"};
    const char *fvals[] = {o->focus,    o->ignore,    o->hide,    o->show,   o->show_from,
                           o->tagfocus, o->tagignore, o->tagshow, o->taghide};
    for (size_t i = 0; i < 9; i++)
        if (fvals[i] && *fvals[i]) {
            snprintf(fbuf[i], sizeof fbuf[i], "%s=%s", fnames[i], fvals[i]);
            r->filters[r->nfilters++] = fbuf[i];
        }
    if (!strcmp(gran, "filefunctions"))
        return CP_GRAN_FILEFUNCTIONS;
    if (!strcmp(gran, "files"))
        return CP_GRAN_FILES;
    if (!strcmp(gran, "lines"))
        return CP_GRAN_LINES;
    if (!strcmp(gran, "addresses"))
        return CP_GRAN_ADDRESSES;
    return CP_GRAN_FUNCTIONS;
}

static int emit_text(const char *cmd, cp_report *r, FILE *out);

static cp_picture_opts picture; /* flame, svg, png: see picture.h */

static int emit(const char *cmd, cp_report *r, FILE *out)
{
    if (cp_cli_is_picture(cmd))
        return cp_cli_picture(cmd, r, out, &picture);
    if (!r->p->nul_escaped || !strcmp(cmd, "proto"))
        return emit_text(cmd, r, out);
    FILE *f = cp_cli_unescape_stream(out);
    if (!f)
        return CPROF_ENOMEM;
    int rc = emit_text(cmd, r, f);
    if (fclose(f) && !rc)
        rc = CPROF_EIO;
    return rc;
}

static int emit_text(const char *cmd, cp_report *r, FILE *out)
{
    if (!strcmp(cmd, "comments")) {
        for (size_t i = 0; i < r->p->ncomments; i++)
            fprintf(out, "%s\n", cp_str(r->p, r->p->comments[i]));
        return 0;
    }
    if (!strcmp(cmd, "proto")) {
        /* the filtered profile itself, gzipped, as go tool pprof -proto,
         * its values scaled by 1/-divide_by (truncated as go's int64()) */
        if (r->ratio > 0 && r->ratio != 1)
            for (size_t i = 0; i < r->p->nsamples; i++)
                for (size_t k = 0; k < r->p->nsample_types; k++)
                    r->p->samples[i].values[k] =
                        cp_go_f2i((double)r->p->samples[i].values[k] * r->ratio);
        cp_buf pb = {0};
        int e = cp_cli_encode_fast_gz(r->p, &pb);
        if (!e && fwrite(pb.data, 1, pb.len, out) != pb.len)
            e = CPROF_EIO;
        cp_buf_free(&pb);
        return e;
    }
    static const struct {
        const char *name;
        int (*fn)(cp_report *, FILE *);
    } table[] = {
        {"top", cp_report_top},       {"tree", cp_report_tree}, {"peek", cp_report_tree},
        {"traces", cp_report_traces}, {"tags", cp_report_tags}, {"raw", cp_report_raw},
        {"folded", cp_report_folded}, {"list", cp_report_list}, {"dot", cp_report_dot},
    };
    for (size_t i = 0; i < sizeof table / sizeof *table; i++)
        if (!strcmp(cmd, table[i].name))
            return table[i].fn(r, out);
    return CPROF_EUNSUPPORTED;
}

int cp_cmd_report(int argc, char **argv)
{
    opts o;
    int rc = cp_report_opts_parse(argc, argv, &o);
    if (rc)
        return rc < 0 ? 0 : rc;
    if (!strcmp(o.cmd, "merge") && !o.output) {
        fputs("cprof: merge needs -o OUT\n", stderr);
        return 2;
    }
    /* the flame graph keeps base samples apart (labelled) to colour growth */
    if (!strcmp(o.cmd, "flame") && o.nbases)
        o.diff_base = true;
    if (!strcmp(o.cmd, "flame") && !o.gran) /* the file for the frames' details */
        o.gran = "filefunctions";
    picture.diff = o.nbases > 0;
    picture.title = o.nsrcs ? o.srcs[0] : "";

    filters f;
    memset(&f, 0, sizeof f);
    FILE *out = stdout;
    cp_profile *p = fetch(&o, &rc);
    if (!p)
        goto out;
    /* reading and merging freed far more than the profile keeps: give it
     * back now, or the report's own peak stacks on top of it */
    malloc_trim(0);
    if (!strcmp(o.cmd, "merge")) {
        int w = cp_cli_write_fast_gz(p, o.output);
        if (w) {
            fprintf(stderr, "cprof: writing %s: %s\n", o.output, cprof_strerror(w));
            rc = 1;
        }
        goto out;
    }
    char err[512];
    int si = cp_prep_sample_index(p, o.sample_index, err, sizeof err);
    if (si < 0) {
        fprintf(stderr, "cprof: %s\n", err);
        rc = 2;
        goto out;
    }
    cp_report r;
    bool inlines;
    cp_granularity g = configure(&o, p, si, &r, &inlines);
    if ((rc = filters_compile(&o, &f)))
        goto out;
    r.symbol = f.sym;
    if ((o.tagroot && *o.tagroot) || (o.tagleaf && *o.tagleaf)) {
        bool rm = false, lm = false;
        if (cp_prep_label_frames(p, o.tagroot, o.tagleaf, r.output_unit, &rm, &lm)) {
            fprintf(stderr, "cprof: out of memory\n");
            rc = 1;
            goto out;
        }
        if (o.tagroot && *o.tagroot && !rm)
            fputs("TagRoot expression matched no samples\n", stderr);
        if (o.tagleaf && *o.tagleaf && !lm)
            fputs("TagLeaf expression matched no samples\n", stderr);
    }
    /* the total is taken before the filters, unless -relative_percentages */
    if (!o.relative)
        r.total = cp_prep_total(p, si, r.div_index);
    filters_apply(&f, p);
    if (o.relative)
        r.total = cp_prep_total(p, si, r.div_index);
    cp_prep_aggregate(p, g, inlines);

    if (o.output) {
        out = fopen(o.output, "w");
        if (!out) {
            fprintf(stderr, "cprof: %s: %s\n", o.output, strerror(errno));
            out = stdout;
            rc = 1;
            goto out;
        }
        fprintf(stderr, "Generating report in %s\n", o.output);
    }
    int e = emit(o.cmd, &r, out);
    if (e) {
        fprintf(stderr, "cprof: %s\n", r.err[0] ? r.err : cprof_strerror(e));
        rc = 1;
    }
out:
    if (out != stdout && fclose(out) && !rc) {
        fprintf(stderr, "cprof: %s: %s\n", o.output, strerror(errno));
        rc = 1;
    }
    filters_free(&f);
    if (p)
        cp_profile_free(p);
    fflush(stdout);
    return rc;
}
