/* route.c — what /debug/pprof answers, inside libcprof.
 *
 * What: the checks every request passes (Host allow-list, bearer token in
 * constant time, a process-wide request rate), then Go's net/http/pprof
 * paths: the index, profile (CPU), symbol, cmdline, and one table entry
 * per named profile, each mapped to ONE producer function that returns a
 * cumulative snapshot as a cp_profile.  ?debug=1 turns the snapshot into
 * text (route_text.c), threads?debug=2 the per-thread dump; ?seconds=N
 * takes two snapshots N seconds apart and answers their difference
 * (cp_profile_delta: counters subtract, in-use figures stay current); delta_heap, delta_mutex and
 * delta_block (godeltaprof's paths, scraped by Grafana Alloy) answer the
 * difference since the previous request of the same path.
 *
 * Statuses and wording follow Go's handlers where Go has them (404
 * "Unknown profile", 400 for bad seconds, Content-Disposition attachment
 * with the profile's name); cprof adds 401 (token), 403 (foreign Host),
 * 409 (a second CPU profile), 429 (rate) and 400 for seconds above the cap
 * (Go checks only its WriteTimeout).  Error bodies are fixed sentences.
 *
 * The CPU profile is taken with the public API into a memfd
 * (cprof_cpu_start_fd/cprof_cpu_stop): the file bytes are exactly what
 * CPROF_CPU would have written.  While it runs the request's thread waits
 * on its socket, and stops the profile early when the client goes away.
 *
 * Rejected: building the index from every profile's sample count as Go
 * does (symbolizing a heap profile to print one number; the index is what
 * scrapers and load balancers poll).
 */
#include <ctype.h>
#include <dlfcn.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "collect/heap.h"
#include "cprof.h"
#include "http/route.h"
#include "collect/io.h"
#include "collect/locks.h"
#include "collect/threads.h"
#include "profile/builder.h"
#include "profile/delta.h"

static cp_route_config cfg = {.max_seconds = 300, .rate_per_s = 100};

void cp_route_configure(const cp_route_config *c)
{
    cfg = *c;
    if (cfg.max_seconds <= 0)
        cfg.max_seconds = 300;
    if (cfg.rate_per_s <= 0)
        cfg.rate_per_s = 100;
}

/* ---- producers: one per path; each returns a cumulative snapshot ---- */

static int heap_producer(cp_profile **out)
{
    return cp_heap_profile(false, true, out);
}

static int allocs_producer(cp_profile **out)
{
    int rc = cp_heap_profile(false, true, out);
    if (rc)
        return rc;
    /* Go's allocs: the same profile, alloc_space shown by default */
    for (size_t i = 0; i < (*out)->nstrings; i++)
        if (strcmp((*out)->strings[i], "alloc_space") == 0)
            (*out)->default_sample_type = (int64_t)i;
    return 0;
}

/* The other collectors' pinned producers: cumulative snapshots, valid and
 * empty (right sample types) while their type is not enabled. */
static int mutex_producer(cp_profile **out)
{
    return cp_mutex_profile(out);
}
static int block_producer(cp_profile **out)
{
    return cp_block_profile(out);
}
static int threads_producer(cp_profile **out)
{
    return cp_threads_profile(out);
}
static int threadcreate_producer(cp_profile **out)
{
    return cp_threadcreate_profile(out);
}
static int io_producer(cp_profile **out)
{
    return cp_io_profile(out);
}

enum { D_NONE, D_SECONDS, D_SINCE_LAST };

typedef struct endpoint {
    const char *name;
    int (*produce)(cp_profile **out);
    int delta;                 /* D_SECONDS: ?seconds=N allowed; D_SINCE_LAST: godeltaprof */
    const char *help;          /* index text */
} endpoint;

static const endpoint endpoints[] = {
    {"allocs", allocs_producer, D_SECONDS,
     "A sampling of all past memory allocations"},
    {"block", block_producer, D_SECONDS,
     "Stack traces that led to blocking on synchronization primitives (CPROF_BLOCK_RATE)"},
    {"goroutine", threads_producer, D_SECONDS, "Alias of threads, for Go's clients"},
    {"heap", heap_producer, D_SECONDS,
     "A sampling of memory allocations of live objects; ?gc is accepted and ignored"},
    {"io", io_producer, D_SECONDS, "Bytes and time of read/write/fsync by stack (CPROF_IO)"},
    {"mutex", mutex_producer, D_SECONDS,
     "Stack traces of holders of contended mutexes (CPROF_MUTEX_FRACTION)"},
    {"threadcreate", threadcreate_producer, D_SECONDS,
     "Stack traces that led to the creation of new threads"},
    {"threads", threads_producer, D_SECONDS, "Stack traces of all current threads"},
    {"delta_heap", heap_producer, D_SINCE_LAST,
     "Heap allocations since the previous request (godeltaprof); in-use figures are current"},
    {"delta_mutex", mutex_producer, D_SINCE_LAST,
     "Mutex contention since the previous request (godeltaprof)"},
    {"delta_block", block_producer, D_SINCE_LAST,
     "Blocking since the previous request (godeltaprof)"},
};
enum { NENDPOINTS = sizeof endpoints / sizeof endpoints[0] };

