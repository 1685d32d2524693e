/* symcache.c — a per-build-id file of file offset → frames.
 *
 * What: the whole file is read into memory and parsed in place (strings
 * point into the buffer after unescaping); new answers are copied into an
 * arena; on close a dirty entry is rewritten whole.  Text, one record per
 * offset:
 *     cprof-symcache 1
 *     stamp SIZE MTIME DEBUGSIZE DEBUGMTIME
 *     dwarf 0|1
 *     @OFFSET(hex) NFRAMES
 *     name \t system_name \t file \t line \t column \t start_line   (NFRAMES lines)
 * with \\, \t and \n escaped in the strings.
 *
 * Data structure: records {offset, first frame, count} in an array, a
 * cp_map from offset to record; frames in one array.
 *
 * Alternatives rejected: caching the whole DWARF line table and inline
 * tree of each binary (libc's alone is tens of megabytes to extract and
 * store, to answer the few thousand addresses profiles actually hit);
 * keying by path (the same path is a different binary after an upgrade;
 * the build id says which code ran); a database library (one more
 * dependency for a lookup table).
 */
#include "symbolize/symcache.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/hashmap.h"
#include "cprof.h"

#define MAGIC "cprof-symcache 1"
#define MAX_RECORDS 500000
#define MAX_FILE_BYTES (256u << 20)

typedef struct rec {
    uint64_t off;
    size_t first;
    int n;
} rec;

struct cp_symcache {
    char path[4096]; /* the cache file */
    char stamp[160];
    bool dwarf, dirty;
    rec *recs;
    size_t nrecs, recs_cap;
    cp_frame *frames;
    size_t nframes, frames_cap;
    cp_map index; /* offset -> record index + 1 */
    cp_buf text;  /* the file as read, parsed in place */
    cp_arena strs;
};

static int make_dir(const char *d)
{
    if (mkdir(d, 0700) != 0 && errno != EEXIST)
        return -1;
    struct stat st;
    return stat(d, &st) == 0 && S_ISDIR(st.st_mode) && access(d, W_OK | X_OK) == 0 ? 0 : -1;
}

const char *cp_symcache_dir(const char *dir, char *buf, size_t cap)
{
    if (dir) {
        if (snprintf(buf, cap, "%s", dir) >= (int)cap || make_dir(buf))
            return NULL;
        return buf;
    }
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    char base[4096];
    if (xdg && xdg[0] == '/')
        snprintf(base, sizeof base, "%s", xdg);
    else if (home && home[0] == '/')
        snprintf(base, sizeof base, "%s/.cache", home);
    else
        return NULL;
    if (make_dir(base) || snprintf(buf, cap, "%s/cprof", base) >= (int)cap || make_dir(buf))
        return NULL;
    return buf;
}

/* Size and mtime of the binary and of its build-id debug file: the
 * answers depend on both. */
static void make_stamp(const char *build_id, const char *path, char *out, size_t cap)
{
    struct stat a, b;
    char dbg[4096];
    snprintf(dbg, sizeof dbg, "/usr/lib/debug/.build-id/%.2s/%s.debug", build_id, build_id + 2);
    bool ha = stat(path, &a) == 0, hb = stat(dbg, &b) == 0;
    snprintf(out, cap, "%lld %lld.%09ld %lld %lld.%09ld", ha ? (long long)a.st_size : -1LL,
             ha ? (long long)a.st_mtim.tv_sec : 0LL, ha ? a.st_mtim.tv_nsec : 0L,
             hb ? (long long)b.st_size : -1LL, hb ? (long long)b.st_mtim.tv_sec : 0LL,
             hb ? b.st_mtim.tv_nsec : 0L);
}

static char *next_line(char **p, char *end)
{
    if (*p >= end)
        return NULL;
    char *s = *p, *nl = memchr(s, '\n', (size_t)(end - s));
    if (!nl)
        return NULL; /* every line ends with \n; a torn tail is corrupt */
    *nl = 0;
    *p = nl + 1;
    return s;
}

/* Unescape in place; false on a bad escape. */
static bool unescape(char *s)
{
    char *w = s;
    for (char *r = s; *r; r++) {
        if (*r != '\\') {
            *w++ = *r;
            continue;
        }
        r++;
        if (*r == '\\')
            *w++ = '\\';
        else if (*r == 't')
            *w++ = '\t';
        else if (*r == 'n')
            *w++ = '\n';
        else
            return false;
    }
    *w = 0;
    return true;
}

static bool parse_int(const char *s, int64_t *v)
{
    char *end;
    errno = 0;
    long long x = strtoll(s, &end, 10);
    if (errno || end == s || *end)
        return false;
    *v = x;
    return true;
}

static bool parse_frame(char *line, cp_frame *fr)
{
    char *f[6];
    int n = 0;
    for (char *p = line; n < 6;) {
        f[n++] = p;
        char *tab = strchr(p, '\t');
        if (!tab)
            break;
        *tab = 0;
        p = tab + 1;
    }
    if (n != 6 || !unescape(f[0]) || !unescape(f[1]) || !unescape(f[2]))
        return false;
    fr->name = f[0];
    fr->system_name = f[1];
    fr->file = f[2];
    return parse_int(f[3], &fr->line) && parse_int(f[4], &fr->column) &&
           parse_int(f[5], &fr->start_line);
}

static int add_rec(cp_symcache *c, uint64_t off, size_t first, int n)
{
    if (cp_grow(&c->recs, &c->recs_cap, c->nrecs + 1, sizeof *c->recs))
        return CPROF_ENOMEM;
    c->recs[c->nrecs] = (rec){off, first, n};
    if (cp_map_put(&c->index, off, ++c->nrecs))
        return CPROF_ENOMEM;
    return 0;
}

