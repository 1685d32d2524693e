/* fetch.h — get a profile over HTTP, as go tool pprof does for URLs.
 *
 * Contract: cp_fetch_http GETs an http:// URL (HTTP/1.0, no TLS) into out,
 * refusing bodies over max_bytes and giving up after timeout_s seconds
 * without progress.  seconds > 0 sets the URL's "seconds" parameter (the
 * CPU profile's duration); an empty path means /debug/pprof/profile.
 * Returns 0, or a negative CPROF_E* code with a message in err.
 */
#ifndef CP_CLI_FETCH_H
#define CP_CLI_FETCH_H

#include <stdbool.h>
#include <stddef.h>

#include "base/buf.h"

bool cp_fetch_is_url(const char *source);
int cp_fetch_http(const char *url, int seconds, int timeout_s, size_t max_bytes, cp_buf *out,
                  char *err, size_t errlen);

#endif
