/* test_cpu.c — the CPU profiler's API contract, ring and stack table. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "collect/cpu.h"
#include "collect/cpuwrite.h"
#include "collect/ring.h"
#include "collect/stacktab.h"
#include "collect/timers.h"
#include "cprof.h"
#include "profile/profile.h"

static volatile uint64_t sink;

static __attribute__((noinline)) void burn_ms(int ms)
{
    struct timespec t0, t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
    uint64_t x = 1;
    do {
        for (int i = 0; i < 10000; i++)
            x = x * 6364136223846793005ull + 1;
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    } while ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 < ms);
    sink = x;
}

Test(cpu, start_twice_is_busy_and_stop_twice_not_running)
{
    char path[] = "/tmp/cprof-test-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    cr_assert_eq(cprof_cpu_running(), 0);
    cr_assert_eq(cprof_cpu_stop(), CPROF_ENOTRUNNING);
    cr_assert_eq(cprof_cpu_start(path, NULL), 0);
    cr_assert_eq(cprof_cpu_running(), 1);
    cr_assert_eq(cprof_cpu_start(path, NULL), CPROF_EBUSY);
    cr_assert_eq(cprof_cpu_start_fd(fd, NULL), CPROF_EBUSY);
    cr_assert_geq(cp_timers_count(), 1);
    burn_ms(300);
    cp_cpu_stats st;
    cp_cpu_get_stats(&st);
    /* 300 ms at 100 Hz: ~30 samples (the kernel may merge a few). */
    cr_assert(st.samples >= 20 && st.samples <= 40, "%lld samples", (long long)st.samples);
    cr_assert_eq(st.lost, 0);
    cr_assert(st.cpu_ns > 200000000, "%lld ns", (long long)st.cpu_ns);
    cr_assert_eq(cprof_cpu_stop(), 0);
    cr_assert_eq(cp_timers_count(), 0);
    cr_assert_eq(cprof_cpu_running(), 0);
    cr_assert_eq(cprof_cpu_stop(), CPROF_ENOTRUNNING);
    cp_profile *p = NULL;
    cp_diag d;
    cr_assert_eq(cp_profile_read_file(path, &p, &d), 0, "%s", d.msg);
    cr_assert_eq(p->nsample_types, 2);
    cr_assert_str_eq(cp_str(p, p->sample_types[0].type), "samples");
    cr_assert_str_eq(cp_str(p, p->sample_types[1].type), "cpu");
    cr_assert_str_eq(cp_str(p, p->sample_types[1].unit), "nanoseconds");
    cr_assert_str_eq(cp_str(p, p->period_type.type), "cpu");
    cr_assert_eq(p->period, 10000000);
    cr_assert_gt(p->duration_nanos, 0);
    int64_t ns = 0;
    for (size_t i = 0; i < p->nsamples; i++)
        ns += p->samples[i].values[1];
    /* 300 ms burned; the unsampled tail is below one period (10 ms). */
    cr_assert(ns > 270000000 && ns < 330000000, "cpu total %lld ns", (long long)ns);
    cp_profile_free(p);
    unlink(path);
    close(fd);
}

Test(cpu, start_fd_writes_to_the_descriptor)
{
    char path[] = "/tmp/cprof-test-XXXXXX";
    int fd = mkstemp(path);
    cprof_cpu_options o = {.hz = 250};
    cr_assert_eq(cprof_cpu_start_fd(fd, &o), 0);
    burn_ms(50);
    cr_assert_eq(cprof_cpu_stop(), 0);
    cp_profile *p = NULL;
    cp_diag d;
    cr_assert_eq(cp_profile_read_file(path, &p, &d), 0, "%s", d.msg);
    cr_assert_eq(p->period, 4000000);
    cp_profile_free(p);
    unlink(path);
    close(fd);
}

Test(cpu, bad_options_are_rejected)
{
    cprof_cpu_options o = {.hz = -1};
    cr_assert_eq(cprof_cpu_start("/tmp/x", &o), CPROF_EINVAL);
    o = (cprof_cpu_options){.flags = 1};
    cr_assert_eq(cprof_cpu_start("/tmp/x", &o), CPROF_EINVAL);
    o = (cprof_cpu_options){.signal = SIGKILL};
    cr_assert_eq(cprof_cpu_start("/tmp/x", &o), CPROF_EINVAL);
    cr_assert_eq(cprof_cpu_start(NULL, NULL), CPROF_EINVAL);
    cr_assert_eq(cprof_cpu_start_fd(-1, NULL), CPROF_EINVAL);
    cr_assert_eq(cprof_cpu_running(), 0);
}

