/* mkprofile.c — writes a small C++-shaped profile with drop_frames and
 * keep_frames set (argv[2], argv[3]) for the comparison with go tool pprof:
 * names that go simplifies (equal name and system name), inlined frames,
 * "(anonymous namespace)" and "operator new(...)" frames. */
#include <stdio.h>
#include "profile/builder.h"
int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: mkprofile OUT DROP [KEEP]\n");
        return 2;
    }
    cp_pbuilder *b = cp_pbuilder_new(true);
    cp_pbuilder_sample_type(b, "samples", "count");
    cp_pbuilder_drop_keep(b, argv[2], argc > 3 ? argv[3] : NULL);
    uint64_t m = cp_pbuilder_mapping(b, 0x1000, 0x9000, 0, "/bin/prog", "", true, true, true, true);
    const char *names[] = {"main", "malloc", "operator new(unsigned long)", "std::vector<int>::push_back(int const&)", "tc_malloc", "(anonymous namespace)::helper(int)", "user_fn", ".hidden"};
    uint64_t loc[8];
    for (int i = 0; i < 8; i++) {
        uint64_t f = cp_pbuilder_function(b, names[i], names[i], "prog.cc", 10 * i);
        cp_line_in l = {f, 10 * i + 1, 0};
        loc[i] = cp_pbuilder_location(b, m, 0x1000 + 16 * (uint64_t)i, &l, 1, false);
    }
    /* an inline location: tc_malloc inlined into malloc */
    uint64_t f1 = cp_pbuilder_function(b, "tc_malloc", "tc_malloc", "prog.cc", 40);
    uint64_t f2 = cp_pbuilder_function(b, "malloc", "malloc", "prog.cc", 10);
    cp_line_in li[2] = {{f1, 41, 0}, {f2, 11, 0}};
    uint64_t inl = cp_pbuilder_location(b, m, 0x2000, li, 2, false);
    uint64_t s1[] = {loc[4], loc[1], loc[3], loc[6], loc[0]};
    uint64_t s2[] = {loc[2], loc[3], loc[0]};
    uint64_t s3[] = {inl, loc[5], loc[0]};
    uint64_t s4[] = {loc[1], loc[0], loc[4]};
    uint64_t s5[] = {loc[7], loc[6], loc[0]};
    int64_t v = 5;
    cp_pbuilder_sample(b, s1, 5, &v, NULL, 0); v = 3;
    cp_pbuilder_sample(b, s2, 3, &v, NULL, 0); v = 2;
    cp_pbuilder_sample(b, s3, 3, &v, NULL, 0); v = 1;
    cp_pbuilder_sample(b, s4, 3, &v, NULL, 0); v = 7;
    cp_pbuilder_sample(b, s5, 3, &v, NULL, 0);
    cp_profile *p = cp_pbuilder_finish(b);
    int rc = p ? cp_profile_write_file(p, argv[1]) : 1;
    cp_profile_free(p);
    cp_pbuilder_free(b);
    return rc ? 1 : 0;
}
