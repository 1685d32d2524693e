/* buf.h — growable byte buffer and growable arrays (malloc-backed).
 *
 * Contract: append functions return 0 or CPROF_ENOMEM; on failure the buffer
 * keeps what it had.  Not for use inside malloc hooks or signal handlers.
 */
#ifndef CP_BASE_BUF_H
#define CP_BASE_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct cp_buf {
    uint8_t *data;
    size_t len, cap;
} cp_buf;

int cp_buf_reserve(cp_buf *b, size_t extra);
int cp_buf_append(cp_buf *b, const void *p, size_t n);
int cp_buf_putc(cp_buf *b, int c);
int cp_buf_printf(cp_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cp_buf_free(cp_buf *b);

/* Make room for `need` elements of `elem` bytes in *arr (capacity *cap),
 * growing geometrically.  Returns 0 or CPROF_ENOMEM. */
int cp_grow(void *arrp, size_t *cap, size_t need, size_t elem);

/* Lower-case hex of n bytes into out (2n+1 bytes, NUL-terminated), as
 * build ids are written.  [hook-safe] */
void cp_hex(char *out, const unsigned char *bytes, size_t n);

/* Read a whole file (fd or path) into b, refusing more than max_bytes. */
int cp_buf_read_fd(cp_buf *b, int fd, size_t max_bytes);
int cp_buf_read_file(cp_buf *b, const char *path, size_t max_bytes);

/* Write data to path atomically: path.tmp.PID then rename.  Never leaves a
 * half-written file at path; not flushed to disk (no fsync: a process
 * writing its profile at exit must not wait for the disk).  Returns 0 or
 * CPROF_EIO (errno preserved). */
int cp_write_file_atomic(const char *path, const void *data, size_t len);
/* The same, written as it is made: cp_atomic_open creates path.tmp.PID
 * (a device or pipe is written in place) and keeps path (the caller's,
 * alive until the end); cp_atomic_write appends; cp_atomic_end(f, rc)
 * with rc 0 closes the file and renames it over path (0 or CPROF_EIO),
 * with an error rc closes and removes it, leaving path as it was, and
 * returns rc; after a failed open it only returns rc.  errno preserved. */
typedef struct cp_atomic_file {
    int fd;
    bool in_place;
    const char *path;
    char tmp[4096];
} cp_atomic_file;
int cp_atomic_open(cp_atomic_file *f, const char *path);
int cp_atomic_write(cp_atomic_file *f, const void *data, size_t len);
int cp_atomic_end(cp_atomic_file *f, int rc);
/* write(2) until done, retrying EINTR.  [async-signal-safe] */
int cp_write_all(int fd, const void *data, size_t len);

#endif
