/* child.c — run a child process with pipes (graphviz dot, cprof itself).
 *
 * What: posix_spawnp with stdin/stdout/stderr on pipes, then one poll loop
 * that writes stdin and reads both outputs, so a child that prints a lot
 * before reading all its input cannot deadlock against us.  SIGPIPE is
 * blocked for this thread while writing (a child may quit before reading
 * all its input) and a pending one is consumed before unblocking.
 * Alternatives rejected: popen (one direction only, and a shell parses
 * the command: names from a profile must never reach a shell); temp files
 * (a slow disk and clean-up on every path).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/child.h"
#include "cprof.h"

extern char **environ;

static void drain(int fd, cp_buf *b, size_t max, bool *open)
{
    char tmp[65536];
    ssize_t n = read(fd, tmp, sizeof tmp);
    if (n > 0) {
        if (b && b->len < max)
            cp_buf_append(b, tmp, (size_t)n > max - b->len ? max - b->len : (size_t)n);
    } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
        *open = false;
    }
}

int cp_child_run(char *const argv[], const void *in, size_t inlen, cp_buf *out, cp_buf *err,
                 size_t max, int *status)
{
    int pin[2] = {-1, -1}, pout[2] = {-1, -1}, perr[2] = {-1, -1};
    posix_spawn_file_actions_t fa;
    int rc = CPROF_EIO;
    pid_t pid = -1;
    if (pipe2(pin, O_CLOEXEC) || pipe2(pout, O_CLOEXEC) || pipe2(perr, O_CLOEXEC))
        goto out;
    if (posix_spawn_file_actions_init(&fa))
        goto out;
    posix_spawn_file_actions_adddup2(&fa, pin[0], 0);
    posix_spawn_file_actions_adddup2(&fa, pout[1], 1);
    posix_spawn_file_actions_adddup2(&fa, perr[1], 2);
    int e = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (e) {
        pid = -1;
        rc = CPROF_ENOTFOUND;
        goto out;
    }
    close(pin[0]);
    close(pout[1]);
    close(perr[1]);
    pin[0] = pout[1] = perr[1] = -1;
    /* no SIGPIPE if the child quits without reading its input */
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    size_t off = 0;
    bool oo = true, eo = true;
    if (!in || !inlen) {
        close(pin[1]);
        pin[1] = -1;
    } else {
        fcntl(pin[1], F_SETFL, O_NONBLOCK);
    }
    while (oo || eo) {
        struct pollfd pf[3] = {{pout[0], POLLIN, 0}, {perr[0], POLLIN, 0}, {pin[1], POLLOUT, 0}};
        pf[0].fd = oo ? pout[0] : -1;
        pf[1].fd = eo ? perr[0] : -1;
        if (poll(pf, 3, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (pf[0].revents)
            drain(pout[0], out, max, &oo);
        if (pf[1].revents)
            drain(perr[0], err, max, &eo);
        if (pin[1] >= 0 && pf[2].revents) {
            ssize_t n = write(pin[1], (const char *)in + off, inlen - off);
            if (n > 0)
                off += (size_t)n;
            if ((n < 0 && errno != EINTR && errno != EAGAIN) || off == inlen) {
                close(pin[1]);
                pin[1] = -1;
            }
        }
    }
    if (pin[1] >= 0) {
        close(pin[1]);
        pin[1] = -1;
    }
    /* a pending SIGPIPE of ours is dropped before unblocking */
    struct timespec zero = {0, 0};
    while (sigtimedwait(&block, NULL, &zero) > 0)
        ;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    int ws;
    while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
        ;
    *status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
    rc = 0;
out:
    for (int i = 0; i < 2; i++) {
        if (pin[i] >= 0)
            close(pin[i]);
        if (pout[i] >= 0)
            close(pout[i]);
        if (perr[i] >= 0)
            close(perr[i]);
    }
    return rc;
}
