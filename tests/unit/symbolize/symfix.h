/* symfix.h — a fixture library with functions whose addresses and source
 * lines the symbolizer tests know exactly.
 *
 * Each entry point runs code that calls symfix_record() from a known line;
 * symfix_record() keeps its return address - 1 (the call instruction, as
 * an unwinder reports a caller's frame) and the line numbers, which the
 * tests then symbolize and compare.
 */
#ifndef SYMFIX_H
#define SYMFIX_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
    SYMFIX_INL,    /* inside an always_inline function inlined into symfix_outer */
    SYMFIX_STATIC, /* inside a static, never-inlined function */
    SYMFIX_CPP,    /* inside the C++ method symfix::Widget::frob(int) */
    SYMFIX_N
};

typedef struct symfix_mark {
    uint64_t pc;       /* return address - 1 inside the function */
    int line;          /* line of the symfix_record call */
    int caller_line;   /* for SYMFIX_INL: the line where symfix_inl is called */
    int decl_line;     /* line where the function is declared */
} symfix_mark;

void symfix_record(int slot, int line, int caller_line, int decl_line);
const symfix_mark *symfix_get(int slot);

int symfix_outer(int x);      /* fills SYMFIX_INL */
int symfix_entry(int x);      /* fills SYMFIX_STATIC */
int symfix_cpp_entry(int x);  /* fills SYMFIX_CPP (0 when built without C++) */
int symfix_have_cpp(void);

#ifdef __cplusplus
}
#endif

#endif
