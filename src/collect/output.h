/* output.h — the last two steps every collector's writer shares: make a
 * built profile self-contained, and put it where the user asked.
 *
 * Contract: both run on a writer thread (never in a hook or handler) and
 * allocate; callers that may run while heap sampling is on mark themselves
 * busy first (cp_heap_busy_enter).
 */
#ifndef CP_COLLECT_OUTPUT_H
#define CP_COLLECT_OUTPUT_H

#include "profile/profile.h"

/* Name p's locations from ELF symbol tables (cp_elfname: no DWARF, no
 * dlopen, no network); returns the named profile and frees p, or returns p
 * unchanged when that fails.  File:line and inline frames are added later,
 * outside the process (cp_symbolize). */
cp_profile *cp_output_symbolize(cp_profile *p);

/* Gzip p and write it: to path_tmpl ("%p" expanded to the pid), atomically,
 * when it is non-NULL, else to fd.  0 or a negative code.  "%n" and "%t"
 * expand to the current period (cp_output_set_period). */
int cp_output_write(const cp_profile *p, const char *path_tmpl, int fd);

/* The period whose files are being written: its sequence number (from
 * 1) and its UTC start (wall clock ns).  Until set: 1 and the moment of the
 * first call of any of these.  [thread-safe] */
void cp_output_set_period(int64_t n, int64_t start_wall_ns);
void cp_output_get_period(int64_t *n, int64_t *start_wall_ns);

/* Expand tmpl for period n starting at start_wall_ns: "%n" → n, "%t" →
 * 20261130T012345Z (UTC), then "%p", "%c", "%%" as cp_path_expand.  0 or
 * CPROF_EINVAL (too long for cap).  No allocation. */
int cp_output_path(const char *tmpl, int64_t n, int64_t start_wall_ns, char *out, size_t cap);

#endif