/* godeltaprof's state: the snapshot of the previous request, per path */
static pthread_mutex_t last_mu = PTHREAD_MUTEX_INITIALIZER;
static cp_profile *last[NENDPOINTS];

/* ---- answers ---- */

static void answer(cp_http_resp *r, int status, const char *type, char *body, size_t len)
{
    r->status = status;
    r->content_type = type;
    r->body = body;
    r->len = len;
}

static void text(cp_http_resp *r, int status, const char *msg)
{
    size_t n = strlen(msg);
    char *b = malloc(n + 1);
    if (b)
        memcpy(b, msg, n + 1);
    r->disposition[0] = 0;
    answer(r, status, "text/plain; charset=utf-8", b, b ? n : 0);
}

static void from_buf(cp_http_resp *r, int status, const char *type, cp_buf *b)
{
    answer(r, status, type, (char *)b->data, b->len);
    b->data = NULL;
    b->len = b->cap = 0;
}

static void send_profile(cp_http_resp *r, const char *name, const cp_profile *p, int debug)
{
    cp_buf b = {0};
    int rc = debug ? cp_route_text(name, p, &b) : cp_profile_encode_gz(p, &b);
    if (rc) {
        cp_buf_free(&b);
        text(r, 500, "could not write the profile\n");
        return;
    }
    if (debug) {
        from_buf(r, 200, "text/plain; charset=utf-8", &b);
    } else {
        snprintf(r->disposition, sizeof r->disposition, "attachment; filename=\"%s\"", name);
        from_buf(r, 200, "application/octet-stream", &b);
    }
}

/* strconv.Atoi-like: whole string an integer, else *ok = false */
static long long parse_int(const char *s, bool *ok)
{
    char *end;
    errno = 0;
    long long v = s && *s ? strtoll(s, &end, 10) : 0;
    *ok = s && *s && !*end && errno == 0;
    return *ok ? v : 0;
}

/* seconds: absent -> dflt; else a positive integer up to the cap.  Returns
 * -1 after filling the 400 answer. */
static long long seconds_arg(const cp_http_req *q, cp_http_resp *r, long long dflt)
{
    const char *s = q->arg(q->ctx, "seconds");
    if (!s)
        return dflt;
    bool ok;
    long long v = parse_int(s, &ok);
    if (!ok || v <= 0) {
        text(r, 400, "invalid value for \"seconds\" - must be a positive integer\n");
        return -1;
    }
    if (v > cfg.max_seconds) {
        char m[128];
        snprintf(m, sizeof m, "profile duration exceeds the server's limit of %d seconds\n",
                 cfg.max_seconds);
        text(r, 400, m);
        return -1;
    }
    return v;
}

static int debug_arg(const cp_http_req *q, cp_http_resp *r)
{
    const char *s = q->arg(q->ctx, "debug");
    if (!s)
        return 0;
    bool ok;
    long long v = parse_int(s, &ok);
    if (!ok || v < 0 || v > 2) {
        text(r, 400, "invalid value for \"debug\" - must be 0, 1 or 2\n");
        return -1;
    }
    return (int)v;
}

