/* report_io.c — what the report commands read and write around the
 * analysis: go's `[binary] profile` override, the NUL-escape stream for
 * text output, fast gzip for merge/proto, the exactness test of -base.
 *
 * What: small helpers of report_cmd.c kept apart so that file stays a
 * readable pipeline.  Data structure: none beyond a fopencookie state.
 * Alternatives rejected: unescaping in every report's printf (dozens of
 * call sites), a fixed-size output buffer for the escape (reports are
 * hundreds of MB).
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include "cli/fastgz.h"
#include "cli/report_io.h"

/* An ELF, Mach-O or PE file (what go tool pprof's object tool opens). */
bool cp_cli_is_object_file(const char *path)
{
    unsigned char m[4] = {0};
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    size_t n = fread(m, 1, 4, f);
    fclose(f);
    if (n < 4)
        return false;
    uint32_t le = (uint32_t)m[0] | (uint32_t)m[1] << 8 | (uint32_t)m[2] << 16 | (uint32_t)m[3] << 24;
    return !memcmp(m, "\x7f" "ELF", 4) || le == 0xfeedface || le == 0xfeedfacf ||
           le == 0xcefaedfe || le == 0xcffaedfe || le == 0xcafebabe || (m[0] == 'M' && m[1] == 'Z');
}

/* Append a string to p's table; its index, or -1 on ENOMEM. */
static int64_t add_string(cp_profile *p, const char *text)
{
    const char **strs = cp_arena_alloc(&p->arena, (p->nstrings + 1) * sizeof *strs);
    char *t = cp_arena_strndup(&p->arena, text, strlen(text));
    if (!strs || !t)
        return -1;
    memcpy(strs, p->strings, p->nstrings * sizeof *strs);
    strs[p->nstrings] = t;
    p->strings = strs;
    return (int64_t)p->nstrings++;
}

/* go's fetch: the main binary named on the command line replaces the first
 * mapping's file (or build id); a profile without mappings first gets one
 * that every location points to.  0 or CPROF_ENOMEM. */
int cp_cli_override_main(cp_profile *p, const char *exec_name, const char *build_id)
{
    if (!exec_name && !build_id)
        return 0;
    if (p->nmappings == 0) {
        cp_mapping *m = cp_arena_alloc(&p->arena, sizeof *m);
        if (!m)
            return CPROF_ENOMEM;
        memset(m, 0, sizeof *m);
        m->id = 1;
        p->mappings = m;
        p->nmappings = 1;
        for (size_t i = 0; i < p->nlocations; i++)
            p->locations[i].mapping = 0;
    }
    int64_t e = exec_name ? add_string(p, exec_name) : 0;
    int64_t b = build_id ? add_string(p, build_id) : 0;
    if (e < 0 || b < 0)
        return CPROF_ENOMEM;
    if (exec_name)
        p->mappings[0].filename = e;
    if (build_id)
        p->mappings[0].build_id = b;
    return 0;
}

/* True when every value of the profiles is exactly negated in a double
 * (|v| <= 2^53), so scaling a sum by -1 equals summing the scaled values. */
bool cp_cli_small_values(cp_profile *const *ps, size_t n)
{
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < ps[i]->nsamples; k++)
            for (size_t j = 0; j < ps[i]->nsample_types; j++) {
                int64_t v = ps[i]->samples[k].values[j];
                if (v > (1LL << 53) || v < -(1LL << 53))
                    return false;
            }
    return true;
}

/* merge and proto output: encoded in pieces (a few MB each) and each
 * piece compressed as it is made, on two threads (fastgz.c), so the
 * encoding is never one serial pass and never one buffer of the whole. */
typedef struct encoding {
    const cp_profile *p;
    cp_encode_plan plan;
} encoding;

static int encode_piece(void *ctx, size_t k, cp_buf *out)
{
    const encoding *e = ctx;
    return cp_profile_encode_piece(e->p, &e->plan, k, out);
}

