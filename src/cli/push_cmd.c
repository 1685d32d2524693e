/* push_cmd.c — `cprof push`: send profiles to a Pyroscope server.
 *
 * What: each profile file goes to Pyroscope's ingest API as
 *   POST /ingest?name=APP.TYPE{k=v,…}&from=S&until=S&format=pprof
 *        &spyName=cprof[&sampleRate=HZ]
 * with a multipart/form-data body: the profile's bytes in the part
 * "profile" and, in "sample_type_config", a JSON object that tells the
 * server each sample type's units, aggregation (sum, or average for the
 * in-use heap) and display name, since the server's built-in table only
 * knows Go's types.  from/until are Unix seconds from the profile's
 * time_nanos and duration_nanos.  Authorization: bearer (CPROF_PUSH_TOKEN
 * or -token) or basic (-user USER:PASSWORD or CPROF_PUSH_USER);
 * X-Scope-OrgID with -tenant.  5xx answers and transfer errors are retried
 * with doubling back-off; a 4xx is final and named.  -watch polls the
 * directories for finished files (cprof writes NAME.tmp.PID, then renames:
 * a name that is a profile's is complete) and -delete removes each file
 * once the server accepted it.
 * Data structure: none to speak of; one libcurl handle reused (keep-alive).
 * Alternatives rejected: the Connect/protobuf push API (a protobuf envelope
 * and a different server path for the same result; /ingest is what the
 * documented HTTP API and Alloy's receive_http both accept), inotify
 * (a 1 s poll is simpler and also works on network file systems).
 */
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/fetch.h"
#include "cli/report_io.h"
#include "cprof.h"
#include "profile/profile.h"

#define MAXP 256

typedef struct popts {
    const char *server, *app, *labels, *tenant, *token, *user;
    bool watch, del;
    int retries;
    double interval;
    int timeout;
    const char *paths[MAXP];
    size_t npaths;
} popts;

static volatile sig_atomic_t stop;
static void on_stop(int sig) { stop = sig; }

static const char usage_text[] =
    "usage: cprof push -server URL [-app NAME] [-labels k=v,...] [-tenant ID]\n"
    "                  [-token T | -user USER:PASSWORD] [-retries N] [-timeout S]\n"
    "                  [-watch [-interval S]] [-delete] FILE|DIR...\n";
#define usage(...) cp_cli_usage_err("cprof push", usage_text, __VA_ARGS__)

static bool is_profile_name(const char *n)
{
    size_t l = strlen(n);
    if (n[0] == '.' || strstr(n, ".tmp."))
        return false;
    return (l > 6 && !strcmp(n + l - 6, ".pb.gz")) || (l > 3 && !strcmp(n + l - 3, ".pb")) ||
           (l > 6 && !strcmp(n + l - 6, ".pprof"));
}

