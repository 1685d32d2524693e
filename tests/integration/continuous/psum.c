/* psum.c — sum one sample type over profiles.
 *
 * usage: psum TYPE [--focus NAME] FILE...
 * Prints the sum of sample type TYPE (e.g. cpu, alloc_objects) over every
 * sample of every FILE — only samples with a frame named NAME with
 * --focus — and, on stderr, each file's own sum and time span.  Exit 2
 * when a file cannot be read or has no such type.
 */
#include <stdio.h>
#include <string.h>

#include "profile/profile.h"

static int has_frame(const cp_profile *p, const cp_sample *s, const char *name)
{
    for (uint32_t i = 0; i < s->nlocs; i++) {
        const cp_location *l = &p->locations[s->locs[i]];
        for (uint32_t k = 0; k < l->nlines; k++)
            if (l->lines[k].func != CP_NO_FUNCTION &&
                !strcmp(cp_str(p, p->functions[l->lines[k].func].name), name))
                return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: psum TYPE [--focus NAME] FILE...\n");
        return 2;
    }
    const char *type = argv[1], *focus = NULL;
    int first = 2;
    if (!strcmp(argv[2], "--focus") && argc > 4) {
        focus = argv[3];
        first = 4;
    }
    long long total = 0;
    for (int i = first; i < argc; i++) {
        cp_profile *p = NULL;
        cp_diag d = {{0}};
        if (cp_profile_read_file(argv[i], &p, &d) != 0) {
            fprintf(stderr, "psum: %s\n", d.msg);
            return 2;
        }
        int idx = cp_profile_sample_index(p, type);
        if (idx < 0 && p->nsample_types) {
            fprintf(stderr, "psum: %s: no sample type %s\n", argv[i], type);
            return 2;
        }
        long long sum = 0;
        for (size_t k = 0; idx >= 0 && k < p->nsamples; k++)
            if (!focus || has_frame(p, &p->samples[k], focus))
                sum += p->samples[k].values[idx];
        fprintf(stderr, "psum: %s: %s=%lld time=%lld duration=%lld\n", argv[i], type, sum,
                (long long)p->time_nanos, (long long)p->duration_nanos);
        total += sum;
        cp_profile_free(p);
    }
    printf("%lld\n", total);
    return 0;
}
