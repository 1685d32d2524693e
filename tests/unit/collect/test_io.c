/* The I/O profile's core without the interposers: the fast path and slow
 * path driven by hand (cp_io_begin/cp_io_end around a pretend call), so the
 * sums are known.  Exact at rate 1; unbiased byte and call estimates at
 * other rates; the kinds; the empty profile before any start. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "collect/io.h"
#include "cprof.h"

static int col(const cp_profile *p, const char *type)
{
    return cp_profile_sample_index(p, type);
}

static int64_t total(const cp_profile *p, const char *type)
{
    int c = col(p, type);
    int64_t s = 0;
    for (size_t i = 0; c >= 0 && i < p->nsamples; i++)
        s += p->samples[i].values[c];
    return s;
}

/* One pretend call that "moved" n bytes on fd. */
static __attribute__((noinline)) void pretend(int fd, ssize_t n)
{
    uint64_t t0 = 0;
    int how = cp_io_begin(&t0);
    cp_io_end(how, fd, n, t0);
}

Test(io, empty_before_start)
{
    cr_assert(!cp_io_enabled());
    cp_profile *p = NULL;
    cr_assert_eq(cp_io_profile(&p), 0);
    cr_assert_eq(p->nsamples, 0);
    cr_assert_eq(p->nsample_types, 3);
    cr_assert_geq(col(p, "io_calls"), 0);
    cr_assert_geq(col(p, "io_bytes"), 0);
    cr_assert_geq(col(p, "io_time"), 0);
    cp_profile_free(p);
}

Test(io, exact_at_rate_1)
{
    int pf[2];
    cr_assert_eq(pipe(pf), 0);
    cr_assert_eq(cp_io_start(1, 1, 7), 0);
    cr_assert(cp_io_enabled());
    for (int i = 0; i < 1000; i++)
        pretend(pf[1], i % 5 == 0 ? -1 : i); /* failures count as calls of 0 bytes */
    errno = 1234;
    pretend(pf[1], 10);
    cr_assert_eq(errno, 1234, "errno changed by the slow path");
    cp_io_stop();
    cp_profile *p = NULL;
    cr_assert_eq(cp_io_profile(&p), 0);
    int64_t want = 10;
    for (int i = 0; i < 1000; i++)
        want += i % 5 == 0 ? 0 : i;
    cr_assert_eq(total(p, "io_bytes"), want);
    cr_assert_eq(total(p, "io_calls"), 1001);
    cr_assert_gt(total(p, "io_time"), 0);
    for (size_t i = 0; i < p->nsamples; i++) {
        bool pipe_kind = false;
        for (size_t k = 0; k < p->samples[i].nlabels; k++)
            pipe_kind |= !strcmp(p->strings[p->samples[i].labels[k].key], "kind") &&
                         !strcmp(p->strings[p->samples[i].labels[k].str], "pipe");
        cr_assert(pipe_kind, "sample %zu without kind=pipe", i);
    }
    cp_profile_free(p);
}

Test(io, estimates_unbiased)
{
    /* 200000 calls of 4096 bytes at a mean of 64 KiB between byte samples
     * (~12500 samples: sd ~0.9%); calls timed 1 in 64 (sd ~1.8%). */
    cr_assert_eq(cp_io_start(65536, 2, 11), 0);
    for (int i = 0; i < 200000; i++)
        pretend(-1, 4096);
    cp_io_stop();
    cp_profile *p = NULL;
    cr_assert_eq(cp_io_profile(&p), 0);
    double b = (double)total(p, "io_bytes"), c = (double)total(p, "io_calls");
    cr_log_info("bytes %.0f (want %.0f), calls %.0f (want 200000)", b, 4096.0 * 200000, c);
    cr_assert_lt(fabs(b / (4096.0 * 200000) - 1), 0.05, "bytes %.0f", b);
    cr_assert_lt(fabs(c / 200000 - 1), 0.08, "calls %.0f", c);
    cp_profile_free(p);
}

Test(io, kinds_and_weights)
{
    int pf[2], sv[2];
    cr_assert_eq(pipe(pf), 0);
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    char path[] = "/tmp/cprof-test-io.XXXXXX";
    int f = mkstemp(path);
    cr_assert_geq(f, 0);
    unlink(path);
    int dn = open("/dev/null", O_WRONLY);
    errno = 77;
    cr_assert_eq(cp_io_fd_kind(pf[0]), CP_IO_PIPE);
    cr_assert_eq(cp_io_fd_kind(sv[0]), CP_IO_SOCKET);
    cr_assert_eq(cp_io_fd_kind(f), CP_IO_FILE);
    cr_assert_eq(cp_io_fd_kind(dn), CP_IO_OTHER);
    cr_assert_eq(cp_io_fd_kind(-1), CP_IO_OTHER);
    cr_assert_eq(errno, 77);
    cr_assert_eq(cp_io_bytes_weight(100, 1), 100.0);
    cr_assert_float_eq(cp_io_bytes_weight(1000, 1000), 1000 / (1 - exp(-1.0)), 1e-6);
    cr_assert_float_eq(cp_io_bytes_weight(1 << 30, 1000), (double)(1 << 30), 1e-3);
}
