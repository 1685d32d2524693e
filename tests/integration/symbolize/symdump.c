/* symdump.c — writes a profile of its own code without any names, the
 * way a collector that does not symbolize would: mappings from procmaps,
 * bare addresses.  The integration script then runs `cprof symbolize` on
 * it and reads the result with go tool pprof.
 *
 * Samples (value = weight): inlined code in symfix_outer 40, the static
 * function 30, the C++ method 20 (when built), libc's qsort 5, and an
 * address outside any mapping 1.
 */
#include <dlfcn.h>
#include <stdio.h>

#include "collect/procmaps.h"
#include "profile/builder.h"
#include "symfix.h"

int main(int argc, char **argv)
{
    if (argc != 2) {
        fputs("usage: symdump OUT.pb.gz\n", stderr);
        return 2;
    }
    symfix_outer(1);
    symfix_entry(2);
    symfix_cpp_entry(3);
    uint64_t pcs[5] = {symfix_get(SYMFIX_INL)->pc, symfix_get(SYMFIX_STATIC)->pc,
                       symfix_get(SYMFIX_CPP)->pc,
                       (uint64_t)(uintptr_t)dlsym(RTLD_DEFAULT, "qsort"), 0x10};
    int64_t weights[5] = {40, 30, 20, 5, 1};
    cp_procmaps *m = cp_procmaps_load();
    cp_pbuilder *b = cp_pbuilder_new(true);
    if (!m || !b)
        return 1;
    cp_pbuilder_sample_type(b, "samples", "count");
    cp_pbuilder_period(b, "samples", "count", 1);
    for (int i = 0; i < 5; i++) {
        if (i == 2 && !symfix_have_cpp())
            continue;
        uint64_t mid = cp_procmaps_mapping_id(m, b, pcs[i]);
        uint64_t lid = cp_pbuilder_location(b, mid, pcs[i], NULL, 0, false);
        cp_pbuilder_sample(b, &lid, 1, &weights[i], NULL, 0);
    }
    cp_profile *p = cp_pbuilder_finish(b);
    int rc = p ? cp_profile_write_file(p, argv[1]) : 1;
    printf("inl_line=%d outer_line=%d static_line=%d cpp_line=%d\n",
           symfix_get(SYMFIX_INL)->line, symfix_get(SYMFIX_INL)->caller_line,
           symfix_get(SYMFIX_STATIC)->line, symfix_get(SYMFIX_CPP)->line);
    cp_profile_free(p);
    cp_pbuilder_free(b);
    cp_procmaps_free(m);
    return rc ? 1 : 0;
}
