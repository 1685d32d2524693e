/* symbolize.h — addresses to functions, file:line and inline frames.
 *
 * This is the CLI's symbolizer (libdw); libcprof.so does not link it.  The
 * profiled process names addresses with cp_elfname (elfname.h) instead.
 *
 * Contract: cp_symbolize() reads a profile and returns a new one in which
 * every location that has a mapping and no lines has been given lines:
 * one cp_line per frame, innermost (inlined callee) first, the outermost
 * being the function the address lies in.  Locations the profiled process
 * named from ELF symbol tables alone (lines without file or line number,
 * mapping has_line_numbers=false) get DWARF's frames when DWARF has an
 * answer (a file or a line), and keep their ELF name (foo@plt,
 * FILE+0xOFFSET, a .symtab name) otherwise.  Answers are kept per build id
 * on disk (opts->no_disk_cache, opts->cache_dir; symcache.h).  Names come from DWARF (elfutils
 * libdw), else from the ELF .symtab/.dynsym; separate debug files are found
 * through .gnu_debuglink and /usr/lib/debug/.build-id/xx/yyyy.debug.  C++
 * names are demangled into `name` (unless opts->no_demangle) and kept
 * mangled in `system_name`.  When DEBUGINFOD_URLS is set in the
 * environment, libdwfl may also fetch missing debug files over the network
 * (as gdb and perf do); unset it to stay offline.
 *
 * The mapping's file is opened by its path on this machine.  When both the
 * mapping and the file have a build id and they differ, the mapping's
 * locations are left as they are and diag/log says so once per mapping.
 * Locations without a mapping, in an unreadable file, or at an address no
 * symbol covers keep their address (pprof shows them as hex).  A mapping's
 * has_functions / has_filenames / has_line_numbers / has_inline_frames are
 * set from what was found.  Locations that already have lines (other than
 * ELF-only ones, above) are copied unchanged, so symbolizing twice is
 * harmless.
 *
 * Addresses are runtime addresses; they are turned into file addresses
 * with the mapping's start and offset and the ELF program headers, so
 * position-independent executables and shared objects resolve correctly.
 *
 * [thread-safe]: the only shared state is the demangler lookup (done once)
 * and the cache of opened files, which hands each file to one call at a time.
 * Uses malloc; never call from a hook or signal handler.
 */
#ifndef CP_SYMBOLIZE_H
#define CP_SYMBOLIZE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/errors.h"
#include "profile/profile.h"

typedef struct cp_symbolize_opts {
    /* Zeroed opts (or NULL) mean the defaults: demangle C++ names. */
    bool no_demangle; /* keep mangled names in `name` too */
    bool quiet;       /* do not cp_log warnings (diag is still filled) */
    /* libdwfl debuginfo path: ':'-separated directories searched for
     * separate debug files (DIR/.build-id/xx/yyyy.debug for absolute
     * entries; relative entries are taken from the file's directory).
     * NULL: ":.debug:/usr/lib/debug". */
    const char *debug_dirs;
    /* Keep opened files in the process-wide cache for the next call (see
     * cp_symbolize_cache_clear): for writers that symbolize again and again
     * (HTTP endpoint, periodic profiles).  Off by default because the cache
     * holds memory (12 MB measured for a small C program's profile that
     * touches libc, with libc6-dbg installed)
     * that a one-shot writer or the CLI would only carry to exit. */
    bool cache;
    /* The disk cache (docs/symbolize.md): answers kept per build id under
     * cache_dir (NULL: $XDG_CACHE_HOME/cprof, default ~/.cache/cprof), so
     * the next profile of the same binaries needs no debug information.
     * Not used with no_demangle or debug_dirs. */
    bool no_disk_cache;
    const char *cache_dir;
} cp_symbolize_opts;

/* Statistics of one run (optional). */
typedef struct cp_symbolize_stats {
    size_t locations;       /* locations in the profile */
    size_t symbolized;      /* locations that got at least one named line */
    size_t already;         /* locations that had lines on input */
    size_t unsymbolized;    /* locations left with only an address */
    size_t mismatched_maps; /* mappings skipped for a build-id mismatch */
    size_t unreadable_maps; /* mappings whose file could not be read */
    size_t cache_hits;      /* locations answered by the disk cache */
    size_t cache_misses;    /* locations looked up and added to it */
    size_t files_opened;    /* ELF files opened with libdw */
} cp_symbolize_stats;

/* A new profile where every location that has a mapping and no lines gets
 * functions (name demangled for C++, system_name mangled), file:line, and
 * inline frames (innermost first), from the mapping's ELF file.  Returns 0
 * or a negative CPROF_E* code (ENOMEM; a file that cannot be read is not an
 * error).  diag, when non-NULL, receives the first warning (build-id
 * mismatch, unreadable file) even on success; it starts empty.  *out is
 * only set on success. */
int cp_symbolize(const cp_profile *in, const cp_symbolize_opts *opts,
                 cp_profile **out, cp_diag *diag);

/* The same with statistics. */
int cp_symbolize_ex(const cp_profile *in, const cp_symbolize_opts *opts,
                    cp_profile **out, cp_diag *diag, cp_symbolize_stats *stats);

/* Files opened by cp_symbolize with opts->cache stay open in a
 * process-wide cache (at most 32, least recently used dropped; a file
 * changed on disk is reopened), so repeated writes do not re-read debug
 * information.  This closes every cached file not in use right now.
 * [thread-safe] */
void cp_symbolize_cache_clear(void);

/* Demangle a C++ (Itanium ABI) name into a malloc'ed string, or NULL when
 * name is not mangled or no demangler is available.  [thread-safe] */
char *cp_symbolize_demangle(const char *name);

#endif
