/* symfix.c — C half of the symbolizer test fixture (see symfix.h).
 * The line numbers matter only through __LINE__, so edits are safe. */
#include "symfix.h"

static symfix_mark marks[SYMFIX_N];
volatile int symfix_sink;

__attribute__((noinline, noipa)) void symfix_record(int slot, int line, int caller_line,
                                                    int decl_line)
{
    marks[slot].pc = (uint64_t)(uintptr_t)__builtin_return_address(0) - 1;
    marks[slot].line = line;
    marks[slot].caller_line = caller_line;
    marks[slot].decl_line = decl_line;
    __asm__ volatile("" ::: "memory");
}

const symfix_mark *symfix_get(int slot) { return &marks[slot]; }

static const int inl_decl = __LINE__ + 1;
static inline __attribute__((always_inline)) int symfix_inl(int x, int caller_line)
{
    symfix_record(SYMFIX_INL, __LINE__, caller_line, inl_decl);
    symfix_sink += x;
    return x * 3;
}

int symfix_outer(int x)
{
    int r = symfix_inl(x, __LINE__);
    symfix_sink += r;
    return r + 1;
}

static const int static_decl = __LINE__ + 1;
static __attribute__((noinline, noipa)) int symfix_static(int x)
{
    symfix_record(SYMFIX_STATIC, __LINE__, 0, static_decl);
    symfix_sink += x;
    return x - 1;
}

int symfix_entry(int x)
{
    int r = symfix_static(x);
    symfix_sink += r;
    return r;
}

#ifndef SYMFIX_HAVE_CPP
int symfix_cpp_entry(int x) { return x; }
int symfix_have_cpp(void) { return 0; }
#endif
