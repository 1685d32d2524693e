/* dlmaps.h — the code mappings of libraries that were unloaded, kept for
 * every profile writer.
 *
 * A sample taken in a library that the program dlclose'd before the
 * profile is written still needs its mapping (file, offset, build id) to
 * get names: symbolization reads the file by path, normally still on disk.
 * So before every dlclose (the interposer in src/preload/preload.c), once
 * any collector has started, a snapshot of the executable mappings is
 * noted — only when they changed since the newest note.  Writers look a PC
 * up in a snapshot taken at write time first, then in the notes, newest
 * first (locate.h does this for every writer).
 *
 * Notes are never freed while the process lives (so readers need no lock)
 * and are inherited by a forked child (they describe its memory too).  At
 * most CP_DLMAPS_MAX notes are kept; later unloads are counted.
 */
#ifndef CP_COLLECT_DLMAPS_H
#define CP_COLLECT_DLMAPS_H

#include <stddef.h>
#include <stdint.h>

#include "collect/procmaps.h"

#define CP_DLMAPS_MAX 1024

/* A collector started: note the mappings before every dlclose from now
 * on.  [thread-safe] [hook-safe] (one atomic store) */
void cp_dlmaps_enable(void);

/* Before a dlclose: note the mappings while the library is still mapped
 * (nothing unless enabled, or when unchanged since the newest note).
 * Reads /proc/self/maps and allocates, marked as the profiler's own.
 * Takes no lock of ours.  [thread-safe] */
void cp_dlmaps_note(void);

/* The notes: cp_dlmaps_count() of them, index 0 the oldest; an entry may
 * be NULL (a note still being published).  [thread-safe] */
size_t cp_dlmaps_count(void);
const cp_procmaps *cp_dlmaps_get(size_t i);
/* Unloads not noted because CP_DLMAPS_MAX notes were kept already. */
uint64_t cp_dlmaps_overflow(void);

#endif
