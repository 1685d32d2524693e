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
 * when it is non-NULL, else to fd.  0 or a negative code. */
int cp_output_write(const cp_profile *p, const char *path_tmpl, int fd);

#endif
