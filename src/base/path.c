/* path.c — "%p" expansion in profile file names. */
#include "path.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cprof.h"

int cp_path_expand(const char *tmpl, char *out, size_t cap)
{
    size_t o = 0;
    for (const char *s = tmpl; *s; s++) {
        char tmp[24];
        if (s[0] == '%' && s[1] == 'p') {
            snprintf(tmp, sizeof tmp, "%ld", (long)getpid());
            s++;
        } else if (s[0] == '%' && s[1] == '%') {
            tmp[0] = '%', tmp[1] = 0;
            s++;
        } else {
            tmp[0] = *s, tmp[1] = 0;
        }
        size_t n = strlen(tmp);
        if (o + n + 1 > cap)
            return CPROF_EINVAL;
        memcpy(out + o, tmp, n);
        o += n;
    }
    if (o + 1 > cap)
        return CPROF_EINVAL;
    out[o] = 0;
    return 0;
}
