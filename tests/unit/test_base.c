/* test_base.c — arena, buffers, hash maps, string table, atomic writes. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/hashmap.h"
#include "base/path.h"
#include "base/prefault.h"
#include "cprof.h"

Test(arena, zeroed_aligned_and_capped)
{
    cp_arena a = {0};
    a.cap_bytes = 4096;
    char *p = cp_arena_alloc(&a, 100);
    cr_assert_not_null(p);
    cr_assert_eq((uintptr_t)p % 16, 0);
    for (int i = 0; i < 100; i++)
        cr_assert_eq(p[i], 0);
    cr_assert_null(cp_arena_alloc(&a, 8192), "cap must refuse");
    char *big = cp_arena_alloc(&(cp_arena){0}, 1 << 22);
    (void)big;
    cp_arena_free(&a);
    cr_assert_eq(a.used_bytes, 0);
}

Test(arena, big_blocks_do_not_waste_current)
{
    cp_arena a = {0};
    void *s1 = cp_arena_alloc(&a, 64);
    void *big = cp_arena_alloc(&a, 2 << 20);
    void *s2 = cp_arena_alloc(&a, 64);
    cr_assert(s1 && big && s2);
    cr_assert_eq((char *)s2 - (char *)s1, 64, "small allocations stay in the first block");
    cp_arena_free(&a);
}

Test(arena, adopt_and_release)
{
    cp_arena a = {0}, b = {0};
    a.cap_bytes = 8 << 20;
    b.cap_bytes = 8 << 20;
    char *sa = cp_arena_alloc(&a, 64), *sb = cp_arena_alloc(&b, 64);
    char *bigb = cp_arena_alloc(&b, 3 << 20);
    cr_assert(sa && sb && bigb);
    strcpy(sb, "from b");
    memset(bigb, 7, 3 << 20);
    size_t used = a.used_bytes + b.used_bytes, mapped = a.mapped_bytes + b.mapped_bytes;
    cp_arena_adopt(&a, &b);
    cr_assert_null(b.head);
    cr_assert_eq(b.used_bytes, 0);
    cr_assert_eq(a.used_bytes, used);
    cr_assert_eq(a.mapped_bytes, mapped);
    cr_assert_eq(a.cap_bytes, 16 << 20, "caps add up");
    cr_assert_str_eq(sb, "from b", "adopted blocks stay mapped");
    char *s2 = cp_arena_alloc(&a, 64);
    cr_assert_eq(s2 - sa, 64, "a keeps filling its own block");
    /* a big allocation of its own goes back; a small one cannot */
    cr_assert_not(cp_arena_release(&a, sb));
    cr_assert_not(cp_arena_release(&a, sa));
    cr_assert(cp_arena_release(&a, bigb));
    cr_assert_eq(a.mapped_bytes, mapped - ((3u << 20) + 4096));
    cr_assert_not(cp_arena_release(&a, bigb), "released once");
    cr_assert_str_eq(sb, "from b");
    cp_arena_free(&a);
    cr_assert_eq(a.mapped_bytes, 0);
}

/* pages of [p, p+n) in memory */
static size_t resident(const void *p, size_t n)
{
    unsigned char v[1024];
    size_t pages = n / 4096, r = 0;
    cr_assert(pages <= sizeof v);
    cr_assert_eq(mincore((void *)p, n, v), 0);
    for (size_t i = 0; i < pages; i++)
        r += v[i] & 1;
    return r;
}

/* Prefaulting fills pages in, keeps their bytes, and does nothing unless
 * the program asked or for a small range; arena blocks come populated and
 * zeroed.  A kernel without MADV_POPULATE_WRITE (before 5.14) skips the
 * residency checks. */