int cp_cli_encode_fast_gz(const cp_profile *p, cp_buf *out)
{
    encoding e = {.p = p};
    cp_profile_encode_plan(p, &e.plan);
    return cp_cli_gzip_pieces(e.plan.npieces, encode_piece, &e, out);
}

static int to_file(void *ctx, const void *data, size_t len)
{
    return cp_atomic_write(ctx, data, len);
}

int cp_cli_write_fast_gz(const cp_profile *p, const char *path)
{
    encoding e = {.p = p};
    cp_profile_encode_plan(p, &e.plan);
    cp_atomic_file f;
    int rc = cp_atomic_open(&f, path);
    if (!rc)
        rc = cp_cli_gzip_to(e.plan.npieces, encode_piece, &e, to_file, &f);
    return cp_atomic_end(&f, rc);
}

/* A text report of a profile whose strings are NUL-escaped (profile.h)
 * goes through this stream, which writes the original bytes. */
typedef struct unesc {
    FILE *to;
    bool pending; /* the last byte written was an unpaired C0 */
} unesc;

static ssize_t unesc_write(void *c, const char *buf, size_t n)
{
    unesc *u = c;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)buf[i];
        if (u->pending) {
            u->pending = false;
            if (ch == 0x80 || ch == 0xc0) {
                if (putc(ch == 0x80 ? 0 : 0xc0, u->to) == EOF)
                    return -1;
                continue;
            }
            if (putc(0xc0, u->to) == EOF)
                return -1;
        }
        if (ch == 0xc0)
            u->pending = true;
        else if (putc(ch, u->to) == EOF)
            return -1;
    }
    return (ssize_t)n;
}

static int unesc_close(void *c)
{
    unesc *u = c;
    int rc = u->pending && putc(0xc0, u->to) == EOF ? -1 : 0;
    free(u);
    return rc;
}

FILE *cp_cli_unescape_stream(FILE *to)
{
    unesc *u = calloc(1, sizeof *u);
    if (!u)
        return NULL;
    u->to = to;
    FILE *f = fopencookie(u, "w", (cookie_io_functions_t){.write = unesc_write,
                                                           .close = unesc_close});
    if (!f)
        free(u);
    return f;
}

/* Reading profiles: inflating and decoding are most of merge's and -base's
 * time and each file is independent, so two threads take them in turn. */
typedef struct readers {
    const char *const *paths;
    cp_profile **out;
    cp_diag *diags;
    size_t n;
    atomic_size_t next;
} readers;

static void *read_some(void *arg)
{
    readers *r = arg;
    for (size_t i; (i = atomic_fetch_add(&r->next, 1)) < r->n;)
        if (cp_cli_read_profile_threads(r->paths[i], r->n == 1, &r->out[i], &r->diags[i]))
            r->out[i] = NULL;
    return NULL;
}

size_t cp_cli_read_files(const char *const *paths, size_t n, cp_profile **out, cp_diag *diags)
{
    readers r = {.paths = paths, .out = out, .diags = diags, .n = n};
    atomic_init(&r.next, 0);
    for (size_t i = 0; i < n; i++) {
        out[i] = NULL;
        diags[i].msg[0] = 0;
    }
    pthread_t t;
    bool two = n > 1 && pthread_create(&t, NULL, read_some, &r) == 0;
    read_some(&r);
    if (two)
        pthread_join(t, NULL);
    for (size_t i = 0; i < n; i++)
        if (!out[i])
            return i;
    return n;
}

int cp_cli_split_flag(const char *arg, char *key, size_t keysz, const char **val)
{
    const char *name = arg + (arg[1] == '-' ? 2 : 1);
    const char *eq = strchr(name, '=');
    size_t kl = eq ? (size_t)(eq - name) : strlen(name);
    if (kl >= keysz)
        return CPROF_EINVAL;
    memcpy(key, name, kl);
    key[kl] = 0;
    *val = eq ? eq + 1 : NULL;
    return 0;
}

int cp_cli_usage_err(const char *who, const char *usage, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", who);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    if (usage)
        fputs(usage, stderr);
    return 2;
}