/* Parse c->text; false when it is not a valid entry for c->stamp. */
static bool parse(cp_symcache *c)
{
    char *p = (char *)c->text.data, *end = p + c->text.len, *l;
    if (!(l = next_line(&p, end)) || strcmp(l, MAGIC))
        return false;
    if (!(l = next_line(&p, end)) || strncmp(l, "stamp ", 6) || strcmp(l + 6, c->stamp))
        return false;
    if (!(l = next_line(&p, end)) || (strcmp(l, "dwarf 0") && strcmp(l, "dwarf 1")))
        return false;
    c->dwarf = l[6] == '1';
    while ((l = next_line(&p, end))) {
        uint64_t off;
        int n, used;
        if (sscanf(l, "@%" SCNx64 " %d%n", &off, &n, &used) != 2 || l[used] || n < 0 || n > 64)
            return false;
        size_t first = c->nframes;
        if (cp_grow(&c->frames, &c->frames_cap, c->nframes + (size_t)n + 1, sizeof *c->frames))
            return false;
        for (int k = 0; k < n; k++) {
            if (!(l = next_line(&p, end)) || !parse_frame(l, &c->frames[c->nframes]))
                return false;
            c->nframes++;
        }
        uint64_t dup;
        if (cp_map_get(&c->index, off, &dup) || add_rec(c, off, first, n))
            return false;
    }
    return p == end;
}

static void reset(cp_symcache *c)
{
    c->nrecs = c->nframes = 0;
    c->dwarf = false;
    cp_map_free(&c->index);
}

cp_symcache *cp_symcache_open(const char *dir, const char *build_id, const char *path)
{
    size_t bl = strlen(build_id);
    if (bl < 4 || bl > 128 || strspn(build_id, "0123456789abcdef") != bl)
        return NULL;
    cp_symcache *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    snprintf(c->path, sizeof c->path, "%s/%s.sym", dir, build_id);
    make_stamp(build_id, path, c->stamp, sizeof c->stamp);
    if (cp_buf_read_file(&c->text, c->path, MAX_FILE_BYTES) == 0 && !parse(c))
        reset(c);
    return c;
}

int cp_symcache_get(cp_symcache *c, uint64_t offset, const cp_frame **frames)
{
    uint64_t v;
    if (!cp_map_get(&c->index, offset, &v))
        return -1;
    const rec *r = &c->recs[v - 1];
    *frames = c->frames + r->first;
    return r->n;
}

static const char *keep(cp_symcache *c, const char *s)
{
    return cp_arena_strndup(&c->strs, s, strlen(s));
}

int cp_symcache_put(cp_symcache *c, uint64_t offset, const cp_frame *frames, int n)
{
    uint64_t v;
    if (c->nrecs >= MAX_RECORDS || cp_map_get(&c->index, offset, &v))
        return 0;
    size_t first = c->nframes;
    if (cp_grow(&c->frames, &c->frames_cap, c->nframes + (size_t)n + 1, sizeof *c->frames))
        return CPROF_ENOMEM;
    for (int k = 0; k < n; k++) {
        cp_frame fr = frames[k];
        if (!(fr.name = keep(c, fr.name)) || !(fr.system_name = keep(c, fr.system_name)) ||
            !(fr.file = keep(c, fr.file)))
            return CPROF_ENOMEM;
        c->frames[c->nframes++] = fr;
    }
    c->dirty = true;
    return add_rec(c, offset, first, n);
}

bool cp_symcache_dwarf(const cp_symcache *c) { return c->dwarf; }
void cp_symcache_set_dwarf(cp_symcache *c, bool dwarf)
{
    if (c->dwarf != dwarf)
        c->dirty = true;
    c->dwarf = dwarf;
}

static int put_escaped(cp_buf *b, const char *s)
{
    for (; *s; s++) {
        int rc = *s == '\\' ? cp_buf_append(b, "\\\\", 2)
               : *s == '\t' ? cp_buf_append(b, "\\t", 2)
               : *s == '\n' ? cp_buf_append(b, "\\n", 2)
                            : cp_buf_putc(b, *s);
        if (rc)
            return rc;
    }
    return 0;
}

static void save(cp_symcache *c)
{
    cp_buf b = {0};
    int rc = cp_buf_printf(&b, "%s\nstamp %s\ndwarf %d\n", MAGIC, c->stamp, c->dwarf ? 1 : 0);
    for (size_t i = 0; !rc && i < c->nrecs; i++) {
        const rec *r = &c->recs[i];
        rc = cp_buf_printf(&b, "@%" PRIx64 " %d\n", r->off, r->n);
        for (int k = 0; !rc && k < r->n; k++) {
            const cp_frame *fr = &c->frames[r->first + (size_t)k];
            if ((rc = put_escaped(&b, fr->name)) || (rc = cp_buf_putc(&b, '\t')) ||
                (rc = put_escaped(&b, fr->system_name)) || (rc = cp_buf_putc(&b, '\t')) ||
                (rc = put_escaped(&b, fr->file)))
                break;
            rc = cp_buf_printf(&b, "\t%" PRId64 "\t%" PRId64 "\t%" PRId64 "\n", fr->line,
                               fr->column, fr->start_line);
        }
    }
    if (!rc)
        (void)cp_write_file_atomic(c->path, b.data, b.len); /* no cache is no error */
    cp_buf_free(&b);
}

void cp_symcache_close(cp_symcache *c)
{
    if (!c)
        return;
    if (c->dirty)
        save(c);
    free(c->recs);
    free(c->frames);
    cp_map_free(&c->index);
    cp_buf_free(&c->text);
    cp_arena_free(&c->strs);
    free(c);
}
