/* io.c (preload) — the I/O profile's interposers and its environment.
 *
 * What: read, write, pread(64), pwrite(64), readv, writev, preadv(64),
 * pwritev(64), preadv2/pwritev2 (and their 64 names), fsync, fdatasync,
 * sendfile(64), copy_file_range, and the socket calls recv, send,
 * recvfrom, sendto, recvmsg and sendmsg are defined here; each calls the next
 * definition (glibc's) between cp_io_begin and cp_io_end (collect/io.h),
 * and passes its return value and errno through untouched.  Variables:
 *   CPROF_IO=FILE            write the I/O profile to FILE at exit ("%p")
 *   CPROF_IO_RATE=BYTES      mean bytes between byte samples (default
 *                            1048576; 1 = every call, exactly)
 *   CPROF_IO_TIME_RATE=NS    the block rule's NS for time (default 1 ms;
 *                            1 when CPROF_IO_RATE=1)
 *   CPROF_IO_SEED=N          fixed seed for the samplers (tests)
 * A forked child writes its own file only when FILE holds "%p" and it
 * recorded something since the fork.
 *
 * The next definitions are looked up in the library constructor
 * (cp_preload_io_init), never inside a call: read and write run inside
 * malloc's first call (heap_env.c reads /proc/self/environ) and in other
 * libraries' constructors, where dlsym could allocate or take the loader
 * lock.  Until then a call goes straight to the system call.
 *
 * stdio: fread, fwrite, fflush, fclose... reach the kernel through glibc's
 * internal read/write, which do not pass through the dynamic symbol table,
 * so stdio I/O is not seen (see docs/io.md for what real programs use).
 *
 * _FILE_OFFSET_BITS is undone for this file, so that the headers do not
 * redirect pread to pread64 (and so on) and each interposer is defined
 * under its own name, which both symbolizers (ELF, DWARF) then show as
 * the sample's leaf (off_t is 64 bits either way on the 64-bit targets
 * this builds for).  They live in the hook section: the
 * recorded stack keeps the interposer's frame, named after the call, as its
 * leaf, and cuts the profiler's frames above it.
 */
#undef _FILE_OFFSET_BITS
#include <dlfcn.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "base/env.h"
#include "base/log.h"
#include "collect/continuous.h"
#include "collect/io.h"
#include "cprof.h"
#include "preload/io_env.h"

#define IO_HOOK __attribute__((visibility("default"), section("cprof_hooks"), noinline))

typedef ssize_t (*rw_fn)(int, void *, size_t);
typedef ssize_t (*prw_fn)(int, void *, size_t, off_t);
typedef ssize_t (*rwv_fn)(int, const struct iovec *, int);
typedef ssize_t (*prwv_fn)(int, const struct iovec *, int, off_t);
typedef ssize_t (*prwv2_fn)(int, const struct iovec *, int, off_t, int);
typedef int (*sync_fn)(int);
typedef ssize_t (*sendfile_fn)(int, int, off_t *, size_t);
typedef ssize_t (*cfr_fn)(int, off_t *, int, off_t *, size_t, unsigned);

enum {
    F_READ, F_WRITE, F_PREAD, F_PREAD64, F_PWRITE, F_PWRITE64, F_READV, F_WRITEV,
    F_PREADV, F_PREADV64, F_PWRITEV, F_PWRITEV64, F_PREADV2, F_PREADV64V2, F_PWRITEV2,
    F_PWRITEV64V2, F_FSYNC, F_FDATASYNC, F_SENDFILE, F_SENDFILE64, F_CFR, F_RECV, F_SEND,
    F_RECVFROM, F_SENDTO, F_RECVMSG, F_SENDMSG, NFNS
};
static const char *const fn_names[NFNS] = {
    "read", "write", "pread", "pread64", "pwrite", "pwrite64", "readv", "writev",
    "preadv", "preadv64", "pwritev", "pwritev64", "preadv2", "preadv64v2", "pwritev2",
    "pwritev64v2", "fsync", "fdatasync", "sendfile", "sendfile64", "copy_file_range",
    "recv", "send", "recvfrom", "sendto", "recvmsg", "sendmsg",
};
static void *next_fns[NFNS];