static void serve_cpu(const cp_http_req *q, cp_http_resp *r)
{
    static atomic_int taking;
    long long sec = seconds_arg(q, r, 30);
    if (sec < 0)
        return;
    if (atomic_exchange(&taking, 1)) {
        text(r, 409, "a CPU profile is already being taken\n");
        return;
    }
    int fd = memfd_create("cprof-http-cpu", MFD_CLOEXEC);
    if (fd < 0) {
        text(r, 500, "could not enable CPU profiling\n");
        goto out;
    }
    int rc = cprof_cpu_start_fd(fd, NULL);
    if (rc == CPROF_EBUSY) {
        text(r, 409, "CPU profiling is already in use\n");
        goto out;
    }
    if (rc) {
        text(r, 500, "could not enable CPU profiling\n");
        goto out;
    }
    int gone = q->wait(q->ctx, sec * 1000);
    rc = cprof_cpu_stop();
    if (gone) {
        text(r, 500, "client went away\n");
        goto out;
    }
    cp_buf b = {0};
    if (rc || lseek(fd, 0, SEEK_SET) != 0 || cp_buf_read_fd(&b, fd, (size_t)1 << 30) != 0) {
        cp_buf_free(&b);
        text(r, 500, "could not write the CPU profile\n");
        goto out;
    }
    snprintf(r->disposition, sizeof r->disposition, "attachment; filename=\"profile\"");
    from_buf(r, 200, "application/octet-stream", &b);
out:
    if (fd >= 0)
        close(fd);
    atomic_store(&taking, 0);
}

static void serve_named(const cp_http_req *q, cp_http_resp *r, size_t i)
{
    const endpoint *e = &endpoints[i];
    int debug = debug_arg(q, r);
    if (debug < 0)
        return;
    cp_profile *p0 = NULL, *p1 = NULL, *d = NULL;
    if (debug == 2 && e->produce == threads_producer && !q->arg(q->ctx, "seconds")) {
        /* goroutine?debug=2: every thread with its tid, name, state, labels */
        cp_buf b = {0};
        if (cp_threads_text(&b) != 0) {
            cp_buf_free(&b);
            text(r, 500, "could not take the profile\n");
            return;
        }
        from_buf(r, 200, "text/plain; charset=utf-8", &b);
        return;
    }
    const char *sec_s = q->arg(q->ctx, "seconds");
    if (e->delta == D_SECONDS && sec_s) {
        long long sec = seconds_arg(q, r, 0);
        if (sec < 0)
            return;
        if (debug) {
            text(r, 400, "seconds and debug params are incompatible\n");
            return;
        }
        if (e->produce(&p0) != 0) {
            text(r, 500, "could not take the profile\n");
            return;
        }
        if (q->wait(q->ctx, sec * 1000)) {
            cp_profile_free(p0);
            text(r, 500, "client went away\n");
            return;
        }
        if (e->produce(&p1) != 0 || cp_profile_delta(p1, p0, &d) != 0) {
            text(r, 500, "could not take the profile\n");
            goto out;
        }
        send_profile(r, e->name, d, 0);
        goto out;
    }
    if (e->produce(&p1) != 0) {
        text(r, 500, "could not take the profile\n");
        return;
    }
    if (e->delta == D_SINCE_LAST) {
        pthread_mutex_lock(&last_mu);
        int rc = cp_profile_delta(p1, last[i], &d);
        if (rc == 0) {
            cp_profile_free(last[i]);
            last[i] = p1;
            p1 = NULL;
        }
        pthread_mutex_unlock(&last_mu);
        if (rc) {
            text(r, 500, "could not take the profile\n");
            goto out;
        }
        send_profile(r, e->name, d, debug);
        goto out;
    }
    send_profile(r, e->name, p1, debug);
out:
    cp_profile_free(p0);
    cp_profile_free(p1);
    cp_profile_free(d);
}

/* HTML-escape s into b (names are ours, escaped all the same) */
static void html(cp_buf *b, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<': cp_buf_printf(b, "&lt;"); break;
        case '>': cp_buf_printf(b, "&gt;"); break;
        case '&': cp_buf_printf(b, "&amp;"); break;
        case '"': cp_buf_printf(b, "&#34;"); break;
        case '\'': cp_buf_printf(b, "&#39;"); break;
        default: cp_buf_putc(b, *s);
        }
    }
}

