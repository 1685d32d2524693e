/* web_cmd.c — `cprof web` and `cprof -http=HOST:PORT PROFILE…`: the web UI.
 *
 * What: a libmicrohttpd server (one thread per connection) on loopback
 * unless told otherwise, serving the pages of web_page.c at /, the flame
 * graph page at /flame and the embedded assets (web/) at /static/.  Each
 * view runs the cprof binary itself (/proc/self/exe) with the report's
 * flags, as go tool pprof's UI runs its report functions: the profile is
 * read again per view (fast for files; URL sources are fetched once at
 * start into a temporary file, so a 30 s CPU profile is not taken again).
 * Security: only GET and HEAD; a Host header check against DNS rebinding
 * when bound to loopback (a page elsewhere cannot reach the UI through a
 * name that resolves to 127.0.0.1); every response has nosniff, no-store
 * and a Content-Security-Policy allowing only our own scripts (the flame
 * page's inline script by its SHA-256), so even a missed escape could not
 * run a script; errors are fixed texts that never repeat the request.
 * Alternatives rejected: keeping the decoded profile in this process and
 * calling the report functions (the report pipeline keeps static state
 * and rewrites the profile in place: each view would need a deep copy,
 * and one crash would end the server).
 */
#include <errno.h>
#include <limits.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cli/child.h"
#include "cli/commands.h"
#include "cli/web.h"
#include "cli/web_assets.h"

#define MAX_OUTPUT ((size_t)256 << 20)

typedef struct server {
    cp_web w;
    char host[256]; /* as given: "" = loopback */
    unsigned port;
    bool loopback_only; /* check Host */
    char csp_flame[256];
} server;

int cp_web_report(const cp_web *w, const cp_web_query *q, const char *cmd, const char *arg,
                  const char *extra, cp_buf *out)
{
    char *argv[CP_WEB_MAXARGS * 2 + 32];
    char *owned[16];
    int n = 0, no = 0;
    argv[n++] = (char *)w->exe;
    argv[n++] = (char *)cmd;
    if (arg)
        argv[n++] = (char *)arg;
    if (extra)
        argv[n++] = (char *)extra;
    for (int i = 0; i < w->nargs; i++)
        argv[n++] = w->args[i];
    if (!(q->nobase && *q->nobase))
        for (int i = 0; i < w->nbases; i++)
            argv[n++] = w->bases[i];
    const char *flags[] = {"sample_index", "focus", "ignore", "hide", "show", "tagfocus", "tagignore"};
    const char *vals[] = {q->si, q->focus, q->ignore, q->hide, q->show, q->tagfocus, q->tagignore};
    for (size_t i = 0; i < sizeof flags / sizeof *flags; i++) {
        if (!vals[i] || !*vals[i])
            continue;
        size_t len = strlen(flags[i]) + strlen(vals[i]) + 3;
        char *a = malloc(len);
        if (!a)
            break;
        snprintf(a, len, "-%s=%s", flags[i], vals[i]);
        argv[n++] = owned[no++] = a;
    }
    argv[n] = NULL;
    cp_buf err = {0};
    int status = -1;
    if (cp_child_run(argv, NULL, 0, out, &err, MAX_OUTPUT, &status))
        status = -1;
    cp_buf_free(&err);
    for (int i = 0; i < no; i++)
        free(owned[i]);
    return status;
}

static void headers(struct MHD_Response *r, const char *type, const char *csp)
{
    MHD_add_response_header(r, "Content-Type", type);
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "Cache-Control", "no-store");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(r, "X-Frame-Options", "SAMEORIGIN");
    MHD_add_response_header(r, "Content-Security-Policy", csp);
}

static const char page_csp[] =
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "frame-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'self'";

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *type,
                             const char *csp, const void *data, size_t len)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, (void *)data, MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    headers(r, type, csp);
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result text(struct MHD_Connection *c, unsigned status, const char *msg)
{
    return reply(c, status, "text/plain; charset=utf-8", "default-src 'none'", msg, strlen(msg));
}

