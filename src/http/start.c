/* start.c — cprof_http_start/stop and CPROF_HTTP: parse, check, load the
 * server module, configure the routes.
 *
 * Why a module: the server is libmicrohttpd, which links gnutls, nettle,
 * p11-kit and more; libcprof.so is loaded into every profiled process and
 * links only libc, libgcc_s, libz and libm (docs/harmless.md).  So the
 * server lives in libcprof-http.so, installed beside libcprof.so, and is
 * dlopen'ed from libcprof's own directory only when CPROF_HTTP is set or
 * cprof_http_start() is called: a process that never serves pprof never
 * maps a TLS library.  The module gets what it needs through a table of
 * function pointers (module.h), so it links nothing of libcprof.
 *
 * Security decisions made here, before anything listens: an address that
 * is not loopback (127.0.0.0/8, ::1) or a unix socket needs a token, else
 * the start is refused with a message naming CPROF_HTTP_TOKEN; TLS needs
 * both a certificate and a key file.
 *
 * Rejected: linking libmicrohttpd into libcprof.so (every profiled process
 * would load gnutls); a hand-written HTTP server (parsing hostile input is
 * what libmicrohttpd is for); resolving host names (only numeric addresses
 * and "localhost": a name that resolves elsewhere must not open a port).
 */
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/log.h"
#include "collect/heap.h"
#include "collect/io.h"
#include "collect/locks.h"
#include "cprof.h"
#include "http/http_env.h"
#include "http/module.h"
#include "http/route.h"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static void *module;
static cp_http_module_stop_fn module_stop;
static int bound_port = -1;
static pid_t owner;
static char *tls_cert, *tls_key;

static void thread_own(void)
{
    cp_heap_tls_state.busy = 1;
}

static int busy_enter(void)
{
    return cp_heap_busy_enter();
}

static void busy_leave(int prev)
{
    cp_heap_busy_leave(prev);
}

static void host_log(const char *msg)
{
    cp_log("%s", msg);
}

static const cp_http_host host_table = {
    .abi = CP_HTTP_ABI,
    .thread_own = thread_own,
    .busy_enter = busy_enter,
    .busy_leave = busy_leave,
    .serve = cp_route_serve,
    .log = host_log,
};

static const char *pick(const char *opt, const char *env)
{
    if (opt)
        return opt;
    const char *v = getenv(env);
    return v && *v ? v : NULL;
}

