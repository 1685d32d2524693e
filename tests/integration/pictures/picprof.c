/* picprof.c — writes the profile the picture tests draw: hostile function
 * names (HTML, a closing </script>, quotes, ';' and a newline, which must
 * stay text everywhere), ordinary ones the tests look for, two sample
 * types with known sums, and a label.  Usage: picprof OUT [SCALE]: every
 * cpu value is multiplied by SCALE (a base profile for -base differs).
 * The cpu total is 1000 * (5+3+2+7+11) * SCALE ns. */
#include <stdio.h>
#include <stdlib.h>

#include "profile/builder.h"

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: picprof OUT [SCALE]\n");
        return 2;
    }
    long scale = argc > 2 ? atol(argv[2]) : 1;
    cp_pbuilder *b = cp_pbuilder_new(true);
    cp_pbuilder_sample_type(b, "samples", "count");
    cp_pbuilder_sample_type(b, "cpu", "nanoseconds");
    uint64_t m = cp_pbuilder_mapping(b, 0x1000, 0x9000, 0, "/bin/picprog", "", true, true, true,
                                     true);
    const char *names[] = {"main",
                           "serve_request",
                           "parse_header",
                           "a<img src=x onerror=alert(1)>b",
                           "x</script><script>alert(2)</script>",
                           "say\"hi'there\"",
                           "semi;colon",
                           "new\nline",
                           "compress_block"};
    enum { N = sizeof names / sizeof *names };
    uint64_t loc[N];
    for (int i = 0; i < N; i++) {
        char sys[32];
        snprintf(sys, sizeof sys, "_Z%dsym%d", i, i); /* names stay as written */
        uint64_t f = cp_pbuilder_function(b, names[i], sys, "pic<prog>.c", 10 * i);
        cp_line_in l = {f, 10 * i + 1, 0};
        loc[i] = cp_pbuilder_location(b, m, 0x1000 + 16 * (uint64_t)i, &l, 1, false);
    }
    /* leaf first */
    uint64_t s1[] = {loc[2], loc[1], loc[0]};
    uint64_t s2[] = {loc[3], loc[1], loc[0]};
    uint64_t s3[] = {loc[4], loc[5], loc[0]};
    uint64_t s4[] = {loc[6], loc[7], loc[0]};
    uint64_t s5[] = {loc[8], loc[1], loc[0]};
    const uint64_t *st[] = {s1, s2, s3, s4, s5};
    const int64_t counts[] = {5, 3, 2, 7, 11};
    cp_label_in lab[] = {{"handler", "</b>\"<i>", 0, NULL}, {"handler", "api", 0, NULL}};
    for (int i = 0; i < 5; i++) {
        int64_t v[2] = {counts[i], counts[i] * 1000 * scale};
        cp_pbuilder_sample(b, st[i], 3, v, &lab[i & 1], 1);
    }
    cp_profile *p = cp_pbuilder_finish(b);
    int rc = p ? cp_profile_write_file(p, argv[1]) : 1;
    cp_profile_free(p);
    cp_pbuilder_free(b);
    return rc ? 1 : 0;
}