Test(prefault, fills_pages_keeps_bytes_only_when_asked)
{
    size_t n = 2 << 20;
    char *m = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    cr_assert_neq(m, MAP_FAILED);
    cp_prefault = false;
    cr_assert_not(cp_prefault_range(m, n));
    cr_assert_eq(resident(m, n), 0, "off: nothing touched");
    cp_prefault = true;
    cr_assert_not(cp_prefault_range(m, CP_PREFAULT_MIN - 1), "too small to bother");
    cr_assert_eq(resident(m, n), 0);
    memset(m, 0x5a, 4096); /* one page holds bytes already */
    bool filled = cp_prefault_range(m + 100, n - 100);
    /* before any read (a read maps the zero page, which counts) */
    size_t in = resident(m, n);
    for (size_t i = 0; i < 4096; i++)
        cr_assert_eq(m[i], 0x5a, "byte %zu kept", i);
    for (size_t i = 4096; i < n; i += 4096)
        cr_assert_eq(m[i], 0);
    if (filled) {
        /* the page-aligned inside of the range, and the first page the
         * memset wrote */
        cr_assert_eq(in, n / 4096);
        cp_arena a = {0};
        char *p = cp_arena_alloc(&a, 300 << 10); /* a block of its own */
        uintptr_t pg = ((uintptr_t)p + 4095) & ~(uintptr_t)4095;
        cr_assert_eq(resident((void *)pg, 256 << 10), 64, "arena block populated");
        cp_prefault = false;
        cp_arena b = {0};
        char *q = cp_arena_alloc(&b, 300 << 10);
        pg = ((uintptr_t)q + 4095) & ~(uintptr_t)4095;
        cr_assert_eq(resident((void *)pg, 256 << 10), 0, "not asked: not populated");
        cp_arena_free(&b);
        cp_prefault = true;
        for (size_t i = 0; i < (300 << 10); i++)
            cr_assert_eq(p[i], 0);
        cp_arena_free(&a);
        /* a big calloc comes zeroed and filled in (glibc maps it apart) */
        char *z = cp_prefault_calloc(1024, 1024);
        pg = ((uintptr_t)z + 4095) & ~(uintptr_t)4095;
        cr_assert_eq(resident((void *)pg, 512 << 10), 128, "calloc filled in");
        for (size_t i = 0; i < (1 << 20); i++)
            cr_assert_eq(z[i], 0);
        free(z);
    }
    cp_prefault = false;
    munmap(m, n);
}

Test(map, put_get_many)
{
    cp_map m = {0};
    for (uint64_t i = 0; i < 100000; i++)
        cr_assert_eq(cp_map_put(&m, i * 7919, i), 0);
    cr_assert_eq(m.len, 100000);
    for (uint64_t i = 0; i < 100000; i++) {
        uint64_t v;
        cr_assert(cp_map_get(&m, i * 7919, &v));
        cr_assert_eq(v, i);
    }
    cr_assert_not(cp_map_get(&m, 3, NULL));
    cp_map_free(&m);
}

Test(strtab, interns_and_zero_is_empty)
{
    cp_strtab t = {0};
    int64_t a = cp_strtab_add(&t, "main");
    int64_t b = cp_strtab_add(&t, "foo");
    cr_assert_eq(a, 1);
    cr_assert_eq(b, 2);
    cr_assert_eq(cp_strtab_add(&t, "main"), 1);
    cr_assert_eq(cp_strtab_add(&t, ""), 0);
    cr_assert_str_eq(t.strs[0], "");
    cr_assert_eq(cp_strtab_intern(&t, "ma\0in", 5), 3, "embedded NUL is a different string");
    cp_strtab_free(&t);
}

Test(buf, printf_long_and_short)
{
    cp_buf b = {0};
    cr_assert_eq(cp_buf_printf(&b, "%d-%s", 42, "x"), 0);
    char big[1000];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = 0;
    cr_assert_eq(cp_buf_printf(&b, "%s", big), 0);
    cr_assert_eq(b.len, 4 + 999);
    cr_assert_eq(memcmp(b.data, "42-x", 4), 0);
    cp_buf_free(&b);
}

/* A fresh directory (dir, "/tmp/cprof-test-XXXXXX") and path = dir/out. */
static void temp_out(char *dir, char *path, size_t n)
{
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, n, "%s/out", dir);
}

static void file_is(const char *path, const char *want, const char *why)
{
    cp_buf b = {0};
    cr_assert_eq(cp_buf_read_file(&b, path, 100), 0);
    cr_assert(b.len == strlen(want) && !memcmp(b.data, want, b.len), "%s", why);
    cp_buf_free(&b);
}

Test(buf, atomic_write_replaces_whole_file)
{
    char dir[] = "/tmp/cprof-test-XXXXXX", path[256];
    temp_out(dir, path, sizeof path);
    cr_assert_eq(cp_write_file_atomic(path, "hello", 5), 0);
    file_is(path, "hello", "written");
    /* a directory that does not exist: error, nothing left behind */
    snprintf(path, sizeof path, "%s/nodir/out", dir);
    cr_assert_eq(cp_write_file_atomic(path, "x", 1), CPROF_EIO);
    snprintf(path, sizeof path, "%s/out", dir);
    unlink(path);
    cr_assert_eq(rmdir(dir), 0, "no temporary file may remain");
}

/* Written as it is made: until the commit, path keeps its old bytes; an
 * abort leaves them and no temporary file; a commit replaces them whole;
 * a name too long for the temporary one is refused, nothing touched. */