#define NEXT(i) __atomic_load_n(&next_fns[i], __ATOMIC_ACQUIRE)

/* Around the real call: begin, call, end with the result. */
#define IO_CALL(fd, expr)                          \
    do {                                           \
        uint64_t t0_ = 0;                          \
        int how_ = cp_io_begin(&t0_);              \
        ssize_t r_ = (expr);                       \
        cp_io_end(how_, (fd), r_, t0_);            \
        return r_;                                 \
    } while (0)

IO_HOOK ssize_t read(int fd, void *buf, size_t n);
ssize_t read(int fd, void *buf, size_t n)
{
    rw_fn f = (rw_fn)NEXT(F_READ);
    IO_CALL(fd, f ? f(fd, buf, n) : syscall(SYS_read, fd, buf, n));
}

IO_HOOK ssize_t write(int fd, const void *buf, size_t n);
ssize_t write(int fd, const void *buf, size_t n)
{
    rw_fn f = (rw_fn)NEXT(F_WRITE);
    IO_CALL(fd, f ? f(fd, (void *)buf, n) : syscall(SYS_write, fd, buf, n));
}

#define PRW(cname, idx, sysno, constq)                                            \
    IO_HOOK ssize_t cname(int fd, constq void *buf, size_t n, off_t off);              \
    ssize_t cname(int fd, constq void *buf, size_t n, off_t off)                       \
    {                                                                                  \
        prw_fn f = (prw_fn)NEXT(idx);                                                  \
        IO_CALL(fd, f ? f(fd, (void *)buf, n, off) : syscall(sysno, fd, buf, n, off)); \
    }

PRW(pread, F_PREAD, SYS_pread64, )
PRW(pread64, F_PREAD64, SYS_pread64, )
PRW(pwrite, F_PWRITE, SYS_pwrite64, const)
PRW(pwrite64, F_PWRITE64, SYS_pwrite64, const)

IO_HOOK ssize_t readv(int fd, const struct iovec *iov, int cnt);
ssize_t readv(int fd, const struct iovec *iov, int cnt)
{
    rwv_fn f = (rwv_fn)NEXT(F_READV);
    IO_CALL(fd, f ? f(fd, iov, cnt) : syscall(SYS_readv, fd, iov, cnt));
}

IO_HOOK ssize_t writev(int fd, const struct iovec *iov, int cnt);
ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
    rwv_fn f = (rwv_fn)NEXT(F_WRITEV);
    IO_CALL(fd, f ? f(fd, iov, cnt) : syscall(SYS_writev, fd, iov, cnt));
}

/* The kernel takes the offset as two longs, low then high (high 0 here). */
#define PRWV(cname, idx, sysno)                                                        \
    IO_HOOK ssize_t cname(int fd, const struct iovec *iov, int cnt, off_t off);       \
    ssize_t cname(int fd, const struct iovec *iov, int cnt, off_t off)                \
    {                                                                                  \
        prwv_fn f = (prwv_fn)NEXT(idx);                                                \
        IO_CALL(fd, f ? f(fd, iov, cnt, off) : syscall(sysno, fd, iov, cnt, off, 0L)); \
    }

PRWV(preadv, F_PREADV, SYS_preadv)
PRWV(preadv64, F_PREADV64, SYS_preadv)
PRWV(pwritev, F_PWRITEV, SYS_pwritev)
PRWV(pwritev64, F_PWRITEV64, SYS_pwritev)

#define PRWV2(cname, idx, sysno)                                                       \
    IO_HOOK ssize_t cname(int fd, const struct iovec *iov, int cnt, off_t off, int fl); \
    ssize_t cname(int fd, const struct iovec *iov, int cnt, off_t off, int fl)        \
    {                                                                                  \
        prwv2_fn f = (prwv2_fn)NEXT(idx);                                              \
        IO_CALL(fd, f ? f(fd, iov, cnt, off, fl)                                       \
                      : syscall(sysno, fd, iov, cnt, off, 0L, fl));                    \
    }

