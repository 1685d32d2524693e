/* test_analysis.c — units, graph, filters, merge and reports on hand-built
 * profiles whose figures are known exactly. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/graph.h"
#include "analysis/prep.h"
#include "analysis/report.h"
#include "analysis/rx.h"
#include "analysis/units.h"
#include "base/buf.h"
#include "base/hashmap.h"
#include "profile/builder.h"
#include "testprof.h"

static const char *label(int64_t v, const char *from, const char *to)
{
    static char buf[8][64];
    static int k;
    char *b = buf[k++ % 8];
    cp_units_label(b, 64, v, from, to);
    return b;
}

static const char *pct(int64_t v, int64_t total)
{
    static char buf[4][32];
    static int k;
    char *b = buf[k++ % 4];
    cp_units_percentage(b, 32, v, total);
    return b;
}

Test(units, scaling_matches_go_tool_pprof)
{
    cr_assert_str_eq(label(1000000000, "nanoseconds", "minimum"), "1s");
    cr_assert_str_eq(label(1500000000, "nanoseconds", "minimum"), "1.50s");
    cr_assert_str_eq(label(671660000, "nanoseconds", "auto"), "671.66ms");
    cr_assert_str_eq(label(1000000000, "nanoseconds", "ms"), "1000ms");
    cr_assert_str_eq(label(4194304, "bytes", "minimum"), "4MB");
    cr_assert_str_eq(label(4194304, "bytes", "kB"), "4096kB");
    cr_assert_str_eq(label(95, "bytes", "kb"), "0.09kB");
    cr_assert_str_eq(label(0, "bytes", "minimum"), "0");
    cr_assert_str_eq(label(-2048, "bytes", "minimum"), "-2kB");
    cr_assert_str_eq(label(7, "count", "minimum"), "7");
    cr_assert_str_eq(label(7200LL * 1000000000, "nanoseconds", "auto"), "2hrs");
    cr_assert_str_eq(label(12, "widgets", "minimum"), "12");
    cr_assert_str_eq(label(12, "widgets", "gizmos"), "12gizmos");
}

Test(units, percentages)
{
    cr_assert_str_eq(pct(1, 1), "  100%");
    cr_assert_str_eq(pct(9995, 10000), "  100%");
    cr_assert_str_eq(pct(34, 100), "34.00%");
    cr_assert_str_eq(pct(7, 1000), "  0.7%");
    cr_assert_str_eq(pct(2, 100000), "0.002%");
    cr_assert_str_eq(pct(0, 100), "    0%");
    cr_assert_str_eq(pct(5, 0), "    0%");
    cr_assert_str_eq(pct(-34, 100), "34.00%");
}

Test(units, go_duration_and_time)
{
    char b[64];
    cp_units_go_duration(b, sizeof b, 1500000000);
    cr_assert_str_eq(b, "1.5s");
    cp_units_go_duration(b, sizeof b, 671660000);
    cr_assert_str_eq(b, "671.66ms");
    cp_units_go_duration(b, sizeof b, 3723000000000LL);
    cr_assert_str_eq(b, "1h2m3s");
    cp_units_go_duration(b, sizeof b, 1500);
    cr_assert_str_eq(b, "1.5\xc2\xb5s");
    setenv("TZ", "UTC", 1);
    cp_units_header_time(b, sizeof b, 1767225600000000000LL); /* 2026-01-01 00:00 UTC */
    cr_assert_str_eq(b, "Jan 1, 2026 at 12:00am (UTC)");
    cp_units_go_time(b, sizeof b, 1767225600500000000LL);
    cr_assert_str_eq(b, "2026-01-01 00:00:00.5 +0000 UTC");
}

Test(graph, clean_path)
{
    cp_arena a = {0};
    cr_assert_str_eq(cp_graph_clean_path(&a, "/a//b/./c/../d"), "/a/b/d");
    cr_assert_str_eq(cp_graph_clean_path(&a, "../x/../../y"), "../../y");
    cr_assert_str_eq(cp_graph_clean_path(&a, "a/.."), ".");
    cr_assert_str_eq(cp_graph_clean_path(&a, "/.."), "/");
    cp_arena_free(&a);
}

/* main → a → b (leaf) : 10; main → a → a → c : 5 (recursion); main → c : 1;
 * b has an inlined callee "binl" in its location. */
static cp_profile *sample_profile(void)
{
    cp_pbuilder *b = cp_pbuilder_new(true);
    cp_pbuilder_sample_type(b, "samples", "count");
    cp_pbuilder_sample_type(b, "cpu", "nanoseconds");
    uint64_t m = cp_pbuilder_mapping(b, 0x1000, 0x9000, 0, "/bin/prog", "abc", true, true, true, true);
    uint64_t fmain = cp_pbuilder_function(b, "main", "main", "prog.c", 1);
    uint64_t fa = cp_pbuilder_function(b, "a", "a", "prog.c", 10);
    uint64_t fb = cp_pbuilder_function(b, "b", "b", "./lib/../prog.c", 20);
    uint64_t fbi = cp_pbuilder_function(b, "binl", "binl", "prog.c", 25);
    uint64_t fc = cp_pbuilder_function(b, "c", "c", "other.c", 30);
    cp_line_in l;
    l = (cp_line_in){fmain, 2, 0};
    uint64_t lmain = cp_pbuilder_location(b, m, 0x1100, &l, 1, false);
    l = (cp_line_in){fa, 11, 0};
    uint64_t la = cp_pbuilder_location(b, m, 0x1200, &l, 1, false);
    cp_line_in lb2[2] = {{fbi, 26, 0}, {fb, 21, 0}};
    uint64_t lb = cp_pbuilder_location(b, m, 0x1300, lb2, 2, false);
    l = (cp_line_in){fc, 31, 0};
    uint64_t lc = cp_pbuilder_location(b, m, 0x1400, &l, 1, false);
    uint64_t s1[] = {lb, la, lmain}, s2[] = {lc, la, la, lmain}, s3[] = {lc, lmain};
    int64_t v1[] = {10, 100}, v2[] = {5, 50}, v3[] = {1, 10};
    cp_label_in lab1 = {"handler", "/a", 0, NULL};
    cp_label_in lab2 = {"bytes", NULL, 2048, "bytes"};
    cr_assert_eq(cp_pbuilder_sample(b, s1, 3, v1, &lab1, 1), 0);
    cr_assert_eq(cp_pbuilder_sample(b, s2, 4, v2, &lab2, 1), 0);
    cr_assert_eq(cp_pbuilder_sample(b, s3, 2, v3, NULL, 0), 0);
    cp_profile *p = cp_pbuilder_finish(b);
    cp_pbuilder_free(b);
    cr_assert_not_null(p);
    return p;
}