/* "127.0.0.1:6060", "[::1]:6060", "localhost:6060", ":6060", "unix:/path" */
static int parse_addr(const char *a, cp_http_config *c, bool *loopback, char *err, size_t n)
{
    memset(c, 0, sizeof *c);
    if (strncmp(a, "unix:", 5) == 0) {
        const char *p = a + 5;
        if (!*p || strlen(p) >= sizeof c->unix_path) {
            snprintf(err, n, "bad CPROF_HTTP address: a unix socket path of 1 to %zu bytes",
                     sizeof c->unix_path - 1);
            return CPROF_EINVAL;
        }
        c->family = AF_UNIX;
        strcpy(c->unix_path, p);
        *loopback = true;
        return 0;
    }
    const char *colon = strrchr(a, ':');
    if (!colon)
        goto bad;
    char *end;
    errno = 0;
    long port = strtol(colon + 1, &end, 10);
    if (!colon[1] || *end || errno || port < 0 || port > 65535)
        goto bad;
    c->port = (int)port;
    size_t hl = (size_t)(colon - a);
    char h[64];
    if (a[0] == '[') {
        if (hl < 3 || a[hl - 1] != ']' || hl - 2 >= sizeof h)
            goto bad;
        memcpy(h, a + 1, hl - 2);
        h[hl - 2] = 0;
        c->family = AF_INET6;
    } else {
        if (hl >= sizeof h)
            goto bad;
        memcpy(h, a, hl);
        h[hl] = 0;
        if (strcmp(h, "localhost") == 0)
            strcpy(h, "127.0.0.1");
        else if (!h[0])
            strcpy(h, "0.0.0.0");
        c->family = AF_INET;
    }
    unsigned char bin[16];
    if (inet_pton(c->family, h, bin) != 1)
        goto bad;
    strcpy(c->host, h);
    *loopback = c->family == AF_INET ? bin[0] == 127
                                     : memcmp(bin, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\1", 16) == 0;
    return 0;
bad:
    snprintf(err, n, "bad CPROF_HTTP address (want 127.0.0.1:PORT, [::1]:PORT or unix:/path)");
    return CPROF_EINVAL;
}

static char *read_pem(const char *path, char *err, size_t n)
{
    cp_buf b = {0};
    if (cp_buf_read_file(&b, path, 1 << 20) != 0 || cp_buf_putc(&b, 0) != 0) {
        cp_buf_free(&b);
        snprintf(err, n, "cannot read TLS file %s", path);
        return NULL;
    }
    return (char *)b.data;
}

/* dlopen libcprof-http.so from the directory libcprof was loaded from
 * (the program's own directory when linked statically), else by name. */
static void *load_module(char *err, size_t n)
{
    Dl_info di;
    void *h = NULL;
    if (dladdr((void *)&cprof_http_start, &di) && di.dli_fname) {
        const char *slash = strrchr(di.dli_fname, '/');
        if (slash) {
            char path[PATH_MAX];
            snprintf(path, sizeof path, "%.*s/libcprof-http.so", (int)(slash - di.dli_fname),
                     di.dli_fname);
            h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
        }
    }
    if (!h)
        h = dlopen("libcprof-http.so", RTLD_NOW | RTLD_LOCAL);
    if (!h)
        snprintf(err, n, "cannot load libcprof-http.so (install it beside libcprof.so): %s",
                 dlerror());
    return h;
}

static void write_addr_file(const char *file, const cp_http_config *c)
{
    char line[200];
    int k = c->family == AF_UNIX  ? snprintf(line, sizeof line, "unix:%s\n", c->unix_path)
            : c->family == AF_INET6 ? snprintf(line, sizeof line, "[%s]:%d\n", c->host, bound_port)
                                    : snprintf(line, sizeof line, "%s:%d\n", c->host, bound_port);
    if (cp_write_file_atomic(file, line, (size_t)k) != 0)
        cp_log("http: cannot write CPROF_HTTP_ADDR_FILE %s", file);
}

static int start_locked(const cprof_http_options *o, char *err, size_t n)
{
    if (bound_port >= 0 && owner == getpid())
        return snprintf(err, n, "/debug/pprof is already being served"), CPROF_EBUSY;
    const char *addr = pick(o ? o->addr : NULL, "CPROF_HTTP");
    const char *token = pick(o ? o->token : NULL, "CPROF_HTTP_TOKEN");
    const char *cert = pick(o ? o->tls_cert : NULL, "CPROF_HTTP_TLS_CERT");
    const char *key = pick(o ? o->tls_key : NULL, "CPROF_HTTP_TLS_KEY");
    const char *hosts = pick(o ? o->hosts : NULL, "CPROF_HTTP_HOSTS");
    if (!addr)
        return snprintf(err, n, "no address: set CPROF_HTTP or options.addr"), CPROF_EINVAL;
    cp_http_config c;
    bool loopback = false;
    int rc = parse_addr(addr, &c, &loopback, err, n);
    if (rc)
        return rc;
    if (!loopback && !token)
        return snprintf(err, n,
                        "refusing to serve /debug/pprof on the non-loopback address %s "
                        "without a token: set CPROF_HTTP_TOKEN (or listen on 127.0.0.1, "
                        "[::1] or unix:/path)",
                        addr),
               CPROF_EINVAL;
    if (token && (strlen(token) >= sizeof ((cp_route_config *)0)->token || !*token))
        return snprintf(err, n, "CPROF_HTTP_TOKEN must be 1 to 255 bytes"), CPROF_EINVAL;
    if (!cert != !key)
        return snprintf(err, n, "TLS needs both CPROF_HTTP_TLS_CERT and CPROF_HTTP_TLS_KEY"),
               CPROF_EINVAL;
    cp_route_config rc_cfg = {.max_seconds = 300, .rate_per_s = 100};
    if (token)
        strcpy(rc_cfg.token, token);
    snprintf(rc_cfg.listen_host, sizeof rc_cfg.listen_host, "%s", c.host);
    rc_cfg.is_unix = c.family == AF_UNIX;
    rc_cfg.loopback = loopback;
    if (hosts)
        snprintf(rc_cfg.hosts, sizeof rc_cfg.hosts, "%s", hosts);
    const char *ms = getenv("CPROF_HTTP_MAX_SECONDS");
    if (o && o->max_seconds > 0)
        rc_cfg.max_seconds = o->max_seconds;
    else if (ms && *ms && atoi(ms) > 0)
        rc_cfg.max_seconds = atoi(ms);
    const char *cl = getenv("CPROF_HTTP_CMDLINE");
    rc_cfg.cmdline = (o && (o->flags & CPROF_HTTP_CMDLINE)) || (cl && strcmp(cl, "1") == 0);
    cp_route_configure(&rc_cfg);

    if (cert) {
        free(tls_cert);
        free(tls_key);
        tls_cert = read_pem(cert, err, n);
        tls_key = tls_cert ? read_pem(key, err, n) : NULL;
        if (!tls_key)
            return CPROF_EIO;
        c.tls_cert_pem = tls_cert;
        c.tls_key_pem = tls_key;
    }
    c.conn_limit = 32;
    c.per_ip_limit = loopback ? 0 : 8;
    c.timeout_s = 15;
    c.conn_memory = 32 << 10;

    if (!module && !(module = load_module(err, n)))
        return CPROF_ENOTFOUND;
    cp_http_module_start_fn st = (cp_http_module_start_fn)dlsym(module, CP_HTTP_MODULE_INIT);
    module_stop = (cp_http_module_stop_fn)dlsym(module, CP_HTTP_MODULE_STOP);
    if (!st || !module_stop)
        return snprintf(err, n, "libcprof-http.so lacks its entry points"), CPROF_EFORMAT;
    int port = 0;
    rc = st(&host_table, &c, &port, err, n);
    if (rc)
        return rc;
    bound_port = c.family == AF_UNIX ? 0 : port;
    owner = getpid();
    const char *af = getenv("CPROF_HTTP_ADDR_FILE");
    if (af && *af)
        write_addr_file(af, &c);
    return 0;
}

CPROF_API int cprof_http_start(const cprof_http_options *opts)
{
    char err[256] = "";
    int busy = cp_heap_busy_enter();
    pthread_mutex_lock(&mu);
    int rc = start_locked(opts, err, sizeof err);
    pthread_mutex_unlock(&mu);
    cp_heap_busy_leave(busy);
    if (rc && err[0])
        cp_log("http: %s", err);
    return rc;
}

CPROF_API int cprof_http_stop(void)
{
    int busy = cp_heap_busy_enter();
    pthread_mutex_lock(&mu);
    int rc = CPROF_ENOTRUNNING;
    if (module_stop && bound_port >= 0 && owner == getpid()) {
        module_stop();
        bound_port = -1;
        rc = 0;
    }
    pthread_mutex_unlock(&mu);
    cp_heap_busy_leave(busy);
    return rc;
}

CPROF_API int cprof_http_port(void)
{
    return owner == getpid() ? bound_port : -1;
}

/* A rate variable alone, set and a whole number >= 1: its value, else 0. */
static int64_t rate_env(const char *name)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return 0;
    char *end;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    return *end || errno || x < 1 ? 0 : x;
}

