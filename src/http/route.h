/* route.h — /debug/pprof requests to answers, inside libcprof.
 *
 * Contract: cp_route_configure() is called once by start.c before the
 * server module starts; cp_route_serve() then runs on the module's
 * connection threads (the profiler's own, busy-marked), concurrently.
 * It checks the Host header, the bearer token and the request rate, then
 * maps the path to one producer (the table in route.c) and fills the
 * answer.  Error bodies are fixed sentences: nothing of the request is
 * ever echoed.  [thread-safe]
 */
#ifndef CP_HTTP_ROUTE_H
#define CP_HTTP_ROUTE_H

#include <stdbool.h>

#include "http/module.h"
#include "profile/profile.h"

typedef struct cp_route_config {
    char token[256];       /* "" = no token required */
    char listen_host[64];  /* numeric address listened on ("" for unix) */
    bool is_unix;
    bool loopback;         /* listening on a loopback address or a unix socket */
    char hosts[512];       /* extra allowed Host names, comma-separated */
    int max_seconds;       /* cap for ?seconds= (default 300) */
    bool cmdline;          /* /debug/pprof/cmdline enabled */
    int rate_per_s;        /* requests per second accepted (burst 2x) */
} cp_route_config;

void cp_route_configure(const cp_route_config *c);
void cp_route_serve(const cp_http_req *req, cp_http_resp *resp);

/* fork steps, called by collect/sigfork.c only: the delta and rate locks
 * held across fork, released in the parent, re-initialised in the child. */
void cp_route_atfork_prepare(void);
void cp_route_atfork_parent(void);
void cp_route_atfork_child(void);

/* The debug=1 text form of p (route_text.c), Go's layouts where they
 * exist (heap, count profiles, contention profiles). */
int cp_route_text(const char *name, const cp_profile *p, cp_buf *out);

#endif
