/* delta.h — what happened between two snapshots of the same cumulative
 * profile (Go's godeltaprof idea, without its in-use bug).
 *
 * Contract: newer and older are two snapshots of one profile type taken by
 * the same process (same sample types, same order), each cumulative since
 * the profile started.  The result holds, per sample (stack + labels):
 *  - cumulative types (samples, cpu, alloc_*, contentions, delay, io
 *    bytes and time, ...): newer − older;
 *  - gauge types (inuse_objects, inuse_space, threads): newer's value
 *    unchanged — an in-use figure is a state, not a flow, and subtracting
 *    it would report frees of the previous interval as negative memory;
 *  - samples whose values are all zero afterwards are dropped.
 * time_nanos is the older snapshot's end (time + duration) and
 * duration_nanos the interval up to the newer snapshot's end.  Everything
 * else (sample types, period, comments, mappings) is newer's.  Either
 * argument may be an empty profile; older may be NULL (the delta is then
 * newer itself, copied).  Allocates: never in a hook or handler.
 * [thread-safe] (no shared state)
 */
#ifndef CP_PROFILE_DELTA_H
#define CP_PROFILE_DELTA_H

#include <stdbool.h>

#include "profile/profile.h"

/* 0 and *out set, or CPROF_EINVAL (sample types differ) / CPROF_ENOMEM. */
int cp_profile_delta(const cp_profile *newer, const cp_profile *older, cp_profile **out);

/* Is a sample type of this name a gauge (kept from the newer snapshot)
 * rather than a cumulative count? */
bool cp_profile_delta_is_gauge(const char *type);

#endif
