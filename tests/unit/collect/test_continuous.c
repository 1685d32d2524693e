/* test_continuous.c — the pieces of periodic writes that need no process
 * of their own: signal names, seconds, "%n"/"%t" expansion, the CPU
 * period cut (a flip between the two stack tables: nothing lost, nothing
 * counted twice). */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "collect/continuous.h"
#include "collect/cpu.h"
#include "collect/output.h"
#include "cprof.h"
#include "profile/profile.h"

Test(continuous, signal_names)
{
    cr_assert_eq(cp_continuous_parse_signal("USR2"), SIGUSR2);
    cr_assert_eq(cp_continuous_parse_signal("SIGUSR2"), SIGUSR2);
    cr_assert_eq(cp_continuous_parse_signal("usr1"), SIGUSR1);
    cr_assert_eq(cp_continuous_parse_signal("HUP"), SIGHUP);
    cr_assert_eq(cp_continuous_parse_signal("RTMIN"), SIGRTMIN);
    cr_assert_eq(cp_continuous_parse_signal("RTMIN+3"), SIGRTMIN + 3);
    cr_assert_eq(cp_continuous_parse_signal("SIGRTMAX-1"), SIGRTMAX - 1);
    cr_assert_eq(cp_continuous_parse_signal("12"), 12);
    /* refused: unusable, unknown, malformed */
    cr_assert_eq(cp_continuous_parse_signal("KILL"), 0);
    cr_assert_eq(cp_continuous_parse_signal("SIGSTOP"), 0);
    cr_assert_eq(cp_continuous_parse_signal("SEGV"), 0);
    cr_assert_eq(cp_continuous_parse_signal("USR3"), 0);
    cr_assert_eq(cp_continuous_parse_signal("RTMIN+"), 0);
    cr_assert_eq(cp_continuous_parse_signal("RTMIN+999"), 0);
    cr_assert_eq(cp_continuous_parse_signal("-1"), 0);
    cr_assert_eq(cp_continuous_parse_signal(""), 0);
    cr_assert_eq(cp_continuous_parse_signal("0"), 0);
}

Test(continuous, seconds)
{
    double v;
    cr_assert_eq(cp_continuous_parse_seconds("1", &v), 0);
    cr_assert_float_eq(v, 1.0, 1e-12);
    cr_assert_eq(cp_continuous_parse_seconds("0.25", &v), 0);
    cr_assert_float_eq(v, 0.25, 1e-12);
    const char *bad[] = {"", "0", "-1", "+1", " 1", "1s", "nan", "inf", "1e10", "x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_assert_eq(cp_continuous_parse_seconds(bad[i], &v), CPROF_EINVAL, "%s", bad[i]);
}

Test(continuous, path_expansion)
{
    char out[256], want[256];
    /* 2026-11-30 01:23:45 UTC */
    int64_t t = 1796001825LL * 1000000000LL + 999;
    cr_assert_eq(cp_output_path("cpu.%n.%t.pb.gz", 7, t, out, sizeof out), 0);
    cr_assert_str_eq(out, "cpu.7.20261130T012345Z.pb.gz");
    cr_assert_eq(cp_output_path("a%%n.%p", 3, t, out, sizeof out), 0);
    snprintf(want, sizeof want, "a%%n.%d", (int)getpid());
    cr_assert_str_eq(out, want, "%%%% stays a literal %%");
    cr_assert_eq(cp_output_path("%n", 12, t, out, 3), 0);
    cr_assert_str_eq(out, "12");
    cr_assert_eq(cp_output_path("%n", 123, t, out, 3), CPROF_EINVAL, "too long");
    /* the current period, for writes made outside the writer */
    cp_output_set_period(5, t);
    int64_t n, s;
    cp_output_get_period(&n, &s);
    cr_assert_eq(n, 5);
    cr_assert_eq(s, t);
}

static volatile double sink;
static void burn_ms(int ms)
{
    struct timespec a, b;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a);
    double x = 0;
    do {
        for (int i = 0; i < 10000; i++)
            x += i;
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b);
    } while ((b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000 < ms);
    sink = x;
}

static int64_t sum_cpu(const cp_profile *p)
{
    int k = cp_profile_sample_index(p, "cpu");
    int64_t s = 0;
    for (size_t i = 0; k >= 0 && i < p->nsamples; i++)
        s += p->samples[i].values[k];
    return s;
}

Test(continuous, cpu_period_cuts_partition_the_run)
{
    cp_profile *p = NULL;
    cr_assert_eq(cp_cpu_period_profile(&p), CPROF_ENOTRUNNING);
    cr_assert_null(p);
    char path[] = "/tmp/cprof-test-cont-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    cprof_cpu_options o = {.hz = 1000};
    cr_assert_eq(cprof_cpu_start_fd(fd, &o), 0);
    int64_t total = 0;
    for (int i = 0; i < 4; i++) {
        burn_ms(60);
        cr_assert_eq(cp_cpu_period_profile(&p), 0);
        int64_t c = sum_cpu(p);
        cr_assert_gt(c, 0, "period %d holds its CPU", i);
        cr_assert_gt(p->duration_nanos, 0);
        total += c;
        cp_profile_free(p);
    }
    burn_ms(60);
    cr_assert_eq(cp_cpu_stop_profile(&p), 0);
    total += sum_cpu(p);
    cp_profile_free(p);
    cp_cpu_stats st;
    cp_cpu_get_stats(&st);
    /* every nanosecond the profiler accounted for is in exactly one period */
    cr_assert_eq(total, st.cpu_ns, "periods %lld vs accounted %lld", (long long)total,
                 (long long)st.cpu_ns);
    cr_assert_gt(total, 250 * 1000000LL * 9 / 10);
    cr_assert_eq(cprof_cpu_stop(), CPROF_ENOTRUNNING, "stopped by the last cut");
    close(fd);
    unlink(path);
}
