/* exitlib.c — two small libraries for exit.sh (built twice by meson).
 * libexitplt.so: plt_noop(), which exitbusy calls through its PLT.
 * libexitstrip.so (shipped stripped): strip_spin() burns CPU in a static
 * function no symbol table of the stripped file names. */
#include <stdint.h>

volatile uint64_t exitlib_sink;
int plt_noop(int x);
uint64_t strip_spin(uint64_t n);

int plt_noop(int x) { return x + 1; }

static __attribute__((noinline, noipa)) uint64_t hidden_spin(uint64_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (uint64_t i = 0; i < n; i++)
        h = (h ^ i) * 1099511628211ull;
    return h;
}

uint64_t strip_spin(uint64_t n)
{
    uint64_t h = hidden_spin(n);
    exitlib_sink += h;
    return h;
}
