/* sigall.c — installs a handler for every signal that can be caught, as Go
 * programs and some servers do, works (CPU and allocations) with them
 * installed, then checks that every handler is still its own and that each
 * signal raised reaches it exactly once.  Deterministic output: the counts
 * and any signal whose handler or delivery was wrong. */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static volatile sig_atomic_t hits[_NSIG];
static unsigned char installed[_NSIG];

static void on_signal(int sig)
{
    hits[sig]++;
}

int main(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    int n = 0;
    for (int s = 1; s < _NSIG; s++) {
        if (s == SIGKILL || s == SIGSTOP)
            continue;
        /* glibc refuses the two signals it reserves for threads (EINVAL). */
        if (sigaction(s, &sa, NULL) == 0) {
            installed[s] = 1;
            n++;
        }
    }
    printf("handlers installed: %d\n", n);

    /* Work long enough for a CPU profiler at 100 Hz to want to sample. */
    uint64_t h = 1469598103934665603ull;
    for (int i = 0; i < 1000000; i++) {
        size_t sz = (size_t)(i % 512) + 1;
        unsigned char *p = malloc(sz);
        if (!p)
            return 2;
        p[0] = (unsigned char)i;
        p[sz - 1] = (unsigned char)(i >> 8);
        h = (h ^ p[0] ^ p[sz - 1]) * 1099511628211ull;
        free(p);
    }
    printf("work: %016llx\n", (unsigned long long)h);

    int replaced = 0;
    for (int s = 1; s < _NSIG; s++) {
        struct sigaction old;
        if (!installed[s] || sigaction(s, NULL, &old) != 0)
            continue;
        if (old.sa_handler != on_signal) {
            printf("handler of signal %d replaced\n", s);
            replaced++;
        }
    }
    printf("handlers replaced: %d\n", replaced);

    /* Hits counted before raising: none of these signals was sent to us. */
    int stray = 0;
    for (int s = 1; s < _NSIG; s++)
        if (hits[s]) {
            printf("signal %d arrived %d times unasked\n", s, (int)hits[s]);
            stray++;
        }
    int wrong = 0;
    for (int s = 1; s < _NSIG; s++) {
        if (!installed[s])
            continue;
        hits[s] = 0;
        raise(s);
        if (hits[s] != 1) {
            printf("signal %d raised once, handled %d times\n", s, (int)hits[s]);
            wrong++;
        }
    }
    printf("signals raised once and handled once: %d of %d\n", n - wrong, n);
    return replaced || stray || wrong ? 1 : 0;
}
