/* heap_edge.c — the malloc family's edge cases, printed as text.
 *
 * Run once on plain glibc and once under the heap profiler (rate 1: every
 * allocation takes the sampled path; default rate: the glibc path); the
 * outputs must be identical.  Only facts glibc guarantees are printed
 * (NULL or not, errno, alignment, zeroed memory, contents kept), never
 * addresses or usable sizes, which differ legitimately.
 */
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Keep the compiler from folding calls it thinks it understands. */
static size_t opaque(size_t x)
{
    __asm__ volatile("" : "+r"(x));
    return x;
}

static void show(const char *what, void *p, size_t align)
{
    int e = errno;
    printf("%-40s %s errno=%d", what, p ? "ptr " : "NULL", p ? 0 : e);
    if (p && align)
        printf(" aligned(%zu)=%d", align, (int)((uintptr_t)p % align == 0));
    printf("\n");
}

static int all_zero(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return 0;
    return 1;
}

int main(void)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    void *p;

    errno = 0;
    free(NULL);
    printf("free(NULL) errno=%d\n", errno);

    errno = 0;
    p = malloc(opaque(0));
    show("malloc(0)", p, 16);
    printf("malloc_usable_size(malloc(0)) >= 0: %d\n", malloc_usable_size(p) < (size_t)-1);
    free(p);
    printf("malloc_usable_size(NULL)=%zu\n", malloc_usable_size(NULL));

    errno = 0;
    p = malloc(opaque(SIZE_MAX));
    show("malloc(SIZE_MAX)", p, 0);
    errno = 0;
    p = malloc(opaque((size_t)PTRDIFF_MAX + 1));
    show("malloc(PTRDIFF_MAX+1)", p, 0);
    errno = 0;
    p = malloc(opaque((size_t)1 << 46)); /* 64 TiB: refused by the kernel */
    show("malloc(64 TiB)", p, 0);
    free(p);

    errno = 0;
    p = calloc(opaque(SIZE_MAX / 2), 3);
    show("calloc(SIZE_MAX/2, 3) overflow", p, 0);
    errno = 0;
    p = calloc(opaque(0), 10);
    show("calloc(0, 10)", p, 16);
    free(p);

    /* calloc must clear reused memory, small and large. */
    size_t sizes[] = {24, 1000, 100000, 3 << 20};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        size_t n = sizes[i];
        for (int r = 0; r < 3; r++) {
            unsigned char *m = malloc(n);
            memset(m, 0xff, n);
            free(m);
            unsigned char *c = calloc(1, n);
            printf("calloc(1, %zu) round %d zeroed=%d\n", n, r, c && all_zero(c, n));
            memset(c, 0xee, n);
            free(c);
        }
    }

    errno = 0;
    p = realloc(NULL, opaque(100));
    show("realloc(NULL, 100)", p, 16);
    memset(p, 7, 100);
    void *q = realloc(p, opaque(200000));
    show("realloc(p, 200000)", q, 16);
    printf("contents kept after growth: %d\n", ((unsigned char *)q)[99] == 7);
    q = realloc(q, opaque(10));
    show("realloc(p, 10)", q, 16);
    printf("contents kept after shrink: %d\n", ((unsigned char *)q)[9] == 7);
    errno = 0;
    void *r = realloc(q, opaque(SIZE_MAX));
    show("realloc(p, SIZE_MAX)", r, 0);
    printf("old block intact: %d\n", ((unsigned char *)q)[9] == 7);
    errno = 0;
    r = realloc(q, opaque(0));
    show("realloc(p, 0)", r, 0);
    free(r);

    errno = 0;
    p = reallocarray(NULL, opaque(SIZE_MAX / 4), 8);
    show("reallocarray overflow", p, 0);
    errno = 0;
    p = reallocarray(NULL, opaque(10), 10);
    show("reallocarray(NULL, 10, 10)", p, 16);
    p = reallocarray(p, opaque(0), 10);
    show("reallocarray(p, 0, 10)", p, 0);
    free(p);

    size_t aligns[] = {0, 1, 3, 8, 16, 24, 32, 48, 64, 100, 4096, 65536, 1 << 21, 1 << 22,
                       (SIZE_MAX / 2) + 1, (SIZE_MAX / 2) + 2, SIZE_MAX};
    for (size_t i = 0; i < sizeof aligns / sizeof *aligns; i++) {
        size_t a = aligns[i];
        size_t shown_align = a && a <= (1u << 22) ? a : 0;
        /* glibc rounds non-powers of two up; check the rounded alignment. */
        while (shown_align & (shown_align - 1))
            shown_align++;
        char what[80];
        void *m = (void *)1;
        errno = 0;
        int rc = posix_memalign(&m, opaque(a), 100);
        printf("posix_memalign(%zu, 100) rc=%d out=%s", a, rc,
               m == (void *)1 ? "untouched" : m ? "ptr" : "NULL");
        if (rc == 0)
            printf(" aligned=%d", (int)((uintptr_t)m % a == 0));
        printf("\n");
        if (rc == 0)
            free(m);
        errno = 0;
        snprintf(what, sizeof what, "memalign(%zu, 100)", a);
        m = memalign(opaque(a), 100);
        show(what, m, shown_align);
        free(m);
        errno = 0;
        snprintf(what, sizeof what, "aligned_alloc(%zu, 100)", a);
        m = aligned_alloc(opaque(a), 100);
        show(what, m, shown_align);
        free(m);
        errno = 0;
        snprintf(what, sizeof what, "memalign(%zu, SIZE_MAX-100)", a);
        m = memalign(opaque(a), opaque(SIZE_MAX - 100));
        show(what, m, 0);
    }
    errno = 0;
    p = valloc(opaque(1));
    show("valloc(1)", p, page);
    free(p);
    errno = 0;
    p = valloc(opaque(SIZE_MAX - 10));
    show("valloc(SIZE_MAX-10)", p, 0);
    errno = 0;
    p = pvalloc(opaque(1));
    show("pvalloc(1)", p, page);
    printf("pvalloc(1) usable >= page: %d\n", p && malloc_usable_size(p) >= page);
    free(p);
    errno = 0;
    p = pvalloc(opaque(SIZE_MAX - 10));
    show("pvalloc(SIZE_MAX-10)", p, 0);

    /* glibc: the bytes up to malloc_usable_size are the program's to use,
     * and realloc keeps all of them. */
    for (size_t n = 1; n <= 3000; n = n * 3 + 7) {
        p = malloc(opaque(n));
        size_t u = malloc_usable_size(p);
        memset(p, 0x5a, u);
        q = realloc(p, opaque(u + 4096));
        size_t kept = 0;
        while (q && kept < u && ((unsigned char *)q)[kept] == 0x5a)
            kept++;
        printf("realloc keeps the usable bytes of malloc(%zu): %d\n", n, q && kept == u);
        free(q);
    }

    /* errno is left alone by successful calls. */
    errno = 1234;
    p = malloc(opaque(50));
    q = calloc(opaque(3), 300000);
    p = realloc(p, opaque(5000));
    free(p);
    free(q);
    printf("errno after successful calls: %d\n", errno);
    return 0;
}
