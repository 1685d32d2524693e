/* path.c — "%p" and "%c" expansion in profile file names.
 *
 * The process name comes from /proc/self/comm (the thread group leader's
 * name, whichever thread writes), else from prctl(PR_GET_NAME) of the
 * calling thread when /proc is not mounted; both are at most 15 bytes.
 * Only system calls and stack buffers: this runs in exit handlers and may
 * run inside malloc hooks.
 */
#include "path.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "cprof.h"

/* The process name, made safe for a file name: '/', '%' and bytes that
 * are not printable ASCII (or a space) become '_'; never empty. */
static void comm_name(char *out, size_t cap)
{
    char name[64] = {0};
    ssize_t n = -1;
    int fd = open("/proc/self/comm", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        do
            n = read(fd, name, sizeof name - 1);
        while (n < 0 && errno == EINTR);
        close(fd);
    }
    if (n <= 0) {
        memset(name, 0, sizeof name);
        if (prctl(PR_GET_NAME, (unsigned long)name, 0, 0, 0) != 0)
            name[0] = 0;
        n = (ssize_t)strlen(name);
    }
    while (n > 0 && name[n - 1] == '\n')
        n--;
    size_t o = 0;
    for (ssize_t i = 0; i < n && o + 1 < cap; i++) {
        unsigned char c = (unsigned char)name[i];
        out[o++] = (c <= ' ' || c >= 0x7f || c == '/' || c == '%') ? '_' : (char)c;
    }
    if (o == 0 && cap > 1)
        out[o++] = '_';
    out[o] = 0;
}

int cp_path_expand(const char *tmpl, char *out, size_t cap)
{
    int saved = errno;
    size_t o = 0;
    for (const char *s = tmpl; *s; s++) {
        char tmp[64];
        if (s[0] == '%' && s[1] == 'p') {
            snprintf(tmp, sizeof tmp, "%ld", (long)getpid());
            s++;
        } else if (s[0] == '%' && s[1] == 'c') {
            comm_name(tmp, sizeof tmp);
            s++;
        } else if (s[0] == '%' && s[1] == '%') {
            tmp[0] = '%', tmp[1] = 0;
            s++;
        } else {
            tmp[0] = *s, tmp[1] = 0;
        }
        size_t n = strlen(tmp);
        if (o + n + 1 > cap) {
            errno = saved;
            return CPROF_EINVAL;
        }
        memcpy(out + o, tmp, n);
        o += n;
    }
    errno = saved;
    if (o + 1 > cap)
        return CPROF_EINVAL;
    out[o] = 0;
    return 0;
}