Test(buf, atomic_file_streams_then_commits_or_aborts)
{
    char dir[] = "/tmp/cprof-test-XXXXXX", path[256];
    temp_out(dir, path, sizeof path);
    cr_assert_eq(cp_write_file_atomic(path, "old", 3), 0);
    for (int commit = 0; commit < 2; commit++) {
        cp_atomic_file f;
        cr_assert_eq(cp_atomic_open(&f, path), 0);
        cr_assert_eq(cp_atomic_write(&f, "new ", 4), 0);
        file_is(path, "old", "path changed before the end");
        cr_assert_eq(cp_atomic_write(&f, "bytes", 5), 0);
        cr_assert_eq(cp_atomic_end(&f, commit ? 0 : CPROF_EIO), commit ? 0 : CPROF_EIO);
        file_is(path, commit ? "new bytes" : "old", commit ? "committed" : "an abort changed path");
    }
    char *longp = malloc(5000);
    cr_assert_not_null(longp);
    memset(longp, 'a', 4999);
    longp[4999] = 0;
    memcpy(longp, dir, strlen(dir));
    longp[strlen(dir)] = '/';
    cp_atomic_file f;
    cr_assert_eq(cp_atomic_open(&f, longp), CPROF_EIO);
    cr_assert_eq(cp_atomic_end(&f, CPROF_EIO), CPROF_EIO);
    free(longp);
    unlink(path);
    cr_assert_eq(rmdir(dir), 0, "no temporary file may remain");
}

Test(buf, read_limit)
{
    cp_buf b = {0};
    cr_assert_eq(cp_buf_read_file(&b, "/proc/self/maps", 10), CPROF_ETOOBIG);
    cp_buf_free(&b);
    cr_assert_eq(cp_buf_read_file(&b, "/nonexistent/file", 10), CPROF_EIO);
}

/* A regular file is read in one sized buffer, a pipe in pieces; both give
 * every byte, and the limit holds for each. */
Test(buf, read_whole_file_and_pipe)
{
    size_t n = 300000;
    char *want = malloc(n);
    for (size_t i = 0; i < n; i++)
        want[i] = (char)(i * 7 + i / 251);
    char dir[] = "/tmp/cprof-test-XXXXXX", path[256];
    temp_out(dir, path, sizeof path);
    cr_assert_eq(cp_write_file_atomic(path, want, n), 0);
    cp_prefault = true; /* as the cprof command runs it */
    cp_buf b = {0};
    cr_assert_eq(cp_buf_read_file(&b, path, n), 0);
    cr_assert(b.len == n && !memcmp(b.data, want, n));
    cr_assert_lt(b.cap, 2 * n, "sized by the file, not doubled past it");
    cp_buf_free(&b);
    cr_assert_eq(cp_buf_read_file(&b, path, n - 1), CPROF_ETOOBIG);
    cp_buf_free(&b);
    int fd[2];
    cr_assert_eq(pipe(fd), 0);
    pid_t pid = fork();
    if (pid == 0) {
        close(fd[0]);
        _exit(cp_write_all(fd[1], want, n) ? 1 : 0);
    }
    close(fd[1]);
    cr_assert_eq(cp_buf_read_fd(&b, fd[0], n), 0);
    close(fd[0]);
    int st;
    waitpid(pid, &st, 0);
    cr_assert(b.len == n && !memcmp(b.data, want, n), "pipe: %zu bytes", b.len);
    cp_buf_free(&b);
    cp_prefault = false;
    unlink(path);
    rmdir(dir);
    free(want);
}

Test(path, expands_pid_and_percent)
{
    char out[64], want[64];
    snprintf(want, sizeof want, "cpu.%d.pb.gz%%", (int)getpid());
    cr_assert_eq(cp_path_expand("cpu.%p.pb.gz%%", out, sizeof out), 0);
    cr_assert_str_eq(out, want);
    cr_assert_eq(cp_path_expand("0123456789", out, 8), CPROF_EINVAL, "too long");
    cr_assert_eq(cp_path_expand("1234567", out, 8), 0, "exactly fits with its NUL");
    cr_assert_str_eq(out, "1234567");
    cr_assert_eq(cp_path_expand("%x%", out, sizeof out), 0, "other %% sequences stay");
    cr_assert_str_eq(out, "%x%");
}

Test(path, expands_process_name)
{
    char out[64], want[64];
    FILE *f = fopen("/proc/self/comm", "w"); /* the process's name, whichever thread runs */
    cr_assert_not_null(f);
    fputs("a/b c%\001d", f);
    cr_assert_eq(fclose(f), 0);
    snprintf(want, sizeof want, "%d.a_b_c__d.pb.gz", (int)getpid());
    cr_assert_eq(cp_path_expand("%p.%c.pb.gz", out, sizeof out), 0);
    cr_assert_str_eq(out, want, "the name of /proc/self/comm, made a file name");
    cr_assert_eq(cp_path_expand("%c", out, 8), CPROF_EINVAL, "too long for its NUL");
    cr_assert_eq(cp_path_expand("%c", out, 9), 0);
    cr_assert_str_eq(out, "a_b_c__d");
}

