/* mhd.c — libcprof-http.so: the /debug/pprof listener on libmicrohttpd.
 *
 * What: binds the socket (TCP on a numeric address, or a unix socket made
 * mode 0600 before it has a name), hands it to libmicrohttpd with hard
 * limits, and turns each request into a cp_http_req for the host
 * (src/http/route.c, inside libcprof), whose answer it sends with
 * `X-Content-Type-Options: nosniff` on every response.
 *
 * Threads: one listener thread plus one thread per connection
 * (MHD_USE_THREAD_PER_CONNECTION), at most conn_limit of them.  A CPU
 * profile request waits for seconds on its own thread, polling its socket
 * so that it stops as soon as the client goes away; the other connections
 * are not held up behind it, and the program's threads never wait on the
 * server.  The daemon is started inside the host's busy mark, so the
 * listener and every connection thread it creates are the profiler's own
 * (allocations unsampled).
 *
 * Limits: connections at once (MHD_OPTION_CONNECTION_LIMIT), per address,
 * an idle timeout, and a per-connection memory pool
 * (MHD_OPTION_CONNECTION_MEMORY_LIMIT): a request whose headers do not fit
 * is answered 431 by libmicrohttpd itself and costs no more memory; POST
 * bodies (symbol lookups) are capped at BODY_MAX.
 *
 * Rejected: the epoll mode with suspended connections (a CPU profile would
 * need a timer thread of our own and resume logic, to save one sleeping
 * thread); letting libmicrohttpd bind (it cannot set a unix socket's mode
 * before the name exists, and reading back port 0 needs the socket anyway).
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "cprof.h"
#include "http/module.h"

enum { BODY_MAX = 64 << 10 };

static const cp_http_host *host;
static struct MHD_Daemon *daemon_;
static int listen_fd = -1;
static char unix_path[108];

struct conn_state {
    char *body;
    size_t len;
    int too_big;
};

struct req_ctx {
    struct MHD_Connection *conn;
};

static const char *get_arg(void *ctx, const char *name)
{
    struct req_ctx *c = ctx;
    return MHD_lookup_connection_value(c->conn, MHD_GET_ARGUMENT_KIND, name);
}

static const char *get_header(void *ctx, const char *name)
{
    struct req_ctx *c = ctx;
    return MHD_lookup_connection_value(c->conn, MHD_HEADER_KIND, name);
}

static int64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Sleep up to ms; 1 when the peer closed or reset the connection. */
static int wait_client(void *ctx, int64_t ms)
{
    struct req_ctx *c = ctx;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    int fd = ci ? ci->connect_fd : -1;
    int64_t end = mono_us() + ms * 1000;
    for (;;) {
        int64_t left = end - mono_us();
        if (left <= 0)
            return 0;
        int step = left > 200000 ? 200 : (int)((left + 999) / 1000);
        if (fd < 0) {
            struct timespec ts = {step / 1000, (long)(step % 1000) * 1000000L};
            nanosleep(&ts, NULL);
            continue;
        }
        struct pollfd p = {.fd = fd, .events = POLLIN | POLLRDHUP};
        int n = poll(&p, 1, step);
        if (n < 0 && errno != EINTR)
            return 0;
        if (n <= 0)
            continue;
        if (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL))
            return 1;
        if (p.revents & POLLIN) {
            char b;
            ssize_t r = recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
            if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR))
                return 1;
            /* the client sent more (a pipelined request): not gone; wait
             * out the step without spinning on readable data */
            struct timespec ts = {0, (long)step * 1000000L};
            nanosleep(&ts, NULL);
        }
    }
}

static enum MHD_Result send_text(struct MHD_Connection *conn, unsigned status, const char *msg)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(msg), (void *)msg, MHD_RESPMEM_PERSISTENT);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", "text/plain; charset=utf-8");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    enum MHD_Result rc = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return rc;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_size, void **con_cls)
{
    (void)cls;
    (void)version;
    host->thread_own();
    struct conn_state *st = *con_cls;
    if (!st) {
        st = calloc(1, sizeof *st);
        if (!st)
            return MHD_NO;
        *con_cls = st;
        return MHD_YES;
    }
    if (*upload_size) {
        if (!st->too_big) {
            if (st->len + *upload_size > BODY_MAX) {
                st->too_big = 1;
            } else {
                char *nb = realloc(st->body, st->len + *upload_size + 1);
                if (!nb) {
                    st->too_big = 1;
                } else {
                    memcpy(nb + st->len, upload_data, *upload_size);
                    st->len += *upload_size;
                    nb[st->len] = 0;
                    st->body = nb;
                }
            }
        }
        *upload_size = 0;
        return MHD_YES;
    }
    if (st->too_big)
        return send_text(conn, 413, "request body too large\n");

    struct req_ctx ctx = {.conn = conn};
    cp_http_req req = {
        .method = method,
        .path = url,
        .body = st->body,
        .body_len = st->len,
        .arg = get_arg,
        .header = get_header,
        .wait = wait_client,
        .ctx = &ctx,
    };
    cp_http_resp resp = {.status = 500};
    host->serve(&req, &resp);
    struct MHD_Response *r;
    if (resp.body)
        r = MHD_create_response_from_buffer(resp.len, resp.body, MHD_RESPMEM_MUST_FREE);
    else
        r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    if (!r) {
        free(resp.body);
        return MHD_NO;
    }
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    if (resp.content_type)
        MHD_add_response_header(r, "Content-Type", resp.content_type);
    if (resp.disposition[0])
        MHD_add_response_header(r, "Content-Disposition", resp.disposition);
    if (resp.www_auth)
        MHD_add_response_header(r, "WWW-Authenticate", resp.www_auth);
    if (resp.location)
        MHD_add_response_header(r, "Location", resp.location);
    if (resp.status >= 400 && resp.status != 404)
        MHD_add_response_header(r, "Cache-Control", "no-store");
    enum MHD_Result rc = MHD_queue_response(conn, (unsigned)resp.status, r);
    MHD_destroy_response(r);
    return rc;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    struct conn_state *st = *con_cls;
    if (st) {
        free(st->body);
        free(st);
        *con_cls = NULL;
    }
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    (void)fmt;
    (void)ap;
    /* libmicrohttpd's complaints about clients (bad requests, resets) are
     * not the program's business: stay quiet. */
}

