/* elfname.h — name a profile's addresses from ELF symbol tables only.
 *
 * Contract: what a profiled process does to its own profile before
 * writing it.  cp_elfname_profile() returns a new profile in which every
 * location that has a file-backed mapping (or the [vdso]) and no lines
 * gets exactly one line: the function holding the address from the ELF
 * symbol tables (cp_elfsym: .symtab of a separate debug file, .symtab,
 * .dynsym, `foo@plt` for PLT stubs), or `FILE+0xOFFSET` (the file's base
 * name and the address's offset in the file, in hex) where no symbol
 * covers the address.  C++ names are demangled when a demangler is
 * already loaded in the process; the mangled name is the system_name.
 * Those mappings say has_functions and not has_filenames,
 * has_line_numbers, has_inline_frames: `cprof symbolize` and `cprof
 * record` add lines and inline frames later (cp_symbolize).
 *
 * No dlopen, no DWARF, no decompression, no network, no library but libc:
 * safe after the program's atexit handlers ran.  When a file's build id
 * differs from its mapping's (replaced on disk since it was loaded) its
 * addresses get the FILE+0xOFFSET form.  Uses malloc and mmap: call from a
 * writer (never a hook or handler), with heap sampling marked busy.
 */
#ifndef CP_SYMBOLIZE_ELFNAME_H
#define CP_SYMBOLIZE_ELFNAME_H

#include <stddef.h>

#include "base/errors.h"
#include "profile/profile.h"

typedef struct cp_elfname_stats {
    size_t named;    /* locations named from a symbol table or PLT */
    size_t offsets;  /* locations named FILE+0xOFFSET */
    size_t files;    /* ELF files opened */
} cp_elfname_stats;

/* 0 with *out set, or CPROF_ENOMEM.  stats may be NULL. */
int cp_elfname_profile(const cp_profile *in, cp_profile **out, cp_diag *diag,
                       cp_elfname_stats *stats);

/* Demangle with a __cxa_demangle already present in the process (never
 * loads one): a malloc'ed string, or NULL.  [thread-safe] */
char *cp_elfname_demangle_loaded(const char *name);
/* Demangle an Itanium-ABI name with `cxa_demangle` (the address of a
 * __cxa_demangle): a malloc'ed string, or NULL when name is not mangled or
 * the demangler refuses it.  [thread-safe] */
char *cp_elfname_demangle_with(void *cxa_demangle, const char *name);

#endif
