/* locks_check.c — assertions on mutex and block profiles.
 *
 *   locks_check compare PROFILE KIND EXPECTED   for each line "SITE KIND
 *       COUNT DELAY_NS" of EXPECTED with this KIND: the profile's samples
 *       whose innermost site_* frame is SITE sum to COUNT contentions
 *       exactly (COUNT -1: at least 1) and to DELAY_NS within 10% (a site
 *       with 0 expected must have 0 contentions)
 *   locks_check label PROFILE SITE KEY VALUE    every sample of SITE has
 *       the string label KEY=VALUE, and some sample exists
 *   locks_check estimate PROFILE KIND EXPECTED N   the same sites, sampled:
 *       mutex at fraction N (1 in N recorded, scaled by N), block at rate
 *       N ns (d/N probability, scaled back); contentions and delay within
 *       4 standard deviations of the sampling (plus 2%)
 *   locks_check total PROFILE                  print "COUNT DELAY_NS"
 * Every mode first checks the sample types contentions/count and
 * delay/nanoseconds.  Exit 0 when all hold; failures are printed.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profile/profile.h"

static int failures;
#define CHECK(cond, ...)                                  \
    do {                                                  \
        if (!(cond)) {                                    \
            printf("FAIL: " __VA_ARGS__);                 \
            printf("\n");                                 \
            failures++;                                   \
        }                                                 \
    } while (0)

static const char *site_of(const cp_profile *p, const cp_sample *s)
{
    for (uint32_t j = 0; j < s->nlocs; j++) {
        const cp_location *l = &p->locations[s->locs[j]];
        for (uint32_t k = 0; k < l->nlines; k++) {
            if (l->lines[k].func == CP_NO_FUNCTION)
                continue;
            const char *n = cp_str(p, p->functions[l->lines[k].func].name);
            if (strncmp(n, "site_", 5) == 0)
                return n;
        }
    }
    return "";
}

static void sums(const cp_profile *p, const char *site, int64_t *c, int64_t *d, size_t *n)
{
    *c = *d = 0;
    *n = 0;
    for (size_t i = 0; i < p->nsamples; i++) {
        const cp_sample *s = &p->samples[i];
        if (site && strcmp(site_of(p, s), site))
            continue;
        *c += s->values[0];
        *d += s->values[1];
        (*n)++;
    }
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: locks_check compare|label|total PROFILE ...\n");
        return 2;
    }
    cp_profile *p = NULL;
    cp_diag dg = {{0}};
    if (cp_profile_read_file(argv[2], &p, &dg) != 0) {
        printf("FAIL: cannot read %s\n", argv[2]);
        return 1;
    }
    CHECK(p->nsample_types == 2, "%zu sample types", p->nsample_types);
    if (p->nsample_types == 2) {
        CHECK(!strcmp(cp_str(p, p->sample_types[0].type), "contentions") &&
                  !strcmp(cp_str(p, p->sample_types[0].unit), "count"),
              "first sample type not contentions/count");
        CHECK(!strcmp(cp_str(p, p->sample_types[1].type), "delay") &&
                  !strcmp(cp_str(p, p->sample_types[1].unit), "nanoseconds"),
              "second sample type not delay/nanoseconds");
    }
    int64_t c, d;
    size_t n;
    if (!strcmp(argv[1], "total")) {
        sums(p, NULL, &c, &d, &n);
        printf("%lld %lld\n", (long long)c, (long long)d);
    } else if (!strcmp(argv[1], "compare") && argc == 5) {
        FILE *f = fopen(argv[4], "r");
        char site[128], kind[32];
        long long ec, ed;
        int lines = 0;
        while (f && fscanf(f, "%127s %31s %lld %lld", site, kind, &ec, &ed) == 4) {
            if (strcmp(kind, argv[3]))
                continue;
            lines++;
            sums(p, site, &c, &d, &n);
            printf("%-22s profile %lld contentions %lld ns; program %lld, %lld ns\n", site,
                   (long long)c, (long long)d, ec, ed);
            if (ec == 0) {
                CHECK(c == 0, "%s: %lld contentions, want 0", site, (long long)c);
                continue;
            }
            if (ec < 0)
                CHECK(c >= 1, "%s: no contention recorded", site);
            else
                CHECK(c == ec, "%s: %lld contentions, want %lld", site, (long long)c, ec);
            double err = ed ? (double)(d - ed) / (double)ed : 1;
            CHECK(err > -0.10 && err < 0.10, "%s: delay %lld ns vs measured %lld ns (%.1f%%)",
                  site, (long long)d, ed, 100 * err);
        }
        CHECK(lines > 0, "no expected lines of kind %s", argv[3]);
        if (f)
            fclose(f);
    } else if (!strcmp(argv[1], "estimate") && argc == 6) {
        FILE *f = fopen(argv[4], "r");
        double r = atof(argv[5]);
        enum { MAXL = 64 };
        char site[MAXL][128], kind[MAXL][32];
        long long ec[MAXL], ed[MAXL];
        int nl = 0, lines = 0;
        while (f && nl < MAXL &&
               fscanf(f, "%127s %31s %lld %lld", site[nl], kind[nl], &ec[nl], &ed[nl]) == 4)
            nl++;
        char sqkind[40];
        snprintf(sqkind, sizeof sqkind, "%ssq", argv[3]);
        for (int i = 0; i < nl; i++) {
            if (strcmp(kind[i], argv[3]) || ec[i] <= 0)
                continue;
            double sq = 0;
            for (int j = 0; j < nl; j++)
                if (!strcmp(kind[j], sqkind) && !strcmp(site[j], site[i]))
                    sq = (double)ed[j];
            lines++;
            sums(p, site[i], &c, &d, &n);
            double N = (double)ec[i], D = (double)ed[i], sc, sd;
            if (!strcmp(argv[3], "mutex")) {
                /* each event kept with p = 1/r and scaled by r */
                sc = sqrt((r - 1) * N);
                sd = sqrt((r - 1) * sq);
            } else {
                /* an event of d < r kept with p = d/r as r: variance d(r - d) */
                sc = 0.25 * N; /* counts: R/d per kept event, loosely */
                sd = sqrt(r * D);
            }
            printf("%-22s profile %lld contentions %lld ns; program %lld, %lld ns; "
                   "sd %.0f, %.0f ns\n", site[i], (long long)c, (long long)d, ec[i], ed[i], sc, sd);
            CHECK(fabs((double)c - N) <= 4 * sc + 0.02 * N + 1,
                  "%s: %lld contentions, want %lld within 4 sd", site[i], (long long)c, ec[i]);
            CHECK(fabs((double)d - D) <= 4 * sd + 0.02 * D,
                  "%s: delay %lld ns, want %lld within 4 sd", site[i], (long long)d, ed[i]);
        }
        CHECK(lines > 0, "no expected lines of kind %s", argv[3]);
        if (f)
            fclose(f);
    } else if (!strcmp(argv[1], "label") && argc == 6) {
        size_t seen = 0;
        for (size_t i = 0; i < p->nsamples; i++) {
            const cp_sample *s = &p->samples[i];
            if (strcmp(site_of(p, s), argv[3]))
                continue;
            seen++;
            int ok = 0;
            for (uint32_t k = 0; k < s->nlabels; k++)
                ok |= !strcmp(cp_str(p, s->labels[k].key), argv[4]) &&
                      !strcmp(cp_str(p, s->labels[k].str), argv[5]);
            CHECK(ok, "%s: a sample without %s=%s", argv[3], argv[4], argv[5]);
        }
        CHECK(seen > 0, "%s: no samples", argv[3]);
    } else {
        fprintf(stderr, "locks_check: bad arguments\n");
        return 2;
    }
    cp_profile_free(p);
    return failures ? 1 : 0;
}
