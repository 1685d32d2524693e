/* objfile.h — one ELF file opened for symbolization (internal).
 *
 * Contract: cp_objfile_open() opens an ELF file with libdwfl, finds its
 * separate debug file (build-id directory, .gnu_debuglink, dwz alt file) and
 * reads its build id and program headers.  cp_objfile_lookup() turns one
 * ELF virtual address into frames, innermost (inlined callee) first.  The
 * strings a lookup returns stay valid until the next lookup on the same
 * objfile or its close.  One thread at a time per objfile; uses malloc.
 */
#ifndef CP_SYMBOLIZE_OBJFILE_H
#define CP_SYMBOLIZE_OBJFILE_H

#include <stdbool.h>
#include <stdint.h>

#include "symbolize/patch.h"

typedef struct cp_objfile cp_objfile;


#define CP_OBJFILE_MAX_FRAMES 64

/* Open path; debug_dirs is a libdwfl debuginfo path (NULL: the default
 * ":.debug:/usr/lib/debug").  Returns 0, CPROF_EIO (unreadable, not ELF) or
 * CPROF_ENOMEM. */
int cp_objfile_open(const char *path, const char *debug_dirs, cp_objfile **out);
/* The vDSO of this process, from memory (the kernel maps no file for it).
 * CPROF_ENOTFOUND when there is none. */
int cp_objfile_open_vdso(cp_objfile **out);
void cp_objfile_close(cp_objfile *f);

/* The file's GNU build id in lower-case hex, "" when it has none. */
const char *cp_objfile_build_id(const cp_objfile *f);
/* Whether DWARF was found (in the file or a separate debug file). */
bool cp_objfile_has_dwarf(const cp_objfile *f);

/* Convert a runtime address inside a mapping (start, file offset) to the
 * file's virtual address through its PT_LOAD program headers.  Returns 0,
 * or CPROF_ENOTFOUND when no loadable segment holds that file offset. */
int cp_objfile_vaddr(const cp_objfile *f, uint64_t map_start, uint64_t map_offset,
                     uint64_t addr, uint64_t *vaddr);

/* Frames at vaddr, innermost first, at most max.  Returns how many (0 when
 * nothing covers the address) or CPROF_ENOMEM. */
int cp_objfile_lookup(cp_objfile *f, uint64_t vaddr, bool demangle, cp_frame *frames, int max);

#endif
