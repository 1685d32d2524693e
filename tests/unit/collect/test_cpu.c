/* test_cpu.c — the CPU profiler's API contract and its lock-free stack table. */
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
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/env.h"
#include "collect/cpu.h"
#include "collect/cpuwrite.h"
#include "collect/stacktab.h"
#include "collect/timers.h"
#include "collect/unwind.h"
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

static int64_t table_total(cp_stacktab *t, int64_t *ns, int64_t *nonzero)
{
    int64_t c = 0;
    *ns = 0;
    *nonzero = 0;
    for (const cp_stackrec *r = cp_stacktab_next(t, NULL); r; r = cp_stacktab_next(t, r)) {
        c += r->count;
        *ns += r->ns;
        *nonzero += r->count > 0;
    }
    return c;
}

Test(stacktab, folds_identical_stacks)
{
    cp_stacktab t;
    cr_assert_eq(cp_stacktab_init(&t, 16384, 1 << 20), 0);
    uint64_t s1[] = {1, 2, 3}, s2[] = {1, 2, 4};
    for (int i = 0; i < 5000; i++) {
        cr_assert_eq(cp_stacktab_add(&t, s1, 3, 10), 0);
        uint64_t s3[] = {100 + (uint64_t)i, 7};
        cr_assert_eq(cp_stacktab_add(&t, s3, 2, 1), 0);
    }
    cr_assert_eq(cp_stacktab_add(&t, s2, 3, 7), 0);
    cr_assert_eq(cp_stacktab_add(&t, s2, 2, 1), 0); /* a prefix is another stack */
    cp_stacktab_stats st;
    cp_stacktab_get_stats(&t, &st);
    cr_assert_eq(st.records, 5003);
    cr_assert_eq(st.lost, 0);
    const cp_stackrec *r = cp_stacktab_next(&t, NULL);
    cr_assert_eq(r->count, 5000);
    cr_assert_eq(r->ns, 50000);
    cr_assert_eq(r->n, 3);
    cr_assert_eq(r->pcs[2], 3);
    /* reset empties it */
    cp_stacktab_reset(&t);
    cr_assert_null(cp_stacktab_next(&t, NULL));
    cp_stacktab_get_stats(&t, &st);
    cr_assert_eq(st.records, 0);
    cp_stacktab_destroy(&t);
}

Test(stacktab, a_sample_record_takes_later_cpu_time_without_a_count)
{
    cp_stacktab t;
    cr_assert_eq(cp_stacktab_init(&t, 64, 4096), 0);
    uint64_t s1[] = {1, 2, 3}, s2[] = {4, 5};
    cp_stackrec *a = NULL, *b = NULL, *a2 = NULL;
    cr_assert_eq(cp_stacktab_add_rec(&t, s1, 3, 10, &a), 0);
    cr_assert_eq(cp_stacktab_add_rec(&t, s2, 2, 20, &b), 0);
    cr_assert_eq(cp_stacktab_add_rec(&t, s1, 3, 10, &a2), 0);
    cr_assert(a && b && a == a2 && a != b);
    cp_stacktab_add_ns(a, 7); /* a thread's tail after its last sample */
    cr_assert_eq(a->count, 2);
    cr_assert_eq(a->ns, 27);
    cr_assert_eq(b->count, 1);
    cr_assert_eq(b->ns, 20);
    cp_stacktab_destroy(&t);
}

