/* http_target — a program to profile over /debug/pprof in the http tests.
 *
 * Keeps LIVE_BLOCKS blocks of 64 KiB alive (a known in-use heap), burns CPU
 * in burn_cpu() and allocates short-lived blocks in churn() until the file
 * named by argv[1] exists; then prints the same lines whatever happened
 * around it and exits with status 3, so a test can check that serving
 * requests left the program's own output and status untouched.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { LIVE_BLOCKS = 256, BLOCK = 64 << 10 };

static volatile uint64_t sink;

__attribute__((noinline)) static uint64_t burn_cpu(uint64_t x)
{
    for (int i = 0; i < 2000000; i++)
        x = x * 6364136223846793005ull + 1442695040888963407ull;
    return x;
}

__attribute__((noinline)) static void churn(void)
{
    for (int i = 0; i < 64; i++) {
        char *p = malloc(4096);
        if (p) {
            p[0] = (char)i;
            sink += (unsigned char)p[0];
        }
        free(p);
    }
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: http_target STOPFILE\n");
        return 2;
    }
    static char *live[LIVE_BLOCKS];
    for (int i = 0; i < LIVE_BLOCKS; i++) {
        live[i] = malloc(BLOCK);
        memset(live[i], i, BLOCK);
    }
    printf("started\n");
    fflush(stdout);
    uint64_t x = 1;
    while (access(argv[1], F_OK) != 0) {
        x = burn_cpu(x);
        churn();
    }
    sink += x;
    uint64_t sum = 0;
    for (int i = 0; i < LIVE_BLOCKS; i++)
        sum += (unsigned char)live[i][BLOCK - 1];
    printf("live blocks checksum %llu\n", (unsigned long long)sum);
    return 3;
}