static const cp_gnode *find(cp_graph *g, const char *name)
{
    for (size_t i = 0; i < g->nnodes; i++)
        if (!strcmp(g->nodes[i].name, name))
            return &g->nodes[i];
    cr_assert_fail("node %s missing", name);
    return NULL;
}

Test(graph, flat_and_cum_count_recursion_once)
{
    cp_profile *p = sample_profile();
    cp_prep_aggregate(p, CP_GRAN_FUNCTIONS, true);
    cp_graph g;
    cp_graph_opts o = {.sample_index = 0};
    cr_assert_eq(cp_graph_new(&g, p, &o), 0);
    cr_assert_eq(cp_graph_build(&g, true, true), 0);
    cr_assert_eq(find(&g, "main")->cum, 16);
    cr_assert_eq(find(&g, "main")->flat, 0);
    cr_assert_eq(find(&g, "a")->cum, 15); /* not 20: once per sample */
    cr_assert_eq(find(&g, "b")->cum, 10);
    cr_assert_eq(find(&g, "b")->flat, 0);
    cr_assert_eq(find(&g, "binl")->flat, 10);
    cr_assert_eq(find(&g, "c")->flat, 6);
    cr_assert_eq(g.norder, 5);
    cr_assert_eq(cp_graph_flat_sum(&g), 16);
    cp_graph_sort(&g, false);
    cr_assert_str_eq(cp_graph_pname(&g, g.order[0]), "binl");
    cr_assert_str_eq(cp_graph_pname(&g, g.order[1]), "c");
    cp_graph_sort(&g, true);
    cr_assert_str_eq(cp_graph_pname(&g, g.order[0]), "main");
    cr_assert_eq(cp_graph_link(&g), 0);
    /* b → binl is inline; a → a is a self edge and not recorded */
    uint32_t *v;
    const cp_gnode *bi = find(&g, "binl");
    size_t n = cp_graph_edges_sorted(&g, (uint32_t)(bi - g.nodes), true, &v);
    cr_assert_eq(n, 1);
    cr_assert(g.edges[v[0]].inl);
    cr_assert_eq(g.edges[v[0]].weight, 10);
    const cp_gnode *a = find(&g, "a");
    n = cp_graph_edges_sorted(&g, (uint32_t)(a - g.nodes), false, &v);
    cr_assert_eq(n, 2);
    cr_assert_str_eq(cp_graph_pname(&g, g.edges[v[0]].dst), "b");
    cr_assert_eq(g.edges[v[0]].weight, 10);
    cr_assert_eq(g.edges[v[1]].weight, 5);
    cp_graph_free(&g);
    cp_profile_free(p);
}

Test(graph, trimming_drops_and_keeps_top)
{
    cp_profile *p = sample_profile();
    cp_prep_aggregate(p, CP_GRAN_FUNCTIONS, true);
    cp_graph g;
    cp_graph_opts o = {.sample_index = 0};
    cr_assert_eq(cp_graph_new(&g, p, &o), 0);
    cp_trim_result t;
    /* cutoff 16*0.5 = 8: c (cum 6) goes; binl, b, a, main stay */
    cr_assert_eq(cp_graph_trim(&g, 0.5, 0, 0, false, true, &t), 0);
    cr_assert_eq(t.dropped_nodes, 1);
    cr_assert_eq(t.orig_count, 4);
    cr_assert_eq(g.norder, 4);
    /* a's flat stays 0: the 5-sample stack's leaf c is gone (residual) */
    cr_assert_eq(find(&g, "a")->flat, 0);
    cr_assert_eq(cp_graph_trim(&g, 0, 0, 2, true, false, &t), 0);
    cr_assert_eq(g.norder, 2);
    cr_assert_eq(t.orig_count, 5);
    cr_assert_str_eq(cp_graph_pname(&g, g.order[0]), "main");
    cr_assert_str_eq(cp_graph_pname(&g, g.order[1]), "a");
    cp_graph_free(&g);
    cp_profile_free(p);
}

Test(graph, granularities_name_nodes_like_pprof)
{
    cp_profile *p = sample_profile();
    cp_prep_aggregate(p, CP_GRAN_LINES, true);
    cp_graph g;
    cp_graph_opts o = {.sample_index = 1};
    cr_assert_eq(cp_graph_new(&g, p, &o), 0);
    cr_assert_eq(cp_graph_build(&g, true, false), 0);
    cp_graph_sort(&g, false);
    cr_assert_str_eq(cp_graph_pname(&g, g.order[0]), "binl prog.c:26");
    cr_assert_eq(g.nodes[g.order[0]].flat, 100);
    cp_graph_free(&g);
    cp_profile_free(p);

    p = sample_profile();
    cp_prep_aggregate(p, CP_GRAN_ADDRESSES, true);
    cr_assert_eq(cp_graph_new(&g, p, &o), 0);
    cr_assert_eq(cp_graph_build(&g, true, false), 0);
    cp_graph_sort(&g, false);
    cr_assert_str_eq(cp_graph_pname(&g, g.order[0]), "0000000000001300 binl prog.c:26");
    cp_graph_free(&g);
    cp_profile_free(p);

    p = sample_profile();
    cp_prep_aggregate(p, CP_GRAN_FILES, true);
    cr_assert_eq(cp_graph_new(&g, p, &o), 0);
    cr_assert_eq(cp_graph_build(&g, true, false), 0);
    cp_graph_sort(&g, true);
    /* files keep the start line in the identity, as go tool pprof does */
    cr_assert_str_eq(cp_graph_pname(&g, g.order[0]), "prog.c");
    cr_assert_eq(g.nodes[g.order[0]].cum, 160);
    cp_graph_free(&g);
    cp_profile_free(p);
}