Test(stacktab, a_full_table_counts_lost_samples_with_their_weight)
{
    cp_stacktab t;
    /* 64 index slots, 64 words of arena: 4 records of 4 frames (9 words of
     * header each: four values, hash, sizes, two keys, ready mark). */
    cr_assert_eq(cp_stacktab_init(&t, 64, 64), 0);
    int64_t added = 0, refused = 0, refused_ns = 0;
    for (uint64_t i = 0; i < 100; i++) {
        uint64_t s[] = {i, i + 1, i + 2, i + 3};
        if (cp_stacktab_add(&t, s, 4, (int64_t)i) == 0) {
            added++;
        } else {
            refused++;
            refused_ns += (int64_t)i;
        }
    }
    cr_assert_eq(added, 4);
    cp_stacktab_stats st;
    cp_stacktab_get_stats(&t, &st);
    cr_assert_eq(st.lost, refused);
    cr_assert_eq(st.lost_ns, refused_ns);
    /* A stack already in the table is still counted when the arena is full. */
    uint64_t s0[] = {0, 1, 2, 3};
    cr_assert_eq(cp_stacktab_add(&t, s0, 4, 5), 0);
    cr_assert_eq(cp_stacktab_next(&t, NULL)->count, 2);
    cp_stacktab_destroy(&t);
}

Test(stacktab, a_forked_child_finds_it_empty_without_copying_it)
{
    cp_stacktab t;
    cr_assert_eq(cp_stacktab_init(&t, 1024, 1 << 20), 0);
    uint64_t s[64];
    for (uint64_t i = 0; i < 20000; i++) {
        for (int k = 0; k < 64; k++)
            s[k] = i * 64 + (uint64_t)k;
        cp_stacktab_add(&t, s, 64, 1); /* about 5 MiB of records */
    }
    pid_t pid = fork();
    if (pid == 0) {
        cp_stacktab_atfork_child(&t);
        struct rusage ru0, ru1;
        getrusage(RUSAGE_SELF, &ru0);
        int empty = cp_stacktab_next(&t, NULL) == NULL;
        uint64_t one[] = {1};
        int ok = cp_stacktab_add(&t, one, 1, 1) == 0;
        getrusage(RUSAGE_SELF, &ru1);
        /* reading the header and one record: a handful of fresh pages */
        _exit(empty && ok && ru1.ru_minflt - ru0.ru_minflt < 16 ? 0 : 1);
    }
    int status;
    waitpid(pid, &status, 0);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child saw the parent's samples");
    cr_assert_not_null(cp_stacktab_next(&t, NULL)); /* the parent's are still there */
    cp_stacktab_destroy(&t);
}

/* Threads add stacks from their own code while a sender thread fires
 * signals at them whose handler adds stacks too, so handlers interrupt
 * adds in flight on the same thread.  Every sample is in the table or
 * counted as lost, per stack, exactly. */
enum { ST_THREADS = 4, ST_STACKS = 700, ST_ADDS = 30000, ST_SIGNALS = 5000 };
static cp_stacktab st_tab;
static atomic_llong st_done_by[ST_STACKS], st_lost_by[ST_STACKS];
static atomic_llong st_weight, st_lost_weight;
static atomic_int st_stop, st_finished;
static atomic_long st_signals, st_main_adds;
static __thread uint64_t st_rng_main, st_rng_sig;

static void st_add(uint64_t *rng)
{
    *rng ^= *rng << 13;
    *rng ^= *rng >> 7;
    *rng ^= *rng << 17;
    int id = (int)(*rng % ST_STACKS);
    uint64_t pcs[40];
    uint32_t n = 1 + (uint32_t)(id % 40);
    for (uint32_t k = 0; k < n; k++)
        pcs[k] = (uint64_t)id * 1000 + k;
    int64_t w = id + 1;
    if (cp_stacktab_add(&st_tab, pcs, n, w) == 0) {
        atomic_fetch_add(&st_done_by[id], 1);
        atomic_fetch_add(&st_weight, w);
    } else {
        atomic_fetch_add(&st_lost_by[id], 1);
        atomic_fetch_add(&st_lost_weight, w);
    }
}

static void st_handler(int sig)
{
    (void)sig;
    atomic_fetch_add(&st_signals, 1);
    st_add(&st_rng_sig);
}

