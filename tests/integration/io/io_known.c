/* io_known.c — a program that counts its own I/O: bytes, calls and the time
 * its blocking calls took, per call site, and prints them for io_check.py
 * to compare with the I/O profile.
 *
 *   io_known exact DIR      every kind of call, modest volume (rate 1)
 *   io_known threads DIR    8 threads writing at once, then a forked child
 *                           writing its own profile (rate 1: exact)
 *   io_known estimate DIR   2 GiB to /dev/null and blocking pipe reads
 *                           (default rate: totals within 10%)
 *
 * Output lines: "site NAME KIND BYTES CALLS NS" (NS: the call's time as
 * this program measured it around the call; summed).  Each site is a
 * function of that name (noinline), so the profile's stacks hold it.
 * Also checks that return values and errno come back as without cprof
 * (EBADF, EAGAIN, partial writes) and exits 1 if not.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))

typedef struct site {
    const char *name, *kind;
    long long bytes, calls, ns;
} site;

static site sites[32];
static int nsites;

static site *site_new(const char *name, const char *kind)
{
    site *s = &sites[nsites++];
    s->name = name;
    s->kind = kind;
    return s;
}

static long long now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void note(site *s, ssize_t r, long long t0)
{
    s->calls++;
    if (r > 0)
        s->bytes += r;
    s->ns += now() - t0;
}

static void die(const char *what)
{
    fprintf(stderr, "io_known: %s: %s\n", what, strerror(errno));
    exit(1);
}

static char buf[1 << 16];

/* The named call sites, global so the profile keeps their names. */
void site_file_write(int fd, site *s);
void site_file_pwrite(int fd, site *s);
void site_file_pread(int fd, site *s);
void site_file_writev(int fd, site *s);
void site_file_preadv(int fd, site *s);
void site_fsync(int fd, site *s);
void site_file_read(int fd, site *s);
void site_sendfile(int out, int in, site *s);
void site_sock_write(int fd, int i, site *s);
void site_sock_read(int fd, long long want, site *s);
void site_sock_send(int fd, int i, site *s);
void site_sock_recv(int fd, long long want, site *s);
struct feed;
void site_pipe_feed(struct feed *f);
void site_warmup_read(int fd, site *s);
void site_pipe_read(int fd, int n, site *s);
void site_errors(site *s);
void site_labelled(int fd, site *s);
void site_null_write(site *s, long long total);
void site_thread_write(int fd, site *s);
void site_child_write(site *s);

NOINLINE void site_file_write(int fd, site *s)
{
    for (int i = 0; i < 2000; i++) {
        long long t0 = now();
        ssize_t r = write(fd, buf, (size_t)(i * 37 % 4000 + 1));
        note(s, r, t0);
    }
}

NOINLINE void site_file_pwrite(int fd, site *s)
{
    for (int i = 0; i < 500; i++) {
        long long t0 = now();
        ssize_t r = pwrite(fd, buf, 1000 + (size_t)i, (off_t)i * 3000);
        note(s, r, t0);
    }
}

NOINLINE void site_file_pread(int fd, site *s)
{
    for (int i = 0; i < 700; i++) {
        long long t0 = now();
        /* past the end too: short reads and reads of 0 */
        ssize_t r = pread(fd, buf, 5000, (off_t)i * 5000);
        note(s, r, t0);
    }
}

NOINLINE void site_file_writev(int fd, site *s)
{
    for (int i = 0; i < 300; i++) {
        struct iovec iov[2] = {{buf, 100 + (size_t)i}, {buf + 4096, 7}};
        long long t0 = now();
        ssize_t r = writev(fd, iov, 2);
        note(s, r, t0);
    }
}

NOINLINE void site_file_preadv(int fd, site *s)
{
    for (int i = 0; i < 300; i++) {
        struct iovec iov[2] = {{buf, 333}, {buf + 4096, 1000}};
        long long t0 = now();
        ssize_t r = preadv(fd, iov, 2, (off_t)i * 777);
        note(s, r, t0);
    }
}