Test(buf, hex_of_build_id_bytes)
{
    const unsigned char id[] = {0x00, 0x9f, 0xa0, 0xff};
    char out[9];
    cp_hex(out, id, sizeof id);
    cr_assert_str_eq(out, "009fa0ff");
    cp_hex(out, id, 0);
    cr_assert_str_eq(out, "");
}

/* ---- env: strict numbers and signal names ---- */
#include <signal.h>

#include "base/env.h"

Test(env, numbers_are_strict)
{
    int64_t v = -1;
    cr_assert_eq(cp_env_parse_int("524288", 1, INT64_MAX, &v), 0);
    cr_assert_eq(v, 524288);
    cr_assert_eq(cp_env_parse_int("0", 0, 5, &v), 0);
    cr_assert_eq(v, 0);
    cr_assert_eq(cp_env_parse_int("9223372036854775807", 0, INT64_MAX, &v), 0);
    cr_assert_eq(v, INT64_MAX);
    const char *bad[] = {"", "010", "0x10", "1e3", "-1", "+1", " 1", "1 ", "12x",
                         "9223372036854775808", "99999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        v = 77;
        cr_assert_eq(cp_env_parse_int(bad[i], 0, INT64_MAX, &v), CPROF_EINVAL, "'%s' accepted",
                     bad[i]);
        cr_assert_eq(v, 77, "'%s' changed the value", bad[i]);
    }
    cr_assert_eq(cp_env_parse_int("6", 1, 5, &v), CPROF_EINVAL);
    cr_assert_eq(cp_env_int("CPROF_X", NULL, 1, 5, &v), 0);
    cr_assert_eq(cp_env_int("CPROF_X", "", 1, 5, &v), 0);
    cr_assert_eq(cp_env_int("CPROF_X", "3", 1, 5, &v), 1);
    cr_assert_eq(v, 3);
    cr_assert_eq(cp_env_int("CPROF_X", "0x3", 1, 5, &v), -1);
    cr_assert_eq(v, 3);
}

Test(env, signals_by_number_and_name)
{
    int s = 0;
    cr_assert_eq(cp_env_parse_signal("12", &s), 0);
    cr_assert_eq(s, 12);
    cr_assert_eq(cp_env_parse_signal("USR2", &s), 0);
    cr_assert_eq(s, SIGUSR2);
    cr_assert_eq(cp_env_parse_signal("SIGUSR1", &s), 0);
    cr_assert_eq(s, SIGUSR1);
    cr_assert_eq(cp_env_parse_signal("SIGPROF", &s), 0);
    cr_assert_eq(s, SIGPROF);
    cr_assert_eq(cp_env_parse_signal("RTMIN", &s), 0);
    cr_assert_eq(s, SIGRTMIN);
    cr_assert_eq(cp_env_parse_signal("SIGRTMIN+3", &s), 0);
    cr_assert_eq(s, SIGRTMIN + 3);
    cr_assert_eq(cp_env_parse_signal("RTMAX-1", &s), 0);
    cr_assert_eq(s, SIGRTMAX - 1);
    const char *bad[] = {"", "0", "65", "usr2", "SIGFOO", "RTMIN-1", "RTMAX+1", "RTMIN+99",
                         "12x", "SIG"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        cr_assert_eq(cp_env_parse_signal(bad[i], &s), CPROF_EINVAL, "'%s' accepted", bad[i]);
}

/* ---- rng: the samplers' one generator ---- */
#include <math.h>

#include "base/rng.h"

Test(rng, logarithm_and_exponential_draws)
{
    for (double x = 1e-300; x <= 1.0; x *= 1.37)
        cr_assert(fabs(cp_rng_ln01(x) - log(x)) < 1e-9 * fmax(1.0, fabs(log(x))), "ln(%g)", x);
    cr_assert_eq(cp_rng_ln01(1.0), 0.0);
    uint64_t st = cp_rng_seed(0);
    cr_assert_neq(st, 0);
    /* mean of 200000 draws of mean 1000: standard error 1000/sqrt(2e5) ~ 2.2 */
    double sum = 0, sumsq = 0;
    enum { N = 200000 };
    for (int i = 0; i < N; i++) {
        double x = cp_rng_exp(&st, 1000.0);
        cr_assert(x >= 0);
        sum += x;
        sumsq += x * x;
    }
    double mean = sum / N, var = sumsq / N - mean * mean;
    cr_assert(fabs(mean - 1000.0) < 5 * 2.24, "mean %f", mean);
    cr_assert(fabs(sqrt(var) - 1000.0) < 30, "sd %f", sqrt(var));
    /* same seed, same sequence; different seeds, different ones */
    uint64_t a = cp_rng_seed(42), b = cp_rng_seed(42), c = cp_rng_seed(43);
    cr_assert_eq(cp_rng_next(&a), cp_rng_next(&b));
    cr_assert_neq(cp_rng_next(&a), cp_rng_next(&c));
}
