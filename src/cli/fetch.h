/* fetch.h — get a profile over http(s), as go tool pprof does for URLs.
 *
 * Contract: cp_fetch_http GETs an http:// or https:// URL (libcurl) into
 * out.  seconds > 0 sets the URL's "seconds" parameter (the CPU profile's
 * duration); an empty path means /debug/pprof/profile.  timeout_s is the
 * total time allowed (0: go tool pprof's default, the profile's seconds
 * plus half of them, at least 60 s); connecting gets at most 10 s of it.
 * Redirects are followed (at most 5, http and https only).  With
 * CPROF_HTTP_TOKEN set, "Authorization: Bearer TOKEN" is sent (not to the
 * hosts of redirects).  Bodies over max_bytes are refused.  Returns 0, or a
 * negative CPROF_E* code with a message in err naming the URL and the HTTP
 * status or the transfer error.  Not thread-safe on first use (libcurl's
 * global init).
 *
 * The profiled process never links this: only the cprof command does.
 */
#ifndef CP_CLI_FETCH_H
#define CP_CLI_FETCH_H

#include <stdbool.h>
#include <stddef.h>

#include "base/buf.h"
#include "profile/profile.h"

/* The decompressed size accepted for a profile fetched over the network
 * (a gzip bomb is refused at this size, within a fraction of a second). */
#define CP_FETCH_MAX_DECOMPRESSED (256u << 20)
/* The body size accepted (gzipped profiles are rarely over a few MB). */
#define CP_FETCH_MAX_BODY (256u << 20)

bool cp_fetch_is_url(const char *source);
int cp_fetch_http(const char *url, int seconds, int timeout_s, size_t max_bytes, cp_buf *out,
                  char *err, size_t errlen);
/* The total timeout go tool pprof would use: timeout_s when > 0, else the
 * profile duration (seconds, or the URL's seconds=N) times 1.5 and at
 * least 60 s. */
int cp_fetch_timeout(const char *url, int seconds, int timeout_s);

/* The profile at source: a file, or an http(s) URL fetched as above (with
 * its decompressed size capped at CP_FETCH_MAX_DECOMPRESSED).  NULL after
 * a message on stderr that starts with `who` ("cprof", "cprof gate") and
 * names the source and what is wrong. */
cp_profile *cp_fetch_profile(const char *who, const char *source, int seconds, int timeout_s);

#endif
