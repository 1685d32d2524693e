/* symcache.h — cp_symbolize's answers kept on disk, keyed by build id.
 *
 * Contract: one file per build id, DIR/<build-id>.sym, DIR being
 * $XDG_CACHE_HOME/cprof (default ~/.cache/cprof).  It maps a file offset in
 * that binary to the frames cp_symbolize found there (none included), so
 * a second profile of the same binaries is answered without opening their
 * debug information.  An entry is only trusted while the binary at the
 * mapping's path and its build-id debug file
 * (/usr/lib/debug/.build-id/xx/rest.debug) have the size and modification
 * time they had when it was written: a stripped copy with the same build
 * id, or a debug package installed since, makes a fresh entry.  A missing
 * or unwritable directory, or a corrupt file, just means no cache.  Files
 * are written whole, atomically (temp + rename).  Uses malloc and stdio;
 * one thread per entry.
 */
#ifndef CP_SYMBOLIZE_SYMCACHE_H
#define CP_SYMBOLIZE_SYMCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "symbolize/patch.h"

typedef struct cp_symcache cp_symcache;

/* The cache directory (created if missing) into buf, or NULL when there is
 * none usable.  dir: an explicit directory, or NULL for the default. */
const char *cp_symcache_dir(const char *dir, char *buf, size_t cap);

/* The entry for build_id (lower-case hex) whose binary is at path: the
 * stored one when its stamp still holds, else an empty one.  NULL on
 * ENOMEM or an unusable build id. */
cp_symcache *cp_symcache_open(const char *dir, const char *build_id, const char *path);

/* Frames stored for a file offset: their count (0: nothing there), or -1
 * when the offset is not in the cache.  *frames points into the entry. */
int cp_symcache_get(cp_symcache *c, uint64_t offset, const cp_frame **frames);

/* Remember frames[0..n) for offset (copied).  0 or CPROF_ENOMEM. */
int cp_symcache_put(cp_symcache *c, uint64_t offset, const cp_frame *frames, int n);

/* Whether the file had DWARF when the entry was made; set it. */
bool cp_symcache_dwarf(const cp_symcache *c);
void cp_symcache_set_dwarf(cp_symcache *c, bool dwarf);

/* Write the entry back if put() added anything, then free it. */
void cp_symcache_close(cp_symcache *c);

#endif