static void program_handler(int sig)
{
    (void)sig;
}

Test(cpu, a_program_owning_sigprof_keeps_it)
{
    signal(SIGPROF, program_handler);
    cr_assert_eq(cprof_cpu_start("/tmp/x", NULL), CPROF_ESIGNAL);
    struct sigaction cur;
    sigaction(SIGPROF, NULL, &cur);
    cr_assert_eq((void *)cur.sa_handler, (void *)program_handler);
    /* Another signal works. */
    char path[] = "/tmp/cprof-test-XXXXXX";
    int fd = mkstemp(path);
    cprof_cpu_options o = {.signal = SIGRTMIN + 4};
    cr_assert_eq(cprof_cpu_start(path, &o), 0);
    burn_ms(30);
    cr_assert_eq(cprof_cpu_stop(), 0);
    unlink(path);
    close(fd);
}

Test(cpu, itimer_prof_in_use_is_refused)
{
    signal(SIGPROF, SIG_IGN);
    struct itimerval it = {.it_value = {100, 0}};
    setitimer(ITIMER_PROF, &it, NULL);
    cr_assert_eq(cprof_cpu_start("/tmp/x", NULL), CPROF_ESIGNAL);
}

Test(ring, fills_then_refuses_then_drains_in_order)
{
    cp_ring r;
    cr_assert_eq(cp_ring_init(&r, 5), 0); /* rounded up to 8 */
    for (int i = 0; i < 8; i++) {
        cp_ring_slot *s = cp_ring_reserve(&r);
        cr_assert_not_null(s);
        s->weight_ns = i;
        cp_ring_commit(&r, s);
    }
    cr_assert_null(cp_ring_reserve(&r));
    for (int i = 0; i < 8; i++) {
        cp_ring_slot *s = cp_ring_peek(&r);
        cr_assert_not_null(s);
        cr_assert_eq(s->weight_ns, i);
        cp_ring_release(&r, s);
    }
    cr_assert_null(cp_ring_peek(&r));
    /* A reserved but uncommitted slot blocks the consumer, not producers. */
    cp_ring_slot *a = cp_ring_reserve(&r), *b = cp_ring_reserve(&r);
    cp_ring_commit(&r, b);
    cr_assert_null(cp_ring_peek(&r));
    cp_ring_commit(&r, a);
    cr_assert_eq(cp_ring_peek(&r), a);
    cp_ring_destroy(&r);
}

Test(stacktab, folds_identical_stacks)
{
    cp_stacktab t = {0};
    uint64_t s1[] = {1, 2, 3}, s2[] = {1, 2, 4};
    for (int i = 0; i < 5000; i++) {
        cr_assert_eq(cp_stacktab_add(&t, s1, 3, 1, 10), 0);
        uint64_t s3[] = {100 + (uint64_t)i, 7};
        cr_assert_eq(cp_stacktab_add(&t, s3, 2, 1, 1), 0);
    }
    cr_assert_eq(cp_stacktab_add(&t, s2, 3, 2, 7), 0);
    cr_assert_eq(cp_stacktab_add(&t, s2, 2, 1, 1), 0); /* a prefix is another stack */
    cr_assert_eq(t.len, 5003);
    cr_assert_eq(t.stacks[0].count, 5000);
    cr_assert_eq(t.stacks[0].ns, 50000);
    cp_stacktab_free(&t);
}

Test(cpuwrite, lost_samples_become_a_named_frame)
{
    cp_stacktab t = {0};
    uint64_t s[] = {0x1234};
    cp_stacktab_add(&t, s, 1, 3, 30);
    cp_cpuwrite_meta m = {.period_ns = 10, .hz = 100, .lost = 2, .lost_ns = 20};
    cp_profile *p = NULL;
    cr_assert_eq(cp_cpuwrite_build(&t, &m, NULL, &p), 0);
    cr_assert_eq(p->nsamples, 2);
    int found = 0;
    for (size_t i = 0; i < p->nsamples; i++) {
        const cp_location *l = &p->locations[p->samples[i].locs[0]];
        if (l->nlines && !strcmp(cp_str(p, p->functions[l->lines[0].func].name), CP_CPU_LOST_FRAME)) {
            found = 1;
            cr_assert_eq(p->samples[i].values[0], 2);
            cr_assert_eq(p->samples[i].values[1], 20);
        }
    }
    cr_assert(found);
    cp_profile_free(p);
    cp_stacktab_free(&t);
}