/* A unix socket: mode 0600 from the start (fchmod before bind sets the
 * mode the name is created with on Linux), a stale socket file replaced,
 * anything else at the path refused. */
static int bind_unix(const cp_http_config *cfg, char *err, size_t errlen)
{
    struct stat st;
    if (lstat(cfg->unix_path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            snprintf(err, errlen, "%s exists and is not a socket", cfg->unix_path);
            return -1;
        }
        unlink(cfg->unix_path);
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        goto fail;
    fchmod(fd, 0600);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    memcpy(a.sun_path, cfg->unix_path, strlen(cfg->unix_path) + 1);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0)
        goto fail;
    if (chmod(cfg->unix_path, 0600) != 0)
        goto fail;
    snprintf(unix_path, sizeof unix_path, "%s", cfg->unix_path);
    return fd;
fail:
    snprintf(err, errlen, "cannot listen on unix:%s: %s", cfg->unix_path, strerror(errno));
    if (fd >= 0)
        close(fd);
    return -1;
}

static int bind_inet(const cp_http_config *cfg, int *port, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    memset(&ss, 0, sizeof ss);
    if (cfg->family == AF_INET6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)cfg->port);
        inet_pton(AF_INET6, cfg->host, &a->sin6_addr);
        sl = sizeof *a;
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        a->sin_port = htons((uint16_t)cfg->port);
        inet_pton(AF_INET, cfg->host, &a->sin_addr);
        sl = sizeof *a;
    }
    int fd = socket(cfg->family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0)
        goto fail;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (cfg->family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&ss, sl) != 0)
        goto fail;
    sl = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0)
        goto fail;
    *port = ntohs(cfg->family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                          : ((struct sockaddr_in *)&ss)->sin_port);
    return fd;
fail:
    snprintf(err, errlen, "cannot listen on %s%s%s:%d: %s", cfg->family == AF_INET6 ? "[" : "",
             cfg->host, cfg->family == AF_INET6 ? "]" : "", cfg->port, strerror(errno));
    if (fd >= 0)
        close(fd);
    return -1;
}

__attribute__((visibility("default"))) int
cprof_http_module_start(const cp_http_host *h, const cp_http_config *cfg, int *bound_port,
                        char *err, size_t errlen)
{
    if (!h || h->abi != CP_HTTP_ABI) {
        snprintf(err, errlen, "libcprof-http.so does not match libcprof");
        return CPROF_EINVAL;
    }
    if (daemon_) {
        snprintf(err, errlen, "already serving");
        return CPROF_EBUSY;
    }
    host = h;
    int port = 0;
    int fd = cfg->family == AF_UNIX ? bind_unix(cfg, err, errlen)
                                    : bind_inet(cfg, &port, err, errlen);
    if (fd < 0)
        return CPROF_EIO;
    if (listen(fd, 64) != 0) {
        snprintf(err, errlen, "listen: %s", strerror(errno));
        close(fd);
        return CPROF_EIO;
    }
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                     MHD_USE_POLL | MHD_USE_ERROR_LOG;
    if (cfg->tls_cert_pem)
        flags |= MHD_USE_TLS;
    struct MHD_OptionItem opts[16];
    int n = 0;
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_LISTEN_SOCKET, fd, NULL};
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_LIMIT, cfg->conn_limit, NULL};
    if (cfg->per_ip_limit && cfg->family != AF_UNIX)
        opts[n++] =
            (struct MHD_OptionItem){MHD_OPTION_PER_IP_CONNECTION_LIMIT, cfg->per_ip_limit, NULL};
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_TIMEOUT, cfg->timeout_s, NULL};
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_MEMORY_LIMIT,
                                        (intptr_t)cfg->conn_memory, NULL};
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, NULL};
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)on_mhd_log, NULL};
    if (cfg->tls_cert_pem) {
        opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, (void *)cfg->tls_cert_pem};
        opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, (void *)cfg->tls_key_pem};
    }
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};

    /* busy while the daemon starts: its threads are the profiler's own */
    int busy = h->busy_enter();
    daemon_ = MHD_start_daemon(flags, 0, NULL, NULL, on_request, NULL, MHD_OPTION_ARRAY, opts,
                               MHD_OPTION_END);
    h->busy_leave(busy);
    if (!daemon_) {
        snprintf(err, errlen, "cannot start the HTTP server%s",
                 cfg->tls_cert_pem ? " (check the TLS certificate and key)" : "");
        close(fd);
        if (unix_path[0])
            unlink(unix_path);
        unix_path[0] = 0;
        return CPROF_EIO;
    }
    listen_fd = fd;
    *bound_port = port;
    return 0;
}

__attribute__((visibility("default"))) void cprof_http_module_stop(void)
{
    if (!daemon_)
        return;
    int busy = host->busy_enter();
    MHD_stop_daemon(daemon_);
    host->busy_leave(busy);
    daemon_ = NULL;
    if (listen_fd >= 0)
        close(listen_fd);
    listen_fd = -1;
    if (unix_path[0])
        unlink(unix_path);
    unix_path[0] = 0;
}