static void serve_index(cp_http_resp *r)
{
    cp_buf b = {0};
    cp_buf_printf(&b, "<html>\n<head>\n<title>/debug/pprof/</title>\n</head>\n<body>\n"
                      "/debug/pprof/<br>\n<br>\nTypes of profiles available:\n"
                      "<table>\n<thead><td>Profile</td><td>Description</td></thead>\n");
    cp_buf_printf(&b, "<tr><td><a href=\"profile\">profile</a></td><td>CPU profile; "
                      "?seconds=N (default 30, at most %d)</td></tr>\n",
                  cfg.max_seconds);
    for (size_t i = 0; i < NENDPOINTS; i++) {
        cp_buf_printf(&b, "<tr><td><a href=\"");
        html(&b, endpoints[i].name);
        cp_buf_printf(&b, "%s\">", endpoints[i].delta == D_SINCE_LAST ? "" : "?debug=1");
        html(&b, endpoints[i].name);
        cp_buf_printf(&b, "</a></td><td>");
        html(&b, endpoints[i].help);
        cp_buf_printf(&b, "</td></tr>\n");
    }
    cp_buf_printf(&b, "<tr><td><a href=\"symbol\">symbol</a></td><td>Addresses to "
                      "function names (GET or POST 0xADDR+0xADDR)</td></tr>\n");
    if (cfg.cmdline)
        cp_buf_printf(&b, "<tr><td><a href=\"cmdline\">cmdline</a></td><td>The command "
                          "line of this program</td></tr>\n");
    cp_buf_printf(&b, "</table>\n<p>Read them with <code>cprof top URL</code> or "
                      "<code>go tool pprof URL</code>.</p>\n</body>\n</html>\n");
    if (!b.data) {
        text(r, 500, "out of memory\n");
        return;
    }
    from_buf(r, 200, "text/html; charset=utf-8", &b);
}

/* Go's symbol: GET says whether lookups work; POST (or a query) lists
 * "0xADDR+0xADDR" and each known address comes back as "0xADDR name". */
static void serve_symbol(const cp_http_req *q, cp_http_resp *r)
{
    cp_buf b = {0};
    const char *in = NULL;
    size_t len = 0;
    if (strcmp(q->method, "POST") == 0 && q->body) {
        in = q->body;
        len = q->body_len;
    }
    if (!in) {
        cp_buf_printf(&b, "num_symbols: 1\n");
        from_buf(r, 200, "text/plain; charset=utf-8", &b);
        return;
    }
    size_t i = 0;
    while (i < len) {
        size_t j = i;
        while (j < len && in[j] != '+')
            j++;
        char word[32];
        size_t n = j - i < sizeof word - 1 ? j - i : sizeof word - 1;
        memcpy(word, in + i, n);
        word[n] = 0;
        char *end;
        unsigned long long a = strtoull(word, &end, 0);
        Dl_info di;
        if (end != word && !*end && a && dladdr((void *)(uintptr_t)a, &di) && di.dli_sname)
            cp_buf_printf(&b, "%#llx %s\n", a, di.dli_sname);
        i = j + 1;
    }
    if (!b.data)
        cp_buf_printf(&b, "%s", "");
    from_buf(r, 200, "text/plain; charset=utf-8", &b);
}

static void serve_cmdline(cp_http_resp *r)
{
    if (!cfg.cmdline) {
        text(r, 404, "cmdline is off (CPROF_HTTP_CMDLINE=1 turns it on)\n");
        return;
    }
    cp_buf b = {0};
    if (cp_buf_read_file(&b, "/proc/self/cmdline", 1 << 20) != 0) {
        cp_buf_free(&b);
        text(r, 500, "could not read the command line\n");
        return;
    }
    from_buf(r, 200, "text/plain; charset=utf-8", &b);
}

/* ---- checks ---- */

static bool ct_equal(const char *a, size_t alen, const char *b, size_t blen)
{
    /* constant time in the secret's length: every byte of b is read once */
    unsigned diff = (unsigned)(alen != blen);
    for (size_t i = 0; i < blen; i++)
        diff |= (unsigned char)(i < alen ? a[i] : 0) ^ (unsigned char)b[i];
    return diff == 0;
}

static bool token_ok(const cp_http_req *q)
{
    if (!cfg.token[0])
        return true;
    const char *h = q->header(q->ctx, "Authorization");
    if (!h || strncasecmp(h, "Bearer ", 7) != 0)
        return false;
    h += 7;
    while (*h == ' ')
        h++;
    return ct_equal(h, strlen(h), cfg.token, strlen(cfg.token));
}

static bool name_in_list(const char *name, size_t n, const char *list)
{
    while (*list) {
        const char *e = strchr(list, ',');
        size_t k = e ? (size_t)(e - list) : strlen(list);
        while (k && *list == ' ')
            list++, k--;
        if (k == n && strncasecmp(list, name, n) == 0)
            return true;
        if (!e)
            break;
        list = e + 1;
    }
    return false;
}

/* Against DNS rebinding: a browser tricked into sending requests to a
 * loopback port sends the attacker's name in Host. */
