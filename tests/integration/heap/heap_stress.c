/* heap_stress.c — threads, cross-thread frees, fork and dlopen while the
 * heap profiler samples often.  Exits 0 and prints "ok" when every check
 * held; the test then checks that parent and child each wrote a profile.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

enum { THREADS = 4, ROUNDS = 20000, SLOTS = 64 };

static void *shared_slot[THREADS];
static volatile int stop;

static uint32_t next_rand(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

static void fill(unsigned char *p, size_t n, unsigned char v)
{
    memset(p, v, n);
}

static int check(const unsigned char *p, size_t n, unsigned char v)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != v)
            return 0;
    return 1;
}

/* Blocks carry their size and fill byte in the first 8 bytes. */
static void *make(uint32_t *s)
{
    size_t n = 16 + next_rand(s) % 5000;
    unsigned char v = (unsigned char)(next_rand(s) | 1);
    unsigned char *p;
    switch (next_rand(s) % 4) {
    case 0:
        p = calloc(1, n);
        if (p && !check(p, n, 0))
            abort();
        break;
    case 1:
        p = malloc(n / 2 + 8);
        p = realloc(p, n);
        break;
    case 2:
        if (posix_memalign((void **)&p, 64, n))
            p = NULL;
        break;
    default:
        p = malloc(n);
    }
    if (!p)
        abort();
    fill(p + 8, n - 8, v);
    memcpy(p, &n, 4);
    p[4] = v;
    return p;
}

static void release(void *q)
{
    unsigned char *p = q;
    uint32_t n;
    memcpy(&n, p, 4);
    if (!check(p + 8, n - 8, p[4])) {
        fprintf(stderr, "corrupt block\n");
        abort();
    }
    free(p);
}

static void *worker(void *arg)
{
    int id = (int)(intptr_t)arg;
    uint32_t s = 0x9e3779b9u * (uint32_t)(id + 1);
    void *mine[SLOTS] = {0};
    for (int r = 0; r < ROUNDS && !stop; r++) {
        int k = (int)(next_rand(&s) % SLOTS);
        if (mine[k])
            release(mine[k]);
        mine[k] = make(&s);
        if (r % 16 == 0) { /* hand a block to the next thread to free */
            void *old = __atomic_exchange_n(&shared_slot[(id + 1) % THREADS], mine[k],
                                            __ATOMIC_ACQ_REL);
            mine[k] = NULL;
            if (old)
                release(old);
        }
    }
    for (int k = 0; k < SLOTS; k++)
        if (mine[k])
            release(mine[k]);
    return NULL;
}

int main(void)
{
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++)
        pthread_create(&th[i], NULL, worker, (void *)(intptr_t)i);
    for (int i = 0; i < 40; i++) {
        void *h = dlopen(i % 2 ? "libz.so.1" : "libm.so.6", RTLD_NOW | RTLD_LOCAL);
        if (!h) {
            fprintf(stderr, "dlopen: %s\n", dlerror());
            return 1;
        }
        if (!dlsym(h, i % 2 ? "zlibVersion" : "cos"))
            return 1;
        dlclose(h);
    }
    for (int i = 0; i < 3; i++) {
        pid_t pid = fork();
        if (pid == 0) {
            uint32_t s = 12345u + (uint32_t)i;
            void *keep[100];
            for (int j = 0; j < 5000; j++) {
                void *p = make(&s);
                if (j % 50 == 0)
                    keep[j / 50] = p;
                else
                    release(p);
            }
            for (int j = 0; j < 100; j += 2)
                release(keep[j]);
            exit(0); /* runs the exit path: writes the child's own profile */
        }
        int st = 0;
        if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st)) {
            fprintf(stderr, "child %d failed: status %d\n", i, st);
            return 1;
        }
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < THREADS; i++)
        if (shared_slot[i])
            release(shared_slot[i]);
    printf("ok\n");
    return 0;
}
