/* fd2_reuse.c FILE — closes fd 2 and opens FILE, which the kernel gives
 * fd 2: from then on stderr is a data file.  Writes known bytes through
 * stdio's stderr and write(2), leaks one block on purpose, exits 0.
 * Nothing the profiler prints (warnings, a leak summary) may land in FILE. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void *volatile leaked; /* a real leak: nothing points to it at exit */

int main(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    close(2);
    int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd != 2)
        return 3;
    for (int i = 0; i < 100; i++)
        fprintf(stderr, "record %d\n", i);
    fflush(stderr);
    unsigned char bytes[256];
    for (int i = 0; i < 256; i++)
        bytes[i] = (unsigned char)i;
    if (write(2, bytes, sizeof bytes) != (ssize_t)sizeof bytes)
        return 4;
    for (int i = 0; i < 10000; i++) {
        char *p = malloc((size_t)(i % 1000) + 1);
        if (!p)
            return 5;
        memset(p, 'x', (size_t)(i % 1000) + 1);
        free(p);
    }
    leaked = malloc(1000);
    memset(leaked, 1, 1000);
    leaked = NULL;
    printf("fd 2 reused for data\n");
    return 0;
}
