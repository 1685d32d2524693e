/* spin.c — a small CPU-busy program for the record tests, built as prog_a,
 * prog_b and (statically linked) prog_static, each with its own function
 * name so a profile tells them apart.
 *
 * usage: prog SECS OUTFILE [read]: with "read", first copies stdin to a
 * byte count on stdout; else prints a line on stdout.  Burns SECS of CPU
 * in WORK(), then writes "PID CPU_NS" (its own getrusage) to OUTFILE.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#ifndef WORK
#define WORK work
#endif

static volatile double sink;

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

__attribute__((noinline)) static void WORK(double secs)
{
    double x = 0, start = cpu_s();
    do
        for (int i = 0; i < 200000; i++)
            x += i * 0.5;
    while (cpu_s() - start < secs);
    sink = x;
}

int main(int argc, char **argv)
{
    if (argc < 3)
        return 2;
    if (argc > 3 && !strcmp(argv[3], "read")) {
        long n = 0;
        while (getchar() != EOF)
            n++;
        printf("read %ld bytes\n", n);
    } else {
        printf("hello from %d\n", (int)getpid());
    }
    fflush(stdout);
    WORK(atof(argv[1]));
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    long long ns = (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000LL +
                   (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000LL;
    FILE *f = fopen(argv[2], "w");
    if (!f)
        return 1;
    fprintf(f, "%d %lld\n", (int)getpid(), ns);
    return fclose(f) ? 1 : 0;
}