Test(prep, focus_ignore_hide_show)
{
    regex_t rx;
    cp_profile *p = sample_profile();
    cr_assert_eq(regcomp(&rx, "^b$", REG_EXTENDED | REG_NOSUB), 0);
    cp_name_filter f = {.focus = &rx};
    cp_prep_filter_names(p, &f);
    cr_assert(f.fm);
    cr_assert_eq(p->nsamples, 1);
    cr_assert_eq(cp_prep_total(p, 0, -1), 10);
    cp_profile_free(p);

    p = sample_profile();
    f = (cp_name_filter){.ignore = &rx};
    cp_prep_filter_names(p, &f);
    cr_assert_eq(p->nsamples, 2);
    cp_profile_free(p);

    p = sample_profile();
    f = (cp_name_filter){.hide = &rx};
    cp_prep_filter_names(p, &f);
    cr_assert_eq(p->nsamples, 3);
    cr_assert_eq(p->samples[0].nlocs, 3);
    cr_assert_eq(p->locations[p->samples[0].locs[0]].nlines, 1); /* only binl left */
    cp_profile_free(p);
    regfree(&rx);

    cr_assert_eq(regcomp(&rx, "other", REG_EXTENDED | REG_NOSUB), 0); /* c's file */
    p = sample_profile();
    f = (cp_name_filter){.show = &rx};
    cp_prep_filter_names(p, &f);
    cr_assert(f.hnm);
    cr_assert_eq(p->nsamples, 2); /* the stack without c is empty and goes */
    cr_assert_eq(p->samples[0].nlocs, 1);
    cp_profile_free(p);
    regfree(&rx);
}

Test(prep, tag_filters)
{
    char err[128];
    cp_profile *p = sample_profile();
    cp_tag_filter *t = cp_prep_tag_filter_new("handler=/a", err, sizeof err);
    cr_assert_not_null(t);
    bool fm = false, im = false;
    cp_prep_filter_tags(p, t, NULL, &fm, &im);
    cr_assert(fm);
    cr_assert_eq(p->nsamples, 1);
    cp_prep_tag_filter_free(t);
    cp_profile_free(p);

    p = sample_profile();
    t = cp_prep_tag_filter_new("1kB:", err, sizeof err); /* numeric range */
    cr_assert_not_null(t);
    fm = im = false;
    cp_prep_filter_tags(p, t, NULL, &fm, &im);
    cr_assert_eq(p->nsamples, 1);
    cr_assert_eq(p->samples[0].values[0], 5);
    cp_prep_tag_filter_free(t);
    cp_profile_free(p);

    p = sample_profile();
    t = cp_prep_tag_filter_new("handler:/a", err, sizeof err);
    fm = im = false;
    cp_prep_filter_tags(p, NULL, t, &fm, &im);
    cr_assert(im);
    cr_assert_eq(p->nsamples, 2);
    cp_prep_tag_filter_free(t);
    cp_profile_free(p);
    cr_assert_null(cp_prep_tag_filter_new("a(", err, sizeof err));
}

Test(prep, merge_folds_and_base_cancels)
{
    cp_profile *a = sample_profile(), *b = sample_profile();
    cp_profile *ps[] = {a, b};
    cp_diag d = {{0}};
    cp_profile *m = cp_prep_merge(ps, NULL, NULL, 2, &d);
    cr_assert_not_null(m, "%s", d.msg);
    cr_assert_eq(m->nsamples, 3);
    cr_assert_eq(m->samples[0].values[0], 20);
    cr_assert_eq(m->samples[1].values[1], 100);
    cp_profile_free(m);
    double scales[] = {1, -1};
    m = cp_prep_merge(ps, scales, NULL, 2, &d);
    cr_assert_not_null(m);
    cr_assert_eq(m->nsamples, 0); /* everything cancelled */
    cp_profile_free(m);
    bool diff[] = {false, true};
    m = cp_prep_merge(ps, scales, diff, 2, &d);
    cr_assert_eq(m->nsamples, 6);
    cr_assert_eq(cp_prep_total(m, 0, -1), 16); /* only the base's samples count */
    cp_profile_free(m);
    cp_profile_free(a);
    cp_profile_free(b);
}

Test(prep, sample_index)
{
    char err[256];
    cp_profile *p = sample_profile();
    cr_assert_eq(cp_prep_sample_index(p, NULL, err, sizeof err), 1);
    cr_assert_eq(cp_prep_sample_index(p, "samples", err, sizeof err), 0);
    cr_assert_eq(cp_prep_sample_index(p, "0", err, sizeof err), 0);
    cr_assert_eq(cp_prep_sample_index(p, "2", err, sizeof err), -1);
    cr_assert_str_eq(err, "sample_index 2 is outside the range [0..1]");
    cr_assert_eq(cp_prep_sample_index(p, "bogus", err, sizeof err), -1);
    cr_assert_str_eq(err, "sample_index \"bogus\" must be one of: [samples cpu]");
    cp_profile_free(p);
}

static char *run_report(int (*fn)(cp_report *, FILE *), cp_profile *p, int si)
{
    char *buf = report_text(fn, p, si, NULL);
    cr_assert_not_null(buf);
    return buf;
}

Test(report, top_text)
{
    cp_profile *p = sample_profile();
    cp_prep_aggregate(p, CP_GRAN_FUNCTIONS, true);
    char *s = run_report(cp_report_top, p, 1);
    cr_assert_str_eq(s, "File: prog\n"
                        "Build ID: abc\n"
                        "Type: cpu\n"
                        "Showing nodes accounting for 160ns, 100% of 160ns total\n"
                        "      flat  flat%   sum%        cum   cum%\n"
                        "     100ns 62.50% 62.50%      100ns 62.50%  binl (inline)\n"
                        "      60ns 37.50%   100%       60ns 37.50%  c\n"
                        "         0     0%   100%      150ns 93.75%  a\n"
                        "         0     0%   100%      100ns 62.50%  b\n"
                        "         0     0%   100%      160ns   100%  main\n");
    free(s);
    cp_profile_free(p);
}

