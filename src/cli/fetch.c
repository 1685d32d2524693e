/* fetch.c — a minimal HTTP/1.0 client for profile URLs.
 *
 * What: `cprof top http://host:6060/debug/pprof/heap` works like go tool
 * pprof's fetch: one GET, the whole body read into memory, status checked.
 * Data structure: one growable buffer; the header is split off after the
 * read.  HTTP/1.0 means no chunked encoding and the server closes the
 * connection at the end of the body.  Alternatives rejected: libcurl (a
 * dependency for one GET; TLS is out of scope for a local debug endpoint).
 */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cli/fetch.h"
#include "cprof.h"

bool cp_fetch_is_url(const char *s)
{
    return !strncmp(s, "http://", 7) || !strncmp(s, "https://", 8);
}

static int fail(char *err, size_t n, int rc, const char *fmt, const char *a)
{
    snprintf(err, n, fmt, a);
    return rc;
}

int cp_fetch_http(const char *url, int seconds, int timeout_s, size_t max_bytes, cp_buf *out,
                  char *err, size_t errlen)
{
    if (!strncmp(url, "https://", 8))
        return fail(err, errlen, CPROF_EUNSUPPORTED, "%s: https is not supported; use http", url);
    const char *hp = url + 7;
    const char *slash = strchr(hp, '/');
    char host[256], port[16] = "80", path[2048];
    size_t hl = slash ? (size_t)(slash - hp) : strlen(hp);
    if (hl == 0 || hl >= sizeof host)
        return fail(err, errlen, CPROF_EINVAL, "%s: bad URL", url);
    memcpy(host, hp, hl);
    host[hl] = 0;
    char *colon = host[0] == '[' ? strstr(host, "]:") : strrchr(host, ':');
    if (colon) {
        if (host[0] == '[')
            colon++;
        snprintf(port, sizeof port, "%s", colon + 1);
        *colon = 0;
    }
    char *h = host;
    if (h[0] == '[') {
        h++;
        char *e = strchr(h, ']');
        if (e)
            *e = 0;
    }
    snprintf(path, sizeof path, "%s", slash && slash[1] ? slash : "/debug/pprof/profile");
    if (seconds > 0 && !strstr(path, "seconds=")) {
        size_t l = strlen(path);
        snprintf(path + l, sizeof path - l, "%cseconds=%d", strchr(path, '?') ? '&' : '?', seconds);
    }
    struct addrinfo hints, *ai = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;
    int e = getaddrinfo(h, port, &hints, &ai);
    if (e)
        return fail(err, errlen, CPROF_EIO, "%s", gai_strerror(e));
    int fd = -1, rc = 0;
    for (struct addrinfo *a = ai; a; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0)
            continue;
        if (connect(fd, a->ai_addr, a->ai_addrlen) == 0)
            break;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(ai);
    if (fd < 0)
        return fail(err, errlen, CPROF_EIO, "connect: %s", strerror(errno));
    char req[2600];
    int n = snprintf(req, sizeof req,
                     "GET %s HTTP/1.0\r\nHost: %s:%s\r\nUser-Agent: cprof\r\nAccept: */*\r\n\r\n",
                     path, h, port);
    if (cp_write_all(fd, req, (size_t)n)) {
        rc = fail(err, errlen, CPROF_EIO, "send: %s", strerror(errno));
        goto out;
    }
    for (;;) {
        struct pollfd p = {fd, POLLIN, 0};
        int pr = poll(&p, 1, timeout_s * 1000);
        if (pr == 0) {
            rc = fail(err, errlen, CPROF_EIO, "%s: timed out", url);
            goto out;
        }
        if (pr < 0 && errno == EINTR)
            continue;
        if (cp_buf_reserve(out, 65536)) {
            rc = CPROF_ENOMEM;
            goto out;
        }
        ssize_t r = read(fd, out->data + out->len, 65536);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = fail(err, errlen, CPROF_EIO, "read: %s", strerror(errno));
            goto out;
        }
        if (r == 0)
            break;
        out->len += (size_t)r;
        if (out->len > max_bytes + 65536) {
            rc = fail(err, errlen, CPROF_ETOOBIG, "%s: response too large", url);
            goto out;
        }
    }
    /* status line and header */
    const char *body = NULL;
    for (size_t i = 0; i + 3 < out->len; i++)
        if (!memcmp(out->data + i, "\r\n\r\n", 4)) {
            body = (const char *)out->data + i + 4;
            break;
        }
    int status = 0;
    if (!body || sscanf((const char *)out->data, "HTTP/%*d.%*d %d", &status) != 1) {
        rc = fail(err, errlen, CPROF_EFORMAT, "%s: not an HTTP response", url);
        goto out;
    }
    size_t blen = out->len - (size_t)(body - (const char *)out->data);
    if (status != 200) {
        char msg[200];
        size_t show = 0; /* the body's first line, if short */
        while (show < blen && show < 120 && body[show] != '\n' && body[show] != '\r')
            show++;
        snprintf(msg, sizeof msg, "server response: %d %.*s", status, (int)show, body);
        rc = fail(err, errlen, CPROF_EIO, "%s", msg);
        goto out;
    }
    memmove(out->data, body, blen);
    out->len = blen;
out:
    close(fd);
    return rc;
}
