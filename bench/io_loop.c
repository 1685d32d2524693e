/* io_loop.c — a busy small-I/O loop for bench_io.sh: N calls of `size`
 * bytes, alternately write(2) to /dev/null and read(2) from /dev/zero
 * (the cheapest calls the kernel has: what the interposers add shows most),
 * or pwrite(2)/pread(2) of a small file kept in the page cache.
 *   io_loop null|file N SIZE DIR
 * Prints "ns_per_call X" in thread CPU time (user + system) and
 * "wall_ns_per_call Y". */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double ns(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: io_loop null|file N SIZE DIR\n");
        return 2;
    }
    long n = atol(argv[2]);
    size_t size = (size_t)atol(argv[3]);
    char *buf = calloc(1, size ? size : 1);
    int wfd, rfd;
    int file = strcmp(argv[1], "file") == 0;
    char path[4096];
    if (file) {
        snprintf(path, sizeof path, "%s/io_loop.data", argv[4]);
        wfd = rfd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    } else {
        wfd = open("/dev/null", O_WRONLY);
        rfd = open("/dev/zero", O_RDONLY);
    }
    if (!buf || wfd < 0 || rfd < 0) {
        perror("io_loop");
        return 1;
    }
    double c0 = ns(CLOCK_THREAD_CPUTIME_ID), w0 = ns(CLOCK_MONOTONIC);
    long long moved = 0;
    for (long i = 0; i < n; i++) {
        ssize_t r;
        if (file)
            r = i & 1 ? pread(rfd, buf, size, (off_t)(i % 64) * (off_t)size)
                      : pwrite(wfd, buf, size, (off_t)(i % 64) * (off_t)size);
        else
            r = i & 1 ? read(rfd, buf, size) : write(wfd, buf, size);
        if (r < 0) {
            perror("io_loop");
            return 1;
        }
        moved += r;
    }
    double c1 = ns(CLOCK_THREAD_CPUTIME_ID), w1 = ns(CLOCK_MONOTONIC);
    printf("ns_per_call %.1f wall_ns_per_call %.1f bytes %lld\n", (c1 - c0) / (double)n,
           (w1 - w0) / (double)n, moved);
    if (file)
        unlink(path);
    return 0;
}