static void *st_worker(void *arg)
{
    st_rng_main = 0x1234567ull + (uint64_t)(intptr_t)arg * 77;
    st_rng_sig = 0x7654321ull + (uint64_t)(intptr_t)arg * 91;
    /* at least ST_ADDS adds, and on until the handlers ran ST_SIGNALS times */
    for (long i = 0; i < ST_ADDS || atomic_load(&st_signals) < ST_SIGNALS; i++) {
        st_add(&st_rng_main);
        atomic_fetch_add(&st_main_adds, 1);
    }
    /* stay alive until the sender has stopped: it signals this thread */
    atomic_fetch_add(&st_finished, 1);
    while (!atomic_load(&st_stop))
        sched_yield();
    return NULL;
}

static void *st_sender(void *arg)
{
    pthread_t *w = arg;
    while (atomic_load(&st_finished) < ST_THREADS)
        for (int i = 0; i < ST_THREADS; i++)
            pthread_kill(w[i], SIGUSR2);
    atomic_store(&st_stop, 1);
    return NULL;
}

static void stress(size_t nindex, size_t arena_words, int expect_lost)
{
    memset(st_done_by, 0, sizeof st_done_by);
    memset(st_lost_by, 0, sizeof st_lost_by);
    st_weight = st_lost_weight = 0;
    st_stop = 0;
    st_finished = 0;
    st_signals = 0;
    st_main_adds = 0;
    cr_assert_eq(cp_stacktab_init(&st_tab, nindex, arena_words), 0);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = st_handler;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGUSR2, &sa, NULL);
    pthread_t w[ST_THREADS], snd;
    for (int i = 0; i < ST_THREADS; i++)
        pthread_create(&w[i], NULL, st_worker, (void *)(intptr_t)i);
    pthread_create(&snd, NULL, st_sender, w);
    pthread_join(snd, NULL);
    for (int i = 0; i < ST_THREADS; i++)
        pthread_join(w[i], NULL);
    /* every handler has returned (its thread is gone); a signal still
     * pending at a thread's exit never ran and was never counted */
    int64_t in_table_ns, records_alive;
    cp_stacktab_merge(&st_tab);
    int64_t in_table = table_total(&st_tab, &in_table_ns, &records_alive);
    int64_t done = 0, lost = 0;
    int64_t by[ST_STACKS] = {0};
    for (const cp_stackrec *r = cp_stacktab_next(&st_tab, NULL); r; r = cp_stacktab_next(&st_tab, r)) {
        int id = (int)(r->pcs[0] / 1000);
        cr_assert_eq(r->n, 1 + (uint32_t)(id % 40), "torn record");
        for (uint32_t k = 0; k < r->n; k++)
            cr_assert_eq(r->pcs[k], (uint64_t)id * 1000 + k, "torn record");
        cr_assert_eq(r->ns, r->count * (id + 1));
        by[id] += r->count;
    }
    for (int i = 0; i < ST_STACKS; i++) {
        cr_assert_eq(by[i], st_done_by[i], "stack %d: %lld in table, %lld added", i,
                     (long long)by[i], (long long)st_done_by[i]);
        done += st_done_by[i];
        lost += st_lost_by[i];
    }
    cp_stacktab_stats st;
    cp_stacktab_get_stats(&st_tab, &st);
    cr_assert_eq(in_table, done);
    cr_assert_eq(in_table_ns, st_weight);
    cr_assert_eq(st.lost, lost);
    cr_assert_eq(st.lost_ns, st_lost_weight);
    cr_assert_eq(done + lost, st_main_adds + st_signals);
    cr_assert_geq(st_signals, ST_SIGNALS);
    cr_log_info("%ld signals, %lld lost", (long)st_signals, (long long)lost);
    if (expect_lost)
        cr_assert_gt(lost, 0);
    else
        cr_assert(lost == 0 && records_alive == ST_STACKS, "%lld lost, %lld records",
                  (long long)lost, (long long)records_alive);
    cp_stacktab_destroy(&st_tab);
}

Test(stacktab, threads_and_signals_count_every_sample_exactly, .timeout = 60)
{
    stress(4096, 1 << 20, 0);
}

