/* http_service — a small C web service that profiles its own routes.
 *
 * Routes of different cost, each handler run under the label route=PATH
 * (cprof_label_push), so every CPU, heap, mutex and I/O sample taken while
 * it runs says which route it served:
 *   /slow    CPU: a few milliseconds of arithmetic
 *   /alloc   allocation: many short-lived blocks, a few kept in a cache
 *   /lock    contention: work done while holding one global mutex
 *   /io      I/O: a write and an fsync to a scratch file
 *   /fast    nothing much
 * Usage: http_service [PORT]   (default 8080; 0 picks a free port, printed)
 * It serves until it receives SIGINT or SIGTERM.  Profile it live with
 *   CPROF_HTTP=127.0.0.1:6060 build/examples/http_service 8080
 *   cprof top -tagfocus=route=/slow http://127.0.0.1:6060/debug/pprof/profile?seconds=5
 * (see README.md and docs/http.md).  It links -lcprof for the label calls;
 * CPROF_HTTP starts /debug/pprof as under LD_PRELOAD.
 */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>

#include <microhttpd.h>

#include "cprof.h"

static pthread_mutex_t big_lock = PTHREAD_MUTEX_INITIALIZER;
static volatile uint64_t sink;
static char *cache[1024];
static unsigned cache_next;
static int scratch_fd = -1;

__attribute__((noinline)) static uint64_t slow_math(unsigned rounds)
{
    uint64_t x = 88172645463325252ull;
    for (unsigned i = 0; i < rounds; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    return x;
}

__attribute__((noinline)) static void handle_slow(void)
{
    sink += slow_math(20000000);
}

__attribute__((noinline)) static void handle_alloc(void)
{
    for (int i = 0; i < 2000; i++) {
        char *p = malloc(256 + (size_t)(i % 7) * 512);
        if (!p)
            continue;
        p[0] = (char)i;
        sink += (unsigned char)p[0];
        free(p);
    }
    /* a bounded cache: what stays in use */
    pthread_mutex_lock(&big_lock);
    unsigned k = cache_next++ % 1024;
    free(cache[k]);
    cache[k] = malloc(16384);
    pthread_mutex_unlock(&big_lock);
}

__attribute__((noinline)) static void handle_lock(void)
{
    pthread_mutex_lock(&big_lock);
    sink += slow_math(2000000);
    pthread_mutex_unlock(&big_lock);
}

__attribute__((noinline)) static void handle_io(void)
{
    char buf[4096];
    memset(buf, 'x', sizeof buf);
    if (scratch_fd >= 0) {
        for (int i = 0; i < 16; i++)
            if (pwrite(scratch_fd, buf, sizeof buf, (off_t)i * (off_t)sizeof buf) < 0)
                break;
        fdatasync(scratch_fd);
    }
}

static const struct route {
    const char *path;
    void (*fn)(void);
} routes[] = {
    {"/slow", handle_slow}, {"/alloc", handle_alloc}, {"/lock", handle_lock},
    {"/io", handle_io},     {"/fast", NULL},
};

static enum MHD_Result answer(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *data,
                              size_t *data_size, void **state)
{
    (void)cls, (void)method, (void)version, (void)data, (void)data_size, (void)state;
    const struct route *r = NULL;
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++)
        if (strcmp(url, routes[i].path) == 0)
            r = &routes[i];
    unsigned status = MHD_HTTP_NOT_FOUND;
    const char *body = "not found\n";
    if (r) {
        cprof_label_push("route", r->path); /* every sample below says route=PATH */
        if (r->fn)
            r->fn();
        cprof_label_pop();
        status = MHD_HTTP_OK;
        body = "ok\n";
    }
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_PERSISTENT);
    enum MHD_Result rc = MHD_queue_response(c, status, resp);
    MHD_destroy_response(resp);
    return rc;
}

int main(int argc, char **argv)
{
    int port = argc > 1 ? atoi(argv[1]) : 8080;
    char scratch[] = "/tmp/http_service.XXXXXX";
    scratch_fd = mkstemp(scratch);
    if (scratch_fd >= 0)
        unlink(scratch);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL); /* MHD's threads inherit the mask */
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG,
        (uint16_t)port, NULL, NULL, answer, NULL, MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "http_service: cannot listen on port %d\n", port);
        return 1;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    printf("http_service: listening on 127.0.0.1:%u\n", di ? di->port : (unsigned)port);
    fflush(stdout);
    int sig;
    sigwait(&set, &sig);
    MHD_stop_daemon(d);
    printf("http_service: stopped\n");
    return 0;
}
