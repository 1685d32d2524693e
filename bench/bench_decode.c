/* bench_decode.c — `bench_decode PROFILE`: time cprof's decoder.
 *
 * Baseline measured in the same run: zlib's gunzip of the same file alone,
 * which any reader of a .pb.gz must pay.  Prints the best of three runs of
 * each, the ratio, and the decoded model's size.  Never fails on time.
 */
#include <stdio.h>
#include <time.h>

#include "profile/profile.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: bench_decode PROFILE\n");
        return 2;
    }
    cp_buf file = {0};
    if (cp_buf_read_file(&file, argv[1], CP_MAX_DECOMPRESSED)) {
        perror(argv[1]);
        return 1;
    }
    double best_gz = 1e9, best_dec = 1e9;
    size_t raw_len = 0, model = 0, nsamples = 0;
    for (int i = 0; i < 3; i++) {
        cp_buf raw = {0};
        cp_diag d;
        double t0 = now();
        if (cp_is_gzip(file.data, file.len) &&
            cp_gunzip(file.data, file.len, CP_MAX_DECOMPRESSED, &raw, &d)) {
            fprintf(stderr, "bench_decode: %s\n", d.msg);
            return 1;
        }
        double t1 = now();
        raw_len = raw.len;
        cp_buf_free(&raw);
        cp_profile *p = NULL;
        double t2 = now();
        if (cp_profile_decode(file.data, file.len, NULL, &p, &d)) {
            fprintf(stderr, "bench_decode: %s\n", d.msg);
            return 1;
        }
        double t3 = now();
        model = p->arena.used_bytes;
        nsamples = p->nsamples;
        cp_profile_free(p);
        if (t1 - t0 < best_gz)
            best_gz = t1 - t0;
        if (t3 - t2 < best_dec)
            best_dec = t3 - t2;
    }
    printf("decode: %.1f MB gz -> %.1f MB raw, %zu samples: decode %.3f s | gunzip alone %.3f s | "
           "ratio %.2fx | model %.0f MiB\n",
           file.len / 1e6, raw_len / 1e6, nsamples, best_dec, best_gz,
           best_gz > 0 ? best_dec / best_gz : 0.0, model / 1048576.0);
    cp_buf_free(&file);
    return 0;
}
