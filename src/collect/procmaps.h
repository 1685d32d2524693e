/* procmaps.h — the process's executable mappings, for profile writers.
 *
 * Contract: cp_procmaps_load() snapshots /proc/self/maps once: every
 * executable file-backed mapping with its path, file offset and the ELF
 * build id (GNU build-id note, read from the mapped memory's PT_NOTE, or
 * from the file when the note is not mapped).  Pseudo-mappings ([vdso],
 * [vsyscall]) are kept with their bracketed name so addresses inside them
 * still get a mapping.  A snapshot is not updated: code dlopen'ed after the
 * load is unknown to it (call cp_procmaps_load again for a new writer pass).
 *
 * cp_procmaps_mapping_id() adds the mapping holding an address to a profile
 * builder the first time it is asked, so profiles carry only the mappings
 * their samples use; the main executable's mapping is always added first,
 * because pprof takes mapping[0] as the main binary.
 *
 * None of these are [hook-safe] or [async-signal-safe]: they use malloc and
 * stdio; call them from a writer thread.  A cp_procmaps is used by one
 * thread at a time.
 */
#ifndef CP_COLLECT_PROCMAPS_H
#define CP_COLLECT_PROCMAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "profile/builder.h"

typedef struct cp_procmaps cp_procmaps;

/* Snapshot /proc/self/maps: executable mappings with path, offset and the
 * ELF build id (read from the file's or the mapped memory's PT_NOTE).  Uses
 * malloc: call from a writer thread, never a hook.  NULL on failure. */
cp_procmaps *cp_procmaps_load(void);
/* A fingerprint of the executable mappings a snapshot was read from (0
 * for NULL). */
uint64_t cp_procmaps_stamp(const cp_procmaps *m);
/* The same as cp_procmaps_load, unless the executable lines of
 * /proc/self/maps still read as those of the snapshot whose stamp is given
 * (other mappings, such as thread stacks, may differ): then NULL with
 * *same set (the text alone is read: no parsing, no build ids).  NULL with
 * *same clear on failure. */
cp_procmaps *cp_procmaps_load_if_changed(uint64_t stamp, bool *same);

/* The same from a saved maps text (for tests and for another process's
 * /proc/PID/maps); build ids are read from the files.  NULL on failure. */
cp_procmaps *cp_procmaps_parse(const char *text, size_t len);

/* The mapping holding addr: added to b on first use (the main executable's
 * mapping is always added first, as pprof expects mapping[0] to be the main
 * binary) → its builder id; 0 if none.  A cp_procmaps remembers ids for one
 * builder: use a fresh snapshot (or cp_procmaps_reset) for another one. */
uint64_t cp_procmaps_mapping_id(cp_procmaps *m, cp_pbuilder *b, uint64_t addr);

/* One mapping of a snapshot, read-only: what cp_procmaps_lookup finds.
 * The strings live as long as the snapshot. */
typedef struct cp_procmap_info {
    uint64_t start, limit, offset;
    const char *path, *build_id;
} cp_procmap_info;
/* The mapping holding addr (false if none), and the main executable's
 * (false if not found).  They never change the snapshot, so one snapshot
 * may serve several builders on several threads at once (locate.h).
 * [thread-safe] */
bool cp_procmaps_lookup(const cp_procmaps *m, uint64_t addr, cp_procmap_info *out);
bool cp_procmaps_main(const cp_procmaps *m, cp_procmap_info *out);

/* Forget builder ids so the snapshot can serve a new builder. */
void cp_procmaps_reset(cp_procmaps *m);

/* Number of executable mappings in the snapshot. */
size_t cp_procmaps_count(const cp_procmaps *m);

void cp_procmaps_free(cp_procmaps *m);

#endif
