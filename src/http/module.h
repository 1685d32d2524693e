/* module.h — the interface between libcprof and libcprof-http.so.
 *
 * Contract: libcprof.so lives inside every profiled process and links only
 * libc, libgcc_s, libz and libm; the HTTP server needs libmicrohttpd, which
 * pulls in gnutls.  So the server is a separate shared object,
 * libcprof-http.so, that libcprof dlopens from its own directory only when
 * CPROF_HTTP is set or cprof_http_start() is called (start.c).  The module
 * links nothing of libcprof: everything it needs comes through the host
 * table below (function pointers), so it works the same whether libcprof is
 * preloaded, linked as a shared library or linked statically.
 *
 * The module owns sockets, threads, limits and the wire (mhd.c); the host
 * owns everything that knows profiles (route.c): paths, parameters, the
 * security checks on headers, status codes, bodies.
 *
 * Threads: every thread of the module calls host->thread_own() first, which
 * marks it the profiler's own (its allocations are never sampled), and
 * threads it creates inherit that mark (src/preload/preload.c).
 */
#ifndef CP_HTTP_MODULE_H
#define CP_HTTP_MODULE_H

#include <stddef.h>
#include <stdint.h>

#define CP_HTTP_ABI 1
#define CP_HTTP_MODULE_INIT "cprof_http_module_start"
#define CP_HTTP_MODULE_STOP "cprof_http_module_stop"

/* One request, as the module hands it to the host. */
typedef struct cp_http_req {
    const char *method;        /* "GET", "POST", ... */
    const char *path;          /* without the query */
    const char *body;          /* POST body (symbol lookups), may be NULL */
    size_t body_len;
    /* A query argument's value (NULL when absent) and a header's value. */
    const char *(*arg)(void *ctx, const char *name);
    const char *(*header)(void *ctx, const char *name);
    /* Wait up to ms milliseconds; returns 1 as soon as the client has gone
     * away (closed or reset its connection), else 0 after the wait. */
    int (*wait)(void *ctx, int64_t ms);
    void *ctx;
} cp_http_req;

/* The answer; body malloc'd by the host, freed by the module with free(). */
typedef struct cp_http_resp {
    int status;
    const char *content_type;  /* static string */
    char disposition[96];      /* Content-Disposition, "" for none */
    const char *www_auth;      /* WWW-Authenticate for 401, else NULL */
    const char *location;      /* Location for a redirect (static), else NULL */
    char *body;
    size_t len;
} cp_http_resp;

typedef struct cp_http_host {
    int abi;                   /* CP_HTTP_ABI */
    void (*thread_own)(void);  /* mark the calling thread as the profiler's */
    /* Mark the calling thread busy for a while (threads created meanwhile
     * are the profiler's own), and put the previous mark back. */
    int (*busy_enter)(void);
    void (*busy_leave)(int prev);
    void (*serve)(const cp_http_req *req, cp_http_resp *resp);
    void (*log)(const char *msg); /* one line to stderr, prefixed "cprof: " */
} cp_http_host;

/* Where and how to listen; every string is a copy the module may keep. */
typedef struct cp_http_config {
    int family;                /* AF_INET, AF_INET6 or AF_UNIX */
    char host[64];             /* numeric address for AF_INET/6 */
    int port;                  /* 0 = any free port */
    char unix_path[108];
    const char *tls_cert_pem;  /* file contents, both or neither */
    const char *tls_key_pem;
    unsigned conn_limit;       /* connections at once */
    unsigned per_ip_limit;     /* connections at once from one address (0 = none) */
    unsigned timeout_s;        /* an idle connection is closed after this */
    size_t conn_memory;        /* per-connection memory (headers, body) */
} cp_http_config;

/* Start listening (threads of its own); fills *bound_port.  0 or a
 * negative CPROF_E* code with err filled. */
typedef int (*cp_http_module_start_fn)(const cp_http_host *host, const cp_http_config *cfg,
                                       int *bound_port, char *err, size_t errlen);
/* Stop and join the threads (requests in flight are cut). */
typedef void (*cp_http_module_stop_fn)(void);
/* The module's two exports, of those types (declared here so the
 * definitions in mhd.c are checked against them). */
int cprof_http_module_start(const cp_http_host *host, const cp_http_config *cfg, int *bound_port,
                            char *err, size_t errlen);
void cprof_http_module_stop(void);

#endif
