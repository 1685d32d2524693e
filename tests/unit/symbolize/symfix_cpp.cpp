// symfix_cpp.cpp — C++ half of the symbolizer test fixture (see symfix.h):
// a method in a namespace, whose mangled and demangled names the tests know.
#include "symfix.h"

extern "C" volatile int symfix_sink;

namespace symfix {
struct Widget {
    int base;
    int frob(int x);
};

static const int frob_decl = __LINE__ + 1;
__attribute__((noinline)) int Widget::frob(int x)
{
    symfix_record(SYMFIX_CPP, __LINE__, 0, frob_decl);
    symfix_sink = symfix_sink + x;
    return base + x;
}
} // namespace symfix

extern "C" int symfix_cpp_entry(int x)
{
    symfix::Widget w{2};
    return w.frob(x);
}

extern "C" int symfix_have_cpp(void) { return 1; }