Test(stacktab, threads_and_signals_on_a_crowded_full_table, .timeout = 60)
{
    /* 256 slots for 700 stacks: long probes and unindexed records; an
     * arena for about half of them: refusals. */
    stress(256, 6000, 1);
}

Test(unwind, stack_depth_is_parsed_strictly)
{
    int64_t d = 0;
    cr_assert_eq(cp_env_parse_int("256", CP_MIN_FRAMES, CP_MAX_FRAMES, &d), 0);
    cr_assert_eq(d, 256);
    cr_assert_eq(cp_env_parse_int("1024", CP_MIN_FRAMES, CP_MAX_FRAMES, &d), 0);
    cr_assert_eq(cp_env_parse_int("8", CP_MIN_FRAMES, CP_MAX_FRAMES, &d), 0);
    const char *bad[] = {"", "7", "1025", "99999999999999999999", "12x", " 12", "+12", "-5",
                         "0x40", "1e3", "010"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        cr_assert_eq(cp_env_parse_int(bad[i], CP_MIN_FRAMES, CP_MAX_FRAMES, &d), CPROF_EINVAL,
                     "%s accepted", bad[i]);
    cr_assert_eq(cp_unwind_set_depth(7), CPROF_EINVAL);
    cr_assert_eq(cp_unwind_depth(), CP_DEFAULT_FRAMES);
}

Test(cpuwrite, elided_frames_get_a_named_frame)
{
    char name[80];
    cr_assert_str_eq(cp_unwind_elided_name(CP_ELIDED_TAG | 745, name, sizeof name),
                     "[745 frames elided]");
    cr_assert_str_eq(cp_unwind_elided_name(CP_ELIDED_TAG | CP_ELIDED_NOROOT | 16129, name,
                                           sizeof name),
                     "[16129+ frames elided, root not reached]");
    cp_stacktab t;
    cr_assert_eq(cp_stacktab_init(&t, 64, 1024), 0);
    uint64_t s[] = {0x1234, CP_ELIDED_TAG | 12, 0x5678};
    cp_stacktab_add(&t, s, 3, 30);
    cp_cpuwrite_meta m = {.period_ns = 10, .hz = 100};
    cp_profile *p = NULL;
    cr_assert_eq(cp_cpuwrite_build(&t, &m, &p), 0);
    cr_assert_eq(p->nsamples, 1);
    cr_assert_eq(p->samples[0].nlocs, 3);
    const cp_location *l = &p->locations[p->samples[0].locs[1]];
    cr_assert_eq(l->nlines, 1);
    cr_assert_str_eq(cp_str(p, p->functions[l->lines[0].func].name), "[12 frames elided]");
    cp_profile_free(p);
    cp_stacktab_destroy(&t);
}

Test(cpuwrite, lost_samples_become_a_named_frame)
{
    cp_stacktab t;
    cr_assert_eq(cp_stacktab_init(&t, 64, 1024), 0);
    uint64_t s[] = {0x1234};
    for (int i = 0; i < 3; i++)
        cp_stacktab_add(&t, s, 1, 10);
    cp_cpuwrite_meta m = {.period_ns = 10, .hz = 100, .lost = 2, .lost_ns = 20};
    cp_profile *p = NULL;
    cr_assert_eq(cp_cpuwrite_build(&t, &m, &p), 0);
    cr_assert_eq(p->nsamples, 2);
    int found = 0;
    for (size_t i = 0; i < p->nsamples; i++) {
        const cp_location *l = &p->locations[p->samples[i].locs[0]];
        if (l->nlines && !strcmp(cp_str(p, p->functions[l->lines[0].func].name), CP_LOST_FRAME)) {
            found = 1;
            cr_assert_eq(p->samples[i].values[0], 2);
            cr_assert_eq(p->samples[i].values[1], 20);
        }
    }
    cr_assert(found);
    cp_profile_free(p);
    cp_stacktab_destroy(&t);
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
