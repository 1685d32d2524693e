/* fetch.c — profile URLs over http and https with libcurl.
 *
 * What: `cprof top https://host/debug/pprof/heap` works like go tool
 * pprof's fetch: one GET, the whole body read into memory, status checked,
 * with go's -seconds/-timeout semantics (a CPU profile of N seconds needs a
 * total timeout beyond N).  Data structure: one growable buffer filled by
 * libcurl's write callback, which stops the transfer at the size cap.
 * Alternatives rejected: the hand-written HTTP/1.0 client this replaces
 * (no TLS, no redirects, no chunked encoding from proxies); letting curl
 * decode Content-Encoding (the decoder below caps the decompressed size,
 * curl's would not).
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/fastgz.h"
#include "cli/fetch.h"
#include "cprof.h"

bool cp_fetch_is_url(const char *s)
{
    return !strncmp(s, "http://", 7) || !strncmp(s, "https://", 8);
}

int cp_fetch_timeout(const char *url, int seconds, int timeout_s)
{
    if (timeout_s > 0)
        return timeout_s;
    if (seconds <= 0) {
        const char *q = strchr(url, '?');
        const char *s = q ? strstr(q, "seconds=") : NULL;
        if (s && (s[-1] == '?' || s[-1] == '&'))
            seconds = atoi(s + 8);
    }
    long t = seconds > 0 ? (long)seconds + seconds / 2 : 0;
    return t < 60 ? 60 : (int)(t > 86400 ? 86400 : t);
}

typedef struct sink {
    cp_buf *out;
    size_t max;
    bool too_big;
} sink;

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
    sink *s = arg;
    size_t len = size * n;
    if (s->out->len + len > s->max) {
        s->too_big = true;
        return 0; /* curl stops with CURLE_WRITE_ERROR */
    }
    if (cp_buf_append(s->out, data, len))
        return 0;
    return len;
}

/* The URL with go's defaults: an empty path is the CPU profile, -seconds
 * sets (or adds) the seconds parameter.  Caller frees. */
static char *adjust_url(const char *url, int seconds)
{
    const char *hp = strstr(url, "://") + 3;
    const char *slash = strchr(hp, '/');
    size_t n = strlen(url) + 64;
    char *u = malloc(n);
    if (!u)
        return NULL;
    if (!slash || !slash[1])
        snprintf(u, n, "%.*s/debug/pprof/profile", (int)(slash ? slash - url : (long)strlen(url)),
                 url);
    else
        snprintf(u, n, "%s", url);
    if (seconds > 0 && !strstr(u, "seconds=")) {
        size_t l = strlen(u);
        snprintf(u + l, n - l, "%cseconds=%d", strchr(u, '?') ? '&' : '?', seconds);
    }
    return u;
}

int cp_fetch_http(const char *url, int seconds, int timeout_s, size_t max_bytes, cp_buf *out,
                  char *err, size_t errlen)
{
    static bool inited;
    if (!inited) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT)) {
            snprintf(err, errlen, "%s: libcurl initialisation failed", url);
            return CPROF_EIO;
        }
        inited = true;
    }
    int rc = 0;
    char *u = adjust_url(url, seconds);
    CURL *c = u ? curl_easy_init() : NULL;
    if (!c) {
        free(u);
        snprintf(err, errlen, "%s: out of memory", url);
        return CPROF_ENOMEM;
    }
    int total = cp_fetch_timeout(url, seconds, timeout_s);
    char cerr[CURL_ERROR_SIZE] = "";
    sink s = {out, max_bytes, false};
    curl_easy_setopt(c, CURLOPT_URL, u);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, (long)(total < 10 ? total : 10));
    curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)total);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "cprof");
    curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)max_bytes);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
    const char *token = getenv("CPROF_HTTP_TOKEN");
    if (token && *token) {
        /* curl sends it to the first host only, never to a redirect's */
        curl_easy_setopt(c, CURLOPT_HTTPAUTH, CURLAUTH_BEARER);
        curl_easy_setopt(c, CURLOPT_XOAUTH2_BEARER, token);
    }
    CURLcode cr = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (s.too_big || cr == CURLE_FILESIZE_EXCEEDED) {
        snprintf(err, errlen, "%s: response larger than %zu bytes, refused", u, max_bytes);
        rc = CPROF_ETOOBIG;
    } else if (cr == CURLE_OPERATION_TIMEDOUT) {
        snprintf(err, errlen, "%s: timed out after %d s (-timeout to change): %s", u, total,
                 cerr[0] ? cerr : curl_easy_strerror(cr));
        rc = CPROF_EIO;
    } else if (cr != CURLE_OK) {
        snprintf(err, errlen, "%s: %s", u, cerr[0] ? cerr : curl_easy_strerror(cr));
        rc = CPROF_EIO;
    } else if (status != 200) {
        size_t show = 0; /* the body's first line, if short and printable */
        const char *b = (const char *)out->data;
        while (b && show < out->len && show < 120 && b[show] >= ' ' && b[show] < 127)
            show++;
        snprintf(err, errlen, "%s: server response: HTTP %ld%s%s%.*s", u, status,
                 status == 401 ? (token && *token ? " (CPROF_HTTP_TOKEN was refused)"
                                                  : " (set CPROF_HTTP_TOKEN)")
                               : "",
                 show ? ": " : "", (int)show, show ? b : "");
        rc = CPROF_EIO;
    }
    if (rc)
        out->len = 0;
    curl_easy_cleanup(c);
    free(u);
    return rc;
}

cp_profile *cp_fetch_profile(const char *who, const char *path, int seconds, int timeout_s)
{
    cp_profile *p = NULL;
    cp_diag d = {{0}};
    int rc;
    if (cp_fetch_is_url(path)) {
        cp_buf b = {0};
        char err[512];
        if (seconds > 0 || strstr(path, "/profile"))
            fprintf(stderr, "Fetching profile over HTTP from %s\n", path);
        rc = cp_fetch_http(path, seconds, timeout_s, CP_FETCH_MAX_BODY, &b, err, sizeof err);
        if (rc) {
            fprintf(stderr, "%s: %s\n", who, err);
            cp_buf_free(&b);
            return NULL;
        }
        cp_decode_opts dopt = cp_cli_decode_opts(CP_FETCH_MAX_DECOMPRESSED);
        rc = cp_profile_decode(b.data, b.len, &dopt, &p, &d);
        cp_buf_free(&b);
        if (rc) {
            fprintf(stderr, "%s: %s: %s\n", who, path, d.msg[0] ? d.msg : cprof_strerror(rc));
            return NULL;
        }
        return p;
    }
    rc = cp_cli_read_profile(path, &p, &d);
    if (rc) {
        fprintf(stderr, "%s: %s\n", who, d.msg[0] ? d.msg : path);
        return NULL;
    }
    return p;
}
