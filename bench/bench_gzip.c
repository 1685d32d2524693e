/* bench_gzip.c — the cprof command's gzip (src/cli/fastgz.c: libdeflate
 * inflates, ISA-L deflates) against zlib's (src/profile/gzip.c) on the
 * same profile, in one run.
 *
 *   bench_gzip [-n ROUNDS] PROFILE.pb.gz
 *
 * Inflates PROFILE (its own single member: what Go and libcprof write) and
 * deflates its raw bytes (zlib level 1, one thread; the fast way on two),
 * each way ROUNDS times (default 5),
 * the two ways interleaved; then inflates the multi-member file the fast
 * deflate made.  Prints the best wall time and the process CPU time of that
 * round for each, and the ratios.  Both ways' bytes are checked equal;
 * times are printed, never asserted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/fastgz.h"
#include "profile/profile.h"

typedef struct best {
    double wall, cpu;
} best;

static double now(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef int run_fn(const cp_buf *in, cp_buf *out);

static int zlib_inflate(const cp_buf *in, cp_buf *out)
{
    cp_diag d;
    return cp_gunzip(in->data, in->len, CP_MAX_DECOMPRESSED, out, &d);
}
static int fast_inflate(const cp_buf *in, cp_buf *out)
{
    cp_diag d;
    return cp_cli_gunzip(in->data, in->len, CP_MAX_DECOMPRESSED, out, &d);
}
static int zlib_deflate(const cp_buf *in, cp_buf *out)
{
    return cp_gzip(in->data, in->len, 1, out);
}
static int fast_deflate(const cp_buf *in, cp_buf *out)
{
    return cp_cli_gzip_fast(in->data, in->len, out);
}

/* one timed run of f into *out (emptied first), kept if it is the best */
static void timed(run_fn *f, const cp_buf *in, cp_buf *out, best *b)
{
    out->len = 0;
    double w0 = now(CLOCK_MONOTONIC), c0 = now(CLOCK_PROCESS_CPUTIME_ID);
    if (f(in, out)) {
        fprintf(stderr, "bench_gzip: a run failed\n");
        exit(1);
    }
    double w = now(CLOCK_MONOTONIC) - w0, c = now(CLOCK_PROCESS_CPUTIME_ID) - c0;
    if (b->wall == 0 || w < b->wall)
        *b = (best){w, c};
}

static void line(const char *what, size_t bytes, best z, best f)
{
    printf("%-30s %6.1f MB  zlib %6.3f s (cpu %6.3f)  cprof %6.3f s (cpu %6.3f)  "
           "%.2fx wall, %.2fx cpu\n",
           what, (double)bytes / 1e6, z.wall, z.cpu, f.wall, f.cpu, z.wall / f.wall, z.cpu / f.cpu);
}

int main(int argc, char **argv)
{
    int rounds = 5;
    if (argc == 4 && !strcmp(argv[1], "-n")) {
        rounds = atoi(argv[2]);
        argv += 2;
        argc -= 2;
    }
    cp_buf gz = {0}, raw = {0}, a = {0}, b = {0}, multi = {0};
    if (argc != 2 || rounds < 1 || cp_buf_read_file(&gz, argv[1], CP_MAX_DECOMPRESSED) ||
        !cp_is_gzip(gz.data, gz.len)) {
        fprintf(stderr, "usage: bench_gzip [-n ROUNDS] PROFILE.pb.gz (a gzipped file)\n");
        return 2;
    }
    if (zlib_inflate(&gz, &raw))
        return 1;
    best zi = {0}, fi = {0}, zd = {0}, fd = {0}, zm = {0}, fm = {0};
    for (int r = 0; r < rounds; r++) {
        timed(zlib_inflate, &gz, &a, &zi);
        timed(fast_inflate, &gz, &b, &fi);
        if (a.len != b.len || memcmp(a.data, b.data, a.len))
            return fprintf(stderr, "bench_gzip: inflated bytes differ\n"), 1;
        timed(zlib_deflate, &raw, &a, &zd);
        timed(fast_deflate, &raw, &multi, &fd);
    }
    size_t zlib_size = a.len;
    for (int r = 0; r < rounds; r++) {
        timed(zlib_inflate, &multi, &a, &zm);
        timed(fast_inflate, &multi, &b, &fm);
        if (a.len != raw.len || b.len != raw.len || memcmp(a.data, raw.data, raw.len) ||
            memcmp(b.data, raw.data, raw.len))
            return fprintf(stderr, "bench_gzip: round trip differs\n"), 1;
    }
    printf("bench_gzip: %s, %zu bytes gzipped, %zu raw; best of %d, interleaved\n", argv[1],
           gz.len, raw.len, rounds);
    line("inflate (one member)", raw.len, zi, fi);
    line("deflate (1 vs 2 threads)", raw.len, zd, fd);
    line("inflate (cprof's members)", raw.len, zm, fm);
    printf("deflate output: zlib level 1 %zu bytes (one member), cprof (ISA-L level 2) %zu bytes "
           "(%zu-byte members)\n", zlib_size, multi.len, (size_t)CP_CLI_GZ_MEMBER);
    cp_buf_free(&gz);
    cp_buf_free(&raw);
    cp_buf_free(&a);
    cp_buf_free(&b);
    cp_buf_free(&multi);
    return 0;
}
