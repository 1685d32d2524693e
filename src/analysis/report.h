/* report.h — go tool pprof's text reports: top, tree/peek, traces, tags, raw.
 *
 * Contract: a cp_report holds a prepared profile (merged, filtered,
 * aggregated: see prep.h) and the options; each cp_report_* writes one
 * report to a FILE and returns 0, or a negative code with a message in
 * r->err (e.g. "no matches found for regexp: x").  The text is byte-for-byte
 * what go tool pprof prints for the same profile and flags.  Not
 * thread-safe.
 */
#ifndef CP_ANALYSIS_REPORT_H
#define CP_ANALYSIS_REPORT_H

#include <regex.h>
#include <stdbool.h>
#include <stdio.h>

#include "analysis/graph.h"
#include "analysis/prep.h"
#include "profile/profile.h"

typedef struct cp_report {
    cp_profile *p;
    int sample_index;
    int div_index; /* -mean: the value samples are divided by (go: index 0); -1 = none */
    const char *sample_type, *sample_unit;
    char output_unit[64]; /* "minimum" unless -unit */
    int64_t total;        /* cp_prep_total before focus filters */
    double node_fraction, edge_fraction;
    int node_count;
    bool cum_sort;
    const char *filters[16]; /* "focus=x" for the "Active filters:" legend */
    size_t nfilters;
    double ratio;       /* 1/-divide_by; 0 or 1 = none */
    bool compact_labels; /* -compact_labels: no profile header in text reports */
    bool drop_negative;  /* -drop_negative: leave out nodes whose value is negative */
    const char *trim_path, *source_path; /* -trim_path, -source_path (NULL = none) */
    bool dot_quote_labels; /* dot: escape '"' in label values (go prints them raw; svg/png) */
    regex_t *symbol; /* peek/list regexp, NULL = none */
    const char *symbol_src;
    char err[512];
} cp_report;

int cp_report_top(cp_report *r, FILE *out);
/* top builds the edges of its inline marks in rounds (memory): one more
 * round per this many frames that can add one, at most max_rounds (2);
 * rounds after one that made fewer than few_edges split the samples
 * between the threads, not the callees.  Tests change all three. */
extern size_t cp_report_round_frames;
extern uint32_t cp_report_max_rounds;
extern size_t cp_report_few_edges;
/* tree/peek: lines of text per chunk formatted on a thread; tests lower it. */
extern size_t cp_report_tree_chunk_lines;
/* traces: bytes of frame text per chunk printed on a thread; tests lower it. */
extern size_t cp_report_traces_chunk_bytes;
int cp_report_tree(cp_report *r, FILE *out); /* tree; peek when r->symbol is set */
int cp_report_traces(cp_report *r, FILE *out);
int cp_report_tags(cp_report *r, FILE *out);
int cp_report_raw(cp_report *r, FILE *out);
int cp_report_folded(cp_report *r, FILE *out);
int cp_report_dot(cp_report *r, FILE *out);
int cp_report_list(cp_report *r, FILE *out); /* source lines of r->symbol */

/* Helpers shared by report files. */
struct cp_graph;
struct cp_trim_result;
/* report.selectOutputUnit: with -unit=minimum, pick the unit from the graph's
 * smallest and the total. */
void cp_report_select_unit(cp_report *r, struct cp_graph *g);
/* The graph options every graph-based report starts from. */
cp_graph_opts cp_report_graph_opts(const cp_report *r);
/* The header lines of graph reports; full adds what dot's legend shows. */
void cp_report_labels(cp_report *r, struct cp_graph *g, const struct cp_trim_result *t, bool full,
                      FILE *out);
void cp_report_value(cp_report *r, char *buf, size_t n, int64_t v);
void cp_report_profile_labels(cp_report *r, FILE *out);

#endif
