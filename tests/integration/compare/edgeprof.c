/* edgeprof.c — profiles at the edges of what comparisons and merges must
 * handle, for the differential comparison with go tool pprof.
 *
 * Usage: edgeprof KIND OUT [SEED]
 *   shuffled  the same stacks and labels written several times with the
 *             label keys in a different order each time (go's runtime
 *             writes CPU-profile labels in random order)
 *   labels65  samples with 65 labels (string and numeric), some repeated
 *   extreme   INT64_MIN and INT64_MAX values and sums that overflow int64
 *   names     function names and labels holding a NUL byte or a newline
 *   base      an earlier profile of a program (SEED picks the later one:
 *             write both with the same kind and SEED 0 and 1)
 * Samples are written unmerged (cp_pbuilder_new(false)) so the file keeps
 * the order and duplicates given here.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profile/builder.h"

#include "rnd.h"

/* A small program: 8 functions, locations 1..8 in one mapping. */
static void program(cp_pbuilder *b, uint64_t *locs, const char *const *names, size_t n)
{
    uint64_t m = cp_pbuilder_mapping(b, 0x400000, 0x500000, 0, "/usr/bin/prog", "", true, true,
                                     true, false);
    for (size_t i = 0; i < n; i++) {
        uint64_t f = cp_pbuilder_function(b, names[i], names[i], "prog.c", (int64_t)(10 * i));
        cp_line_in l = {f, (int64_t)(10 * i + 2), 0};
        locs[i] = cp_pbuilder_location(b, m, 0x401000 + 0x40 * i, &l, 1, false);
    }
}

static const char *const fnames[] = {"main", "serve", "handle", "parse",
                                     "compute", "alloc", "leaf", "write"};

static void shuffled(cp_pbuilder *b)
{
    uint64_t locs[8];
    program(b, locs, fnames, 8);
    cp_label_in labs[4] = {{"handler", "/api/a", 0, NULL},
                           {"user", "alice", 0, NULL},
                           {"bytes", NULL, 512, "bytes"},
                           {"region", "eu", 0, NULL}};
    for (int rep = 0; rep < 30; rep++) {
        uint64_t st[4] = {locs[6], locs[4], locs[2 + rnd(2)], locs[0]};
        cp_label_in l[5];
        int64_t v[2] = {1, 10000000};
        size_t nl = 2 + rnd(3);
        for (size_t k = 0; k < nl; k++)
            l[k] = labs[k];
        if (rnd(2))
            labs[1].str = "bob";
        /* two values of one key keep their order; keys are shuffled */
        if (rnd(3) == 0)
            l[nl++] = (cp_label_in){"handler", "/api/z", 0, NULL};
        for (size_t k = nl - 1; k > 0; k--) {
            size_t j = rnd((uint32_t)k + 1);
            if (strcmp(l[k].key, l[j].key)) {
                cp_label_in t = l[k];
                l[k] = l[j];
                l[j] = t;
            }
        }
        cp_pbuilder_sample(b, st, 4, v, l, nl);
        labs[1].str = "alice";
    }
}

static void labels65(cp_pbuilder *b)
{
    uint64_t locs[8];
    program(b, locs, fnames, 8);
    static char keys[70][8], vals[70][8];
    for (int k = 0; k < 70; k++) {
        snprintf(keys[k], sizeof keys[k], "k%d", k);
        snprintf(vals[k], sizeof vals[k], "v%d", k);
    }
    for (int rep = 0; rep < 6; rep++) {
        cp_label_in l[70];
        size_t nl = 0;
        for (int k = 0; k < 65; k++)
            l[nl++] = (cp_label_in){keys[k], vals[(k + rep % 2) % 70], 0, NULL};
        if (rep % 3 == 0)
            l[nl++] = (cp_label_in){"n", NULL, 1000 + rep, "bytes"};
        /* the first and last keys swapped: still the same labels */
        cp_label_in t = l[0];
        l[0] = l[64];
        l[64] = t;
        uint64_t st[3] = {locs[5 + rep % 2], locs[3], locs[0]};
        int64_t v[2] = {rep + 1, 1000 * (rep + 1)};
        cp_pbuilder_sample(b, st, 3, v, l, nl);
    }
}

