/* output.c — name and write a collector's profile (see output.h).
 *
 * Names come from ELF symbol tables only (cp_elfname): this runs in the
 * profiled process, often from an exit handler after the program's own
 * atexit handlers ran, so it must not load libraries, read DWARF or touch
 * the network.  Lines and inline frames are added outside the process by
 * cp_symbolize (`cprof symbolize`, `cprof record`).
 *
 * CPROF_NAMES=0 skips even the ELF names: `cprof record` sets it for the
 * processes it runs, names the merged profile itself afterwards (the same
 * ELF step, then DWARF), and so a build's hundreds of processes do not each
 * read libc's symbol table at exit (measured: ~5 ms of CPU per process).
 *
 * "%n" and "%t" name the current period (continuous.c sets it at each
 * cut), so a write made outside the periodic writer — the CPU profile's
 * before an exec, a forked child's at its exit — lands in the file of the
 * period it belongs to.
 */
#include "collect/output.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/buf.h"
#include "base/path.h"
#include "cprof.h"
#include "symbolize/elfname.h"

cp_profile *cp_output_symbolize(cp_profile *p)
{
    const char *names = getenv("CPROF_NAMES");
    if (names && !strcmp(names, "0"))
        return p; /* named by whoever asked for it (cprof record) */
    cp_diag d = {{0}};
    cp_profile *named = NULL;
    if (cp_elfname_profile(p, &named, &d, NULL) != 0)
        return p; /* addresses only: still a valid profile */
    cp_profile_free(p);
    return named;
}

/* The current period, for "%n" and "%t"; start 0 = not known yet. */
static _Atomic int64_t period_n = 1, period_start_ns;

static int64_t wall_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void cp_output_set_period(int64_t n, int64_t start_wall_ns)
{
    atomic_store(&period_n, n);
    atomic_store(&period_start_ns, start_wall_ns);
}

void cp_output_get_period(int64_t *n, int64_t *start_wall_ns)
{
    int64_t zero = 0;
    atomic_compare_exchange_strong(&period_start_ns, &zero, wall_now_ns());
    *n = atomic_load(&period_n);
    *start_wall_ns = atomic_load(&period_start_ns);
}

int cp_output_path(const char *tmpl, int64_t n, int64_t start_wall_ns, char *out, size_t cap)
{
    char mid[4096];
    size_t o = 0;
    for (const char *s = tmpl; *s; s++) {
        char tmp[32];
        if (s[0] == '%' && s[1] == 'n') {
            snprintf(tmp, sizeof tmp, "%lld", (long long)n);
            s++;
        } else if (s[0] == '%' && s[1] == 't') {
            time_t secs = (time_t)(start_wall_ns / 1000000000);
            struct tm tm;
            gmtime_r(&secs, &tm);
            strftime(tmp, sizeof tmp, "%Y%m%dT%H%M%SZ", &tm);
            s++;
        } else if (s[0] == '%' && s[1] == '%') {
            tmp[0] = '%', tmp[1] = '%', tmp[2] = 0; /* for cp_path_expand */
            s++;
        } else {
            tmp[0] = *s, tmp[1] = 0;
        }
        size_t len = strlen(tmp);
        if (o + len + 1 > sizeof mid)
            return CPROF_EINVAL;
        memcpy(mid + o, tmp, len);
        o += len;
    }
    mid[o] = 0;
    return cp_path_expand(mid, out, cap);
}

int cp_output_write(const cp_profile *p, const char *path_tmpl, int fd)
{
    if (path_tmpl) {
        char path[4096];
        int64_t n, t;
        cp_output_get_period(&n, &t);
        int rc = cp_output_path(path_tmpl, n, t, path, sizeof path);
        return rc ? rc : cp_profile_write_file(p, path);
    }
    cp_buf gz = {0};
    int rc = cp_profile_encode_gz(p, &gz);
    if (!rc)
        rc = cp_write_all(fd, gz.data, gz.len);
    cp_buf_free(&gz);
    return rc;
}
