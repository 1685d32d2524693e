/* demangle.c — C++ (Itanium ABI) names to their source spelling.
 *
 * What: __cxa_demangle from libstdc++, found at run time.  In a profiled
 * C++ program it is already loaded (dlsym(RTLD_DEFAULT), or RTLD_NOLOAD
 * when a plugin brought libstdc++ in with RTLD_LOCAL); elsewhere — the
 * cprof command, a C program — libstdc++.so.6 is dlopen'ed the first time
 * a mangled name shows up, so C-only programs never load it.
 *
 * Alternatives rejected: linking libstdc++ would drag the C++ runtime
 * into every C program that links libcprof.  libiberty's cplus_demangle
 * (libiberty-dev, GPL with a linking exception, so usable) is only shipped
 * as a static archive whose global symbols would leak out of libcprof.so
 * and could interpose on a program's own copy; it would also add a
 * build dependency for a function every C++ system already carries.
 * Writing our own demangler: the grammar is large and changes with the
 * language; the toolchain's own implementation is the reference.
 * Without any libstdc++ on the system, names stay mangled (system_name
 * and name are then equal), which pprof displays fine.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "symbolize/elfname.h"
#include "symbolize/symbolize.h"

static void *demangler; /* __cxa_demangle, or NULL */
static pthread_once_t demangler_once = PTHREAD_ONCE_INIT;

static void find_demangler(void)
{
    void *sym = dlsym(RTLD_DEFAULT, "__cxa_demangle");
    if (!sym) {
        /* Kept open for the life of the process: the function is used
         * again by every later symbolization. */
        void *h = dlopen("libstdc++.so.6", RTLD_LAZY | RTLD_LOCAL | RTLD_NOLOAD);
        if (!h)
            h = dlopen("libstdc++.so.6", RTLD_LAZY | RTLD_LOCAL);
        if (h)
            sym = dlsym(h, "__cxa_demangle");
    }
    demangler = sym;
}

char *cp_symbolize_demangle(const char *name)
{
    if (!name || name[0] != '_' || name[1] != 'Z')
        return NULL;
    pthread_once(&demangler_once, find_demangler);
    return cp_elfname_demangle_with(demangler, name);
}