Test(report, tags_align_like_tabwriter)
{
    cp_profile *p = sample_profile();
    char *s = run_report(cp_report_tags, p, 0);
    /* a blank line ends a column block: each key is aligned on its own */
    cr_assert_str_eq(s, " bytes: Total 5.0\n"
                        "        5.0 (  100%): 2kB\n"
                        "\n"
                        " handler: Total 10.0\n"
                        "          10.0 (  100%): /a\n"
                        "\n");
    free(s);
    cp_profile_free(p);
}

static bool rx_matches(const char *pat, const char *s)
{
    regex_t rx;
    char err[128];
    cr_assert_eq(cp_rx_compile(&rx, pat, err, sizeof err), 0, "%s: %s", pat, err);
    bool m = regexec(&rx, s, 0, NULL, 0) == 0;
    regfree(&rx);
    return m;
}

Test(rx, re2_spellings)
{
    cr_assert(rx_matches("alloc\\d+", "main.alloc42"));
    cr_assert(!rx_matches("alloc\\d", "main.allocX"));
    cr_assert(rx_matches("(?i)MAIN", "main.run"));
    cr_assert(!rx_matches("MAIN", "main.run"));
    cr_assert(rx_matches("a[\\d_]b", "a7b"));
    cr_assert(rx_matches("x\\sy", "x y"));
    cr_assert(rx_matches("x\\Sy", "xzy"));
    cr_assert(rx_matches("main\\.", "main.f"));
    cr_assert(!rx_matches("main\\.", "mainXf"));
    regex_t rx;
    char err[128];
    cr_assert_neq(cp_rx_compile(&rx, "a(", err, sizeof err), 0);
    cr_assert(strlen(err) > 0);
}

/* One function per name, each name equal to its system name (go then
 * simplifies C++-looking ones); one location per function; samples given
 * as stacks of function indices, leaf first. */
static cp_profile *named_profile(const char *const *names, size_t n, const int (*stacks)[6],
                                 const int64_t *vals, size_t ns, const char *drop, const char *keep)
{
    cp_pbuilder *b = cp_pbuilder_new(false);
    cp_pbuilder_sample_type(b, "samples", "count");
    if (drop)
        cp_pbuilder_drop_keep(b, drop, keep);
    uint64_t locs[16];
    for (size_t i = 0; i < n; i++) {
        uint64_t f = cp_pbuilder_function(b, names[i], names[i], "f.cc", 0);
        cp_line_in l = {f, (int64_t)i + 1, 0};
        locs[i] = cp_pbuilder_location(b, 0, 0x100 * (i + 1), &l, 1, false);
    }
    for (size_t s = 0; s < ns; s++) {
        uint64_t st[6];
        size_t d = 0;
        for (; d < 6 && stacks[s][d] >= 0; d++)
            st[d] = locs[stacks[s][d]];
        cr_assert_eq(cp_pbuilder_sample(b, st, d, &vals[s], NULL, 0), 0);
    }
    cp_profile *p = cp_pbuilder_finish(b);
    cp_pbuilder_free(b);
    cr_assert_not_null(p);
    return p;
}

static const char *fname(const cp_profile *p, size_t i) { return cp_str(p, p->functions[i].name); }

Test(prep, names_simplified_like_go_symbolizer)
{
    const char *names[] = {"std::vector<int>::push_back(int const&)", "main", "a<b>(c)::d",
                           "java.lang.<init>", "pkg.(*T[...]).M", "unbalanced>(x"};
    int stacks[][6] = {{0, 1, -1}};
    int64_t v = 1;
    cp_profile *p = named_profile(names, 6, stacks, &v, 1, NULL, NULL);
    cr_assert_eq(cp_prep_demangle(p), 0);
    cr_assert_str_eq(fname(p, 0), "std::vector::push_back");
    cr_assert_str_eq(fname(p, 1), "main");
    cr_assert_str_eq(fname(p, 2), "a::d");
    cr_assert_str_eq(fname(p, 3), "java.lang.<init>"); /* java: left alone */
    cr_assert_str_eq(fname(p, 4), "pkg.(*T[...]).M"); /* go generics: left alone */
    cr_assert_str_eq(fname(p, 5), "unbalanced>(x");   /* mismatch: left alone */
    cp_profile_free(p);
}

Test(prep, drop_frames_cut_stacks)
{
    const char *names[] = {"malloc", "operator new(unsigned long)", "user", "main"};
    int stacks[][6] = {{0, 1, 2, 3, -1}, {2, 3, -1}, {0, 3, -1}};
    int64_t v[] = {5, 3, 1};
    cp_profile *p = named_profile(names, 4, stacks, v, 3, "malloc|operator new", NULL);
    char err[128];
    cr_assert_eq(cp_prep_remove_uninteresting(p, err, sizeof err), 0);
    /* malloc and operator new are cut off beneath user; in the last stack
     * main is the user frame, so malloc goes there too */
    cr_assert_eq(p->samples[0].nlocs, 2);
    cr_assert_eq(p->samples[1].nlocs, 2);
    cr_assert_eq(p->samples[2].nlocs, 1);
    cp_profile_free(p);
    p = named_profile(names, 4, stacks, v, 3, "malloc|operator new", "malloc");
    cr_assert_eq(cp_prep_remove_uninteresting(p, err, sizeof err), 0);
    /* operator new is still dropped, and everything beneath it with it */
    cr_assert_eq(p->samples[0].nlocs, 2);
    cr_assert_eq(p->samples[2].nlocs, 2); /* malloc under main stays */
    cp_profile_free(p);
}

Test(prep, show_from_and_prune_from)
{
    const char *names[] = {"leaf", "mid", "top", "main"};
    int stacks[][6] = {{0, 1, 2, 3, -1}, {0, 3, -1}};
    int64_t v[] = {5, 3};
    regex_t rx;
    cr_assert_eq(regcomp(&rx, "^mid$", REG_EXTENDED | REG_NOSUB), 0);
    cp_profile *p = named_profile(names, 4, stacks, v, 2, NULL, NULL);
    cr_assert(cp_prep_show_from(p, &rx));
    cr_assert_eq(p->nsamples, 1); /* the stack without mid goes */
    cr_assert_eq(p->samples[0].nlocs, 2); /* leaf, mid */
    cp_profile_free(p);
    p = named_profile(names, 4, stacks, v, 2, NULL, NULL);
    cp_prep_prune_from(p, &rx);
    cr_assert_eq(p->samples[0].nlocs, 3); /* mid, top, main */
    cr_assert_eq(p->samples[1].nlocs, 2);
    cp_profile_free(p);
    regfree(&rx);
}

