/* testprof.h — fixtures of the analyzer's tests (tests/unit/analysis and
 * tests/tsan): a seeded random profile, and the text of a report on it.
 *
 * random_profile_of: nfuncs functions, nlocs locations of one to three
 * lines (inlined frames), nsamples stacks of 1..30 frames drawn with
 * repetition (recursion included), values 1..100; the same arguments give
 * the same profile (rand() seeded).  report_text: the report fn on p for
 * sample index si, go's default trimming, peek's regexp rx (NULL: none),
 * as a malloc'd string; NULL if the report fails.
 */
#ifndef CP_TESTS_TESTPROF_H
#define CP_TESTS_TESTPROF_H

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/prep.h"
#include "analysis/report.h"
#include "profile/builder.h"

static inline cp_profile *random_profile_of(unsigned seed, int nfuncs, int nlocs, int nsamples)
{
    cp_pbuilder *b = cp_pbuilder_new(false);
    cp_pbuilder_sample_type(b, "samples", "count");
    uint64_t *f = calloc((size_t)nfuncs, sizeof *f), *loc = calloc((size_t)nlocs, sizeof *loc);
    if (!b || !f || !loc) {
        free(f);
        free(loc);
        cp_pbuilder_free(b);
        return NULL;
    }
    char name[16];
    for (int i = 0; i < nfuncs; i++) {
        snprintf(name, sizeof name, "fn%d", i);
        f[i] = cp_pbuilder_function(b, name, name, "x.c", 0);
    }
    srand(seed);
    for (int i = 0; i < nlocs; i++) {
        cp_line_in lines[3];
        size_t n = 1 + (size_t)(rand() % 3);
        for (size_t k = 0; k < n; k++)
            lines[k] = (cp_line_in){f[rand() % nfuncs], 1 + rand() % 50, 0};
        loc[i] = cp_pbuilder_location(b, 0, 0x1000 + (uint64_t)i * 16, lines, n, false);
    }
    for (int s = 0; s < nsamples; s++) {
        uint64_t st[30];
        size_t depth = 1 + (size_t)(rand() % 30);
        for (size_t k = 0; k < depth; k++)
            st[k] = loc[rand() % nlocs];
        int64_t v = 1 + rand() % 100;
        cp_pbuilder_sample(b, st, depth, &v, NULL, 0);
    }
    cp_profile *p = cp_pbuilder_finish(b);
    cp_pbuilder_free(b);
    free(f);
    free(loc);
    return p;
}

static inline char *report_text(int (*fn)(cp_report *, FILE *), cp_profile *p, int si,
                                regex_t *rx)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return NULL;
    cp_report r;
    memset(&r, 0, sizeof r);
    r.p = p;
    r.sample_index = si;
    r.div_index = -1;
    r.sample_type = cp_str(p, p->sample_types[si].type);
    r.sample_unit = cp_str(p, p->sample_types[si].unit);
    strcpy(r.output_unit, "minimum");
    r.total = cp_prep_total(p, si, -1);
    r.node_fraction = 0.005;
    r.edge_fraction = 0.001;
    r.symbol = rx;
    r.symbol_src = rx ? "." : NULL;
    int rc = fn(&r, f);
    fclose(f);
    if (rc) {
        free(buf);
        return NULL;
    }
    return buf;
}

#endif
