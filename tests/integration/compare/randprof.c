/* randprof.c — random but valid profiles for the differential comparison
 * with go tool pprof: odd shapes real profilers rarely write.
 *
 * Usage: randprof OUT SEED
 * Shapes drawn from the seed: 1–3 sample types with mixed units, negative
 * and zero values, empty stacks, recursion, locations without lines or
 * without a mapping, inlined frames, functions with empty or equal
 * name/system name, duplicate samples, string labels with repeated keys,
 * numeric labels with and without units, comments, a default sample type.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "profile/builder.h"

#include "rnd.h"

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: randprof OUT SEED\n");
        return 2;
    }
    state = strtoull(argv[2], NULL, 10) * 0x9e3779b97f4a7c15ULL + 1;
    cp_pbuilder *b = cp_pbuilder_new(rnd(2));
    static const char *types[][2] = {{"samples", "count"}, {"cpu", "nanoseconds"},
                                     {"alloc_space", "bytes"}, {"delay", "microseconds"}};
    size_t nt = 1 + rnd(3);
    for (size_t i = 0; i < nt; i++)
        cp_pbuilder_sample_type(b, types[(i + rnd(2)) % 4][0], types[(i + rnd(2)) % 4][1]);
    cp_pbuilder_period(b, "cpu", "nanoseconds", 10000000);
    if (rnd(2))
        cp_pbuilder_comment(b, "random profile");
    if (rnd(3) == 0)
        cp_pbuilder_comment(b, "#hidden comment");
    cp_pbuilder_times(b, 1700000000000000000LL + rnd(1000000) * 1000000000LL,
                      rnd(2) ? 1000000000LL * (1 + rnd(30)) : 0);
    uint64_t maps[3];
    maps[0] = cp_pbuilder_mapping(b, 0x400000, 0x500000, 0, "/usr/bin/app", rnd(2) ? "abcdef" : "",
                                  true, true, true, rnd(2));
    maps[1] = cp_pbuilder_mapping(b, 0x7f0000000000, 0x7f0000100000, 0x1000, "/lib/libc.so.6", "",
                                  true, true, true, false);
    maps[2] = 0;
    static const char *names[] = {"main", "work", "std::map<int, int>::find(int const&)",
                                  "ns::Widget::draw()", "", "recurse", "leaf", "pkg/sub.Func",
                                  "operator new(unsigned long)", "a.b.C.method"};
    static const char *files[] = {"main.c", "/src/work.c", "", "./lib/../x.cc", "/usr/include/map"};
    uint64_t funcs[10];
    for (int i = 0; i < 10; i++) {
        const char *sys = rnd(3) == 0 ? names[(i + 1) % 10] : names[i];
        funcs[i] = cp_pbuilder_function(b, names[i], rnd(2) ? sys : names[i], files[rnd(5)],
                                        rnd(2) ? 10 * i : 0);
    }
    uint64_t locs[24];
    for (int i = 0; i < 24; i++) {
        cp_line_in lines[3];
        size_t nl = rnd(5) == 0 ? 0 : 1 + (rnd(4) == 0) + (rnd(8) == 0);
        for (size_t k = 0; k < nl; k++) {
            lines[k].function_id = funcs[rnd(10)]; /* go rejects lines without one */
            lines[k].line = rnd(4) == 0 ? 0 : 1 + rnd(60);
            lines[k].column = 0;
        }
        locs[i] = cp_pbuilder_location(b, maps[rnd(3)], 0x400000 + 0x10 * (uint64_t)(i + 1),
                                       lines, nl, false);
    }
    size_t ns = 5 + rnd(40);
    for (size_t s = 0; s < ns; s++) {
        uint64_t stack[12];
        size_t depth = rnd(6) == 0 ? 0 : 1 + rnd(10);
        for (size_t k = 0; k < depth; k++)
            stack[k] = locs[rnd(24)];
        int64_t vals[3];
        for (size_t k = 0; k < nt; k++) {
            int r = (int)rnd(10);
            vals[k] = r == 0 ? 0 : r == 1 ? -(int64_t)rnd(5000) : (int64_t)rnd(100000) * (1 + rnd(1000));
        }
        cp_label_in labs[4];
        size_t nlab = 0;
        if (rnd(2))
            labs[nlab++] = (cp_label_in){"handler", rnd(2) ? "/a" : "/b", 0, NULL};
        if (rnd(4) == 0)
            labs[nlab++] = (cp_label_in){"handler", "/c", 0, NULL};
        if (rnd(3) == 0)
            labs[nlab++] = (cp_label_in){"bytes", NULL, 1 + rnd(1 << 20), rnd(2) ? "bytes" : NULL};
        if (rnd(4) == 0)
            labs[nlab++] = (cp_label_in){"count", NULL, 1 + rnd(100), NULL};
        cp_pbuilder_sample(b, stack, depth, vals, labs, nlab);
    }
    cp_profile *p = cp_pbuilder_finish(b);
    int rc = p ? cp_profile_write_file(p, argv[1]) : -1;
    cp_profile_free(p);
    cp_pbuilder_free(b);
    return rc ? 1 : 0;
}