Test(prep, normalize_scales_to_base_totals)
{
    const char *names[] = {"a", "b"};
    int stacks[][6] = {{0, -1}, {1, -1}};
    int64_t v[] = {30, 10}, vb[] = {5, 15};
    cp_profile *p = named_profile(names, 2, stacks, v, 2, NULL, NULL);
    cp_profile *b = named_profile(names, 2, stacks, vb, 2, NULL, NULL);
    cp_diag d = {{0}};
    cr_assert_eq(cp_prep_normalize(p, b, &d), 0);
    cr_assert_eq(p->samples[0].values[0], 15); /* 30 * 20/40, rounded */
    cr_assert_eq(p->samples[1].values[0], 5);
    cp_profile_free(p);
    cp_profile_free(b);
}

Test(graph, trim_path_like_go)
{
    cr_assert_str_eq(cp_graph_trim_path("/proc/self/cwd/./a/b.c", NULL, NULL), "a/b.c");
    cr_assert_str_eq(cp_graph_trim_path("/proc/self/cwd/a.c", "", ""), "a.c");
    cr_assert_str_eq(cp_graph_trim_path("/build/src/x/y.c", "/build", NULL), "src/x/y.c");
    cr_assert_str_eq(cp_graph_trim_path("/build/src/x/y.c", "/other:/build/", NULL), "src/x/y.c");
    cr_assert_str_eq(cp_graph_trim_path("/home/u/proj/src/y.c", NULL, "/tmp/proj"), "src/y.c");
    cr_assert_str_eq(cp_graph_trim_path("/buildx/y.c", "/build", NULL), "/buildx/y.c");
}

Test(graph, mean_values_divide)
{
    cp_profile *p = sample_profile();
    cp_prep_aggregate(p, CP_GRAN_FUNCTIONS, true);
    cp_graph g;
    cp_graph_opts o = {.sample_index = 1, .div_index = 0};
    cr_assert_eq(cp_graph_new(&g, p, &o), 0);
    cr_assert_eq(cp_graph_build(&g, true, false), 0);
    /* every sample has cpu = 10 × samples: the mean is 10 everywhere */
    cr_assert_eq(cp_gnode_cum(find(&g, "main")), 10);
    cr_assert_eq(cp_gnode_flat(find(&g, "c")), 10);
    cr_assert_eq(cp_prep_total(p, 1, 0), 10);
    cp_graph_free(&g);
    cp_profile_free(p);
}

/* Random stacks over 40 functions, some locations with inlined frames,
 * recursion included: the two-thread build must equal the one-thread
 * build exactly (values, edge order, edge flags), with and without a
 * trimmed kept set. */
static cp_profile *random_profile(unsigned seed)
{
    return random_profile_of(seed, 40, 120, 3000);
}

static void build_both(cp_profile *p, bool trim)
{
    cp_graph g1, g2;
    cp_graph_opts o = {.sample_index = 0, .div_index = -1};
    cp_trim_result t1, t2;
    size_t saved = cp_graph_parallel_frames;
    cr_assert_eq(cp_graph_new(&g1, p, &o), 0);
    cr_assert_eq(cp_graph_new(&g2, p, &o), 0);
    cp_graph_parallel_frames = SIZE_MAX;
    cr_assert_eq(cp_graph_trim(&g1, trim ? 0.02 : 0, 0, trim ? 12 : 0, false, true, &t1), 0);
    cp_graph_parallel_frames = 0;
    cr_assert_eq(cp_graph_trim(&g2, trim ? 0.02 : 0, 0, trim ? 12 : 0, false, true, &t2), 0);
    cp_graph_parallel_frames = saved;
    cr_assert_eq(g1.nnodes, g2.nnodes);
    cr_assert_eq(g1.norder, g2.norder);
    for (size_t i = 0; i < g1.nnodes; i++) {
        cr_assert_eq(g1.nodes[i].flat, g2.nodes[i].flat, "node %zu flat", i);
        cr_assert_eq(g1.nodes[i].cum, g2.nodes[i].cum, "node %zu cum", i);
    }
    for (size_t i = 0; i < g1.norder; i++)
        cr_assert_eq(g1.order[i], g2.order[i]);
    cr_assert_gt(g1.nedges, 10);
    cr_assert_eq(g1.nedges, g2.nedges);
    for (size_t i = 0; i < g1.nedges; i++) {
        const cp_gedge *a = &g1.edges[i], *e = &g2.edges[i];
        cr_assert(a->src == e->src && a->dst == e->dst, "edge %zu order", i);
        cr_assert_eq(a->weight, e->weight, "edge %zu weight", i);
        cr_assert_eq(a->residual, e->residual, "edge %zu residual", i);
        cr_assert_eq(a->inl, e->inl, "edge %zu inline", i);
        cr_assert_eq(a->dropped, e->dropped, "edge %zu dropped", i);
    }
    cp_graph_free(&g1);
    cp_graph_free(&g2);
}

Test(graph, two_threads_build_the_same_graph)
{
    for (unsigned seed = 1; seed <= 3; seed++) {
        cp_profile *p = random_profile(seed);
        cr_assert_not_null(p);
        /* function granularity: one node gets frames both inlined and not */
        cp_prep_aggregate(p, CP_GRAN_FUNCTIONS, true);
        build_both(p, false);
        build_both(p, true);
        cp_profile_free(p);
    }
}

/* The edges of a build, as a plain reading of go's rules walks them: per
 * sample, root to leaf, the kept nodes in turn (a location's lines from
 * its outermost), an edge from each kept node to the next, residual when
 * nodes were skipped between them, inline when the callee is not its
 * location's innermost line; counted once per sample, in first-met order.
 * Checked on profiles with tens of thousands of edges (the edge table
 * grows many times over and the build folds its occurrences in batches),
 * every node kept and a part kept, on one thread and on two. */