PRWV2(preadv2, F_PREADV2, SYS_preadv2)
PRWV2(preadv64v2, F_PREADV64V2, SYS_preadv2)
PRWV2(pwritev2, F_PWRITEV2, SYS_pwritev2)
PRWV2(pwritev64v2, F_PWRITEV64V2, SYS_pwritev2)

IO_HOOK int fsync(int fd);
int fsync(int fd)
{
    sync_fn f = (sync_fn)NEXT(F_FSYNC);
    uint64_t t0 = 0;
    int how = cp_io_begin(&t0);
    int r = f ? f(fd) : (int)syscall(SYS_fsync, fd);
    cp_io_end(how, fd, 0, t0);
    return r;
}

IO_HOOK int fdatasync(int fd);
int fdatasync(int fd)
{
    sync_fn f = (sync_fn)NEXT(F_FDATASYNC);
    uint64_t t0 = 0;
    int how = cp_io_begin(&t0);
    int r = f ? f(fd) : (int)syscall(SYS_fdatasync, fd);
    cp_io_end(how, fd, 0, t0);
    return r;
}

/* sendfile and copy_file_range are labelled with the kind of the fd
 * written to (sendfile's socket, copy_file_range's destination). */
IO_HOOK ssize_t sendfile(int out, int in, off_t *off, size_t n);
ssize_t sendfile(int out, int in, off_t *off, size_t n)
{
    sendfile_fn f = (sendfile_fn)NEXT(F_SENDFILE);
    IO_CALL(out, f ? f(out, in, off, n) : syscall(SYS_sendfile, out, in, off, n));
}

IO_HOOK ssize_t sendfile64(int out, int in, off_t *off, size_t n);
ssize_t sendfile64(int out, int in, off_t *off, size_t n)
{
    sendfile_fn f = (sendfile_fn)NEXT(F_SENDFILE64);
    IO_CALL(out, f ? f(out, in, off, n) : syscall(SYS_sendfile, out, in, off, n));
}

IO_HOOK ssize_t copy_file_range(int in, off_t *in_off, int out, off_t *out_off, size_t n,
                                unsigned fl);
ssize_t copy_file_range(int in, off_t *in_off, int out, off_t *out_off, size_t n,
                           unsigned fl)
{
    cfr_fn f = (cfr_fn)NEXT(F_CFR);
    IO_CALL(out, f ? f(in, in_off, out, out_off, n, fl)
                   : syscall(SYS_copy_file_range, in, in_off, out, out_off, n, fl));
}

/* The socket calls: servers often use these rather than read/write. */
typedef ssize_t (*recv_fn)(int, void *, size_t, int);
typedef ssize_t (*recvfrom_fn)(int, void *, size_t, int, struct sockaddr *, socklen_t *);
typedef ssize_t (*sendto_fn)(int, const void *, size_t, int, const struct sockaddr *, socklen_t);
typedef ssize_t (*msg_fn)(int, struct msghdr *, int);

IO_HOOK ssize_t recv(int fd, void *buf, size_t n, int fl);
ssize_t recv(int fd, void *buf, size_t n, int fl)
{
    recv_fn f = (recv_fn)NEXT(F_RECV);
    IO_CALL(fd, f ? f(fd, buf, n, fl) : syscall(SYS_recvfrom, fd, buf, n, fl, NULL, NULL));
}

IO_HOOK ssize_t send(int fd, const void *buf, size_t n, int fl);
ssize_t send(int fd, const void *buf, size_t n, int fl)
{
    recv_fn f = (recv_fn)NEXT(F_SEND);
    IO_CALL(fd, f ? f(fd, (void *)buf, n, fl) : syscall(SYS_sendto, fd, buf, n, fl, NULL, 0));
}

IO_HOOK ssize_t recvfrom(int fd, void *buf, size_t n, int fl, struct sockaddr *a,
                         socklen_t *alen);
