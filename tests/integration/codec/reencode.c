/* reencode.c — `reencode IN OUT`: decode a profile with cprof's decoder and
 * write it back with cprof's encoder, so go tool pprof can compare the two
 * files (tests/integration/codec/pprof_raw_equal.sh).
 */
#include <stdio.h>

#include "profile/profile.h"

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: reencode IN OUT\n");
        return 2;
    }
    cp_profile *p = NULL;
    cp_diag d;
    if (cp_profile_read_file(argv[1], &p, &d)) {
        fprintf(stderr, "reencode: %s\n", d.msg);
        return 1;
    }
    int rc = cp_profile_write_file(p, argv[2]);
    cp_profile_free(p);
    if (rc) {
        fprintf(stderr, "reencode: %s: cannot write (%d)\n", argv[2], rc);
        return 1;
    }
    return 0;
}