/* Four producers race on a small ring while one consumer drains: every
 * value arrives exactly once or is counted as refused (full). */
enum { PRODUCERS = 4, PER_PRODUCER = 200000 };
static cp_ring race_ring;
static atomic_long refused;

static void *producer(void *arg)
{
    int64_t base = (int64_t)(intptr_t)arg * PER_PRODUCER;
    for (int64_t i = 0; i < PER_PRODUCER; i++) {
        cp_ring_slot *s = cp_ring_reserve(&race_ring);
        if (!s) {
            atomic_fetch_add(&refused, 1);
            continue;
        }
        s->weight_ns = base + i;
        s->nframes = 1;
        s->pcs[0] = (uint64_t)(base + i) * 3;
        cp_ring_commit(&race_ring, s);
    }
    return NULL;
}

Test(ring, concurrent_producers_lose_nothing_silently)
{
    cr_assert_eq(cp_ring_init(&race_ring, 256), 0);
    uint8_t *seen = calloc(PRODUCERS * PER_PRODUCER, 1);
    pthread_t t[PRODUCERS];
    for (int i = 0; i < PRODUCERS; i++)
        pthread_create(&t[i], NULL, producer, (void *)(intptr_t)i);
    long got = 0;
    int joined[PRODUCERS] = {0}, done = 0;
    while (!done) {
        done = 1;
        for (int i = 0; i < PRODUCERS; i++) {
            if (!joined[i] && pthread_tryjoin_np(t[i], NULL) == 0)
                joined[i] = 1;
            done &= joined[i];
        }
        cp_ring_slot *s;
        while ((s = cp_ring_peek(&race_ring)) != NULL) {
            int64_t v = s->weight_ns;
            cr_assert(v >= 0 && v < PRODUCERS * PER_PRODUCER);
            cr_assert_eq(s->pcs[0], (uint64_t)v * 3, "torn slot");
            cr_assert_eq(seen[v], 0, "value %lld twice", (long long)v);
            seen[v] = 1;
            got++;
            cp_ring_release(&race_ring, s);
        }
    }
    cr_assert_eq(got + atomic_load(&refused), (long)PRODUCERS * PER_PRODUCER);
    free(seen);
    cp_ring_destroy(&race_ring);
}

/* A thread cancelled inside cprof_cpu_stop (pthread_join, nanosleep and
 * write are cancellation points) must not leave the profiler's mutex held:
 * the stop finishes, and later starts and stops work. */
static atomic_int cancel_sent;
static int cancelled_stop_rc = 99;

static void *stop_when_cancelled(void *arg)
{
    (void)arg;
    int old;
    pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old);
    while (!atomic_load(&cancel_sent))
        sched_yield();
    pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, &old); /* not a cancellation point */
    cancelled_stop_rc = cprof_cpu_stop();
    pthread_testcancel();
    return NULL;
}

Test(cpu, cancelled_inside_stop_keeps_the_profiler_usable, .timeout = 20)
{
    char path[] = "/tmp/cprof-test-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    close(fd);
    cr_assert_eq(cprof_cpu_start(path, NULL), 0);
    burn_ms(20);
    pthread_t t;
    pthread_create(&t, NULL, stop_when_cancelled, NULL);
    pthread_cancel(t);
    atomic_store(&cancel_sent, 1);
    void *res;
    pthread_join(t, &res);
    cr_assert_eq(res, PTHREAD_CANCELED);
    cr_assert_eq(cancelled_stop_rc, 0, "the stop did not finish (%d)", cancelled_stop_rc);
    /* With the mutex left locked these would hang (and the test time out). */
    cr_assert_eq(cprof_cpu_start(path, NULL), 0);
    cr_assert_eq(cprof_cpu_stop(), 0);
    unlink(path);
}
