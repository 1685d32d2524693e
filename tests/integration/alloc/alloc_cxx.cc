// alloc_cxx.cc — C++ operator new/delete on top of each allocator (glibc's
// via libstdc++, or jemalloc's, tcmalloc's, mimalloc's own operators).
// Known sites, exact counts at rate 1 (run.sh); prints a checksum.
#include <cstdint>
#include <cstdio>
#include <new>

struct alignas(64) A {
    char c[100];
};
static_assert(sizeof(A) == 128, "A is 128 bytes");

#define SITE extern "C" __attribute__((noinline))

SITE int *site_new(int i) { return new int(i); }
SITE char *site_new_array(std::size_t n) { return new char[n]; }
SITE A *site_new_aligned() { return new A; }
SITE long *site_new_nothrow() { return new (std::nothrow) long(7); }
SITE A *site_new_aligned_array(std::size_t n) { return new A[n]; }

int main()
{
    static int *ints[300];
    static char *arrays[50];
    static A *as[40];
    static long *longs[30];
    std::uint64_t sum = 0;
    for (int i = 0; i < 300; i++)
        ints[i] = site_new(i);
    for (int i = 0; i < 100; i++) {
        sum += (std::uint64_t)*ints[i];
        delete ints[i]; // sized delete
    }
    for (int i = 0; i < 50; i++) {
        arrays[i] = site_new_array(1000);
        arrays[i][999] = (char)i;
    }
    for (int i = 0; i < 20; i++) {
        sum += (std::uint64_t)arrays[i][999];
        delete[] arrays[i];
    }
    for (int i = 0; i < 40; i++) {
        as[i] = site_new_aligned();
        if ((std::uintptr_t)as[i] % 64 != 0)
            std::printf("misaligned new A\n");
        as[i]->c[0] = (char)i;
    }
    for (int i = 0; i < 10; i++)
        delete as[i]; // sized, aligned delete
    for (int i = 0; i < 30; i++)
        longs[i] = site_new_nothrow();
    for (int i = 0; i < 30; i++) {
        sum += (std::uint64_t)*longs[i];
        delete longs[i];
    }
    for (int i = 0; i < 5; i++) {
        A *a = site_new_aligned_array(3);
        if ((std::uintptr_t)a % 64 != 0)
            std::printf("misaligned new A[]\n");
        delete[] a; // aligned array delete
    }
    std::printf("ok %llu\n", (unsigned long long)sum);
    return 0;
}
