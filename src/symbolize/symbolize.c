/* symbolize.c — fill a profile's locations with functions and lines.
 *
 * What: each location that has no lines, or only the ELF names the
 * profiled process gave it, is looked up by file offset in its build id's
 * disk cache (symcache.c); on a miss its mapping's file is opened (once,
 * objfile.c, libdw), its build id checked against the mapping's, and the
 * frames found at the address are used and remembered.  DWARF's frames
 * replace an ELF-only name only when DWARF knows a file or a line, so
 * foo@plt and FILE+0xOFFSET survive.  The new profile is made by cp_patch
 * (patch.c); the input is never modified.
 *
 * Data structure: per mapping, an index into the opened files (-2 not
 * opened yet, -1 none) and its cache entry (shared by mappings of one
 * build id and path).
 *
 * Alternatives rejected: opening every mapping's file up front (reading
 * libc's DWARF costs a third of a second even when the cache holds every
 * answer); keying the cache by path (an upgrade changes the code behind a
 * path; the build id names it).
 */
#include "symbolize/symbolize.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/buf.h"
#include "base/hashmap.h"
#include "base/log.h"
#include "profile/builder.h"
#include "symbolize/objcache.h"
#include "symbolize/objfile.h"
#include "symbolize/patch.h"
#include "symbolize/symcache.h"

typedef struct ofile {
    const char *path;
    cp_objfile *obj; /* NULL when unreadable */
    bool cached;     /* from the objcache: give it back, do not close it */
    bool warned;     /* a build-id mismatch was reported for this file */
} ofile;

typedef struct state {
    const cp_profile *in;
    const cp_symbolize_opts *opts;
    cp_diag *diag;
    cp_symbolize_stats *st;
    ofile *files;
    size_t nfiles, files_cap;
    int *map_file;       /* per mapping: index into files, -1 none, -2 not opened yet */
    cp_symcache **cache; /* per mapping: its build id's disk cache entry, or NULL */
    cp_symcache **caches; /* each distinct entry once, to close */
    size_t ncaches;
    cp_patch pt;
} state;