ssize_t recvfrom(int fd, void *buf, size_t n, int fl, struct sockaddr *a, socklen_t *alen)
{
    recvfrom_fn f = (recvfrom_fn)NEXT(F_RECVFROM);
    IO_CALL(fd, f ? f(fd, buf, n, fl, a, alen) : syscall(SYS_recvfrom, fd, buf, n, fl, a, alen));
}

IO_HOOK ssize_t sendto(int fd, const void *buf, size_t n, int fl, const struct sockaddr *a,
                       socklen_t alen);
ssize_t sendto(int fd, const void *buf, size_t n, int fl, const struct sockaddr *a,
               socklen_t alen)
{
    sendto_fn f = (sendto_fn)NEXT(F_SENDTO);
    IO_CALL(fd, f ? f(fd, buf, n, fl, a, alen) : syscall(SYS_sendto, fd, buf, n, fl, a, alen));
}

IO_HOOK ssize_t recvmsg(int fd, struct msghdr *m, int fl);
ssize_t recvmsg(int fd, struct msghdr *m, int fl)
{
    msg_fn f = (msg_fn)NEXT(F_RECVMSG);
    IO_CALL(fd, f ? f(fd, m, fl) : syscall(SYS_recvmsg, fd, m, fl));
}

IO_HOOK ssize_t sendmsg(int fd, const struct msghdr *m, int fl);
ssize_t sendmsg(int fd, const struct msghdr *m, int fl)
{
    msg_fn f = (msg_fn)NEXT(F_SENDMSG);
    IO_CALL(fd, f ? f(fd, (struct msghdr *)m, fl) : syscall(SYS_sendmsg, fd, m, fl));
}

/* ---- environment, exit, fork ---- */

enum { PATH_MAX_IO = 4096 };
static char io_path[PATH_MAX_IO];
static int forked, child_silent, done;
static uint64_t samples_at_fork;

static int64_t parse_pos(const char *name, int64_t dflt)
{
    int64_t v = dflt;
    (void)cp_env_int(name, getenv(name), 1, INT64_MAX, &v);
    return v;
}

void cp_preload_io_init(void)
{
    int saved_errno = errno;
    for (int i = 0; i < NFNS; i++) {
        void *f = dlsym(RTLD_NEXT, fn_names[i]);
        if (f)
            __atomic_store_n(&next_fns[i], f, __ATOMIC_RELEASE);
    }
    const char *path = getenv("CPROF_IO");
    if (!path || !*path)
        goto out;
    if (strlen(path) >= sizeof io_path) {
        cp_log("io: CPROF_IO file name too long; I/O profile disabled");
        goto out;
    }
    strcpy(io_path, path);
    int64_t rate = parse_pos("CPROF_IO_RATE", CP_IO_RATE_DEFAULT);
    int64_t trate = parse_pos("CPROF_IO_TIME_RATE", rate == 1 ? 1 : CP_IO_TIME_RATE_DEFAULT);
    uint64_t seed = (uint64_t)parse_pos("CPROF_IO_SEED", 0);
    int rc = cp_io_start(rate, trate, seed);
    if (rc) {
        cp_log("io: cannot start: %s", cprof_strerror(rc));
        io_path[0] = 0;
    }
out:
    errno = saved_errno;
}

void cp_preload_io_fini(void)
{
    if (!io_path[0] || __atomic_exchange_n(&done, 1, __ATOMIC_ACQ_REL))
        return;
    int saved_errno = errno;
    bool idle_child = forked && cp_io_samples_taken() == samples_at_fork;
    /* with CPROF_PERIOD/SIGNAL/DURATION the last period is written by
     * continuous.c */
    if (!child_silent && !idle_child && !cp_continuous_exit_owned()) {
        int rc = cp_io_write_path(io_path);
        if (rc)
            cp_log("io: cannot write %s: %s", io_path, cprof_strerror(rc));
    }
    errno = saved_errno;
}

void cp_preload_io_atfork_child(void)
{
    if (!io_path[0])
        return;
    forked = 1;
    cp_io_atfork_child();
    samples_at_fork = cp_io_samples_taken();
    if (!strstr(io_path, "%p"))
        child_silent = 1;
}