NOINLINE void site_fsync(int fd, site *s)
{
    for (int i = 0; i < 3; i++) {
        long long t0 = now();
        int r = i == 2 ? fdatasync(fd) : fsync(fd);
        note(s, r, t0);
    }
}

NOINLINE void site_file_read(int fd, site *s)
{
    lseek(fd, 0, SEEK_SET);
    for (;;) {
        long long t0 = now();
        ssize_t r = read(fd, buf, 4096);
        note(s, r, t0);
        if (r <= 0)
            break;
    }
}

NOINLINE void site_sendfile(int out, int in, site *s)
{
    off_t off = 0;
    for (int i = 0; i < 20; i++) {
        long long t0 = now();
        ssize_t r = sendfile(out, in, &off, 1000);
        note(s, r, t0);
    }
}

NOINLINE void site_sock_write(int fd, int i, site *s)
{
    long long t0 = now();
    ssize_t r = write(fd, buf, 64 + (size_t)i);
    note(s, r, t0);
}

NOINLINE void site_sock_read(int fd, long long want, site *s)
{
    while (s->bytes < want) {
        long long t0 = now();
        ssize_t r = read(fd, buf, sizeof buf);
        note(s, r, t0);
        if (r <= 0)
            die("socket read");
    }
}

/* send/sendto/sendmsg and recv/recvfrom/recvmsg in turn */
NOINLINE void site_sock_send(int fd, int i, site *s)
{
    long long t0 = now();
    ssize_t r;
    if (i % 3 == 0) {
        r = send(fd, buf, 10 + (size_t)i, 0);
    } else if (i % 3 == 1) {
        r = sendto(fd, buf, 10 + (size_t)i, 0, NULL, 0);
    } else {
        struct iovec iov = {buf, 10 + (size_t)i};
        struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
        r = sendmsg(fd, &m, 0);
    }
    note(s, r, t0);
}

NOINLINE void site_sock_recv(int fd, long long want, site *s)
{
    for (int i = 0; s->bytes < want; i++) {
        long long t0 = now();
        ssize_t r;
        if (i % 3 == 0) {
            r = recv(fd, buf, sizeof buf, 0);
        } else if (i % 3 == 1) {
            r = recvfrom(fd, buf, sizeof buf, 0, NULL, NULL);
        } else {
            struct iovec iov = {buf, sizeof buf};
            struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
            r = recvmsg(fd, &m, 0);
        }
        note(s, r, t0);
        if (r <= 0)
            die("socket recv");
    }
}

/* ---- the blocking pipe: a thread feeds one byte every `gap` us ---- */

typedef struct feed {
    int fd, n, gap_us;
    site *s;
} feed;

NOINLINE void site_pipe_feed(struct feed *f)
{
    for (int i = 0; i < f->n; i++) {
        struct timespec ts = {0, f->gap_us * 1000L};
        nanosleep(&ts, NULL);
        long long t0 = now();
        ssize_t r = write(f->fd, "x", 1);
        note(f->s, r, t0);
    }
}

static void *feeder(void *p)
{
    site_pipe_feed(p);
    return NULL;
}

NOINLINE void site_warmup_read(int fd, site *s)
{
    long long t0 = now();
    ssize_t r = read(fd, buf, 1);
    note(s, r, t0);
}

NOINLINE void site_pipe_read(int fd, int n, site *s)
{
    for (int i = 0; i < n; i++) {
        long long t0 = now();
        ssize_t r = read(fd, buf, 1);
        note(s, r, t0);
        if (r != 1)
            die("pipe read");
    }
}

