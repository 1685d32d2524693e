// cxx.cpp — C++ code for the CPU profiler: names in the profile must be
// demangled in `name` and kept mangled in `system_name`, templates and
// namespaces included.
#include <cstdint>
#include <cstdio>
#include <ctime>

namespace shapes {
template <typename T> struct Widget {
    T state;
    __attribute__((noinline)) T spin(long ms)
    {
        timespec t0, t;
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
        do {
            for (int i = 0; i < 20000; i++)
                state = state * 6364136223846793005ull + 1;
            clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
        } while ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 < ms);
        return state;
    }
};
} // namespace shapes

int main()
{
    shapes::Widget<uint64_t> w{1};
    std::printf("%llu\n", (unsigned long long)(w.spin(300) & 1));
    return 0;
}
