/* elfsym.h — function names from an ELF file's symbol tables, without libdw.
 *
 * Contract: cp_elfsym_open() maps an ELF file read-only and indexes its
 * function symbols: the .symtab of its separate debug file when there is
 * one (/usr/lib/debug/.build-id/xx/rest.debug, then .gnu_debuglink next to
 * the file, in .debug/ and under /usr/lib/debug), else its own .symtab,
 * else .dynsym; plus its PLT stubs as `foo@plt` (x86-64: .plt, .plt.sec,
 * .plt.got, named through their relocations).  Compressed sections are
 * skipped, never inflated.  No DWARF, no dlopen, no network: this is what
 * a profiled process may do at exit.  cp_elfsym_names() gives the names
 * of the functions holding a batch of ELF virtual addresses.
 *
 * Every offset read from a file is bounds-checked: a truncated or hostile
 * file gives fewer names, never a crash.  Uses malloc and mmap: call from
 * a writer thread, never a hook or signal handler.  One thread at a time
 * per cp_elfsym.
 */
#ifndef CP_SYMBOLIZE_ELFSYM_H
#define CP_SYMBOLIZE_ELFSYM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct cp_elfsym cp_elfsym;

/* Open path (debug_root: where separate debug files live, NULL for
 * "/usr/lib/debug").  Returns 0, CPROF_EIO (unreadable), CPROF_EFORMAT
 * (not a 64-bit native-endian ELF file) or CPROF_ENOMEM. */
int cp_elfsym_open(const char *path, const char *debug_root, cp_elfsym **out);

/* An ELF image already in memory (the vDSO), used in place: it must stay
 * mapped until cp_elfsym_close. */
int cp_elfsym_open_image(const void *image, size_t size, cp_elfsym **out);

/* This process's vDSO image (AT_SYSINFO_EHDR) and its size: up to the end
 * of its section headers or of its last segment.  0, CPROF_ENOTFOUND (no
 * 64-bit vDSO) or CPROF_EFORMAT (an implausible size).  [thread-safe] */
int cp_elfsym_vdso_image(const unsigned char **base, size_t *size);

void cp_elfsym_close(cp_elfsym *f);

/* The GNU build id in lower-case hex, "" when the file has none. */
const char *cp_elfsym_build_id(const cp_elfsym *f);

/* Whether the names came from a separate debug file's .symtab. */
bool cp_elfsym_from_debug_file(const cp_elfsym *f);

/* Runtime address inside a mapping (start, file offset) → ELF virtual
 * address through the PT_LOAD headers.  0, or CPROF_ENOTFOUND. */
int cp_elfsym_vaddr(const cp_elfsym *f, uint64_t map_start, uint64_t map_offset, uint64_t addr,
                    uint64_t *vaddr);

/* names[i] = the function (or PLT stub, as "foo@plt") holding vaddrs[i],
 * or NULL when no symbol covers it; a default-version suffix
 * ("@@GLIBC_2.34") is left out.  One pass over the symbol table for the
 * whole batch, so ask for all of a file's addresses at once: a symbol
 * table is not kept in memory, and only the names chosen are read (node's
 * .symtab: 110,000 symbols, 7 MB of names).  The strings live until the
 * close.  0 or CPROF_ENOMEM. */
int cp_elfsym_names(cp_elfsym *f, const uint64_t *vaddrs, size_t n, const char **names);

/* One address: cp_elfsym_names for a batch of one (NULL on ENOMEM too). */
const char *cp_elfsym_name(cp_elfsym *f, uint64_t vaddr);

/* The build id of the file at path, in lower-case hex, into out (at
 * least 129 bytes); out is "" when there is none or the file is no ELF. */
void cp_elfsym_file_build_id(const char *path, char *out);

#endif
