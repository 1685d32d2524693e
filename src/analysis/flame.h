/* flame.h — the flame graph's data: a profile's stacks merged into a tree.
 *
 * Contract: cp_flame_json walks the prepared profile of a cp_report (merged,
 * filtered, aggregated), merges its stacks root first into a prefix tree,
 * prunes the frames too narrow to draw and writes the tree as one JSON
 * object (format in docs/pictures.md) that web/flame.js draws.  Every string
 * from the profile is JSON-escaped with '<', '>' and '&' as \u003c…, so the
 * text may sit inside an HTML <script type="application/json"> element.
 * With diff set, samples labelled pprof::base=true (cprof's -base for the
 * flame graph, see cli/flame_html.c) count as the base, negated back, and
 * each frame carries both values.  Not thread-safe.
 */
#ifndef CP_ANALYSIS_FLAME_H
#define CP_ANALYSIS_FLAME_H

#include <stdbool.h>
#include <stdio.h>

#include "analysis/report.h"

typedef struct cp_flame_opts {
    /* frames whose value (and base) is below this share of the total are
     * left out with everything beneath them, and counted as hidden;
     * 0 keeps every frame */
    double min_fraction;
    bool diff;
    const char *title; /* shown above the graph (may be NULL) */
} cp_flame_opts;

typedef struct cp_flame_stats {
    size_t nodes, hidden; /* frames written, frames pruned */
} cp_flame_stats;

/* 0, or a negative CPROF_E* code (r->err may say more). */
int cp_flame_json(cp_report *r, const cp_flame_opts *o, FILE *out, cp_flame_stats *st);

/* Write s as a JSON string literal (quotes included), safe inside HTML
 * script elements. */
void cp_flame_json_string(FILE *out, const char *s);

#endif
