/* test_report_io.c — the report commands' parallel I/O (src/cli/report_io.c):
 * the two-thread gzip must inflate to the input bytes with a correct CRC and
 * size (zlib and gzip(1) both check them), and the two-thread reader must
 * return every profile and the first failure in order. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/fastgz.h"
#include "cli/report_io.h"
#include "profile/profile.h"
#include "testprof.h"

static void fill(unsigned char *p, size_t n)
{
    uint64_t s = 88172645463325252ULL;
    for (size_t i = 0; i < n; i++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        p[i] = (unsigned char)("profile:samples;" [s % 16] + (i % 4096 == 0));
    }
}

Test(report_io, two_thread_gzip_round_trips)
{
    size_t sizes[] = {0, 1, 100000, (8u << 20) + 1, (20u << 20) + 12345};
    for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
        size_t n = sizes[k];
        unsigned char *in = malloc(n + 1);
        fill(in, n);
        cp_buf z = {0}, back = {0};
        cp_diag d;
        cr_assert_eq(cp_cli_gzip_fast(in, n, &z), 0);
        cr_assert(cp_is_gzip(z.data, z.len));
        cr_assert_eq(cp_gunzip(z.data, z.len, 1u << 30, &back, &d), 0, "%zu: %s", n, d.msg);
        cr_assert_eq(back.len, n);
        cr_assert(n == 0 || !memcmp(back.data, in, n), "%zu bytes differ", n);
        /* gzip(1) checks the CRC and length of the one member */
        char path[] = "/tmp/cprof-gz2-XXXXXX";
        int fd = mkstemp(path);
        cr_assert(fd >= 0);
        cr_assert_eq(write(fd, z.data, z.len), (ssize_t)z.len);
        close(fd);
        char cmd[128];
        snprintf(cmd, sizeof cmd, "gzip -t < %s 2>/dev/null", path);
        int st = system(cmd);
        unlink(path);
        cr_assert_eq(st, 0, "gzip -t failed on %zu bytes", n);
        free(in);
        cp_buf_free(&z);
        cp_buf_free(&back);
    }
}

Test(report_io, parallel_reader_keeps_order_and_first_error)
{
    const char *src = getenv("CPROF_TEST_PROFILE");
    cr_assert(src, "CPROF_TEST_PROFILE not set");
    const char *paths[5] = {src, src, "/nonexistent/a.pb.gz", src, "/nonexistent/b.pb.gz"};
    cp_profile *out[5];
    cp_diag d[5];
    cr_assert_eq(cp_cli_read_files(paths, 2, out, d), 2);
    cr_assert(out[0] && out[1]);
    cr_assert_eq(out[0]->nsamples, out[1]->nsamples);
    cp_profile_free(out[0]);
    cp_profile_free(out[1]);
    cr_assert_eq(cp_cli_read_files(paths, 5, out, d), 2);
    cr_assert_null(out[2]);
    cr_assert(strstr(d[2].msg, "/nonexistent/a.pb.gz"), "%s", d[2].msg);
    cr_assert_null(out[4]);
    for (int i = 0; i < 5; i++)
        cp_profile_free(out[i]);
}

/* merge/proto output: a profile spanning several pieces of every section
 * (samples, locations, functions, strings), encoded and gzipped piece by
 * piece on two threads, inflates to exactly cp_profile_encode's bytes,
 * and decodes to the same records; with dense ids (id = index + 1, the
 * encoder's shortcut) and with ids that are not. */
Test(report_io, pieces_gzip_as_one_encoding)
{
    for (int dense = 1; dense >= 0; dense--) {
        cp_profile *p = random_profile_of(7, 140000, 70000, 40000);
        cr_assert_not_null(p);
        cr_assert_gt(p->nstrings, 131072);
        if (!dense) {
            for (size_t i = 0; i < p->nlocations; i++)
                p->locations[i].id = 3 * i + 5;
            for (size_t i = 0; i < p->nfunctions; i++)
                p->functions[i].id = 2 * i + 9;
        }
        cp_encode_plan plan;
        cp_profile_encode_plan(p, &plan);
        cr_assert_eq(plan.dense_locations, dense);
        cr_assert_eq(plan.dense_functions, dense);
        cr_assert_gt(plan.npieces, 10);
        cp_buf one = {0}, z = {0}, back = {0};
        cp_diag d;
        cr_assert_eq(cp_profile_encode(p, &one), 0);
        cr_assert_eq(cp_cli_encode_fast_gz(p, &z), 0);
        cr_assert_eq(cp_gunzip(z.data, z.len, 1u << 30, &back, &d), 0, "%s", d.msg);
        cr_assert_eq(back.len, one.len);
        cr_assert(!memcmp(back.data, one.data, one.len), "dense %d: bytes differ", dense);
        cp_profile *q;
        cr_assert_eq(cp_profile_decode(back.data, back.len, NULL, &q, &d), 0, "%s", d.msg);
        cr_assert_eq(q->nsamples, p->nsamples);
        cr_assert_eq(q->nlocations, p->nlocations);
        cr_assert_eq(q->nfunctions, p->nfunctions);
        for (size_t i = 0; i < p->nlocations; i++)
            cr_assert_eq(q->locations[i].id, p->locations[i].id);
        for (size_t i = 0; i < p->nsamples; i++)
            for (uint32_t k = 0; k < p->samples[i].nlocs; k++)
                cr_assert_eq(q->samples[i].locs[k], p->samples[i].locs[k]);
        for (size_t i = 0; i < p->nlocations; i++)
            for (uint32_t k = 0; k < p->locations[i].nlines; k++)
                cr_assert_eq(q->locations[i].lines[k].func, p->locations[i].lines[k].func);
        cp_profile_free(q);
        cp_profile_free(p);
        cp_buf_free(&one);
        cp_buf_free(&z);
        cp_buf_free(&back);
    }
}