static bool host_ok(const cp_http_req *q)
{
    if (cfg.is_unix)
        return true;
    const char *h = q->header(q->ctx, "Host");
    if (!h)
        return true; /* HTTP/1.0 clients; browsers always send Host */
    size_t n;
    if (h[0] == '[') {
        const char *e = strchr(h, ']');
        if (!e)
            return false;
        n = (size_t)(e - h) + 1;
        if (e[1] && e[1] != ':')
            return false;
    } else {
        const char *c = strchr(h, ':');
        n = c ? (size_t)(c - h) : strlen(h);
    }
    if (name_in_list(h, n, "localhost,127.0.0.1,[::1]"))
        return true;
    char lh[80];
    snprintf(lh, sizeof lh, strchr(cfg.listen_host, ':') ? "[%s]" : "%s", cfg.listen_host);
    if (name_in_list(h, n, lh))
        return true;
    if (cfg.hosts[0])
        return name_in_list(h, n, cfg.hosts);
    /* A token set and no list: any name (the token is what guards; a
     * rebinding browser does not have it). */
    return cfg.token[0] && !cfg.loopback;
}

static pthread_mutex_t rate_mu = PTHREAD_MUTEX_INITIALIZER; /* the token bucket */

/* Token bucket shared by every connection: rate_per_s, burst 2x. */
static bool rate_ok(void)
{
    static double tokens = -1;
    static int64_t last_ns;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int64_t now = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
    pthread_mutex_lock(&rate_mu);
    double cap = 2.0 * cfg.rate_per_s;
    if (tokens < 0)
        tokens = cap;
    tokens += (double)(now - last_ns) * 1e-9 * cfg.rate_per_s;
    if (tokens > cap)
        tokens = cap;
    last_ns = now;
    bool ok = tokens >= 1.0;
    if (ok)
        tokens -= 1.0;
    pthread_mutex_unlock(&rate_mu);
    return ok;
}

void cp_route_serve(const cp_http_req *q, cp_http_resp *r)
{
    int busy = cp_heap_busy_enter();
    r->disposition[0] = 0;
    r->www_auth = NULL;
    r->location = NULL;
    if (!host_ok(q)) {
        text(r, 403, "host not allowed\n");
        goto out;
    }
    if (!token_ok(q)) {
        r->www_auth = "Bearer realm=\"cprof\"";
        text(r, 401, "unauthorized: a bearer token is required (CPROF_HTTP_TOKEN)\n");
        goto out;
    }
    if (!rate_ok()) {
        text(r, 429, "too many requests\n");
        goto out;
    }
    bool get = strcmp(q->method, "GET") == 0 || strcmp(q->method, "HEAD") == 0;
    const char *prefix = "/debug/pprof/";
    size_t pl = strlen(prefix);
    if (strcmp(q->path, "/debug/pprof") == 0) {
        /* as Go's mux does: the index's relative links need the slash */
        r->location = "/debug/pprof/";
        text(r, 301, "Moved Permanently\n");
        goto out;
    }
    if (strcmp(q->path, prefix) == 0) {
        if (get)
            serve_index(r);
        else
            text(r, 405, "method not allowed\n");
        goto out;
    }
    if (strncmp(q->path, prefix, pl) != 0) {
        text(r, 404, "404 page not found\n");
        goto out;
    }
    const char *name = q->path + pl;
    if (strcmp(name, "symbol") == 0) {
        if (get || strcmp(q->method, "POST") == 0)
            serve_symbol(q, r);
        else
            text(r, 405, "method not allowed\n");
        goto out;
    }
    if (!get) {
        text(r, 405, "method not allowed\n");
        goto out;
    }
    if (strcmp(name, "profile") == 0) {
        serve_cpu(q, r);
        goto out;
    }
    if (strcmp(name, "cmdline") == 0) {
        serve_cmdline(r);
        goto out;
    }
    for (size_t i = 0; i < NENDPOINTS; i++) {
        if (strcmp(name, endpoints[i].name) == 0) {
            if (endpoints[i].delta != D_SECONDS && q->arg(q->ctx, "seconds"))
                text(r, 400, "\"seconds\" parameter is not supported for this profile type\n");
            else
                serve_named(q, r, i);
            goto out;
        }
    }
    text(r, 404, "Unknown profile\n");
out:
    cp_heap_busy_leave(busy);
}

/* fork (collect/sigfork.c): both leaves, held across fork. */
void cp_route_atfork_prepare(void)
{
    pthread_mutex_lock(&last_mu);
    pthread_mutex_lock(&rate_mu);
}

void cp_route_atfork_parent(void)
{
    pthread_mutex_unlock(&rate_mu);
    pthread_mutex_unlock(&last_mu);
}

void cp_route_atfork_child(void)
{
    pthread_mutex_init(&rate_mu, NULL);
    pthread_mutex_init(&last_mu, NULL);
}