static void extreme(cp_pbuilder *b)
{
    uint64_t locs[8];
    program(b, locs, fnames, 8);
    const int64_t vals[][2] = {
        {INT64_MAX, 1}, {INT64_MAX, 2}, {INT64_MIN, -1}, {INT64_MIN, 3},
        {INT64_MAX - 5, INT64_MIN + 7}, {-1, INT64_MAX}, {1, INT64_MIN}, {INT64_MIN, INT64_MIN},
    };
    for (size_t i = 0; i < sizeof vals / sizeof *vals; i++) {
        uint64_t st[3] = {locs[4 + i % 4], locs[1 + i % 2], locs[0]};
        cp_label_in l = {"bytes", NULL, i % 2 ? INT64_MIN : INT64_MAX, "bytes"};
        cp_pbuilder_sample(b, st, 3, vals[i], &l, 1);
    }
}

/* Names carry '\x01', turned into NUL bytes in the encoded file. */
static void names(cp_pbuilder *b)
{
    static const char *const n[] = {"main", "x\x01" "a", "x\x01" "b", "line\nbreak",
                                    "semi;colon", "tab\there", "ok", "x"};
    uint64_t locs[8];
    program(b, locs, n, 8);
    for (int i = 0; i < 8; i++) {
        uint64_t st[3] = {locs[1 + i % 7], locs[i % 2 ? 3 : 6], locs[0]};
        int64_t v[2] = {i + 1, 100 * (i + 1)};
        cp_label_in l[2] = {{"k\x01" "x", i % 2 ? "v\x01" "1" : "v\x01" "2", 0, NULL},
                            {"nl", "a\nb", 0, NULL}};
        cp_pbuilder_sample(b, st, 3, v, l, 2);
    }
}

/* A program profiled twice: the later profile has more of the same
 * stacks and a few new ones. */
static void base(cp_pbuilder *b, int later)
{
    uint64_t locs[8];
    program(b, locs, fnames, 8);
    for (int i = 0; i < 40 + 25 * later; i++) {
        size_t d = 2 + rnd(5);
        uint64_t st[8];
        for (size_t k = 0; k < d; k++)
            st[k] = locs[d - k - 1 + (later && i > 50 ? 1 : 0)];
        int64_t v[2] = {1 + rnd(3), (later ? 7000000 : 10000000) * (int64_t)(1 + rnd(3))};
        cp_label_in l[2] = {{"handler", rnd(2) ? "/a" : "/b", 0, NULL},
                            {"phase", later ? "late" : "early", 0, NULL}};
        cp_pbuilder_sample(b, st, d, v, l, 1 + (i % 4 == 0));
    }
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: edgeprof shuffled|labels65|extreme|names|base OUT [SEED]\n");
        return 2;
    }
    const char *kind = argv[1];
    int seed = argc > 3 ? atoi(argv[3]) : 0;
    state = (uint64_t)(seed + 1) * 0x9e3779b97f4a7c15ULL + 7;
    cp_pbuilder *b = cp_pbuilder_new(false);
    cp_pbuilder_sample_type(b, "samples", "count");
    cp_pbuilder_sample_type(b, "cpu", "nanoseconds");
    cp_pbuilder_period(b, "cpu", "nanoseconds", 10000000);
    cp_pbuilder_times(b, 1700000000000000000LL + seed * 60000000000LL, 10000000000LL);
    if (!strcmp(kind, "shuffled"))
        shuffled(b);
    else if (!strcmp(kind, "labels65"))
        labels65(b);
    else if (!strcmp(kind, "extreme"))
        extreme(b);
    else if (!strcmp(kind, "names"))
        names(b);
    else if (!strcmp(kind, "base"))
        base(b, seed);
    else {
        fprintf(stderr, "edgeprof: unknown kind %s\n", kind);
        return 2;
    }
    cp_profile *p = cp_pbuilder_finish(b);
    cp_buf raw = {0}, gz = {0};
    int rc = p ? cp_profile_encode(p, &raw) : -1;
    if (!rc && !strcmp(kind, "names")) {
        /* the \x01 inside these strings becomes NUL; lengths are unchanged */
        static const char *const pats[] = {"x\x01" "a", "x\x01" "b", "k\x01" "x", "v\x01" "1",
                                           "v\x01" "2"};
        for (size_t k = 0; k < sizeof pats / sizeof *pats; k++)
            for (char *at = (char *)raw.data; (at = memmem(at, raw.len - (size_t)(at - (char *)raw.data),
                                                          pats[k], 3)) != NULL; at += 3)
                at[1] = 0;
    }
    if (!rc)
        rc = cp_gzip(raw.data, raw.len, 6, &gz);
    FILE *f = rc ? NULL : fopen(argv[2], "wb");
    if (!f || fwrite(gz.data, 1, gz.len, f) != gz.len || fclose(f))
        rc = -1;
    cp_buf_free(&raw);
    cp_buf_free(&gz);
    cp_profile_free(p);
    cp_pbuilder_free(b);
    return rc ? 1 : 0;
}