typedef struct naive_edge {
    uint32_t src, dst;
    int64_t w;
    bool residual, inl;
    size_t last; /* the sample that last counted it, + 1 */
} naive_edge;

static size_t naive_edges(const cp_graph *g, naive_edge **out)
{
    const cp_profile *p = g->p;
    cp_map at = {0};
    naive_edge *e = NULL;
    size_t n = 0, cap = 0;
    for (size_t s = 0; s < p->nsamples; s++) {
        const cp_sample *sm = &p->samples[s];
        int64_t w = sm->values[0];
        uint32_t parent = UINT32_MAX;
        bool skipped = false;
        for (uint32_t i = sm->nlocs; i-- > 0;) {
            uint32_t loc = sm->locs[i], off = g->locoff[loc], cnt = g->locoff[loc + 1] - off;
            for (uint32_t k = cnt; k-- > 0;) {
                uint32_t node = g->locnodes[off + k];
                if (!g->nodes[node].kept) {
                    skipped = true;
                    continue;
                }
                uint32_t from = parent;
                bool res = skipped;
                parent = node;
                skipped = false;
                if (from == UINT32_MAX || from == node)
                    continue;
                uint64_t key = (uint64_t)from << 32 | node, ix;
                if (!cp_map_get(&at, key, &ix)) {
                    cr_assert_eq(cp_grow(&e, &cap, n + 1, sizeof *e), 0);
                    e[n] = (naive_edge){from, node, 0, false, true, 0};
                    cr_assert_eq(cp_map_put(&at, key, n), 0);
                    ix = n++;
                }
                if (e[ix].last == s + 1)
                    continue; /* once per sample */
                e[ix].last = s + 1;
                e[ix].w += w;
                e[ix].residual = e[ix].residual || res;
                e[ix].inl = e[ix].inl && k != cnt - 1;
            }
        }
    }
    cp_map_free(&at);
    *out = e;
    return n;
}

Test(graph, edges_as_a_naive_walk)
{
    size_t saved = cp_graph_parallel_frames;
    for (unsigned seed = 1; seed <= 2; seed++) {
        cp_profile *p = random_profile_of(seed, 3000, 6000, 5000);
        cr_assert_not_null(p);
        for (int mode = 0; mode < 6; mode++) {
            cp_graph g;
            cp_graph_opts o = {.sample_index = 0, .div_index = -1};
            cr_assert_eq(cp_graph_new(&g, p, &o), 0);
            /* every node, about two in three (each thread its nodes' edges),
             * about one in three (each thread half of the samples) */
            int keep = (mode / 2) == 0 ? 3 : (mode / 2) == 1 ? 2 : 1;
            for (size_t i = 0; i < g.nnodes; i++)
                g.nodes[i].kept = (i * 2654435761u >> 7) % 3 < (unsigned)keep;
            cp_graph_parallel_frames = mode & 1 ? 0 : SIZE_MAX;
            cr_assert_eq(cp_graph_build(&g, keep == 3, true), 0);
            naive_edge *want;
            size_t n = naive_edges(&g, &want);
            cr_assert_gt(n, 20000, "mode %d: %zu edges", mode, n);
            cr_assert_eq(g.nedges, n, "mode %d", mode);
            for (size_t i = 0; i < n; i++) {
                const cp_gedge *a = &g.edges[i];
                const naive_edge *b = &want[i];
                cr_assert(a->src == b->src && a->dst == b->dst, "mode %d edge %zu order", mode, i);
                cr_assert_eq(a->weight, b->w, "mode %d edge %zu weight", mode, i);
                cr_assert_eq(a->residual, b->residual, "mode %d edge %zu residual", mode, i);
                cr_assert_eq(a->inl, b->inl, "mode %d edge %zu inline", mode, i);
            }
            free(want);
            cp_graph_free(&g);
        }
        cp_profile_free(p);
    }
    cp_graph_parallel_frames = saved;
}

/* profile.Merge's sample key: labels per key, key order ignored, the
 * values of one key in order; sums wrap like go's int64. */
Test(merge, labels_in_any_key_order_fold_and_nothing_is_capped)
{
    cp_pbuilder *b = cp_pbuilder_new(true);
    cp_pbuilder_sample_type(b, "samples", "count");
    uint64_t m = cp_pbuilder_mapping(b, 0x1000, 0x2000, 0, "/bin/x", "", true, true, true, false);
    uint64_t f = cp_pbuilder_function(b, "main", "main", "x.c", 1);
    cp_line_in ln = {f, 2, 0};
    uint64_t loc = cp_pbuilder_location(b, m, 0x1010, &ln, 1, false);
    cp_label_in ab[3] = {{"a", "1", 0, NULL}, {"b", "2", 0, NULL}, {"n", NULL, 7, "bytes"}};
    cp_label_in ba[3] = {{"n", NULL, 7, "bytes"}, {"b", "2", 0, NULL}, {"a", "1", 0, NULL}};
    cp_label_in a12[2] = {{"a", "1", 0, NULL}, {"a", "2", 0, NULL}};
    cp_label_in a21[2] = {{"a", "2", 0, NULL}, {"a", "1", 0, NULL}};
    int64_t v = INT64_MAX;
    cr_assert_eq(cp_pbuilder_sample(b, &loc, 1, &v, ab, 3), 0);
    v = 2;
    cr_assert_eq(cp_pbuilder_sample(b, &loc, 1, &v, ba, 3), 0);
    v = 1;
    cp_pbuilder_sample(b, &loc, 1, &v, a12, 2);
    cp_pbuilder_sample(b, &loc, 1, &v, a21, 2);
    cp_label_in many[70];
    char keys[70][8];
    for (int i = 0; i < 70; i++) {
        snprintf(keys[i], sizeof keys[i], "k%02d", 69 - i);
        many[i] = (cp_label_in){keys[i], "v", 0, NULL};
    }
    cp_pbuilder_sample(b, &loc, 1, &v, many, 70);
    cp_profile *p = cp_pbuilder_finish(b);
    cr_assert_not_null(p);
    cr_assert_eq(p->nsamples, 4, "got %zu samples", p->nsamples);
    cr_assert_eq(p->samples[0].values[0], INT64_MIN + 1); /* MAX + 2 wraps */
    /* go's write order: string labels by key, then numeric ones */
    cr_assert_str_eq(cp_str(p, p->samples[0].labels[0].key), "a");
    cr_assert_str_eq(cp_str(p, p->samples[0].labels[1].key), "b");
    cr_assert_str_eq(cp_str(p, p->samples[0].labels[2].key), "n");
    cr_assert_eq(p->samples[3].nlabels, 70);
    cr_assert_str_eq(cp_str(p, p->samples[3].labels[0].key), "k00");
    cr_assert_str_eq(cp_str(p, p->samples[3].labels[69].key), "k69");
    cp_profile_free(p);
    cp_pbuilder_free(b);
}