static bool valid_labels(const char *s)
{
    /* k=v[,k=v]...: keys [A-Za-z_][A-Za-z0-9_.]*, values without , { } = */
    while (*s) {
        if (!(*s == '_' || (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')))
            return false;
        while (*s == '_' || *s == '.' || (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
               (*s >= '0' && *s <= '9'))
            s++;
        if (*s++ != '=')
            return false;
        while (*s && *s != ',') {
            if (*s == '{' || *s == '}' || *s == '=')
                return false;
            s++;
        }
        if (*s == ',' && !*++s)
            return false;
    }
    return true;
}

/* Pyroscope's profile type for the name's suffix. */
static const char *profile_kind(const cp_profile *p, const char *path)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    for (size_t i = 0; i < p->nsample_types; i++) {
        const char *t = cp_str(p, p->sample_types[i].type);
        if (!strcmp(t, "cpu") || !strcmp(t, "samples"))
            return "cpu";
        if (!strncmp(t, "alloc_", 6) || !strncmp(t, "inuse_", 6))
            return "heap";
        if (!strcmp(t, "threads") || !strcmp(t, "goroutine"))
            return "threads";
        if (!strcmp(t, "contentions") || !strcmp(t, "delay"))
            return strstr(base, "block") ? "block" : "mutex";
        if (strstr(t, "read") || strstr(t, "write") || strstr(t, "io"))
            return "io";
    }
    return "profile";
}

/* The sample_type_config part: every type's units, aggregation, name. */
static int sample_type_config(const cp_profile *p, cp_buf *out)
{
    int rc = cp_buf_putc(out, '{');
    for (size_t i = 0; i < p->nsample_types && !rc; i++) {
        const char *t = cp_str(p, p->sample_types[i].type);
        const char *u = cp_str(p, p->sample_types[i].unit);
        const char *units = !strcmp(u, "count")
                                ? (strstr(t, "objects") ? "objects"
                                   : !strcmp(t, "contentions") ? "lock_samples"
                                   : !strcmp(t, "threads") || !strcmp(t, "goroutine") ? "goroutines"
                                                                                       : "samples")
                            : !strcmp(u, "nanoseconds") && !strcmp(t, "delay") ? "lock_nanoseconds"
                                                                                  : u;
        bool inuse = !strncmp(t, "inuse_", 6) || !strcmp(t, "threads");
        for (const char *c = t; *c; c++)
            if (*c == '"' || *c == '\\' || (unsigned char)*c < 0x20)
                return CPROF_EINVAL; /* not a type name pyroscope can show */
        rc = cp_buf_printf(out,
                           "%s\"%s\":{\"units\":\"%s\",\"aggregation\":\"%s\","
                           "\"display-name\":\"%s\",\"sampled\":%s,\"cumulative\":false}",
                           i ? "," : "", t, units, inuse ? "average" : "sum", t,
                           !strcmp(t, "samples") || !strcmp(t, "cpu") ? "true" : "false");
    }
    return rc ? rc : cp_buf_putc(out, '}');
}

typedef struct sink {
    char first[160];
    size_t n;
} sink;

static size_t on_body(char *d, size_t size, size_t n, void *arg)
{
    sink *s = arg;
    for (size_t i = 0; i < size * n && s->n + 1 < sizeof s->first; i++)
        if (d[i] >= ' ' && d[i] < 127)
            s->first[s->n++] = d[i];
        else if (s->n && d[i] == '\n')
            s->n = sizeof s->first; /* first line only */
    if (s->n < sizeof s->first)
        s->first[s->n] = 0;
    else
        s->first[sizeof s->first - 1] = 0;
    return size * n;
}

static void sleep_s(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (!stop && nanosleep(&ts, &ts) && errno == EINTR)
        ;
}

/* The seconds the profile covers: its own time and duration, else the
 * file's modification time as the end. */
static void time_range(const cp_profile *p, const char *path, int64_t *from, int64_t *until)
{
    *from = p->time_nanos / 1000000000;
    if (p->time_nanos <= 0) {
        struct stat st;
        *from = stat(path, &st) ? (int64_t)time(NULL) : (int64_t)st.st_mtime;
        *from -= p->duration_nanos / 1000000000;
    }
    *until = (p->time_nanos > 0 ? p->time_nanos + p->duration_nanos
                                : *from * 1000000000 + p->duration_nanos) / 1000000000;
    if (*until < *from)
        *until = *from;
}

/* -app, else the main binary's name as the profile says, in the
 * characters an application name may hold. */
static const char *app_name(const popts *o, const cp_profile *p, char *buf, size_t n)
{
    if (o->app)
        return o->app;
    const char *f = p->nmappings ? cp_str(p, p->mappings[0].filename) : "";
    const char *b = strrchr(f, '/');
    snprintf(buf, n, "%s", *f ? (b ? b + 1 : f) : "cprof");
    for (char *q = buf; *q; q++)
        if (!(*q == '_' || *q == '-' || *q == '.' || (*q >= 'a' && *q <= 'z') ||
              (*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9')))
            *q = '_';
    return buf;
}

/* The ingest URL for one profile into url (NUL-terminated).  0, or 1
 * after a message. */
static int ingest_url(CURL *c, const popts *o, const cp_profile *p, const char *path,
                      cp_buf *url)
{
    int64_t from, until;
    time_range(p, path, &from, &until);
    char appbuf[256], name[1024];
    snprintf(name, sizeof name, "%s.%s%s%s%s", app_name(o, p, appbuf, sizeof appbuf),
             profile_kind(p, path), o->labels && *o->labels ? "{" : "",
             o->labels ? o->labels : "", o->labels && *o->labels ? "}" : "");
    char *ename = curl_easy_escape(c, name, 0);
    size_t sl = strlen(o->server);
    bool slash = sl && o->server[sl - 1] == '/';
    char rate[48] = "";
    if (!strcmp(profile_kind(p, path), "cpu") && p->period > 0)
        snprintf(rate, sizeof rate, "&sampleRate=%lld", (long long)(1000000000 / p->period));
    int rc = !ename ||
             cp_buf_printf(url, "%s%singest?name=%s&from=%lld&until=%lld&format=pprof&spyName=cprof%s",
                           o->server, slash ? "" : "/", ename, (long long)from, (long long)until,
                           rate) ||
             cp_buf_putc(url, 0);
    curl_free(ename);
    if (rc)
        fputs("cprof push: out of memory\n", stderr);
    return rc;
}

/* The multipart body: the profile as read, and its sample type config. */
static curl_mime *ingest_body(CURL *c, const cp_buf *raw, const cp_buf *stc)
{
    curl_mime *mime = curl_mime_init(c);
    curl_mimepart *part = curl_mime_addpart(mime);
    curl_mime_name(part, "profile");
    curl_mime_filename(part, "profile.pprof");
    curl_mime_type(part, "application/octet-stream");
    curl_mime_data(part, (const char *)raw->data, raw->len);
    part = curl_mime_addpart(mime);
    curl_mime_name(part, "sample_type_config");
    curl_mime_filename(part, "sample_type_config.json");
    curl_mime_type(part, "application/json");
    curl_mime_data(part, (const char *)stc->data, stc->len);
    return mime;
}

/* The request's options: URL, body, headers, timeouts, credentials. */
static void set_request(CURL *c, const popts *o, const char *url, curl_mime *mime,
                        struct curl_slist *hdr)
{
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_MIMEPOST, mime);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "cprof-push");
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)o->timeout);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    if (o->token) {
        curl_easy_setopt(c, CURLOPT_HTTPAUTH, CURLAUTH_BEARER);
        curl_easy_setopt(c, CURLOPT_XOAUTH2_BEARER, o->token);
    } else if (o->user) {
        curl_easy_setopt(c, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
        curl_easy_setopt(c, CURLOPT_USERPWD, o->user);
    }
}

/* Perform the prepared request; 5xx and transport errors retried with a
 * doubling backoff (to 30 s), 4xx not.  0 sent, 1 failed (message). */
static int send_retrying(CURL *c, const popts *o, const char *path)
{
    sink s;
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
    char cerr[CURL_ERROR_SIZE];
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
    double backoff = 0.5;
    for (int attempt = 0;; attempt++) {
        memset(&s, 0, sizeof s);
        cerr[0] = 0;
        CURLcode cr = curl_easy_perform(c);
        long status = 0;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        if (cr == CURLE_OK && status >= 200 && status < 300)
            return 0;
        if (cr == CURLE_OK && status >= 400 && status < 500) {
            fprintf(stderr, "cprof push: %s: %s: HTTP %ld%s%s (not retried)\n", path, o->server,
                    status, s.first[0] ? ": " : "", s.first);
            return 1;
        }
        char why[400];
        if (cr != CURLE_OK)
            snprintf(why, sizeof why, "%s", cerr[0] ? cerr : curl_easy_strerror(cr));
        else
            snprintf(why, sizeof why, "HTTP %ld%s%s", status, s.first[0] ? ": " : "", s.first);
        if (attempt >= o->retries || stop) {
            fprintf(stderr, "cprof push: %s: %s: %s (gave up after %d attempts)\n", path,
                    o->server, why, attempt + 1);
            return 1;
        }
        fprintf(stderr, "cprof push: %s: %s: %s; retrying in %.1f s\n", path, o->server, why,
                backoff);
        sleep_s(backoff);
        backoff = backoff * 2 > 30 ? 30 : backoff * 2;
    }
}

/* Send one file; 0 sent, 1 failed (message printed). */
static int push_file(CURL *c, const popts *o, const char *path)
{
    cp_buf raw = {0}, stc = {0}, url = {0};
    cp_profile *p = NULL;
    cp_diag d = {{0}};
    int rc = 1;
    curl_mime *mime = NULL;
    struct curl_slist *hdr = NULL;
    int e = cp_buf_read_file(&raw, path, CP_FETCH_MAX_BODY);
    if (e) {
        fprintf(stderr, "cprof push: %s: %s\n", path, e == CPROF_ETOOBIG ? "too large" : strerror(errno));
        goto out;
    }
    if ((e = cp_profile_decode(raw.data, raw.len, NULL, &p, &d))) {
        fprintf(stderr, "cprof push: %s: not a profile: %s\n", path, d.msg[0] ? d.msg : cprof_strerror(e));
        goto out;
    }
    if (sample_type_config(p, &stc)) {
        fprintf(stderr, "cprof push: %s: a sample type name cannot be sent\n", path);
        goto out;
    }
    if (ingest_url(c, o, p, path, &url))
        goto out;
    mime = ingest_body(c, &raw, &stc);
    if (o->tenant) {
        char h[512];
        snprintf(h, sizeof h, "X-Scope-OrgID: %s", o->tenant);
        hdr = curl_slist_append(hdr, h);
    }
    set_request(c, o, (const char *)url.data, mime, hdr);
    rc = send_retrying(c, o, path);
    if (!rc && o->del && unlink(path))
        fprintf(stderr, "cprof push: %s: sent, but not deleted: %s\n", path, strerror(errno));
out:
    curl_mime_free(mime);
    curl_slist_free_all(hdr);
    if (p)
        cp_profile_free(p);
    cp_buf_free(&raw);
    cp_buf_free(&stc);
    cp_buf_free(&url);
    return rc;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The profile files of a directory, sorted (oldest names first for %n and
 * %t patterns); NULL-terminated, caller frees. */
static char **list_dir(const char *dir, size_t *n)
{
    DIR *d = opendir(dir);
    *n = 0;
    if (!d)
        return NULL;
    size_t cap = 16;
    char **v = malloc(cap * sizeof *v);
    struct dirent *e;
    while (v && (e = readdir(d))) {
        if (!is_profile_name(e->d_name))
            continue;
        if (*n + 1 >= cap) {
            char **nv = realloc(v, (cap *= 2) * sizeof *v);
            if (!nv)
                break;
            v = nv;
        }
        size_t l = strlen(dir) + strlen(e->d_name) + 2;
        if (!(v[*n] = malloc(l)))
            break;
        snprintf(v[*n], l, "%s/%s", dir, e->d_name);
        ++*n;
    }
    closedir(d);
    if (v)
        qsort(v, *n, sizeof *v, by_name);
    return v;
}

static void free_list(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static int parse_args(int argc, char **argv, popts *o)
{
    for (int i = 1; i < argc; i++) {
        char *a = argv[i];
        if (a[0] != '-' || !a[1]) {
            if (o->npaths == MAXP)
                return usage("more than %s FILE|DIR arguments", "256");
            o->paths[o->npaths++] = a;
            continue;
        }
        char key[32];
        const char *val;
        if (cp_cli_split_flag(a, key, sizeof key, &val))
            return usage("unknown flag %s", a);
        if (!strcmp(key, "watch") || !strcmp(key, "delete")) {
            bool on = !val || !strcmp(val, "true");
            if (val && !on && strcmp(val, "false"))
                return usage("invalid boolean: %s", a);
            *(!strcmp(key, "watch") ? &o->watch : &o->del) = on;
            continue;
        }
        if (!val) {
            if (i + 1 >= argc)
                return usage("flag needs a value: %s", a);
            val = argv[++i];
        }
        char *end;
        if (!strcmp(key, "server")) {
            if (!cp_fetch_is_url(val))
                return usage("-server must be an http:// or https:// URL: %s", val);
            o->server = val;
        } else if (!strcmp(key, "app")) {
            if (!*val || strpbrk(val, "{},= "))
                return usage("invalid -app (no spaces, braces, commas or =): %s", val);
            o->app = val;
        } else if (!strcmp(key, "labels")) {
            if (!valid_labels(val))
                return usage("invalid -labels (want k=v,k2=v2): %s", val);
            o->labels = val;
        } else if (!strcmp(key, "tenant")) {
            if (!*val || strpbrk(val, "\r\n"))
                return usage("invalid -tenant: %s", val);
            o->tenant = val;
        } else if (!strcmp(key, "token")) {
            o->token = val;
        } else if (!strcmp(key, "user")) {
            if (!strchr(val, ':'))
                return usage("-user wants USER:PASSWORD, got %s", "no colon");
            o->user = val;
        } else if (!strcmp(key, "retries")) {
            long v = strtol(val, &end, 10);
            if (end == val || *end || v < 0 || v > 100)
                return usage("invalid -retries: %s", val);
            o->retries = (int)v;
        } else if (!strcmp(key, "timeout")) {
            long v = strtol(val, &end, 10);
            if (end == val || *end || v <= 0 || v > 86400)
                return usage("invalid -timeout (seconds): %s", val);
            o->timeout = (int)v;
        } else if (!strcmp(key, "interval")) {
            o->interval = strtod(val, &end);
            if (end == val || *end || !(o->interval > 0 && o->interval <= 3600))
                return usage("invalid -interval (seconds): %s", val);
        } else {
            return usage("unknown flag %s", a);
        }
    }
    if (!o->server)
        return usage("%s", "-server URL is required");
    if (o->npaths == 0)
        return usage("%s", "no FILE or DIR to push");
    if (!o->token) {
        const char *t = getenv("CPROF_PUSH_TOKEN");
        o->token = t && *t ? t : NULL;
    }
    if (!o->user && !o->token) {
        const char *u = getenv("CPROF_PUSH_USER");
        if (u && *u && !strchr(u, ':'))
            return usage("CPROF_PUSH_USER wants USER:PASSWORD, got %s", "no colon");
        o->user = u && *u ? u : NULL;
    }
    return 0;
}

typedef struct seen {
    char **v;
    size_t n, cap;
} seen;

static bool seen_has(const seen *s, const char *p)
{
    for (size_t i = 0; i < s->n; i++)
        if (!strcmp(s->v[i], p))
            return true;
    return false;
}

static void seen_add(seen *s, const char *p)
{
    if (s->n == s->cap) {
        size_t nc = s->cap ? 2 * s->cap : 64;
        char **nv = realloc(s->v, nc * sizeof *nv);
        if (!nv)
            return;
        s->v = nv;
        s->cap = nc;
    }
    char *c = strdup(p);
    if (c)
        s->v[s->n++] = c;
}

int cp_cmd_push(int argc, char **argv)
{
    popts o = {.retries = 4, .interval = 1, .timeout = 60};
    int rc = parse_args(argc, argv, &o);
    if (rc)
        return rc;
    if (curl_global_init(CURL_GLOBAL_DEFAULT)) {
        fputs("cprof push: libcurl initialisation failed\n", stderr);
        return 1;
    }
    CURL *c = curl_easy_init();
    if (!c) {
        fputs("cprof push: out of memory\n", stderr);
        return 1;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    size_t sent = 0, failed = 0;
    seen done = {0};
    for (;;) {
        for (size_t i = 0; i < o.npaths && !stop; i++) {
            struct stat st;
            if (stat(o.paths[i], &st)) {
                if (!o.watch || !seen_has(&done, o.paths[i])) {
                    fprintf(stderr, "cprof push: %s: %s\n", o.paths[i], strerror(errno));
                    failed++;
                    seen_add(&done, o.paths[i]);
                }
                continue;
            }
            if (!S_ISDIR(st.st_mode)) {
                if (seen_has(&done, o.paths[i]))
                    continue;
                seen_add(&done, o.paths[i]);
                if (push_file(c, &o, o.paths[i]))
                    failed++;
                else
                    sent++;
                continue;
            }
            size_t n;
            char **v = list_dir(o.paths[i], &n);
            for (size_t k = 0; v && k < n && !stop; k++) {
                if (seen_has(&done, v[k]))
                    continue;
                int r = push_file(c, &o, v[k]);
                if (r)
                    failed++;
                else
                    sent++;
                /* a failed file is not sent again (a 4xx stays a 4xx);
                 * a deleted one cannot come back under the same name
                 * unless it is new */
                if (r || !o.del)
                    seen_add(&done, v[k]);
            }
            free_list(v, n);
        }
        if (!o.watch || stop)
            break;
        sleep_s(o.interval);
        if (stop)
            break;
    }
    for (size_t i = 0; i < done.n; i++)
        free(done.v[i]);
    free(done.v);
    curl_easy_cleanup(c);
    curl_global_cleanup();
    if (o.watch || failed)
        fprintf(stderr, "cprof push: %zu sent, %zu failed\n", sent, failed);
    return failed ? 1 : 0;
}