/* Host header check: with a loopback listener only loopback names, with
 * our port (or none), are accepted. */
static bool host_ok(const server *s, const char *h)
{
    if (!s->loopback_only)
        return true;
    if (!h)
        return false;
    static const char *names[] = {"localhost", "127.0.0.1", "[::1]"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        size_t n = strlen(names[i]);
        if (strncasecmp(h, names[i], n))
            continue;
        if (!h[n])
            return true;
        char *end;
        if (h[n] == ':' && strtoul(h + n + 1, &end, 10) == s->port && !*end)
            return true;
    }
    return false;
}

static const char *arg(struct MHD_Connection *c, const char *k)
{
    return MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, k);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **state)
{
    server *s = cls;
    if (strcmp(method, "GET") && strcmp(method, "HEAD"))
        return text(c, 405, "method not allowed\n");
    if (!host_ok(s, MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Host")))
        return text(c, 403, "forbidden: this server answers only to localhost names\n");
    cp_web_query q = {arg(c, "view"), arg(c, "si"),       arg(c, "focus"),
                      arg(c, "ignore"), arg(c, "hide"),   arg(c, "show"),
                      arg(c, "tagfocus"), arg(c, "tagignore"), arg(c, "f"), arg(c, "nobase")};
    if (!strncmp(url, "/static/", 8)) {
        const cp_web_asset *a = cp_web_asset_find(url + 8);
        if (!a)
            return text(c, 404, "not found\n");
        return reply(c, 200, a->type, "default-src 'none'", a->data, a->len);
    }
    if (!strcmp(url, "/flame")) {
        cp_buf o = {0};
        int st = cp_web_report(&s->w, &q, "flame", NULL, "-o=/dev/stdout", &o);
        enum MHD_Result r =
            st == 0 ? reply(c, 200, "text/html; charset=utf-8", s->csp_flame, o.data, o.len)
                    : text(c, st < 0 ? 500 : 400,
                           "the flame graph failed: check the patterns in the form\n");
        cp_buf_free(&o);
        return r;
    }
    if (strcmp(url, "/"))
        return text(c, 404, "not found\n");
    cp_buf b = {0};
    int st = cp_web_page(&s->w, &q, &b);
    enum MHD_Result r = reply(c, (unsigned)st, "text/html; charset=utf-8", page_csp, b.data, b.len);
    cp_buf_free(&b);
    return r;
}

static int usage(const char *msg)
{
    fprintf(stderr, "cprof: %s\nusage: cprof web [-http=HOST:PORT] [-no_browser] [report flags] "
                    "PROFILE...\n", msg);
    return 2;
}

/* The sample types, from `cprof sample_types` on the same profiles. */
static int load_types(cp_web *w)
{
    cp_web_query q = {0};
    cp_buf o = {0};
    int st = cp_web_report(w, &q, "-sample_types", NULL, NULL, &o);
    if (st != 0) {
        cp_buf_free(&o);
        return -1;
    }
    cp_buf_putc(&o, 0);
    char *save, *l = strtok_r((char *)o.data, "\n", &save);
    for (; l && w->ntypes < 64; l = strtok_r(NULL, "\n", &save)) {
        if (strlen(l) < 3)
            continue;
        if (l[0] == '*')
            w->default_type = w->ntypes;
        snprintf(w->types[w->ntypes++], sizeof w->types[0], "%s", l + 2);
    }
    cp_buf_free(&o);
    return 0;
}

static bool flag(const char *a, const char *name, const char **val)
{
    const char *n = a + 1 + (a[1] == '-');
    size_t l = strlen(name);
    if (a[0] != '-' || strncmp(n, name, l) || (n[l] && n[l] != '='))
        return false;
    *val = n[l] == '=' ? n + l + 1 : NULL;
    return true;
}

/* URL sources are fetched once (cprof merge -o TMP URL, with -seconds and
 * -timeout as given) and the views read the copy; the copies go when the
 * server is stopped by SIGINT or SIGTERM. */
static char tmpdir[64];
static char tmpfiles[8][96];
static int ntmp;

static void cleanup(int sig)
{
    for (int i = 0; i < ntmp; i++)
        unlink(tmpfiles[i]);
    if (tmpdir[0])
        rmdir(tmpdir);
    signal(sig, SIG_DFL);
    raise(sig);
}

static int fetch_urls(cp_web *w)
{
    const char *extra[4];
    int nextra = 0;
    for (int i = 0; i < w->nargs && nextra < 4; i++)
        if (!strncmp(w->args[i], "-seconds=", 9) || !strncmp(w->args[i], "-timeout=", 9))
            extra[nextra++] = w->args[i];
    for (int i = 0; i < w->nargs; i++) {
        char *a = w->args[i];
        if (strncmp(a, "http://", 7) && strncmp(a, "https://", 8))
            continue;
        if (ntmp >= 8)
            return fprintf(stderr, "cprof: web: at most 8 URL sources\n"), 1;
        if (!tmpdir[0]) {
            snprintf(tmpdir, sizeof tmpdir, "/tmp/cprof-web-XXXXXX");
            if (!mkdtemp(tmpdir))
                return fprintf(stderr, "cprof: web: cannot make a temporary folder\n"), 1;
            signal(SIGINT, cleanup);
            signal(SIGTERM, cleanup);
        }
        snprintf(tmpfiles[ntmp], sizeof tmpfiles[0], "%s/source%d.pb.gz", tmpdir, ntmp);
        char *argv[10] = {w->exe, "merge", "-o", tmpfiles[ntmp]};
        int n = 4;
        for (int k = 0; k < nextra; k++)
            argv[n++] = (char *)extra[k];
        argv[n++] = a;
        argv[n] = NULL;
        cp_buf o = {0}, e = {0};
        int st = -1;
        cp_child_run(argv, NULL, 0, &o, &e, 1 << 16, &st);
        if (st) {
            fprintf(stderr, "%.*s", (int)e.len, e.data ? (const char *)e.data : "");
            cp_buf_free(&o);
            cp_buf_free(&e);
            for (int k = 0; k < ntmp; k++)
                unlink(tmpfiles[k]);
            rmdir(tmpdir);
            return 1;
        }
        cp_buf_free(&o);
        cp_buf_free(&e);
        w->args[i] = tmpfiles[ntmp++];
    }
    return 0;
}

int cp_cmd_web(int argc, char **argv)
{
    static server s;
    const char *http = NULL;
    bool no_browser = false;
    ssize_t el = readlink("/proc/self/exe", s.w.exe, sizeof s.w.exe - 1);
    if (el <= 0)
        return fprintf(stderr, "cprof: cannot find its own binary\n"), 1;
    s.w.exe[el] = 0;
    int nsrc = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (flag(a, "http", &v)) {
            if (!v && i + 1 >= argc)
                return usage("-http needs HOST:PORT");
            http = v ? v : argv[++i];
        } else if (flag(a, "no_browser", &v)) {
            no_browser = !v || !strcmp(v, "true") || !strcmp(v, "1");
        } else if (flag(a, "base", &v) || flag(a, "diff_base", &v)) {
            if (!v && i + 1 >= argc)
                return usage("-base needs a profile");
            if (s.w.nbases + 2 >= CP_WEB_MAXARGS)
                return usage("too many arguments");
            s.w.bases[s.w.nbases++] = (char *)a;
            if (!v)
                s.w.bases[s.w.nbases++] = argv[++i];
        } else if (flag(a, "o", &v) || flag(a, "output", &v)) {
            return usage("web takes no -o: its pages are served, not written");
        } else {
            if (s.w.nargs + 1 >= CP_WEB_MAXARGS)
                return usage("too many arguments");
            s.w.args[s.w.nargs++] = (char *)a;
            nsrc += a[0] != '-';
        }
    }
    if (!nsrc)
        return usage("web needs a PROFILE");
    if (fetch_urls(&s.w))
        return 1;
    if (!http)
        http = "localhost:0";
    const char *colon = strrchr(http, ':');
    if (!colon)
        return usage("-http wants HOST:PORT (e.g. localhost:8080 or :8080)");
    size_t hl = (size_t)(colon - http);
    if (hl >= sizeof s.host)
        return usage("-http: host name too long");
    memcpy(s.host, http, hl);
    s.host[hl] = 0;
    char *end;
    unsigned long port = strtoul(colon + 1, &end, 10);
    if (*end || end == colon + 1 || port > 65535)
        return usage("-http: the port must be a number from 0 to 65535");
    char host[256];
    snprintf(host, sizeof host, "%s", s.host);
    if (host[0] == '[' && hl > 1 && host[hl - 1] == ']') { /* [::1]:8080 */
        memmove(host, host + 1, hl - 2);
        host[hl - 2] = 0;
    }
    if (!host[0] || !strcmp(host, "localhost"))
        snprintf(host, sizeof host, "127.0.0.1");
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE}, *ai = NULL;
    int gr = getaddrinfo(host, NULL, &hints, &ai);
    if (gr || !ai)
        return fprintf(stderr, "cprof: -http: cannot resolve the host: %s\n", gai_strerror(gr)), 1;
    struct sockaddr_storage sa;
    memcpy(&sa, ai->ai_addr, ai->ai_addrlen);
    int family = ai->ai_family;
    freeaddrinfo(ai);
    if (family == AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *)&sa;
        in->sin_port = htons((uint16_t)port);
        s.loopback_only = (ntohl(in->sin_addr.s_addr) >> 24) == 127;
    } else {
        struct sockaddr_in6 *in = (struct sockaddr_in6 *)&sa;
        in->sin6_port = htons((uint16_t)port);
        s.loopback_only = IN6_IS_ADDR_LOOPBACK(&in->sin6_addr);
    }
    const cp_web_asset *fj = cp_web_asset_find("flame.js");
    snprintf(s.csp_flame, sizeof s.csp_flame,
             "default-src 'none'; script-src 'sha256-%s'; style-src 'unsafe-inline'; img-src data:; "
             "frame-ancestors 'self'; base-uri 'none'", fj ? fj->sha256 : "none");
    if (load_types(&s.w))
        return fprintf(stderr, "cprof: web: cannot read the profiles (try cprof top with the "
                               "same arguments)\n"), 1;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
                     MHD_USE_ERROR_LOG | (family == AF_INET6 ? MHD_USE_IPv6 : 0);
    struct MHD_Daemon *d = MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, handle, &s,
                                            MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
                                            MHD_OPTION_CONNECTION_LIMIT, 64u,
                                            MHD_OPTION_CONNECTION_TIMEOUT, 120u, MHD_OPTION_END);
    if (!d)
        return fprintf(stderr, "cprof: web: cannot listen on %s (in use, or not this host's "
                               "address?)\n", http), 1;
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    s.port = info ? info->port : (unsigned)port;
    char url[400];
    snprintf(url, sizeof url, "http://%s:%u", s.host[0] ? s.host : "localhost", s.port);
    printf("Serving web UI on %s\n", url);
    fflush(stdout);
    if (!no_browser) {
        char *av[] = {"xdg-open", url, NULL};
        cp_buf o = {0}, e = {0};
        int st;
        /* no browser opener: the URL above is enough */
        if (cp_child_run(av, NULL, 0, &o, &e, 4096, &st) == 0 && st && st != 127)
            fprintf(stderr, "cprof: could not open a browser; open %s\n", url);
        cp_buf_free(&o);
        cp_buf_free(&e);
    }
    for (;;)
        pause();
}
