/* leak_fd2.c — a program that leaks one block, closes its stderr and opens
 * a data file, which gets fd 2, then appends a line to it.  The leak
 * report must go to the stderr of the start, never into the data file.
 *
 *   leak_fd2 DATAFILE
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

__attribute__((noinline)) static char *leaky_site(size_t n)
{
    char *p = malloc(n);
    if (p)
        memset(p, 1, n);
    return p;
}

static char *kept;

int main(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    kept = leaky_site(1234);
    close(2);
    int fd = open(argv[1], O_WRONLY | O_APPEND);
    if (fd != 2)
        return 3;
    static const char line[] = "data line\n";
    if (write(2, line, sizeof line - 1) != (ssize_t)(sizeof line - 1))
        return 4;
    printf("done\n");
    return kept ? 0 : 5;
}