/* Served over HTTP, a profile type needs no file: its rate variable alone
 * turns it on (as Go's SetMutexProfileFraction and SetBlockProfileRate
 * do), when its FILE variable did not already. */
static void start_rates_from_env(void)
{
    int64_t v;
    int rc = 0;
    if (!cp_mutex_enabled() && (v = rate_env("CPROF_MUTEX_FRACTION")) > 0)
        rc = cp_locks_mutex_start(v);
    if (rc == 0 && !cp_block_enabled() && (v = rate_env("CPROF_BLOCK_RATE")) > 0)
        rc = cp_locks_block_start(v);
    if (rc == 0 && !cp_io_enabled() && (v = rate_env("CPROF_IO_RATE")) > 0)
        rc = cp_io_start(v, v == 1 ? 1 : CP_IO_TIME_RATE_DEFAULT, 0);
    if (rc)
        cp_log("http: a profile its rate variable asks for did not start: %s",
               cprof_strerror(rc));
}

void cp_http_env_start(void)
{
    const char *a = getenv("CPROF_HTTP");
    if (!a || !*a)
        return;
    start_rates_from_env();
    cprof_http_start(NULL);
}

/* fork (collect/sigfork.c): start/stop is the outermost lock of cprof (a
 * stop joins server threads that may be inside any producer); a child has
 * no server and may start its own. */
void cp_http_atfork_prepare(void)
{
    pthread_mutex_lock(&mu);
}

void cp_http_atfork_parent(void)
{
    pthread_mutex_unlock(&mu);
}

void cp_http_atfork_child(void)
{
    pthread_mutex_init(&mu, NULL);
}
