/* labelsout.h — a sample's label set as pprof string labels.
 *
 * Contract: writers (never handlers or hooks) turn the label set pointer a
 * sample kept (labels.h) into cp_label_in entries for cp_pbuilder_sample:
 * one per distinct key, the innermost value, outermost key first (the
 * order the program pushed them).  The strings are the interned ones:
 * they stay valid for the life of the process.
 */
#ifndef CP_COLLECT_LABELSOUT_H
#define CP_COLLECT_LABELSOUT_H

#include <stddef.h>

#include "collect/labels.h"
#include "profile/builder.h"

/* Most keys one sample carries; deeper sets keep their innermost keys. */
#define CP_LABELSOUT_MAX 64

/* Fill out[0..max) from s (NULL: none); the number filled.  [thread-safe] */
size_t cp_labelsout_fill(const cp_labelset *s, cp_label_in *out, size_t max);

#endif
