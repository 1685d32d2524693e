/* log.c — "cprof: ..." lines on stderr via one write(2). */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

void cp_log(const char *fmt, ...)
{
    int saved = errno;
    char buf[1024];
    int n = snprintf(buf, sizeof buf, "cprof: ");
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(buf + n, sizeof buf - (size_t)n - 1, fmt, ap);
    va_end(ap);
    if (m < 0)
        m = 0;
    size_t len = (size_t)n + (size_t)m;
    if (len > sizeof buf - 2)
        len = sizeof buf - 2;
    if (buf[len - 1] != '\n')
        buf[len++] = '\n';
    ssize_t w = write(2, buf, len);
    (void)w;
    errno = saved;
}

void cp_log_raw(const char *s)
{
    int saved = errno;
    ssize_t w = write(2, s, strlen(s));
    (void)w;
    errno = saved;
}