static void warn(state *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warn(state *s, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (s->diag && !s->diag->msg[0])
        cp_diag_set(s->diag, 0, "%s", msg);
    if (!s->opts->quiet)
        cp_log("symbolize: %s", msg);
}

/* The objfile for a path, opened on first use (NULL: unreadable). */
static int file_for(state *s, const char *path, int *idx)
{
    for (size_t i = 0; i < s->nfiles; i++)
        if (!strcmp(s->files[i].path, path)) {
            *idx = (int)i;
            return 0;
        }
    if (cp_grow(&s->files, &s->files_cap, s->nfiles + 1, sizeof *s->files))
        return CPROF_ENOMEM;
    ofile *f = &s->files[s->nfiles];
    f->path = path;
    f->obj = NULL;
    f->cached = s->opts->cache;
    f->warned = false;
    int rc = s->opts->cache ? cp_objcache_get(path, s->opts->debug_dirs, &f->obj)
                            : cp_objfile_open(path, s->opts->debug_dirs, &f->obj);
    if (rc == CPROF_ENOMEM)
        return rc;
    if (!rc)
        s->st->files_opened++;
    if (rc) {
        s->st->unreadable_maps++;
        warn(s, "%s: cannot read it as an ELF file; its addresses stay unsymbolized", path);
    }
    *idx = (int)s->nfiles++;
    return 0;
}

static bool symbolizable_path(const char *p)
{
    /* [vsyscall], //anon, empty: nothing on disk to read. */
    return p[0] == '/' && p[1] != '/';
}

/* The vDSO is read from our own memory, and only used for a mapping that
 * names the same build id: another kernel's vDSO is different code. */
static int vdso_for(state *s, const cp_mapping *m, int *idx)
{
    *idx = -1;
    const char *want = cp_str(s->in, m->build_id);
    if (!want[0])
        return 0;
    for (size_t i = 0; i < s->nfiles; i++)
        if (!strcmp(s->files[i].path, "[vdso]")) {
            if (s->files[i].obj && !strcasecmp(cp_objfile_build_id(s->files[i].obj), want))
                *idx = (int)i;
            return 0;
        }
    if (cp_grow(&s->files, &s->files_cap, s->nfiles + 1, sizeof *s->files))
        return CPROF_ENOMEM;
    ofile *f = &s->files[s->nfiles];
    f->path = "[vdso]";
    f->obj = NULL;
    f->cached = false;
    f->warned = false;
    int rc = cp_objfile_open_vdso(&f->obj);
    if (rc == CPROF_ENOMEM)
        return rc;
    if (f->obj && !strcasecmp(cp_objfile_build_id(f->obj), want))
        *idx = (int)s->nfiles;
    s->nfiles++;
    return 0;
}

/* Open mapping i's file (once; on the first address the cache cannot
 * answer): s->map_file[i] becomes its file index, or -1. */
static int resolve_mapping(state *s, size_t i)
{
    const cp_profile *in = s->in;
    const cp_mapping *m = &in->mappings[i];
    const char *path = cp_str(in, m->filename);
    s->map_file[i] = -1;
    if (!strcmp(path, "[vdso]"))
        return vdso_for(s, m, &s->map_file[i]);
    if (!symbolizable_path(path))
        return 0;
    int idx, rc = file_for(s, path, &idx);
    if (rc)
        return rc;
    cp_objfile *obj = s->files[idx].obj;
    if (!obj)
        return 0;
    const char *want = cp_str(in, m->build_id), *have = cp_objfile_build_id(obj);
    if (want[0] && have[0] && strcasecmp(want, have) != 0) {
        s->st->mismatched_maps++;
        if (!s->files[idx].warned)
            warn(s, "%s: build id %s does not match the profile's %s; its addresses stay "
                    "unsymbolized", path, have, want);
        s->files[idx].warned = true;
        return 0;
    }
    s->map_file[i] = idx;
    return 0;
}

/* Disk cache entries for the mappings that have a build id and a file
 * (one entry per build id).  Without a usable directory: none. */
static int open_caches(state *s)
{
    const cp_profile *in = s->in;
    const cp_symbolize_opts *o = s->opts;
    char dirbuf[4096];
    const char *dir;
    if (o->no_disk_cache || o->no_demangle || o->debug_dirs ||
        !(dir = cp_symcache_dir(o->cache_dir, dirbuf, sizeof dirbuf)))
        return 0;
    if (!(s->caches = calloc(in->nmappings + 1, sizeof *s->caches)))
        return CPROF_ENOMEM;
    for (size_t i = 0; i < in->nmappings; i++) {
        const cp_mapping *m = &in->mappings[i];
        const char *path = cp_str(in, m->filename), *bid = cp_str(in, m->build_id);
        char key[129];
        size_t n = strlen(bid);
        if (!symbolizable_path(path) || n == 0 || n >= sizeof key)
            continue;
        for (size_t k = 0; k <= n; k++)
            key[k] = (char)tolower((unsigned char)bid[k]);
        for (size_t j = 0; j < i && !s->cache[i]; j++)
            if (s->cache[j] && !strcasecmp(cp_str(in, in->mappings[j].build_id), key) &&
                !strcmp(cp_str(in, in->mappings[j].filename), path))
                s->cache[i] = s->cache[j];
        if (!s->cache[i] && (s->cache[i] = cp_symcache_open(dir, key, path)))
            s->caches[s->ncaches++] = s->cache[i];
    }
    return 0;
}

/* A location named by the profiled process from ELF symbol tables only
 * (cp_elfname): lines without file or line number, in a mapping that says
 * it has no line numbers.  DWARF may improve on it. */
static bool elf_only(const cp_profile *in, const cp_location *l)
{
    if (l->nlines == 0 || l->mapping == CP_NO_MAPPING || l->mapping >= in->nmappings ||
        in->mappings[l->mapping].has_line_numbers)
        return false;
    for (uint32_t k = 0; k < l->nlines; k++) {
        const cp_line *ln = &l->lines[k];
        if (ln->line > 0 ||
            (ln->func < in->nfunctions && cp_str(in, in->functions[ln->func].filename)[0]))
            return false;
    }
    return true;
}

/* Whether DWARF said anything (a file or a line) about these frames. */
static bool has_dwarf_answer(const cp_frame *fr, int n)
{
    for (int k = 0; k < n; k++)
        if (fr[k].line > 0 || fr[k].file[0])
            return true;
    return false;
}

/* An ELF-only location whose C++ names the profiled process left mangled
 * (it had no demangler loaded): the same lines, names demangled. */
static int demangle_elf_names(state *s, size_t li)
{
    const cp_profile *in = s->in;
    const cp_location *l = &in->locations[li];
    cp_frame fr[CP_OBJFILE_MAX_FRAMES];
    char *dm[CP_OBJFILE_MAX_FRAMES] = {0};
    bool any = false;
    uint32_t n = l->nlines < CP_OBJFILE_MAX_FRAMES ? l->nlines : CP_OBJFILE_MAX_FRAMES;
    for (uint32_t k = 0; k < n; k++) {
        const cp_line *ln = &l->lines[k];
        if (ln->func >= in->nfunctions)
            return 0;
        const cp_function *f = &in->functions[ln->func];
        const char *name = cp_str(in, f->name), *sys = cp_str(in, f->system_name);
        if (!strcmp(name, sys) && (dm[k] = cp_symbolize_demangle(sys)))
            any = true;
        fr[k] = (cp_frame){.name = dm[k] ? dm[k] : name, .system_name = sys,
                           .file = cp_str(in, f->filename), .line = ln->line,
                           .column = ln->column, .start_line = f->start_line};
    }
    int rc = any && n == l->nlines ? cp_patch_set_lines(&s->pt, li, fr, (int)n) : 0;
    for (uint32_t k = 0; k < n; k++)
        free(dm[k]);
    return rc;
}

static int symbolize_location(state *s, size_t li)
{
    const cp_location *l = &s->in->locations[li];
    bool upgrade = elf_only(s->in, l);
    if (l->nlines > 0 && !upgrade) {
        s->st->already++;
        return 0;
    }
    if (l->mapping == CP_NO_MAPPING || l->mapping >= s->in->nmappings) {
        if (upgrade)
            s->st->already++;
        else
            s->st->unsymbolized++;
        return 0;
    }
    const cp_mapping *m = &s->in->mappings[l->mapping];
    cp_symcache *cache = s->cache ? s->cache[l->mapping] : NULL;
    uint64_t off = l->address - m->start + m->offset;
    cp_frame buf[CP_OBJFILE_MAX_FRAMES];
    const cp_frame *frames = buf;
    bool dwarf = false;
    int n = cache && l->address >= m->start ? cp_symcache_get(cache, off, &frames) : -1;
    if (n >= 0) {
        s->st->cache_hits++;
        dwarf = cp_symcache_dwarf(cache);
    } else {
        int rc;
        if (s->map_file[l->mapping] == -2 && (rc = resolve_mapping(s, l->mapping)))
            return rc;
        if (s->map_file[l->mapping] < 0) {
            if (upgrade)
                s->st->already++;
            else
                s->st->unsymbolized++;
            return 0;
        }
        cp_objfile *obj = s->files[s->map_file[l->mapping]].obj;
        uint64_t vaddr;
        n = 0;
        if (cp_objfile_vaddr(obj, m->start, m->offset, l->address, &vaddr) == 0)
            n = cp_objfile_lookup(obj, vaddr, !s->opts->no_demangle, buf,
                                  CP_OBJFILE_MAX_FRAMES);
        if (n < 0)
            return n;
        dwarf = cp_objfile_has_dwarf(obj);
        if (cache) {
            s->st->cache_misses++;
            cp_symcache_set_dwarf(cache, dwarf);
            if ((rc = cp_symcache_put(cache, off, buf, n)))
                return rc;
        }
    }
    if (upgrade && !has_dwarf_answer(frames, n)) {
        /* The ELF name (foo@plt, FILE+0xOFFSET, a .symtab name) stays,
         * demangled if the process could not. */
        s->st->already++;
        return s->opts->no_demangle ? 0 : demangle_elf_names(s, li);
    }
    if (n == 0) {
        s->st->unsymbolized++;
        return 0;
    }
    int rc = cp_patch_set_lines(&s->pt, li, frames, n);
    if (rc)
        return rc;
    cp_mapping *vm = cp_patch_mapping(&s->pt, l->mapping);
    for (int k = 0; k < n; k++) {
        vm->has_functions = true;
        if (frames[k].file[0])
            vm->has_filenames = true;
        if (frames[k].line > 0)
            vm->has_line_numbers = true;
    }
    if (dwarf)
        vm->has_inline_frames = true;
    s->st->symbolized++;
    return 0;
}

int cp_symbolize_ex(const cp_profile *in, const cp_symbolize_opts *opts, cp_profile **out,
                    cp_diag *diag, cp_symbolize_stats *stats)
{
    static const cp_symbolize_opts defaults;
    cp_symbolize_stats local_stats;
    state s = {.in = in, .opts = opts ? opts : &defaults, .diag = diag,
               .st = stats ? stats : &local_stats};
    int rc = CPROF_ENOMEM;

    memset(s.st, 0, sizeof *s.st);
    s.st->locations = in->nlocations;
    if (diag)
        diag->msg[0] = 0;
    s.map_file = malloc((in->nmappings + 1) * sizeof *s.map_file);
    s.cache = calloc(in->nmappings + 1, sizeof *s.cache);
    if ((rc = cp_patch_init(&s.pt, in)) || !s.map_file || !s.cache) {
        rc = CPROF_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < in->nmappings; i++)
        s.map_file[i] = -2;
    if ((rc = open_caches(&s)))
        goto out;
    for (size_t i = 0; i < in->nlocations; i++)
        if ((rc = symbolize_location(&s, i)))
            goto out;
    rc = cp_patch_finish(&s.pt, out, diag);
out:
    cp_patch_free(&s.pt);
    for (size_t i = 0; i < s.nfiles; i++) {
        if (s.files[i].cached)
            cp_objcache_put(s.files[i].obj);
        else
            cp_objfile_close(s.files[i].obj);
    }
    free(s.files);
    free(s.map_file);
    for (size_t i = 0; i < s.ncaches; i++)
        cp_symcache_close(s.caches[i]);
    free(s.caches);
    free(s.cache);
    if (rc && diag && !diag->msg[0])
        cp_diag_set(diag, rc, "symbolize: %s", cprof_strerror(rc));
    return rc;
}

void cp_symbolize_cache_clear(void) { cp_objcache_clear(); }

int cp_symbolize(const cp_profile *in, const cp_symbolize_opts *opts, cp_profile **out,
                 cp_diag *diag)
{
    return cp_symbolize_ex(in, opts, out, diag, NULL);
}