static void blocking_pipe(int n, int gap_us)
{
    int p[2];
    if (pipe(p))
        die("pipe");
    feed f = {p[1], n + 1, gap_us, site_new("site_pipe_feed", "pipe")};
    site *w = site_new("site_warmup_read", "pipe");
    site *r = site_new("site_pipe_read", "pipe");
    pthread_t th;
    if (pthread_create(&th, NULL, feeder, &f))
        die("pthread_create");
    site_warmup_read(p[0], w);
    site_pipe_read(p[0], n, r);
    pthread_join(th, NULL);
    close(p[0]);
    close(p[1]);
}

/* ---- errno and partial writes pass through ---- */

static void on_alarm(int sig)
{
    (void)sig;
}

NOINLINE void site_errors(site *s)
{
    /* A read blocked on an empty pipe, interrupted by a signal whose
     * handler has no SA_RESTART: -1 and EINTR, as without cprof. */
    int e[2];
    if (pipe(e))
        die("pipe");
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval it = {{0, 0}, {0, 50000}};
    setitimer(ITIMER_REAL, &it, NULL);
    long long t1 = now();
    errno = 0;
    ssize_t ri = read(e[0], buf, 1);
    int ei = errno;
    note(s, ri, t1);
    if (ri != -1 || ei != EINTR)
        die("an interrupted read should fail with EINTR");
    close(e[0]);
    close(e[1]);
    long long t0 = now();
    errno = 0;
    ssize_t r = read(-1, buf, 10);
    note(s, r, t0);
    if (r != -1 || errno != EBADF)
        die("read(-1) should fail with EBADF");
    int p[2];
    if (pipe2(p, O_NONBLOCK))
        die("pipe2");
    /* Fill the pipe: writes of 10000 bytes, the last partial, then EAGAIN. */
    long long total = 0;
    for (;;) {
        t0 = now();
        errno = 0;
        r = write(p[1], buf, 10000);
        int err = errno;
        note(s, r, t0);
        if (r < 0) {
            if (err != EAGAIN)
                die("full pipe: want EAGAIN");
            break;
        }
        total += r;
    }
    if (total <= 0)
        die("a non-blocking pipe took nothing");
    close(p[0]);
    close(p[1]);
}

/* Writes under the label route=/upload, pushed through the library's
 * public API when it is there (found with dlsym: this program is
 * preloaded, not linked); the label is the site's "kind" column's
 * neighbour in the report: "label:route=/upload". */
NOINLINE void site_labelled(int fd, site *s)
{
    int (*push)(const char *, const char *) =
        (int (*)(const char *, const char *))dlsym(RTLD_DEFAULT, "cprof_label_push");
    void (*pop)(void) = (void (*)(void))dlsym(RTLD_DEFAULT, "cprof_label_pop");
    if (push)
        push("route", "/upload");
    for (int i = 0; i < 100; i++) {
        long long t0 = now();
        ssize_t r = write(fd, buf, 50);
        note(s, r, t0);
    }
    if (pop)
        pop();
}

NOINLINE void site_null_write(site *s, long long total)
{
    int fd = open("/dev/null", O_WRONLY);
    if (fd < 0)
        die("/dev/null");
    for (long long done = 0; done < total; done += 16384) {
        long long t0 = now();
        ssize_t r = write(fd, buf, 16384);
        note(s, r, t0);
    }
    close(fd);
}

/* ---- many threads at once, and a forked child ---- */

enum { NTHREADS = 8, PER_THREAD = 20000 };

NOINLINE void site_thread_write(int fd, site *s)
{
    for (int i = 0; i < PER_THREAD; i++) {
        long long t0 = now();
        ssize_t r = write(fd, buf, 100 + (size_t)(i % 3));
        note(s, r, t0);
    }
}

static int null_fd;

static void *writer(void *p)
{
    site_thread_write(null_fd, p);
    return NULL;
}

/* The child writes its own profile (the path has %p) with its own bytes;
 * it prints its site line, which the parent's report does not hold. */
NOINLINE void site_child_write(site *s)
{
    for (int i = 0; i < 100; i++) {
        long long t0 = now();
        ssize_t r = write(null_fd, buf, 1000);
        note(s, r, t0);
    }
}

