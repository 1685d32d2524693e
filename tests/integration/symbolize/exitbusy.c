/* exitbusy.c — a program whose CPU profile must name, from ELF symbol
 * tables alone: its static function (spin_static), a PLT stub
 * (plt_noop@plt: a tight loop of calls into libexitplt.so), and code of a
 * stripped library no symbol covers (libexitstrip-stripped.so+0x…).
 * Usage: exitbusy STRIPPED_LIB; each part runs for 150-300 ms of CPU. */
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

int plt_noop(int x);
volatile uint64_t sink;

static double cpu_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static __attribute__((noinline, noipa)) void spin_static(void)
{
    double end = cpu_ms() + 150;
    uint64_t h = 1;
    while (cpu_ms() < end)
        for (int i = 0; i < 100000; i++)
            h = h * 6364136223846793005ull + 1442695040888963407ull;
    sink += h;
}

static __attribute__((noinline, noipa)) void call_plt(void)
{
    /* The stub is ~30% of this loop's time: 300 ms leaves no real chance
     * of zero samples in it even at the kernel's 250 Hz cap. */
    double end = cpu_ms() + 300;
    int x = 0;
    while (cpu_ms() < end)
        for (int i = 0; i < 100000; i++)
            x = plt_noop(x);
    sink += (uint64_t)x;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fputs("usage: exitbusy STRIPPED_LIB\n", stderr);
        return 2;
    }
    void *h = dlopen(argv[1], RTLD_NOW);
    uint64_t (*strip_spin)(uint64_t) = h ? (uint64_t (*)(uint64_t))dlsym(h, "strip_spin") : NULL;
    if (!strip_spin) {
        fprintf(stderr, "exitbusy: %s\n", dlerror());
        return 1;
    }
    spin_static();
    call_plt();
    double end = cpu_ms() + 150;
    while (cpu_ms() < end)
        sink += strip_spin(1000000);
    puts("exitbusy: done");
    return 0;
}
