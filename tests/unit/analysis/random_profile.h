/* random_profile.h — a seeded random profile for the analyzer's tests:
 * nfuncs functions, nlocs locations of one to three lines (inlined
 * frames), nsamples stacks of 1..30 frames drawn with repetition
 * (recursion included), values 1..100.  The same arguments give the same
 * profile (rand() seeded).  Used by tests/unit/analysis and tests/tsan.
 */
#ifndef CP_TESTS_RANDOM_PROFILE_H
#define CP_TESTS_RANDOM_PROFILE_H

#include <stdio.h>
#include <stdlib.h>

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

#endif
