/* cprog.c — a small C program profiled under libcprof.so so that the
 * comparison also covers cprof's own profiles: C names, mappings, addresses,
 * inlined frames and the four heap sample types. */
#include <stdio.h>
#include <stdlib.h>

static volatile unsigned long sink;

__attribute__((noinline)) static void leaf_a(void)
{
    for (unsigned long i = 0; i < 20000000; i++)
        sink += i * 7;
}

__attribute__((noinline)) static void leaf_b(void)
{
    for (unsigned long i = 0; i < 10000000; i++)
        sink ^= i * 3;
}

static inline void inlined(void) { leaf_b(); }

__attribute__((noinline)) void mid(int k)
{
    if (k)
        leaf_a();
    else
        inlined();
}

__attribute__((noinline)) void *alloc_site(size_t n) { return malloc(n); }

int main(void)
{
    void *keep[8];
    for (int r = 0; r < 8; r++) {
        mid(r & 1);
        mid(1);
        keep[r] = alloc_site(1000 * (size_t)(r + 1));
        free(alloc_site(4096));
    }
    for (int r = 0; r < 4; r++)
        free(keep[r]);
    printf("%lu\n", sink);
    return 0;
}