/* The hand-written number paths of units.c against printf itself: "%.2f"
 * (trimmed of ".00") for labels, "%5.2f%%" / "%5.2g%%" for percentages, on
 * random values of every magnitude and on exact halves. */
Test(units, fast_formatting_equals_printf)
{
    uint64_t s = 0x9e3779b97f4a7c15ULL;
    char want[64], num[64];
    for (int i = 0; i < 400000; i++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        int64_t v = (int64_t)(s >> (s % 50 + 1)) * (s & 1 ? -1 : 1);
        int64_t total = (int64_t)((s >> 7) % 1000000000ULL) + 1;
        if (i % 4 == 1)
            total = (int64_t)(s >> 40) + 1;
        if (i % 8 == 3)
            v = (int64_t)(s % 2000) * 5, total = 1000000; /* near halves */
        double r = fabs((double)v / (double)total) * 100;
        if (r >= 99.95 && r <= 100.05)
            snprintf(want, sizeof want, "  100%%");
        else if (r >= 1.0)
            snprintf(want, sizeof want, "%5.2f%%", r);
        else
            snprintf(want, sizeof want, "%5.2g%%", r);
        cr_assert_str_eq(pct(v, total), want, "%lld / %lld", (long long)v, (long long)total);
        /* a label in ms from nanoseconds: v / 1e6, "%.2f" */
        double ms = (double)(v % 100000000000LL) / 1e6;
        if (ms == 0)
            continue;
        snprintf(num, sizeof num, "%.2f", ms);
        size_t len = strlen(num);
        if (len >= 3 && !strcmp(num + len - 3, ".00"))
            num[len - 3] = 0;
        if (!strcmp(num, "0") || !strcmp(num, "-0"))
            snprintf(want, sizeof want, "0");
        else
            snprintf(want, sizeof want, "%sms", num);
        cr_assert_str_eq(label(v % 100000000000LL, "nanoseconds", "ms"), want, "%lld",
                         (long long)(v % 100000000000LL));
    }
}

/* top's inline marks, built in rounds over shares of the callees and on
 * two threads split by callee, keeping one representative edge of each
 * kind: the same marks as from every edge of the trimmed graph. */
static void expect_marks(cp_profile *p, const char *text, double nf, int nc)
{
    cp_graph g;
    cp_graph_opts o = {.sample_index = 0, .div_index = -1, .trim_paths = true};
    cp_trim_result t;
    cr_assert_eq(cp_graph_new(&g, p, &o), 0);
    cr_assert_eq(cp_graph_trim(&g, nf, 0.001, nc, false, true, &t), 0);
    cr_assert_eq(cp_graph_link(&g), 0);
    size_t lines = 0;
    for (size_t i = 0; i < g.norder; i++) {
        const cp_gnode *n = &g.nodes[g.order[i]];
        bool inl = false, noinl = false;
        for (uint32_t k = 0; k < n->nin; k++)
            *(g.edges[g.adj[n->in_off + k]].inl ? &inl : &noinl) = true;
        char want[64];
        snprintf(want, sizeof want, " %s%s\n", cp_graph_pname(&g, g.order[i]),
                 inl ? (noinl ? " (partial-inline)" : " (inline)") : "");
        cr_assert_not_null(strstr(text, want), "line ending \"%s\" in\n%s", want, text);
        lines++;
    }
    cr_assert_gt(lines, 5);
    cp_graph_free(&g);
}

Test(report, top_inline_marks_in_rounds_and_threads)
{
    size_t saved_frames = cp_graph_parallel_frames, saved_round = cp_report_round_frames;
    size_t saved_few = cp_report_few_edges;
    uint32_t saved_max = cp_report_max_rounds;
    cp_report_max_rounds = UINT32_MAX; /* as many rounds as 5000 frames each make */
    int marked = 0;
    for (unsigned seed = 1; seed <= 3; seed++) {
        cp_profile *p = random_profile(seed);
        cp_prep_aggregate(p, CP_GRAN_FUNCTIONS, true);
        char *ref = NULL;
        for (int mode = 0; mode < 6; mode++) {
            cp_graph_parallel_frames = mode & 1 ? 0 : SIZE_MAX;
            cp_report_round_frames = mode & 2 ? 5000 : SIZE_MAX;
            /* rounds after the first: threads split the callees, or the
             * samples (mode 4, 5: many rounds) */
            cp_report_few_edges = mode & 4 ? SIZE_MAX : 0;
            if (mode & 4)
                cp_report_round_frames = 5000;
            char *s = run_report(cp_report_top, p, 0);
            if (!ref) {
                ref = s;
                expect_marks(p, ref, 0.005, 0);
                marked += strstr(ref, "inline)\n") != NULL;
                continue;
            }
            cr_assert_str_eq(s, ref, "mode %d", mode);
            free(s);
        }
        free(ref);
        cp_profile_free(p);
    }
    cp_graph_parallel_frames = saved_frames;
    cp_report_round_frames = saved_round;
    cp_report_few_edges = saved_few;
    cp_report_max_rounds = saved_max;
    cr_assert_gt(marked, 0);
}

/* A big graph's lists are sorted and printed from one-word entries (weight
 * rank, name rank, index) instead of the edges: tree and peek print the
 * same text either way, negative and mixed weights included, and the
 * entries are made on the graph such a report builds. */