static void threads_and_fork(void)
{
    null_fd = open("/dev/null", O_WRONLY);
    if (null_fd < 0)
        die("/dev/null");
    site per[NTHREADS] = {{0}};
    pthread_t th[NTHREADS];
    for (int i = 0; i < NTHREADS; i++)
        if (pthread_create(&th[i], NULL, writer, &per[i]))
            die("pthread_create");
    for (int i = 0; i < NTHREADS; i++)
        pthread_join(th[i], NULL);
    site *all = site_new("site_thread_write", "other");
    for (int i = 0; i < NTHREADS; i++) {
        all->bytes += per[i].bytes;
        all->calls += per[i].calls;
        all->ns += per[i].ns;
    }
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0) {
        site c = {"site_child_write", "other", 0, 0, 0};
        site_child_write(&c);
        fprintf(stderr, "child %d site %s %s %lld %lld %lld\n", (int)getpid(), c.name, c.kind,
                c.bytes, c.calls, c.ns);
        exit(0);
    }
    int st;
    if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
        die("child");
}

static void print_sites(void)
{
    for (int i = 0; i < nsites; i++)
        printf("site %s %s %lld %lld %lld\n", sites[i].name, sites[i].kind, sites[i].bytes,
               sites[i].calls, sites[i].ns);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: io_known exact|estimate DIR\n");
        return 2;
    }
    memset(buf, 'a', sizeof buf);
    char path[4096], path2[4096];
    snprintf(path, sizeof path, "%s/io_known.data", argv[2]);
    snprintf(path2, sizeof path2, "%s/io_known.copy", argv[2]);
    if (strcmp(argv[1], "exact") == 0) {
        int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
        if (fd < 0)
            die(path);
        site_file_write(fd, site_new("site_file_write", "file"));
        site_file_pwrite(fd, site_new("site_file_pwrite", "file"));
        site_file_writev(fd, site_new("site_file_writev", "file"));
        site_fsync(fd, site_new("site_fsync", "file"));
        site_file_pread(fd, site_new("site_file_pread", "file"));
        site_file_preadv(fd, site_new("site_file_preadv", "file"));
        site_file_read(fd, site_new("site_file_read", "file"));
        int out = open(path2, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (out < 0)
            die(path2);
        site_sendfile(out, fd, site_new("site_sendfile", "file"));
        site_labelled(out, site_new("site_labelled", "file"));
        close(out);
        close(fd);
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
            die("socketpair");
        site *sw = site_new("site_sock_write", "socket");
        site *sr = site_new("site_sock_read", "socket");
        for (int i = 0; i < 400; i++) { /* ping-pong: the buffer never fills */
            site_sock_write(sv[0], i, sw);
            site_sock_read(sv[1], sw->bytes, sr);
        }
        site *ss = site_new("site_sock_send", "socket");
        site *rr = site_new("site_sock_recv", "socket");
        for (int i = 0; i < 300; i++) {
            site_sock_send(sv[1], i, ss);
            site_sock_recv(sv[0], ss->bytes, rr);
        }
        close(sv[0]);
        close(sv[1]);
        site_errors(site_new("site_errors", ""));
        blocking_pipe(60, 2000);
    } else if (strcmp(argv[1], "threads") == 0) {
        threads_and_fork();
    } else if (strcmp(argv[1], "estimate") == 0) {
        /* The blocking reads first: a thread's first call is timed for
         * sure, so the warm-up read opens the slow window the measured
         * reads then keep open (after a phase of fast calls the first slow
         * one is timed with probability 1/64 only; see docs/io.md). */
        blocking_pipe(150, 2000);
        site_null_write(site_new("site_null_write", "other"), 2LL << 30);
    } else {
        fprintf(stderr, "io_known: unknown mode %s\n", argv[1]);
        return 2;
    }
    print_sites();
    return 0;
}
