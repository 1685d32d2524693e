/* rx.c — RE2-style patterns translated to POSIX ERE.
 *
 * What: a one-pass rewrite of the few RE2 escapes POSIX lacks (\d, \s and
 * their negations, a leading (?i)), so `-focus='alloc\d+'` works as in go
 * tool pprof.  Data structure: a growable output string.  Alternatives
 * rejected: PCRE2 or RE2 as a dependency (for flag values, the translation
 * covers what people write; constructs POSIX cannot express, such as lazy
 * quantifiers, are reported as errors by regcomp).
 */
#include <stdio.h>
#include <string.h>

#include "analysis/rx.h"
#include "base/buf.h"

int cp_rx_compile(regex_t *rx, const char *pat, char *err, size_t errlen)
{
    int flags = REG_EXTENDED | REG_NOSUB;
    if (!strncmp(pat, "(?i)", 4)) {
        flags |= REG_ICASE;
        pat += 4;
    }
    cp_buf b = {0};
    int in_bracket = 0;
    for (const char *p = pat; *p; p++) {
        if (*p == '\\' && p[1]) {
            char c = p[1];
            const char *rep = NULL;
            if (c == 'd')
                rep = in_bracket ? "0-9" : "[0-9]";
            else if (c == 's')
                rep = in_bracket ? "[:space:]" : "[[:space:]]";
            else if (c == 'D' && !in_bracket)
                rep = "[^0-9]";
            else if (c == 'S' && !in_bracket)
                rep = "[^[:space:]]";
            if (rep) {
                cp_buf_printf(&b, "%s", rep);
                p++;
                continue;
            }
            cp_buf_putc(&b, *p);
            cp_buf_putc(&b, *++p);
            continue;
        }
        if (*p == '[' && !in_bracket) {
            in_bracket = 1;
            cp_buf_putc(&b, *p);
            if (p[1] == '^')
                cp_buf_putc(&b, *++p);
            if (p[1] == ']')
                cp_buf_putc(&b, *++p);
            continue;
        }
        if (*p == ']' && in_bracket)
            in_bracket = 0;
        cp_buf_putc(&b, *p);
    }
    cp_buf_putc(&b, 0);
    int e = b.data ? regcomp(rx, (const char *)b.data, flags) : REG_ESPACE;
    if (e) {
        char m[256];
        regerror(e, rx, m, sizeof m);
        snprintf(err, errlen, "%s", m);
    }
    cp_buf_free(&b);
    return e;
}
