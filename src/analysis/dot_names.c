/* dot_names.c — names and colours of go tool pprof's dot output.
 *
 * What: graph.ShortenFunctionName (Go package paths, Java classes, C++
 * namespaces cut down to Class::method), the multi-line node label, dot
 * string escaping and the red/green colour scale.  Data structure: none;
 * go's four regular expressions are written out as small scanners because
 * POSIX regex has neither lazy quantifiers nor RE2's leftmost-first
 * choice, and the shortened name must be the same.  Alternatives rejected:
 * PCRE (a dependency for four patterns).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/dot_names.h"

/* ---- names and colours ---------------------------------------------------------- */

static bool wordc(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* graph.ShortenFunctionName, the regexes written out by hand. */
void cp_dot_shorten(const char *in, cp_buf *out)
{
    char *f = strdup(in), *t;
    if (!f)
        return;
    if (!strncmp(f, "(anonymous namespace)::", 23))
        memmove(f, f + 23, strlen(f + 23) + 1);
    for (char *s = f; (t = strstr(s, "/v")); s = t + 1) {
        char *d = t + 2, *e = d;
        while (*e >= '0' && *e <= '9')
            e++;
        size_t nd = (size_t)(e - d);
        bool ok = (nd == 1 && *d >= '2') || (nd >= 2 && *d != '0');
        if (ok && (*e == '.' || *e == '/')) {
            memmove(t, e, strlen(e) + 1);
            break;
        }
    }
    /* go: ^(?:[\w\-\.]+\/)+(.+) */
    {
        const char *s = f, *last = NULL;
        while (*s) {
            const char *q = s;
            while (wordc(*q) || *q == '-' || *q == '.')
                q++;
            if (q == s || *q != '/')
                break;
            s = q + 1;
            if (*s)
                last = s;
        }
        if (last) {
            cp_buf_printf(out, "%s", last);
            free(f);
            return;
        }
    }
    /* java: ^(?:[a-z]\w*\.)*([A-Z][\w\$]*\.(?:<init>|[a-z][\w\$]*(?:\$\d+)?))(?:(?:\()|$) */
    {
        const char *s = f;
        for (;;) {
            const char *q = s;
            if (!(*q >= 'a' && *q <= 'z'))
                break;
            while (wordc(*q))
                q++;
            if (*q != '.')
                break;
            s = q + 1;
        }
        if (*s >= 'A' && *s <= 'Z') {
            const char *q = s + 1;
            while (wordc(*q) || *q == '$')
                q++;
            if (*q == '.') {
                q++;
                const char *e = NULL;
                if (!strncmp(q, "<init>", 6))
                    e = q + 6;
                else if (*q >= 'a' && *q <= 'z') {
                    e = q + 1;
                    while (wordc(*e) || *e == '$')
                        e++;
                }
                if (e && (*e == '(' || *e == 0)) {
                    cp_buf_printf(out, "%.*s", (int)(e - s), s);
                    free(f);
                    return;
                }
            }
        }
    }
    /* cpp: ^(?:[_a-zA-Z]\w*::)+(_*[A-Z]\w*::~?[_a-zA-Z]\w*(?:<.*>)?) */
    {
        const char *starts[256];
        size_t ns = 0;
        const char *s = f;
        while (ns < 256) {
            const char *q = s;
            if (!(*q == '_' || (*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z')))
                break;
            while (wordc(*q))
                q++;
            if (strncmp(q, "::", 2))
                break;
            s = q + 2;
            starts[ns++] = s;
        }
        for (size_t k = ns; k-- > 0;) { /* greedy: most prefixes first */
            const char *q = starts[k], *b = q;
            while (*q == '_')
                q++;
            if (!(*q >= 'A' && *q <= 'Z'))
                continue;
            while (wordc(*q))
                q++;
            if (strncmp(q, "::", 2))
                continue;
            q += 2;
            if (*q == '~')
                q++;
            if (!(*q == '_' || (*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z')))
                continue;
            while (wordc(*q))
                q++;
            if (*q == '<') {
                const char *gt = strrchr(q, '>');
                if (gt)
                    q = gt + 1;
            }
            cp_buf_printf(out, "%.*s", (int)(q - b), b);
            free(f);
            return;
        }
    }
    cp_buf_printf(out, "%s", f);
    free(f);
}

void cp_dot_escape(cp_buf *b, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\')
            cp_buf_printf(b, "\\\\");
        else if (*s == '"')
            cp_buf_printf(b, "\\\"");
        else if (*s == '\n')
            cp_buf_printf(b, "\\l");
        else
            cp_buf_putc(b, *s);
    }
}

void cp_dot_node_label(const cp_gnode *n, cp_buf *out)
{
    cp_buf sh = {0}, esc = {0};
    cp_dot_shorten(n->name, &sh);
    cp_buf_putc(&sh, 0);
    cp_dot_escape(&esc, (const char *)sh.data);
    cp_buf_putc(&esc, 0);
    const char *sep = "";
    if (n->address) {
        cp_buf_printf(out, "%016llx", (unsigned long long)n->address);
        sep = "\\n";
    }
    if (esc.data[0]) {
        cp_buf_printf(out, "%s", sep);
        for (const char *c = (const char *)esc.data; *c; c++) {
            if (c[0] == ':' && c[1] == ':') {
                cp_buf_printf(out, "\\n");
                c++;
            } else if (!strncmp(c, "[...]", 5)) {
                cp_buf_printf(out, "[\xe2\x80\xa6]");
                c += 4;
            } else if (*c == '.')
                cp_buf_printf(out, "\\n");
            else
                cp_buf_putc(out, *c);
        }
        sep = "\\n";
    }
    const char *file = strrchr(n->file, '/');
    file = file && file[1] ? file + 1 : n->file;
    if (n->lineno)
        cp_buf_printf(out, "%s%s:%lld", sep, file, (long long)n->lineno);
    else if (n->file[0])
        cp_buf_printf(out, "%s%s", sep, file);
    else if (esc.data[0])
        ;
    else if (n->objfile[0]) {
        const char *b = strrchr(n->objfile, '/');
        b = b && b[1] ? b + 1 : n->objfile;
        cp_buf_printf(out, "%s[%s]", sep, b);
    } else
        cp_buf_printf(out, "%s<unknown>", sep);
    cp_buf_printf(out, "\\n");
    cp_buf_free(&sh);
    cp_buf_free(&esc);
}

void cp_dot_color(char *buf, size_t n, double score, bool bg)
{
    const double shift = 0.7;
    double sat = bg ? 0.1 : 1.0, val = bg ? 0.93 : 0.7;
    if (isnan(score)) {
        /* go's Min/Max keep a NaN (0/0 with a zero total) and its float to
         * uint8 conversion yields 0 on amd64: only green is affected */
        snprintf(buf, n, "#%02x00%02x", (unsigned)(uint8_t)(val * 255.0),
                 (unsigned)(uint8_t)(val * (1 - sat) * 255.0));
        return;
    }
    score = fmax(-1.0, fmin(1.0, score));
    if (fabs(score) < 0.2)
        sat *= fabs(score) / 0.2;
    if (score > 0.0)
        score = pow(score, 1.0 - shift);
    if (score < 0.0)
        score = -pow(-score, 1.0 - shift);
    double r, g, b;
    if (score < 0.0) {
        g = val;
        r = val * (1 + sat * score);
    } else {
        r = val;
        g = val * (1 - sat * score);
    }
    b = val * (1 - sat);
    snprintf(buf, n, "#%02x%02x%02x", (unsigned)(uint8_t)(r * 255.0), (unsigned)(uint8_t)(g * 255.0),
             (unsigned)(uint8_t)(b * 255.0));
}

