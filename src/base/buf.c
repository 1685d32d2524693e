/* buf.c — byte buffers, growable arrays, whole-file I/O, atomic writes. */
#include "buf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cprof.h"
#include "prefault.h"

int cp_grow(void *arrp, size_t *cap, size_t need, size_t elem)
{
    void **arr = arrp;
    if (need <= *cap)
        return 0;
    size_t ncap = *cap ? *cap : 8;
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2 / elem)
            return CPROF_ENOMEM;
        ncap *= 2;
    }
    void *p = realloc(*arr, ncap * elem);
    if (!p)
        return CPROF_ENOMEM;
    *arr = p;
    *cap = ncap;
    return 0;
}

int cp_buf_reserve(cp_buf *b, size_t extra)
{
    if (extra > SIZE_MAX - b->len)
        return CPROF_ENOMEM;
    return cp_grow(&b->data, &b->cap, b->len + extra, 1);
}

int cp_buf_append(cp_buf *b, const void *p, size_t n)
{
    if (cp_buf_reserve(b, n))
        return CPROF_ENOMEM;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

int cp_buf_putc(cp_buf *b, int c)
{
    uint8_t ch = (uint8_t)c;
    return cp_buf_append(b, &ch, 1);
}

int cp_buf_printf(cp_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char tmp[256];
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0)
        return CPROF_EINVAL;
    if ((size_t)n < sizeof tmp)
        return cp_buf_append(b, tmp, (size_t)n);
    if (cp_buf_reserve(b, (size_t)n + 1))
        return CPROF_ENOMEM;
    va_start(ap, fmt);
    vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

void cp_buf_free(cp_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

int cp_buf_read_fd(cp_buf *b, int fd, size_t max_bytes)
{
    /* a regular file: room for all of it (and the read that finds its
     * end) at once, its pages filled in ahead */
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
        (uint64_t)st.st_size <= max_bytes) {
        if (cp_buf_reserve(b, (size_t)st.st_size + 1))
            return CPROF_ENOMEM;
        cp_prefault_range(b->data + b->len, (size_t)st.st_size);
    }
    for (;;) {
        if (b->cap - b->len < 4096 && cp_buf_reserve(b, 65536))
            return CPROF_ENOMEM;
        ssize_t n = read(fd, b->data + b->len, b->cap - b->len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return CPROF_EIO;
        }
        if (n == 0)
            return 0;
        b->len += (size_t)n;
        if (b->len > max_bytes)
            return CPROF_ETOOBIG;
    }
}

int cp_buf_read_file(cp_buf *b, const char *path, size_t max_bytes)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return CPROF_EIO;
    int rc = cp_buf_read_fd(b, fd, max_bytes);
    int saved = errno;
    close(fd);
    errno = saved;
    return rc;
}

int cp_write_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return CPROF_EIO;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int cp_atomic_open(cp_atomic_file *f, const char *path)
{
    memset(f, 0, sizeof *f);
    f->fd = -1;
    /* A device or pipe (/dev/null, /dev/stdout, a FIFO) is written in
     * place: renaming a file over it would replace /dev/null itself with a
     * regular file when run as root. */
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
        f->in_place = true;
        f->fd = open(path, O_WRONLY | O_CLOEXEC);
        return f->fd < 0 ? CPROF_EIO : 0;
    }
    int n = snprintf(f->tmp, sizeof f->tmp, "%s.tmp.%ld", path, (long)getpid());
    if (n < 0 || (size_t)n >= sizeof f->tmp) {
        f->tmp[0] = 0; /* a cut name is nobody's to remove */
        errno = ENAMETOOLONG;
        return CPROF_EIO;
    }
    f->path = path;
    f->fd = open(f->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (f->fd < 0) {
        f->tmp[0] = 0; /* not made by us */
        return CPROF_EIO;
    }
    return 0;
}

int cp_atomic_write(cp_atomic_file *f, const void *data, size_t len)
{
    return cp_write_all(f->fd, data, len);
}

int cp_atomic_end(cp_atomic_file *f, int rc)
{
    /* No fsync: the rename alone guarantees readers never see a half
     * file, and a profile is not worth a disk flush in every exiting
     * process (a crash of the machine may lose it: it is rewritten on the
     * next run). */
    int saved = errno;
    if (f->fd >= 0 && close(f->fd) != 0 && rc == 0) {
        rc = CPROF_EIO;
        saved = errno;
    }
    f->fd = -1;
    if (rc == 0 && !f->in_place && rename(f->tmp, f->path) != 0) {
        rc = CPROF_EIO;
        saved = errno;
    }
    if (rc != 0 && !f->in_place && f->tmp[0])
        unlink(f->tmp);
    errno = saved;
    return rc;
}

int cp_write_file_atomic(const char *path, const void *data, size_t len)
{
    cp_atomic_file f;
    int rc = cp_atomic_open(&f, path);
    if (!rc)
        rc = cp_atomic_write(&f, data, len);
    return cp_atomic_end(&f, rc);
}

void cp_hex(char *out, const unsigned char *bytes, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[bytes[i] >> 4];
        out[2 * i + 1] = digits[bytes[i] & 15];
    }
    out[2 * n] = 0;
}