Test(report, tree_entries_same_text)
{
    size_t saved = cp_graph_rank_edges;
    regex_t rx;
    cr_assert_eq(regcomp(&rx, "fn1", REG_EXTENDED | REG_NOSUB), 0);
    for (unsigned seed = 1; seed <= 3; seed++) {
        cp_profile *p = random_profile(seed);
        /* counts, so that many edges weigh the same (names decide), and a
         * diff's negative values, so that some weigh below zero */
        for (size_t s = 0; s < p->nsamples; s++)
            p->samples[s].values[0] = s % 3 ? 1 : -3;
        cp_prep_aggregate(p, CP_GRAN_FUNCTIONS, true);
        for (int peek = 0; peek < 2; peek++) {
            cp_graph_rank_edges = SIZE_MAX; /* no ranks: names compared */
            char *ref = report_text(cp_report_tree, p, 0, peek ? &rx : NULL);
            cp_graph_rank_edges = 0;
            char *s = report_text(cp_report_tree, p, 0, peek ? &rx : NULL);
            cr_assert(ref && s);
            cr_assert_gt(strlen(ref), 1000);
            cr_assert_str_eq(s, ref, "seed %u peek %d", seed, peek);
            free(ref);
            free(s);
        }
        cp_graph g;
        cp_graph_opts o = {.sample_index = 0, .div_index = -1};
        cr_assert_eq(cp_graph_new(&g, p, &o), 0);
        cr_assert_eq(cp_graph_build(&g, true, true), 0);
        cr_assert_eq(cp_graph_sort_ready(&g), 0);
        cr_assert_not_null(g.adjent);
        cr_assert_not_null(g.wabs);
        bool neg = false;
        for (size_t i = 0; i < g.nedges; i++)
            neg = neg || g.edges[i].weight < 0;
        cr_assert(neg, "some edge weighs below zero");
        cp_graph_free(&g);
        cp_profile_free(p);
    }
    regfree(&rx);
    cp_graph_rank_edges = saved;
}

/* An edge line copies its parts in fixed-size runs into the output block;
 * a name longer than the block takes the piece-by-piece way.  Both print
 * go's "%50s %s |   %s%s\n", around a name of 1.5 MiB too. */
Test(report, tree_name_longer_than_a_block)
{
    size_t len = 3 << 19;
    char *big = malloc(len + 1);
    cr_assert_not_null(big);
    for (size_t i = 0; i < len; i++)
        big[i] = (char)('a' + i % 26);
    big[len] = 0;
    cp_pbuilder *b = cp_pbuilder_new(false);
    cp_pbuilder_sample_type(b, "samples", "count");
    uint64_t fm = cp_pbuilder_function(b, "main", "main", "m.c", 0);
    uint64_t fb = cp_pbuilder_function(b, big, big, "m.c", 0);
    cp_line_in lm = {fm, 1, 0}, lb = {fb, 2, 0};
    uint64_t locs[] = {cp_pbuilder_location(b, 0, 0x10, &lb, 1, false),
                       cp_pbuilder_location(b, 0, 0x20, &lm, 1, false)};
    int64_t v = 7;
    cr_assert_eq(cp_pbuilder_sample(b, locs, 2, &v, NULL, 0), 0);
    cp_profile *p = cp_pbuilder_finish(b);
    cp_pbuilder_free(b);
    cr_assert_not_null(p);
    cp_prep_aggregate(p, CP_GRAN_FUNCTIONS, true);
    char *s = run_report(cp_report_tree, p, 0);
    char *in = malloc(len + 128), *out = malloc(len + 128);
    cr_assert(in && out);
    /* main's out-edge, then big's in-edge from main */
    snprintf(out, len + 128, "%50s %s |   %s\n", "7", "  100%", big);
    snprintf(in, len + 128, "%50s %s |   %s\n", "7", "  100%", "main");
    cr_assert_not_null(strstr(s, out), "main's edge to the long name");
    cr_assert_not_null(strstr(s, in), "the long name's edge from main");
    free(in);
    free(out);
    free(s);
    free(big);
    cp_profile_free(p);
}

/* traces prints chunks of samples on two threads: any chunk size gives the
 * one-chunk text, byte for byte, labels included; seed 4's chunks of 1.5
 * MiB overflow the 1 MiB output block (the rest goes first to a buffer). */
Test(report, traces_chunks_same_text)
{
    size_t saved = cp_report_traces_chunk_bytes;
    for (unsigned seed = 0; seed <= 4; seed++) {
        cp_profile *p = seed == 4 ? random_profile_of(seed, 40, 120, 16000)
                        : seed    ? random_profile(seed)
                                  : sample_profile();
        cp_report_traces_chunk_bytes = SIZE_MAX;
        char *ref = run_report(cp_report_traces, p, 0);
        cr_assert_gt(strlen(ref), seed == 4 ? 4u << 20 : seed ? 10000 : 100);
        size_t sizes[] = {1, 64, 4096, 100000, 3u << 19};
        for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
            cp_report_traces_chunk_bytes = sizes[k];
            char *s = run_report(cp_report_traces, p, 0);
            cr_assert_str_eq(s, ref, "seed %u, chunks of %zu bytes", seed, sizes[k]);
            free(s);
        }
        if (!seed)
            cr_assert_not_null(strstr(ref, "handler:  /a"), "%s", ref);
        free(ref);
        cp_profile_free(p);
    }
    cp_report_traces_chunk_bytes = saved;
}

/* tree and peek format big graphs in chunks on two threads: any chunk size
 * gives the one-thread text, byte for byte */
Test(report, tree_chunks_same_text)
{
    size_t saved = cp_report_tree_chunk_lines;
    for (unsigned seed = 1; seed <= 3; seed++) {
        cp_profile *p = random_profile(seed);
        cp_prep_aggregate(p, CP_GRAN_FUNCTIONS, true);
        cp_report_tree_chunk_lines = SIZE_MAX;
        char *ref = run_report(cp_report_tree, p, 0);
        cr_assert_gt(strlen(ref), 1000);
        size_t sizes[] = {1, 2, 7, 100};
        for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
            cp_report_tree_chunk_lines = sizes[k];
            char *s = run_report(cp_report_tree, p, 0);
            cr_assert_str_eq(s, ref, "chunks of %zu lines", sizes[k]);
            free(s);
        }
        free(ref);
        cp_profile_free(p);
    }
    cp_report_tree_chunk_lines = saved;
}
